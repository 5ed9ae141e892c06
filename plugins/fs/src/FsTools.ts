/**
 * The file tools: `read_file`, `write_file`, `edit`, `apply_patch`, `glob`,
 * `grep` (exposed as `fs__<name>`). Every path goes through
 * `Workspace.resolve`: it must stay inside the workspace root.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { defineTool } from "@strata/plugin"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Patch from "./Patch.js"
import { FsToolError, resolve } from "./Workspace.js"

/**
 * What the tools need from the platform.
 *
 * @since 0.1.0
 * @category models
 */
export type Platform = FileSystem.FileSystem | Path.Path

const PathField = Schema.String.pipe(Schema.minLength(1)).annotations({
  description: "A path relative to the workspace root"
})

const io = (path: string) => (error: { readonly message: string }) =>
  new FsToolError({ reason: "IoError", path, detail: `${path}: ${error.message}` })

const readText = (root: string | undefined, input: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const target = yield* resolve(root, input)
    const info = yield* fs
      .stat(target.absolute)
      .pipe(
        Effect.mapError(
          () => new FsToolError({ reason: "NotFound", path: input, detail: `${input}: no such file in the workspace` })
        )
      )
    if (info.type !== "File") {
      return yield* new FsToolError({ reason: "NotAFile", path: input, detail: `${input} is not a file` })
    }
    const text = yield* fs.readFileString(target.absolute).pipe(Effect.mapError(io(input)))
    return { target, text }
  })

const writeText = (absolute: string, input: string, content: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(path.dirname(absolute), { recursive: true }).pipe(Effect.mapError(io(input)))
    yield* fs.writeFileString(absolute, content).pipe(Effect.mapError(io(input)))
  })

/**
 * @since 0.1.0
 * @category tools
 */
export const ReadFile = defineTool({
  name: "read_file",
  description:
    "Read a text file of the workspace. Returns its lines, numbered from 1; use offset/limit for a range of a long file.",
  input: Schema.Struct({
    path: PathField,
    offset: Schema.optional(
      Schema.Number.pipe(Schema.int(), Schema.positive()).annotations({ description: "First line to read (1-based)" })
    ),
    limit: Schema.optional(
      Schema.Number.pipe(Schema.int(), Schema.positive()).annotations({
        description: "How many lines to read (default 2000)"
      })
    )
  }),
  output: Schema.String,
  run: (input, context) =>
    Effect.gen(function* () {
      const { text } = yield* readText(context.cwd, input.path)
      const lines = text.split("\n")
      if (lines[lines.length - 1] === "") lines.pop()
      const start = (input.offset ?? 1) - 1
      const shown = lines.slice(start, start + (input.limit ?? 2000))
      const body = shown.map((l, k) => `${String(start + k + 1).padStart(6)}\t${l}`).join("\n")
      const more = start + shown.length < lines.length ? `\n[${lines.length - start - shown.length} more lines]` : ""
      return body + more
    })
})

/**
 * @since 0.1.0
 * @category tools
 */
export const WriteFile = defineTool({
  name: "write_file",
  description: "Create or overwrite a text file of the workspace (parent directories are created).",
  input: Schema.Struct({
    path: PathField,
    content: Schema.String.annotations({ description: "The whole new content of the file" })
  }),
  output: Schema.String,
  run: (input, context) =>
    Effect.gen(function* () {
      const target = yield* resolve(context.cwd, input.path)
      yield* writeText(target.absolute, input.path, input.content)
      return `wrote ${target.relative} (${new TextEncoder().encode(input.content).length} bytes)`
    })
})

const count = (text: string, needle: string) => {
  let n = 0
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) n++
  return n
}

/**
 * @since 0.1.0
 * @category tools
 */
export const Edit = defineTool({
  name: "edit",
  description:
    "Replace an exact piece of text in a file. old_string must appear exactly once (include surrounding lines to make it unique), unless replace_all is true.",
  input: Schema.Struct({
    path: PathField,
    old_string: Schema.String.pipe(Schema.minLength(1)).annotations({ description: "The exact text to replace" }),
    new_string: Schema.String.annotations({ description: "The replacement text" }),
    replace_all: Schema.optional(Schema.Boolean.annotations({ description: "Replace every occurrence" }))
  }),
  output: Schema.String,
  run: (input, context) =>
    Effect.gen(function* () {
      const { target, text } = yield* readText(context.cwd, input.path)
      const n = count(text, input.old_string)
      if (n === 0) {
        return yield* new FsToolError({
          reason: "NoMatch",
          path: input.path,
          detail: `${input.path}: old_string was not found; read the file and copy the text exactly (whitespace included)`
        })
      }
      if (n > 1 && input.replace_all !== true) {
        return yield* new FsToolError({
          reason: "NotUnique",
          path: input.path,
          detail: `${input.path}: old_string appears ${n} times; add surrounding lines to make it unique, or set replace_all`
        })
      }
      const next =
        input.replace_all === true
          ? text.split(input.old_string).join(input.new_string)
          : text.replace(input.old_string, () => input.new_string)
      yield* writeText(target.absolute, input.path, next)
      return `edited ${target.relative} (${n} replacement${n === 1 ? "" : "s"})`
    })
})

/**
 * @since 0.1.0
 * @category tools
 */
export const ApplyPatch = defineTool({
  name: "apply_patch",
  description:
    "Apply a unified diff (as `diff -u` or `git diff` writes it) to files of the workspace. `--- /dev/null` creates a file, `+++ /dev/null` deletes one. All files are checked before any is written.",
  input: Schema.Struct({
    patch: Schema.String.pipe(Schema.minLength(1)).annotations({ description: "The unified diff" })
  }),
  output: Schema.String,
  run: (input, context) =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const files = yield* Either.match(Patch.parse(input.patch), {
        onLeft: (detail) =>
          Effect.fail(new FsToolError({ reason: "InvalidPatch", detail: `invalid patch: ${detail}` })),
        onRight: Effect.succeed
      })
      const writes: Array<{ absolute: string; name: string; content: string | undefined; verb: string }> = []
      for (const file of files) {
        const name = (file.to ?? file.from)!
        if (file.to === undefined) {
          const { target } = yield* readText(context.cwd, file.from!)
          writes.push({ absolute: target.absolute, name, content: undefined, verb: "deleted" })
          continue
        }
        const target = yield* resolve(context.cwd, file.to)
        const original = file.from === undefined ? "" : (yield* readText(context.cwd, file.from)).text
        const next = yield* Either.match(Patch.apply(original, file), {
          onLeft: (detail) => Effect.fail(new FsToolError({ reason: "InvalidPatch", path: name, detail })),
          onRight: Effect.succeed
        })
        writes.push({
          absolute: target.absolute,
          name,
          content: next,
          verb: file.from === undefined ? "created" : "patched"
        })
      }
      for (const w of writes) {
        if (w.content === undefined) yield* fs.remove(w.absolute).pipe(Effect.mapError(io(w.name)))
        else yield* writeText(w.absolute, w.name, w.content)
      }
      return writes.map((w) => `${w.verb} ${w.name}`).join("\n")
    })
})

/**
 * A glob pattern as a regular expression over `/`-separated relative paths:
 * `**` any number of directories, `*` and `?` within one name, `{a,b}`
 * alternatives, `[...]` classes.
 *
 * @since 0.1.0
 * @category utils
 */
export const globToRegExp = (pattern: string): RegExp => {
  let re = ""
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        const slash = pattern[i + 2] === "/"
        re += slash ? "(?:.*/)?" : ".*"
        i += slash ? 2 : 1
      } else re += "[^/]*"
    } else if (c === "?") re += "[^/]"
    else if (c === "{") {
      const end = pattern.indexOf("}", i)
      if (end === -1) re += "\\{"
      else {
        re += `(?:${pattern
          .slice(i + 1, end)
          .split(",")
          .map((s) => s.replace(/[.+^$()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*"))
          .join("|")})`
        i = end
      }
    } else if (c === "[") {
      const end = pattern.indexOf("]", i)
      if (end === -1) re += "\\["
      else {
        re += pattern.slice(i, end + 1)
        i = end
      }
    } else re += c.replace(/[.+^$()|\\]/g, "\\$&")
  }
  return new RegExp(`^${re}$`)
}

const SKIP = new Set([".git", "node_modules"])
const MAX_RESULTS = 500

/** Every file under `dir` (relative paths), skipping .git and node_modules, not following symlinks out. */
const walk = (root: string, dir: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const out: Array<string> = []
    const visit = (current: string): Effect.Effect<void> =>
      Effect.gen(function* () {
        const names = yield* fs.readDirectory(current).pipe(Effect.orElseSucceed(() => [] as Array<string>))
        for (const name of names.sort()) {
          if (SKIP.has(name)) continue
          const full = path.join(current, name)
          const info = yield* fs.stat(full).pipe(Effect.option)
          if (info._tag === "None") continue
          const real = yield* fs.realPath(full).pipe(Effect.orElseSucceed(() => full))
          const rel = path.relative(root, real)
          if (rel.startsWith("..") || path.isAbsolute(rel)) continue
          if (info.value.type === "Directory") yield* visit(full)
          else if (info.value.type === "File") out.push(path.relative(root, full).split(path.sep).join("/"))
        }
      })
    yield* visit(dir)
    return out
  })

/**
 * @since 0.1.0
 * @category tools
 */
export const Glob = defineTool({
  name: "glob",
  description:
    "List the files of the workspace matching a glob pattern (`**/*.ts`, `src/*.{js,ts}`), sorted; .git and node_modules are skipped.",
  input: Schema.Struct({
    pattern: Schema.String.pipe(Schema.minLength(1)).annotations({ description: "The glob pattern" }),
    path: Schema.optional(PathField)
  }),
  output: Schema.String,
  run: (input, context) =>
    Effect.gen(function* () {
      const base = yield* resolve(context.cwd, input.path ?? ".")
      const re = globToRegExp(input.pattern)
      const prefix = base.relative === "." ? "" : `${base.relative}/`
      const files = (yield* walk(base.root, base.absolute)).filter((f) => re.test(f.slice(prefix.length)))
      if (files.length === 0) return `no files match ${input.pattern}`
      const shown = files.slice(0, MAX_RESULTS).join("\n")
      return files.length > MAX_RESULTS ? `${shown}\n[${files.length - MAX_RESULTS} more files]` : shown
    })
})

/**
 * @since 0.1.0
 * @category tools
 */
export const Grep = defineTool({
  name: "grep",
  description:
    "Search the workspace's text files for a regular expression (JavaScript syntax). Returns `path:line: text` for each matching line.",
  input: Schema.Struct({
    pattern: Schema.String.pipe(Schema.minLength(1)).annotations({ description: "The regular expression" }),
    path: Schema.optional(PathField),
    glob: Schema.optional(Schema.String.annotations({ description: "Only files matching this glob" })),
    ignore_case: Schema.optional(Schema.Boolean.annotations({ description: "Case-insensitive match" }))
  }),
  output: Schema.String,
  run: (input, context) =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const re = yield* Effect.try({
        try: () => new RegExp(input.pattern, input.ignore_case === true ? "i" : ""),
        catch: (e) =>
          new FsToolError({
            reason: "InvalidPattern",
            detail: `invalid regular expression ${input.pattern}: ${e instanceof Error ? e.message : String(e)}`
          })
      })
      const base = yield* resolve(context.cwd, input.path ?? ".")
      const info = yield* fs.stat(base.absolute).pipe(Effect.mapError(io(input.path ?? ".")))
      const only = input.glob === undefined ? undefined : globToRegExp(input.glob)
      const files =
        info.type === "File"
          ? [base.relative]
          : (yield* walk(base.root, base.absolute)).filter(
              (f) => only === undefined || only.test(f) || only.test(f.split("/").pop()!)
            )
      const hits: Array<string> = []
      for (const file of files) {
        const bytes = yield* fs.readFile(path.join(base.root, file)).pipe(Effect.orElseSucceed(() => undefined))
        if (bytes === undefined || bytes.subarray(0, 8000).includes(0)) continue
        const lines = new TextDecoder().decode(bytes).split("\n")
        for (const [k, line] of lines.entries()) {
          if (re.test(line)) hits.push(`${file}:${k + 1}: ${line.length > 300 ? `${line.slice(0, 300)}…` : line}`)
          if (hits.length > MAX_RESULTS) break
        }
        if (hits.length > MAX_RESULTS) break
      }
      if (hits.length === 0) return `no match for ${input.pattern}`
      return hits.length > MAX_RESULTS
        ? `${hits.slice(0, MAX_RESULTS).join("\n")}\n[more matches not shown]`
        : hits.join("\n")
    })
})

/**
 * Every file tool.
 *
 * @since 0.1.0
 * @category tools
 */
export const all = [ReadFile, WriteFile, Edit, ApplyPatch, Glob, Grep] as const
