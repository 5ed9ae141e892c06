/**
 * `strata import codex|gemini|claude [--from PATH...] [--dry-run] [--write]
 * [--out FILE] [--json] [--force] [--allow-loss]`: converts another agent's
 * rules and hooks to Strata's, with a report of every entry converted,
 * approximated (and why) or refused (with file, line and field).
 *
 * `strata import policy --from codex|gemini|claude FILE... [--out FILE]
 * [--dry-run]` is the same import of the rules alone (and the settings and
 * tool guard enforcing them), written unless `--dry-run`.
 *
 * - Sources: `--from` files or directories (a directory is searched for the
 *   format's files: `*.rules`, `*.codexpolicy`, `config.toml`, `hooks.json`;
 *   `settings.json`, `policies/*.toml`; `settings.json`,
 *   `settings.local.json`); without `--from`, the tool's own places in the
 *   home directory and the project (`Importer.defaultSources`).
 * - Without `--write` (or with `--dry-run`) nothing is written: the report
 *   and the files that would be written are printed.
 * - `--write` writes `.strata/policy.toml` (or `--out`), and the settings,
 *   the hooks and the tool rules (one fail-closed `PreToolUse` hook) into
 *   `.strata/config.toml` (created, or appended to when it does not set
 *   them yet). An existing rule file is not replaced without `--force`.
 *   The written rule file is loaded by the exec-policy engine first: it must
 *   load and pass its own examples. When a restriction of the source cannot
 *   be enforced by Strata, nothing is written without `--allow-loss`.
 * - A malformed source file stops the import with `file:line:column:
 *   field: what` and writes nothing.
 *
 * Every source, including a repository's own `.claude/settings.json`, is
 * untrusted input: an import never makes a rule looser than its source, the
 * written files sit under `.strata/` (a protected path: tools cannot change
 * them without asking), and imported rules do not lift the protected-path
 * checks.
 *
 * @since 0.2.0
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { RuntimeConfig } from "@strata/core-runtime"
import { ExecPolicy } from "@strata/exec-policy"
import { Emit, Importer, type Model } from "@strata/policy-import"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { parse as parseToml } from "smol-toml"
import { CliError, json } from "../common.js"
import * as Layers from "../layers.js"

const format = Args.choice<Importer.Format | "policy">(
  [...Importer.formats.map((f): [string, Importer.Format] => [f, f]), ["policy", "policy"]],
  { name: "format" }
).pipe(
  Args.withDescription(
    "The tool to import from (codex, gemini or claude), or `policy` for `import policy --from <tool> FILE...`"
  )
)
const files = Args.text({ name: "file" }).pipe(
  Args.repeated,
  Args.withDescription("Files or directories to import (as --from in `import <tool>`)")
)
const from = Options.text("from").pipe(
  Options.repeated,
  Options.withDescription(
    "`import <tool>`: a file or directory to import (repeatable; default: the tool's own places). `import policy`: the tool (codex, gemini or claude)"
  )
)
const dryRun = Options.boolean("dry-run").pipe(
  Options.withDescription("Print the report and the files; write nothing (the default)")
)
const write = Options.boolean("write").pipe(Options.withDescription("Write the files under .strata/"))
const out = Options.text("out").pipe(
  Options.optional,
  Options.withDescription("The rule file to write (default .strata/policy.toml)")
)
const force = Options.boolean("force").pipe(Options.withDescription("Replace an existing rule file"))
const allowLoss = Options.boolean("allow-loss").pipe(
  Options.withDescription("Write even when a restriction of the source cannot be enforced (see the report)")
)

/** Settings and rule files are small; a larger one is refused before it is read. */
const MAX_SOURCE_BYTES = 4 * 1024 * 1024

/** Files of a format inside a directory. */
const inDirectory = (format: Importer.Format, dir: string): Array<string> => {
  const names = readdirSync(dir)
  const pick = (test: (n: string) => boolean) =>
    names
      .filter(test)
      .sort()
      .map((n) => path.join(dir, n))
  switch (format) {
    case "codex":
      return [
        ...pick((n) => n.endsWith(".rules") || n.endsWith(".codexpolicy") || n === "config.toml" || n === "hooks.json"),
        ...["rules", "policy"].flatMap((sub) =>
          existsSync(path.join(dir, sub)) && statSync(path.join(dir, sub)).isDirectory()
            ? inDirectory(format, path.join(dir, sub))
            : []
        )
      ]
    case "gemini":
      return [
        ...pick((n) => n === "settings.json" || n.endsWith(".toml")),
        ...(existsSync(path.join(dir, "policies")) ? inDirectory(format, path.join(dir, "policies")) : [])
      ]
    case "claude":
      return pick((n) => n === "settings.json" || n === "settings.local.json")
  }
}

/** `~/` and globs in the last segment (`*.rules`) of the default places. */
const expand = (pattern: string, cwd: string, home: string): Array<string> => {
  const abs = pattern.startsWith("~/") ? path.join(home, pattern.slice(2)) : path.resolve(cwd, pattern)
  if (!abs.includes("*")) return existsSync(abs) && statSync(abs).isFile() ? [abs] : []
  const dir = path.dirname(abs)
  const re = new RegExp(
    `^${path
      .basename(abs)
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")}$`
  )
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => re.test(n))
        .sort()
        .map((n) => path.join(dir, n))
    : []
}

const sourcesOf = (format: Importer.Format, from: ReadonlyArray<string>, cwd: string) => {
  const home = process.env.HOME ?? os.homedir()
  if (from.length === 0) {
    const found = [...new Set(Importer.defaultSources[format].flatMap((p) => expand(p, cwd, home)))]
    if (found.length === 0)
      return Either.left(
        new CliError({
          detail: `no ${format} files found`,
          hint: `looked in ${Importer.defaultSources[format].join(", ")}; name them with --from`
        })
      )
    return Either.right(found)
  }
  const files: Array<string> = []
  for (const f of from) {
    const abs = path.resolve(cwd, f)
    if (!existsSync(abs)) return Either.left(new CliError({ detail: `${f}: no such file or directory` }))
    if (statSync(abs).isDirectory()) {
      const inside = inDirectory(format, abs)
      if (inside.length === 0)
        return Either.left(new CliError({ detail: `${f}: no ${format} files in this directory` }))
      files.push(...inside)
    } else files.push(abs)
  }
  return Either.right([...new Set(files)])
}

/** A path as the report shows it: relative to the working directory when inside it. */
const shown = (cwd: string, file: string) => {
  const rel = path.relative(cwd, file)
  return rel.startsWith("..") || path.isAbsolute(rel) ? file : rel
}

/**
 * Strata reads the hooks of Claude Code's own settings files itself
 * (`claude_hooks`, default: the project's and the user's): importing them
 * too would run each hook twice. Their hooks stay out of the config.
 */
const withoutNativeHooks = (imp: Model.Imported, cwd: string): Model.Imported => {
  if (imp.format !== "claude") return imp
  const home = process.env.HOME ?? os.homedir()
  const native = new Set(
    RuntimeConfig.defaultClaudeHooks.map((f) =>
      f.startsWith("~/") ? path.join(home, f.slice(2)) : path.resolve(cwd, f)
    )
  )
  const isNative = (file: string) => native.has(path.resolve(cwd, file))
  return {
    ...imp,
    hooks: imp.hooks.filter((h) => !isNative(h.origin.file)),
    report: imp.report.map((e) =>
      e.origin.field.startsWith("hooks.") && isNative(e.origin.file)
        ? { ...e, detail: "not copied: Strata already runs the hooks of this file (`claude_hooks`)" }
        : e
    )
  }
}

/**
 * `import policy` writes rules, not hooks: the source's hooks are reported,
 * not copied. A dropped hook on an event that can block (`PreToolUse`,
 * gemini's `BeforeTool`, a permission or prompt hook) was a restriction: it
 * counts as not enforced, so nothing is written without `--allow-loss`.
 */
const withoutHooks = (imp: Model.Imported): Model.Imported => ({
  ...imp,
  hooks: [],
  report: imp.report.map((e) => {
    const event = /^hooks\.([A-Za-z]+)/.exec(e.origin.field)?.[1]
    if (event === undefined || e.status === "refused") return e
    return {
      ...e,
      status: "refused" as const,
      detail: `not copied by \`import policy\` (\`strata import ${imp.format} --write\` imports hooks)`,
      enforced: !/^(Pre|Before|Permission|UserPrompt)/.test(event)
    }
  })
})

interface Planned {
  readonly file: string
  readonly text: string
  readonly mode: "create" | "replace" | "append"
}

/** The config settings and hooks, merged into `.strata/config.toml` without touching what it sets. */
const planConfig = (imp: Model.Imported, file: string) => {
  const notes: Array<string> = []
  const settings = Emit.settingsToml(imp)
  const guard = Emit.toolGuardToml(imp)
  const imported = Emit.hooksToml(imp)
  const hooks = `${imported}${imported !== "" && guard !== "" ? "\n" : ""}${guard}`
  if (settings === "" && hooks === "") return { planned: undefined, notes, unenforced: 0 }
  const header = `# Imported by \`strata import ${imp.format}\` from ${imp.files.join(", ")}\n`
  if (!existsSync(file)) {
    return {
      planned: {
        file,
        text: `${header}${settings}${settings !== "" && hooks !== "" ? "\n" : ""}${hooks}`,
        mode: "create" as const
      },
      notes,
      unenforced: 0
    }
  }
  const current = readFileSync(file, "utf8")
  let existing: Record<string, unknown>
  try {
    existing = parseToml(current) as Record<string, unknown>
  } catch (error) {
    throw new CliError({ detail: `${file}: cannot merge into it: ${String((error as Error).message).split("\n")[0]}` })
  }
  let unenforced = 0
  const kept: Array<string> = []
  for (const [key, value] of Object.entries(imp.settings)) {
    if (existing[key] === undefined) kept.push(`${key} = ${JSON.stringify(value)}\n`)
    else if (existing[key] !== value) {
      notes.push(`${file}: keeps ${key} = ${JSON.stringify(existing[key])} (the import has ${JSON.stringify(value)})`)
      unenforced++
    }
  }
  // Top-level keys go first (a key after a table header would land in that table); hook tables go last.
  const text = `${kept.length > 0 ? `${header}${kept.join("")}\n` : ""}${current}${current.endsWith("\n") ? "" : "\n"}${hooks === "" ? "" : `\n${header}${hooks}`}`
  try {
    parseToml(text)
  } catch (error) {
    throw new CliError({
      detail: `${file}: the imported hooks cannot be appended (${String((error as Error).message).split("\n")[0]})`,
      hint: "move its [hooks] into [[hooks.<Event>]] tables, or write with --out elsewhere and merge by hand"
    })
  }
  return { planned: { file, text, mode: "append" as const }, notes, unenforced }
}

/**
 * The two spellings of one import: `import <tool> [--from PATH...] [--write]`
 * (dry run unless `--write`; rules, settings and hooks) and `import policy
 * --from <tool> FILE... [--out FILE]` (writes unless `--dry-run`; rules and
 * the settings and tool guard that enforce them, hooks left to `import <tool>`).
 */
const invocation = (o: {
  readonly format: Importer.Format | "policy"
  readonly from: ReadonlyArray<string>
  readonly files: ReadonlyArray<string>
  readonly write: boolean
  readonly dryRun: boolean
}) => {
  if (o.format !== "policy")
    return Either.right({ tool: o.format, paths: [...o.from, ...o.files], write: o.write, hooks: true })
  const tool = o.from[0]
  if (o.from.length !== 1 || !Importer.formats.includes(tool as Importer.Format))
    return Either.left(
      new CliError({
        detail: `import policy needs --from ${Importer.formats.join("|")} once${o.from.length > 0 ? `, got --from ${o.from.join(" --from ")}` : ""}`,
        hint: "strata import policy --from codex ~/.codex/rules/default.rules",
        code: 2
      })
    )
  return Either.right({ tool: tool as Importer.Format, paths: o.files, write: !o.dryRun, hooks: false })
}

const run = Command.make("import", { format, files, from, dryRun, write, out, force, allowLoss, json }, (o) =>
  Effect.gen(function* () {
    const cwd = process.cwd()
    if (o.write && o.dryRun) return yield* new CliError({ detail: "give --write or --dry-run, not both", code: 2 })
    const how = yield* invocation(o)
    const files = yield* sourcesOf(how.tool, how.paths, cwd)
    const sources: Array<Model.SourceFile> = []
    for (const f of files) {
      if (statSync(f).size > MAX_SOURCE_BYTES)
        return yield* new CliError({
          detail: `${shown(cwd, f)}: larger than ${MAX_SOURCE_BYTES} bytes; not a settings or rule file`
        })
      try {
        sources.push({ path: shown(cwd, f), text: readFileSync(f, "utf8") })
      } catch (error) {
        return yield* new CliError({ detail: `${shown(cwd, f)}: cannot read: ${(error as Error).message}` })
      }
    }
    const result = Importer.importFiles(how.tool, sources)
    if (Either.isLeft(result)) return yield* new CliError({ detail: result.left.message })
    const imp = how.hooks ? withoutNativeHooks(result.right, cwd) : withoutHooks(result.right)
    const policyText = Emit.policyToml(imp)
    const outFile = path.resolve(cwd, o.out._tag === "Some" ? o.out.value : ".strata/policy.toml")
    // The written file must load in the real engine and pass its own examples.
    yield* ExecPolicy.make({
      sources: [{ file: shown(cwd, outFile), layer: "project", text: policyText }],
      builtin: false
    }).pipe(
      Effect.provide(Layers.layer),
      Effect.mapError(
        (e) => new CliError({ detail: `the imported rules do not load: ${e.message}`, hint: "please report this" })
      )
    )
    const strata = path.join(cwd, ".strata")
    const planned: Array<Planned> = [
      { file: outFile, text: policyText, mode: existsSync(outFile) ? "replace" : "create" }
    ]
    const config = yield* Effect.try({
      try: () => planConfig(imp, path.join(strata, "config.toml")),
      catch: (e) => (e instanceof CliError ? e : new CliError({ detail: String(e) }))
    })
    if (config.planned !== undefined) planned.push(config.planned)
    const unenforced = imp.report.filter((e) => !e.enforced).length + config.unenforced
    const report = Emit.reportText(imp)
    const doWrite = how.write
    if (doWrite) {
      const clash = planned.filter((p) => p.mode === "replace")
      if (clash.length > 0 && !o.force)
        return yield* new CliError({
          detail: `${clash.map((p) => shown(cwd, p.file)).join(", ")} already exist${clash.length === 1 ? "s" : ""}; nothing was written`,
          hint: "--force replaces, --out writes the rules elsewhere"
        })
      if (unenforced > 0 && !o.allowLoss)
        return yield* new CliError({
          detail: `${unenforced} restriction(s) of the source cannot be enforced by Strata (marked NOT ENFORCED); nothing was written`,
          hint: "review the report with --dry-run; --allow-loss writes anyway"
        })
      for (const p of planned) {
        mkdirSync(path.dirname(p.file), { recursive: true })
        writeFileSync(p.file, p.text)
      }
    }
    if (o.json) {
      process.stdout.write(
        `${JSON.stringify(
          {
            ...(Emit.reportJson(imp) as object),
            written: doWrite,
            files: planned.map((p) => ({
              path: shown(cwd, p.file),
              mode: p.mode,
              ...(doWrite ? {} : { text: p.text })
            })),
            notes: config.notes,
            unenforced
          },
          null,
          2
        )}\n`
      )
      return
    }
    const lines = [report.trimEnd(), ...config.notes.map((n) => `note: ${n}`)]
    if (doWrite)
      lines.push(
        ...planned.map(
          (p) =>
            `wrote ${shown(cwd, p.file)} (${p.mode === "append" ? "appended" : p.mode === "replace" ? "replaced" : "created"})`
        )
      )
    else {
      lines.push("", "dry run: nothing written (--write writes these files)")
      for (const p of planned) lines.push("", `--- ${shown(cwd, p.file)} (${p.mode})`, p.text.trimEnd())
    }
    process.stdout.write(`${lines.join("\n")}\n`)
  })
).pipe(
  Command.withDescription(
    "Import another agent's permission rules and hooks (codex, gemini, claude) as Strata rules, never looser than the source, with a report"
  )
)

/**
 * `strata import`.
 *
 * @since 0.2.0
 * @category commands
 */
export { run as importCommand }
