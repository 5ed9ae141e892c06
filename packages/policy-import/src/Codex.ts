/**
 * codex: execpolicy rule files (`~/.codex/rules/*.rules`, the older
 * `.codexpolicy`) and `config.toml` (`approval_policy`, `sandbox_mode`,
 * `shell_environment_policy`, `[hooks]`), and codex's `hooks.json`.
 *
 * Rule files are Starlark; they are parsed by a parser for the subset codex
 * documents (`prefix_rule(pattern=…, decision=…, justification=…,
 * match=…, not_match=…)`, `host_executable(name=…, paths=…)`) and never
 * evaluated. codex picks the strictest matching rule (forbidden > prompt >
 * allow), like Strata, so a prefix rule carries over exactly.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import { ImportError } from "./ImportError.js"
import { Builder } from "./internal/builder.js"
import * as Hooks from "./internal/hooks.js"
import { split } from "./internal/shlex.js"
import { type Call, type Expr, parse, StarlarkSyntaxError, type Statement } from "./internal/starlark.js"
import type { Example, Imported, Origin, PrefixElement, SourceFile, Verdict } from "./Model.js"

const DECISIONS: Record<string, Verdict> = { allow: "allow", prompt: "ask", forbidden: "deny" }

const at = (file: string, line: number, field: string): Origin => ({ file, line, field })

type Result<A> = Either.Either<A, string>

const str = (e: Expr): Result<string> =>
  e.kind === "string" ? Either.right(e.value) : Either.left(`expected a string, got ${kindName(e)}`)

const kindName = (e: Expr): string =>
  e.kind === "name"
    ? `the name ${e.name} (variables are not evaluated)`
    : e.kind === "call"
      ? `a call to ${e.call.callee}()`
      : `a ${e.kind}`

const patternOf = (e: Expr): Result<Array<PrefixElement>> => {
  if (e.kind !== "list") return Either.left(`pattern must be a list, got ${kindName(e)}`)
  if (e.items.length === 0) return Either.left("pattern must not be empty")
  const out: Array<PrefixElement> = []
  for (const item of e.items) {
    if (item.kind === "string") {
      if (item.value === "") return Either.left("pattern holds an empty string")
      out.push(item.value)
    } else if (item.kind === "list") {
      const alts: Array<string> = []
      for (const a of item.items) {
        if (a.kind !== "string") return Either.left(`alternatives must be strings, got ${kindName(a)}`)
        if (a.value === "") return Either.left("alternatives hold an empty string")
        alts.push(a.value)
      }
      if (alts.length === 0) return Either.left("an empty list of alternatives")
      out.push(alts.length === 1 ? alts[0]! : alts)
    } else return Either.left(`pattern elements must be strings or lists of strings, got ${kindName(item)}`)
  }
  return Either.right(out)
}

const examplesOf = (e: Expr): Result<Array<Example>> => {
  if (e.kind !== "list") return Either.left(`examples must be a list, got ${kindName(e)}`)
  const out: Array<Example> = []
  for (const item of e.items) {
    if (item.kind === "string") out.push(item.value)
    else if (item.kind === "list") {
      const argv: Array<string> = []
      for (const w of item.items) {
        if (w.kind !== "string") return Either.left(`an argv example holds ${kindName(w)}`)
        argv.push(w.value)
      }
      out.push(argv)
    } else return Either.left(`an example must be a string or a list of strings, got ${kindName(item)}`)
  }
  return Either.right(out)
}

/** Does `argv` start with the pattern (each element a word or alternatives)? */
const matchesPrefix = (pattern: ReadonlyArray<PrefixElement>, argv: ReadonlyArray<string>): boolean =>
  pattern.length <= argv.length &&
  pattern.every((e, i) => (typeof e === "string" ? e === argv[i] : e.includes(argv[i]!)))

const PREFIX_RULE_ARGS = new Set(["pattern", "decision", "justification", "match", "not_match"])

/**
 * Imports codex execpolicy rule files. A malformed file (Starlark syntax,
 * an unknown decision, a malformed pattern) fails with `ImportError` naming
 * file, line and field: codex refuses such a file at startup too.
 *
 * @since 0.1.0
 * @category importers
 */
export const importRules = (
  files: ReadonlyArray<SourceFile>,
  builder: Builder = new Builder("codex")
): Either.Either<Builder, ImportError> => {
  const hostPaths = new Map<string, Array<string>>()
  const prefixRules: Array<{ call: Call; file: string }> = []
  for (const file of files) {
    builder.file(file.path)
    let statements: Array<Statement>
    try {
      statements = parse(file.text)
    } catch (error) {
      if (error instanceof StarlarkSyntaxError)
        return Either.left(
          new ImportError({
            reason: "Syntax",
            file: file.path,
            line: error.pos.line,
            column: error.pos.column,
            field: "",
            detail: error.detail
          })
        )
      throw error
    }
    for (const st of statements) {
      if (st.kind === "unsupported") {
        // Not evaluated: it could define what a later rule uses. Commands still ask by default; allows stay as written.
        builder.refused(
          at(file.path, st.pos.line, ""),
          st.text,
          "not imported: only prefix_rule() and host_executable() calls are read, nothing is evaluated",
          true
        )
        continue
      }
      const call = st.call
      if (call.callee === "prefix_rule") prefixRules.push({ call, file: file.path })
      else if (call.callee === "host_executable") {
        const name = call.args.find((a) => a.name === "name")
        const paths = call.args.find((a) => a.name === "paths")
        const n = name === undefined ? Either.left("missing name") : str(name.value)
        const p = paths === undefined ? Either.left("missing paths") : examplesOf(paths.value)
        if (Either.isLeft(n) || Either.isLeft(p) || p.right.some((x) => typeof x !== "string")) {
          return Either.left(
            new ImportError({
              reason: "Invalid",
              file: file.path,
              line: call.pos.line,
              column: call.pos.column,
              field: "host_executable",
              detail: Either.isLeft(n) ? n.left : Either.isLeft(p) ? p.left : "paths must be strings"
            })
          )
        }
        const list = hostPaths.get(n.right) ?? []
        list.push(...(p.right as Array<string>).filter((x) => x.startsWith("/")))
        hostPaths.set(n.right, list)
        builder.converted(
          at(file.path, call.pos.line, "host_executable"),
          call.text,
          `allow rules for ${n.right} also match ${(p.right as Array<string>).join(", ")}`
        )
      } else if (/^(forbid|forbidden)_/.test(call.callee)) {
        // The legacy language's restrictions: kept as "ask for every command" (unknown → ask, not allow).
        builder.all("ask", at(file.path, call.pos.line, call.callee), call.text)
        builder.refused(
          at(file.path, call.pos.line, call.callee),
          call.text,
          `${call.callee}() is not expressible; every shell command asks instead (where codex would forbid, Strata asks)`,
          false
        )
      } else {
        // define_program() and other unknown calls: not imported; what they would allow asks.
        builder.refused(
          at(file.path, call.pos.line, call.callee),
          call.text,
          `${call.callee}() is not imported; the commands it covers ask`,
          true
        )
      }
    }
  }
  for (const { call, file } of prefixRules) {
    const fail = (field: string, detail: string, line = call.pos.line, column = call.pos.column) =>
      Either.left(
        new ImportError({
          reason: "Invalid",
          file,
          line,
          column,
          field: `prefix_rule.${field}`.replace(/\.$/, ""),
          detail
        })
      )
    const args = new Map(call.args.map((a) => [a.name ?? "", a]))
    for (const a of call.args) {
      if (a.name === undefined) return fail("", "prefix_rule() takes keyword arguments only", a.pos.line, a.pos.column)
      if (!PREFIX_RULE_ARGS.has(a.name)) return fail(a.name, `unknown argument ${a.name}`, a.pos.line, a.pos.column)
    }
    const pattern = args.get("pattern")
    if (pattern === undefined) return fail("pattern", "missing pattern")
    const prefix = patternOf(pattern.value)
    if (Either.isLeft(prefix)) return fail("pattern", prefix.left, pattern.pos.line, pattern.pos.column)
    const d = args.get("decision")
    let decision: Verdict = "allow"
    if (d !== undefined) {
      const s = str(d.value)
      if (Either.isLeft(s)) return fail("decision", s.left, d.pos.line, d.pos.column)
      const mapped = DECISIONS[s.right]
      if (mapped === undefined)
        return fail(
          "decision",
          `unknown decision ${JSON.stringify(s.right)} (expected allow, prompt or forbidden)`,
          d.pos.line,
          d.pos.column
        )
      decision = mapped
    }
    const j = args.get("justification")
    let justification: string | undefined
    if (j !== undefined) {
      const s = str(j.value)
      if (Either.isLeft(s)) return fail("justification", s.left, j.pos.line, j.pos.column)
      justification = s.right
    }
    const ex = (key: "match" | "not_match"): Either.Either<Array<Example>, ImportError> => {
      const a = args.get(key)
      if (a === undefined) return Either.right([])
      const r = examplesOf(a.value)
      return Either.isLeft(r) ? fail(key, r.left, a.pos.line, a.pos.column) : Either.right(r.right)
    }
    const match = ex("match")
    if (Either.isLeft(match)) return Either.left(match.left)
    const notMatch = ex("not_match")
    if (Either.isLeft(notMatch)) return Either.left(notMatch.left)
    // codex checks a rule's examples when it loads the file; so does Strata. Strings are shlex words for codex:
    // an example that bash would read differently is written as its argv.
    const examples: Record<"match" | "not_match", Array<Example>> = { match: [], not_match: [] }
    for (const key of ["match", "not_match"] as const) {
      const a = args.get(key)
      for (const e of key === "match" ? match.right : notMatch.right) {
        const argv =
          typeof e === "string"
            ? split(e)
            : { ok: true as const, words: e.map((text) => ({ text, glob: false })), operator: undefined }
        if (!argv.ok) return fail(key, `example ${JSON.stringify(e)}: ${argv.error}`, a!.pos.line, a!.pos.column)
        const words = argv.words.map((w) => w.text)
        const hit = matchesPrefix(prefix.right, words)
        if (hit !== (key === "match"))
          return fail(
            key,
            `example ${JSON.stringify(e)} ${key === "match" ? "does not match" : "matches"} the pattern (codex rejects this file too)`,
            a!.pos.line,
            a!.pos.column
          )
        const plain =
          typeof e === "string" && argv.operator === undefined && words.join(" ") === e.trim().replace(/\s+/g, " ")
        examples[key].push(typeof e === "string" && !plain ? words : e)
      }
    }
    let finalPrefix = prefix.right
    let detail = ""
    const first = finalPrefix[0]!
    const firstWords = typeof first === "string" ? [first] : first
    const extra = firstWords.flatMap((w) => hostPaths.get(w) ?? [])
    if (decision === "allow" && extra.length > 0) {
      finalPrefix = [[...firstWords, ...extra], ...finalPrefix.slice(1)]
      detail = `host_executable paths added: ${extra.join(", ")}`
    }
    builder.rule(
      {
        prefix: finalPrefix,
        decision,
        justification,
        match: examples.match,
        notMatch: examples.not_match,
        origin: at(file, call.pos.line, "prefix_rule"),
        source: call.text.replace(/\s+/g, " ")
      },
      detail === "" ? {} : { status: "converted", detail }
    )
  }
  return Either.right(builder)
}

/** A TOML key's line: the first line assigning it (or opening its table). */
const lineOf = (text: string, key: string): number => {
  const lines = text.split("\n")
  const re = new RegExp(`^\\s*(\\[+\\s*)?${key.replace(/\./g, "\\.")}\\b`)
  const i = lines.findIndex((l) => re.test(l))
  return i < 0 ? 0 : i + 1
}

const APPROVALS = new Set(["untrusted", "on-failure", "on-request", "never"])

/**
 * Imports the policy part of codex's `config.toml`. `approval_policy` carries
 * over (Strata uses codex's names); `sandbox_mode` and
 * `shell_environment_policy` are reported (Strata's exec policy asks for
 * what no rule allows, whatever the sandbox); `[hooks]` become codex-dialect
 * command hooks; other keys are not policy and are listed as skipped.
 *
 * @since 0.1.0
 * @category importers
 */
export const importConfig = (
  file: SourceFile,
  builder: Builder = new Builder("codex")
): Either.Either<Builder, ImportError> => {
  builder.file(file.path)
  const parsed = Hooks.parseToml(file)
  if (Either.isLeft(parsed)) return Either.left(parsed.left)
  const doc = parsed.right
  const o = (key: string) => at(file.path, lineOf(file.text, key), key)
  for (const [key, value] of Object.entries(doc)) {
    const origin = o(key)
    const source = `${key} = ${JSON.stringify(value)}`
    switch (key) {
      case "approval_policy": {
        if (typeof value === "object" && value !== null) {
          // granular approval ({ granular = {...} }): asks at least as often with on-request.
          builder.setting("approval_policy", "on-request")
          builder.approximated(
            origin,
            source,
            "a granular approval policy became `on-request` (every ask stays an ask)"
          )
        } else if (typeof value === "string" && APPROVALS.has(value)) {
          builder.setting("approval_policy", value)
          builder.converted(
            origin,
            source,
            value === "never"
              ? 'approval_policy = "never": Strata turns every ask into a deny (codex would run it in its sandbox)'
              : `approval_policy = ${JSON.stringify(value)}`
          )
        } else
          return Hooks.invalid(
            file.path,
            origin.line,
            1,
            key,
            `unknown approval policy ${JSON.stringify(value)} (expected untrusted, on-failure, on-request or never)`
          )
        break
      }
      case "sandbox_mode":
        builder.approximated(
          origin,
          source,
          `Strata has no sandbox mode setting: commands no rule allows ask (default = "ask"), which is at least as strict as codex's ${JSON.stringify(value)}`
        )
        break
      case "sandbox_workspace_write":
        builder.approximated(origin, source, "no sandbox settings in Strata's policy; commands no rule allows ask")
        break
      case "shell_environment_policy":
        builder.refused(
          origin,
          source,
          "not imported: Strata's exec policy has no environment filter; the shell tool's environment is not narrowed to what codex passed",
          false
        )
        break
      case "hooks": {
        const r = Hooks.fromClaudeShape(
          value,
          { file: file.path, text: file.text, dialect: "codex", toml: true },
          builder
        )
        if (Either.isLeft(r)) return Either.left(r.left)
        break
      }
      case "rules": {
        // Newer codex: [rules] prefix rules inline? Not documented; unknown → not imported.
        builder.refused(origin, source, "not imported: unknown table", true)
        break
      }
      default:
        builder.entry({
          status: "refused",
          origin,
          source: key,
          detail: "skipped: not a policy setting",
          enforced: true
        })
    }
  }
  return Either.right(builder)
}

/**
 * Imports codex's `hooks.json` (`{"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [...]}]}}`).
 *
 * @since 0.1.0
 * @category importers
 */
export const importHooksJson = (
  file: SourceFile,
  builder: Builder = new Builder("codex")
): Either.Either<Builder, ImportError> => {
  builder.file(file.path)
  const json = Hooks.parseJsonObject(file, "expected an object with a hooks table")
  if (Either.isLeft(json)) return Either.left(json.left)
  const r = Hooks.fromClaudeShape(
    json.right["hooks"] ?? {},
    { file: file.path, text: file.text, dialect: "codex", toml: false },
    builder
  )
  return Either.map(r, () => builder)
}

/**
 * Imports any mix of codex files: `*.rules` / `*.codexpolicy` (rules),
 * `config.toml`, `hooks.json`.
 *
 * @since 0.1.0
 * @category importers
 */
export const importFiles = (files: ReadonlyArray<SourceFile>): Either.Either<Imported, ImportError> => {
  const builder = new Builder("codex")
  const rules = files.filter((f) => !f.path.endsWith(".toml") && !f.path.endsWith(".json"))
  for (const f of files) {
    if (f.path.endsWith(".toml")) {
      const r = importConfig(f, builder)
      if (Either.isLeft(r)) return Either.left(r.left)
    } else if (f.path.endsWith(".json")) {
      const r = importHooksJson(f, builder)
      if (Either.isLeft(r)) return Either.left(r.left)
    }
  }
  const r = importRules(rules, builder)
  if (Either.isLeft(r)) return Either.left(r.left)
  return Either.right(builder.close())
}
