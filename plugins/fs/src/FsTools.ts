/**
 * The file tools: `read_file`, `write_file`, `edit`, `apply_patch`, `glob`,
 * `grep` (exposed as `fs__<name>`). Every file is reached through the
 * `Workspace` port of `@strata/plugin/Workspace`: confined to the workspace
 * root (the call's `cwd`), safe against symlink and directory swaps by a
 * racing process, refusing names with control characters and files with
 * several hard links (unless `fs.allow_hardlinks`), and re-checking the real
 * path against the runtime's protected paths before any write. Every tool
 * declares the files it reads and writes (`fileAccess`) so the runtime can
 * ask before the call.
 *
 * @since 0.1.0
 */

import type { ToolContext } from "@strata/plugin/Tool"
import { define as defineTool } from "@strata/plugin/Tool"
import * as Workspace from "@strata/plugin/Workspace"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { FsConfig } from "./FsConfig.js"
import { FsToolError } from "./FsToolError.js"
import * as Patch from "./Patch.js"
import * as Search from "./Search.js"

/**
 * What the tools need: the workspace port and their settings.
 *
 * @since 0.1.0
 * @category models
 */
export type Platform = Workspace.Workspace | FsConfig

const PathField = Schema.String.pipe(Schema.minLength(1)).annotations({
  description: "A path relative to the workspace root"
})

/** The largest file read_file and edit read (bytes). */
const MAX_READ = 32 << 20
/** The largest file grep searches (bytes); bigger ones are skipped and counted. */
const MAX_GREP_FILE = 16 << 20
const MAX_RESULTS = 500
// `.strata` holds the runtime's journals, approvals and audit log: searched only when named.
const SKIP = new Set([".git", "node_modules", ".strata"])

const show = Workspace.printable

const policy = (context: ToolContext) =>
  Effect.map(FsConfig, (config) => Workspace.policyOf(context, { allowHardlinks: config.allowHardlinks }))

const readText = (context: ToolContext, path: string) =>
  Effect.gen(function* () {
    const ws = yield* Workspace.Workspace
    const read = yield* ws.readFile(context.cwd, path, { ...(yield* policy(context)), maxBytes: MAX_READ })
    return { relative: read.relative, text: new TextDecoder().decode(read.bytes) }
  })

const writeText = (context: ToolContext, path: string, content: string) =>
  Effect.gen(function* () {
    const ws = yield* Workspace.Workspace
    return yield* ws.writeFile(context.cwd, path, content, yield* policy(context))
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
  fileAccess: (input) => [{ path: input.path, access: "read" }],
  run: (input, context) =>
    Effect.gen(function* () {
      const { text } = yield* readText(context, input.path)
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
  fileAccess: (input) => [{ path: input.path, access: "write" }],
  run: (input, context) =>
    Effect.gen(function* () {
      const written = yield* writeText(context, input.path, input.content)
      return `wrote ${show(written.relative)} (${new TextEncoder().encode(input.content).length} bytes)`
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
  fileAccess: (input) => [
    { path: input.path, access: "read" },
    { path: input.path, access: "write" }
  ],
  run: (input, context) =>
    Effect.gen(function* () {
      const { text } = yield* readText(context, input.path)
      const n = count(text, input.old_string)
      if (n === 0) {
        return yield* new FsToolError({
          reason: "NoMatch",
          path: input.path,
          detail: `${show(input.path)}: old_string was not found; read the file and copy the text exactly (whitespace included)`
        })
      }
      if (n > 1 && input.replace_all !== true) {
        return yield* new FsToolError({
          reason: "NotUnique",
          path: input.path,
          detail: `${show(input.path)}: old_string appears ${n} times; add surrounding lines to make it unique, or set replace_all`
        })
      }
      const next =
        input.replace_all === true
          ? text.split(input.old_string).join(input.new_string)
          : text.replace(input.old_string, () => input.new_string)
      const written = yield* writeText(context, input.path, next)
      return `edited ${show(written.relative)} (${n} replacement${n === 1 ? "" : "s"})`
    })
})

/**
 * The files a patch reads and writes: a change reads and writes its file, a
 * creation writes it, a deletion writes (removes) it, a move (`--- a/x`,
 * `+++ b/y`) writes both. A patch that does not parse touches nothing.
 *
 * @since 0.2.0
 * @category utils
 */
export const patchAccess = (patch: string): ReadonlyArray<{ path: string; access: "read" | "write" }> =>
  Either.match(Patch.parse(patch), {
    onLeft: () => [],
    onRight: (files) =>
      files.flatMap((file) => {
        if (file.from === undefined) return [{ path: file.to!, access: "write" as const }]
        if (file.to === undefined) return [{ path: file.from, access: "write" as const }]
        if (file.from === file.to) {
          return [
            { path: file.from, access: "read" as const },
            { path: file.to, access: "write" as const }
          ]
        }
        return [
          { path: file.from, access: "write" as const },
          { path: file.to, access: "write" as const }
        ]
      })
  })

type Change =
  | { readonly kind: "write"; readonly path: string; readonly content: string; readonly verb: string }
  | { readonly kind: "remove"; readonly path: string; readonly verb: string }

/**
 * @since 0.1.0
 * @category tools
 */
export const ApplyPatch = defineTool({
  name: "apply_patch",
  description:
    "Apply a unified diff (as `diff -u` or `git diff` writes it) to files of the workspace. `--- /dev/null` creates a file, `+++ /dev/null` deletes one, `--- a/old` with `+++ b/new` moves one. All files are checked before any is written.",
  input: Schema.Struct({
    patch: Schema.String.pipe(Schema.minLength(1)).annotations({ description: "The unified diff" })
  }),
  output: Schema.String,
  fileAccess: (input) => patchAccess(input.patch),
  run: (input, context) =>
    Effect.gen(function* () {
      const ws = yield* Workspace.Workspace
      const access = yield* policy(context)
      const files = yield* Either.match(Patch.parse(input.patch), {
        onLeft: (detail) =>
          Effect.fail(new FsToolError({ reason: "InvalidPatch", detail: `invalid patch: ${detail}` })),
        onRight: Effect.succeed
      })
      // Contents as the patch leaves them, so a file patched twice sees the first change.
      const pending = new Map<string, string | undefined>()
      const current = (path: string) =>
        pending.has(path)
          ? Effect.succeed(pending.get(path))
          : Effect.map(readText(context, path), (r) => r.text as string | undefined)
      const changes: Array<Change> = []
      for (const file of files) {
        for (const name of [file.from, file.to]) {
          if (name === undefined) continue
          const ok = Workspace.confine(context.cwd, name)
          if (Either.isLeft(ok)) return yield* ok.left
        }
        if (file.to === undefined) {
          const from = file.from!
          if ((yield* current(from)) === undefined) {
            return yield* new FsToolError({
              reason: "InvalidPatch",
              path: from,
              detail: `${show(from)}: deleted twice`
            })
          }
          pending.set(from, undefined)
          changes.push({ kind: "remove", path: from, verb: "deleted" })
          continue
        }
        let original = ""
        if (file.from === undefined) {
          const exists = pending.has(file.to)
            ? pending.get(file.to) !== undefined
            : yield* ws.stat(context.cwd, file.to).pipe(
                Effect.as(true),
                Effect.catchIf(
                  (e) => e.reason === "NotFound",
                  () => Effect.succeed(false)
                )
              )
          if (exists) {
            return yield* new FsToolError({
              reason: "AlreadyExists",
              path: file.to,
              detail: `${show(file.to)} already exists; patch it with "--- a/${file.to}" instead of creating it`
            })
          }
        } else {
          const text = yield* current(file.from)
          if (text === undefined) {
            return yield* new FsToolError({
              reason: "InvalidPatch",
              path: file.from,
              detail: `${show(file.from)} was deleted earlier in the patch`
            })
          }
          original = text
        }
        const next = yield* Either.match(Patch.apply(original, file), {
          onLeft: (detail) => Effect.fail(new FsToolError({ reason: "InvalidPatch", path: file.to, detail })),
          onRight: Effect.succeed
        })
        const moved = file.from !== undefined && file.from !== file.to
        pending.set(file.to, next)
        changes.push({
          kind: "write",
          path: file.to,
          content: next,
          verb: file.from === undefined ? "created" : moved ? `moved ${show(file.from)} ->` : "patched"
        })
        if (moved) {
          pending.set(file.from!, undefined)
          changes.push({ kind: "remove", path: file.from!, verb: "removed (moved)" })
        }
      }
      const done: Array<string> = []
      for (const change of changes) {
        if (change.kind === "remove") {
          const removed = yield* ws.remove(context.cwd, change.path, access)
          if (change.verb === "deleted") done.push(`deleted ${show(removed.relative)}`)
        } else {
          const written = yield* ws.writeFile(context.cwd, change.path, change.content, access)
          done.push(`${change.verb} ${show(written.relative)}`)
        }
      }
      return done.join("\n")
    })
})

/** The lines a walk adds to a tool's output: what it left out and why. */
const walkNotes = (result: Workspace.WalkResult, config: { maxDepth: number; maxEntries: number }) => {
  const notes: Array<string> = []
  const sample = (s: Workspace.Skipped) => `${s.sample.map(show).join(", ")}${s.count > s.sample.length ? ", …" : ""}`
  if (result.cutAtEntries) {
    notes.push(
      `[walk cut: stopped after ${result.entries} entries (fs.max_entries = ${config.maxEntries}); results are incomplete: narrow the path or glob]`
    )
  }
  if (result.tooDeep.count > 0) {
    notes.push(
      `[walk cut: ${result.tooDeep.count} director${result.tooDeep.count === 1 ? "y" : "ies"} deeper than ${config.maxDepth} levels not entered (fs.max_depth): ${sample(result.tooDeep)}]`
    )
  }
  if (result.protected.count > 0) {
    notes.push(`[${result.protected.count} protected path(s) skipped: ${sample(result.protected)}]`)
  }
  if (result.unreadable.count > 0) {
    notes.push(
      `[${result.unreadable.count} unreadable director${result.unreadable.count === 1 ? "y" : "ies"}: ${sample(result.unreadable)}]`
    )
  }
  return notes
}

const fromEither = <A>(e: Either.Either<A, FsToolError>) =>
  Either.match(e, { onLeft: Effect.fail, onRight: Effect.succeed })

/**
 * @since 0.1.0
 * @category tools
 */
export const Glob = defineTool({
  name: "glob",
  description:
    "List the files of the workspace matching a glob pattern (`**/*.ts`, `src/*.{js,ts}`), sorted; .git, node_modules and .strata are skipped, symlinks are not followed.",
  input: Schema.Struct({
    pattern: Schema.String.pipe(Schema.minLength(1)).annotations({ description: "The glob pattern" }),
    path: Schema.optional(PathField)
  }),
  output: Schema.String,
  fileAccess: (input) => [{ path: input.path ?? ".", access: "read" }],
  run: (input, context) =>
    Effect.gen(function* () {
      const ws = yield* Workspace.Workspace
      const config = yield* FsConfig
      const matcher = yield* fromEither(Search.glob(input.pattern))
      const files: Array<string> = []
      const result = yield* ws.walk(context.cwd, input.path ?? ".", {
        ...(yield* policy(context)),
        maxDepth: config.maxDepth,
        maxEntries: config.maxEntries,
        skip: SKIP,
        onFile: (file) => {
          if (matcher.test(file.local)) files.push(file.relative)
          return Effect.succeed(true)
        }
      })
      const notes = walkNotes(result, config)
      if (files.length === 0) return [`no files match ${input.pattern}`, ...notes].join("\n")
      const shown = files.slice(0, MAX_RESULTS).map(show)
      if (files.length > MAX_RESULTS) shown.push(`[${files.length - MAX_RESULTS} more files]`)
      return [...shown, ...notes].join("\n")
    })
})

const hasNul = (bytes: Uint8Array) => bytes.subarray(0, 8000).includes(0)

/** The order of a walk: path segments compared one by one. */
const walkOrder = (a: string, b: string) => {
  const x = a.split("/")
  const y = b.split("/")
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1
  }
  return x.length - y.length
}

/** Bytes of text searched between two yields to the scheduler. */
const SLICE = 256 << 10

/**
 * @since 0.1.0
 * @category tools
 */
export const Grep = defineTool({
  name: "grep",
  description:
    "Search the workspace's text files for a regular expression (RE2 syntax, as JavaScript writes it: no backreferences or lookahead; matching takes linear time). Returns `path:line: text` for each matching line.",
  input: Schema.Struct({
    pattern: Schema.String.pipe(Schema.minLength(1)).annotations({ description: "The regular expression" }),
    path: Schema.optional(PathField),
    glob: Schema.optional(Schema.String.annotations({ description: "Only files matching this glob" })),
    ignore_case: Schema.optional(Schema.Boolean.annotations({ description: "Case-insensitive match" }))
  }),
  output: Schema.String,
  fileAccess: (input) => [{ path: input.path ?? ".", access: "read" }],
  run: (input, context) =>
    Effect.gen(function* () {
      const ws = yield* Workspace.Workspace
      const config = yield* FsConfig
      const access = yield* policy(context)
      const re = yield* fromEither(Search.regex(input.pattern, { ignoreCase: input.ignore_case }))
      const only = input.glob === undefined ? undefined : yield* fromEither(Search.glob(input.glob))
      // Hits per file; files are searched a few at a time and put back in walk order at the end.
      const byFile = new Map<string, Array<string>>()
      let total = 0
      let skippedLarge = 0
      let skippedLinked = 0
      const search = (relative: string, bytes: Uint8Array) =>
        Effect.gen(function* () {
          if (hasNul(bytes)) return
          const lines = new TextDecoder().decode(bytes).split("\n")
          const found: Array<string> = []
          let budget = SLICE
          for (let k = 0; k < lines.length && total <= MAX_RESULTS; k++) {
            const line = lines[k]!
            budget -= line.length + 1
            if (budget <= 0) {
              budget = SLICE
              // Long searches share the event loop with the rest of the runtime.
              yield* Effect.yieldNow()
            }
            if (re.test(line)) {
              found.push(`${show(relative)}:${k + 1}: ${line.length > 300 ? `${line.slice(0, 300)}…` : line}`)
              total++
            }
          }
          if (found.length > 0) byFile.set(relative, found)
        })
      const notes: Array<string> = []
      const searchFile = Effect.gen(function* () {
        const read = yield* ws.readFile(context.cwd, input.path ?? ".", { ...access, maxBytes: MAX_GREP_FILE })
        yield* search(read.relative, read.bytes)
      })
      const searchTree = Effect.gen(function* () {
        const result = yield* ws.walk(context.cwd, input.path ?? ".", {
          ...access,
          maxDepth: config.maxDepth,
          maxEntries: config.maxEntries,
          skip: SKIP,
          concurrency: 8,
          onFile: (file) =>
            Effect.gen(function* () {
              if (total > MAX_RESULTS) return false
              const name = file.relative.split("/").pop()!
              if (only !== undefined && !only.test(file.local) && !only.test(name)) return true
              const bytes = yield* file.read(MAX_GREP_FILE).pipe(
                Effect.map((b): Uint8Array | undefined => b),
                Effect.catchAll((e) => {
                  if (e.reason === "TooLarge") skippedLarge++
                  else if (e.reason === "HardLinked") skippedLinked++
                  return Effect.succeed(undefined)
                })
              )
              if (bytes !== undefined) yield* search(file.relative, bytes)
              return total <= MAX_RESULTS
            })
        })
        notes.push(...walkNotes(result, config))
      })
      const target = yield* ws.stat(context.cwd, input.path ?? ".")
      if (target.type === "directory") yield* searchTree
      else if (target.type === "file") yield* searchFile
      else
        yield* searchFile.pipe(
          Effect.catchIf(
            (e) => e._tag === "WorkspaceError" && e.reason === "IsADirectory",
            () => searchTree
          )
        )
      if (skippedLarge > 0) notes.push(`[${skippedLarge} file(s) over ${MAX_GREP_FILE >> 20} MiB not searched]`)
      if (skippedLinked > 0) {
        notes.push(`[${skippedLinked} file(s) with several hard links not searched (fs.allow_hardlinks)]`)
      }
      const hits = [...byFile.keys()].sort(walkOrder).flatMap((file) => byFile.get(file)!)
      if (hits.length === 0) return [`no match for ${input.pattern}`, ...notes].join("\n")
      const shown = hits.slice(0, MAX_RESULTS)
      if (hits.length > MAX_RESULTS) shown.push("[more matches not shown]")
      return [...shown, ...notes].join("\n")
    })
})

/**
 * Every file tool.
 *
 * @since 0.1.0
 * @category tools
 */
export const all = [ReadFile, WriteFile, Edit, ApplyPatch, Glob, Grep] as const
