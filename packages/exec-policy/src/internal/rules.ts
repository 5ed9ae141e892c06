/**
 * Rule files: TOML in, validated rules out, each remembering its file and
 * line. Every problem is a `RuleFileError` naming file, line, column and,
 * inside a rule, the rule.
 *
 * @internal
 */
import * as Either from "effect/Either"
import { parse as parseToml, TomlError } from "smol-toml"
import { RuleFileError } from "../ExecPolicyError.js"

/** @internal */
export type Verdict = "allow" | "ask" | "deny"

/** Where a rule file sits in the layering: built-in < user < project < cli. */
export type RuleLayer = "builtin" | "user" | "project" | "cli"

/** A `match` / `not_match` example: a command string, or an argv array. */
export type Example = string | ReadonlyArray<string>

/** @internal */
export interface Rule {
  /** 1-based position of the rule in its file. */
  readonly index: number
  readonly file: string
  readonly line: number
  readonly layer: RuleLayer
  /** Each element lists the accepted words at that position. */
  readonly prefix: ReadonlyArray<ReadonlyArray<string>>
  readonly decision: Verdict
  readonly justification: string | undefined
  readonly allowRedirection: boolean
  /**
   * Options that keep the rule from matching, wherever they appear after the
   * program name: `--output` (also `--output=x` and abbreviations such as
   * `--out=x`), `-o` (also inside `-vo` and as `-ox`).
   */
  readonly notFlags: ReadonlyArray<string>
  /** Only an argv exactly as long as the prefix matches (`git branch`, not `git branch new`). */
  readonly exact: boolean
  readonly match: ReadonlyArray<Example>
  readonly notMatch: ReadonlyArray<Example>
}

/** @internal */
export interface RuleFile {
  readonly file: string
  readonly layer: RuleLayer
  readonly default: Verdict | undefined
  readonly rules: ReadonlyArray<Rule>
}

const VERDICTS: ReadonlySet<string> = new Set(["allow", "ask", "deny"])
const TOP_KEYS: ReadonlySet<string> = new Set(["default", "rule"])
const RULE_KEYS: ReadonlySet<string> = new Set([
  "prefix",
  "decision",
  "justification",
  "allow_redirection",
  "not_flags",
  "exact",
  "match",
  "not_match"
])

/** Renders a prefix as in the file: `["git", ["status", "log"]]`. */
export const renderPrefix = (prefix: ReadonlyArray<ReadonlyArray<string>>): string =>
  `[${prefix
    .map((alts) => (alts.length === 1 ? JSON.stringify(alts[0]) : `[${alts.map((a) => JSON.stringify(a)).join(", ")}]`))
    .join(", ")}]`

/** Names a rule for error messages: `rule #2 ["git", "push"]`. */
export const describeRule = (index: number, prefix: ReadonlyArray<ReadonlyArray<string>> | undefined): string =>
  prefix === undefined ? `rule #${index}` : `rule #${index} ${renderPrefix(prefix)}`

/**
 * Finds the line of every `[[rule]]` header, skipping multi-line strings, so
 * rule N can be reported at its line.
 */
const ruleHeaderLines = (text: string): Array<number> => {
  const lines = text.split("\n")
  const found: Array<number> = []
  let inMulti: string | undefined
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (inMulti === undefined && /^\s*\[\[\s*rule\s*\]\]/.test(line)) found.push(i + 1)
    for (const quote of ['"""', "'''"]) {
      let from = 0
      for (;;) {
        const at = line.indexOf(quote, from)
        if (at < 0) break
        if (inMulti === undefined) inMulti = quote
        else if (inMulti === quote) inMulti = undefined
        from = at + 3
      }
    }
  }
  return found
}

/** The 1-based line and column of `key = ` inside lines [from, to). */
const keyPosition = (
  text: string,
  key: string,
  from: number,
  to: number
): { line: number; column: number } | undefined => {
  const lines = text.split("\n")
  const re = new RegExp(`^(\\s*)(?:${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}|"${key}"|'${key}')\\s*=`)
  for (let i = Math.max(0, from - 1); i < Math.min(lines.length, to - 1); i++) {
    const m = re.exec(lines[i]!)
    if (m !== null) return { line: i + 1, column: m[1]!.length + 1 }
  }
  return undefined
}

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u) && !(u instanceof Date)

const typeName = (u: unknown): string =>
  Array.isArray(u) ? "an array" : u === null ? "null" : u instanceof Date ? "a date" : `a ${typeof u}`

/**
 * Parses and validates one rule file. `file` is only used in errors and
 * explanations.
 */
export const parseRuleFile = (text: string, file: string, layer: RuleLayer): Either.Either<RuleFile, RuleFileError> => {
  let doc: Record<string, unknown>
  try {
    doc = parseToml(text) as Record<string, unknown>
  } catch (error) {
    if (error instanceof TomlError) {
      const first = error.message.split("\n")[0] ?? error.message
      const detail = first.replace(/^Invalid TOML document:\s*/, "")
      return Either.left(
        new RuleFileError({
          reason: "Syntax",
          file,
          line: error.line,
          column: error.column,
          detail: `invalid TOML: ${detail}`,
          cause: error
        })
      )
    }
    return Either.left(
      new RuleFileError({ reason: "Syntax", file, detail: `invalid TOML: ${String(error)}`, cause: error })
    )
  }
  const totalLines = text.split("\n").length + 1
  for (const key of Object.keys(doc)) {
    if (!TOP_KEYS.has(key)) {
      const at = keyPosition(text, key, 1, totalLines)
      return Either.left(
        new RuleFileError({
          reason: "Invalid",
          file,
          ...at,
          detail: `unknown key "${key}" (expected "default" or [[rule]] tables)`
        })
      )
    }
  }
  let fileDefault: Verdict | undefined
  if (doc["default"] !== undefined) {
    const d = doc["default"]
    if (typeof d !== "string" || !VERDICTS.has(d)) {
      return Either.left(
        new RuleFileError({
          reason: "Invalid",
          file,
          ...keyPosition(text, "default", 1, totalLines),
          detail: `unknown default decision ${JSON.stringify(d)} (expected "allow", "ask" or "deny")`
        })
      )
    }
    fileDefault = d as Verdict
  }
  const rawRules = doc["rule"]
  if (rawRules === undefined) return Either.right({ file, layer, default: fileDefault, rules: [] })
  if (!Array.isArray(rawRules)) {
    return Either.left(
      new RuleFileError({
        reason: "Invalid",
        file,
        ...keyPosition(text, "rule", 1, totalLines),
        detail: `"rule" must be an array of tables ([[rule]]), got ${typeName(rawRules)}`
      })
    )
  }
  const headers = ruleHeaderLines(text)
  const headersMatch = headers.length === rawRules.length
  const rules: Array<Rule> = []
  for (let i = 0; i < rawRules.length; i++) {
    const index = i + 1
    const line = headersMatch ? headers[i]! : (keyPosition(text, "rule", 1, totalLines)?.line ?? 1)
    const blockEnd = headersMatch ? (headers[i + 1] ?? totalLines) : totalLines
    const raw = rawRules[i]
    const fail = (detail: string, name: string, key?: string): Either.Either<never, RuleFileError> => {
      const at = key === undefined ? undefined : keyPosition(text, key, line, blockEnd)
      return Either.left(
        new RuleFileError({
          reason: "Invalid",
          file,
          line: at?.line ?? line,
          ...(at === undefined ? {} : { column: at.column }),
          rule: name,
          detail
        })
      )
    }
    if (!isRecord(raw)) return fail(`must be a table, got ${typeName(raw)}`, describeRule(index, undefined))
    // The prefix first, so that every later error can name the rule by it.
    const rawPrefix = raw["prefix"]
    let prefix: Array<Array<string>> | undefined
    let prefixError: string | undefined
    if (rawPrefix === undefined) prefixError = `missing "prefix"`
    else if (!Array.isArray(rawPrefix) || rawPrefix.length === 0)
      prefixError = `"prefix" must be a non-empty array of words, got ${Array.isArray(rawPrefix) ? "an empty array" : typeName(rawPrefix)}`
    else {
      prefix = []
      for (let p = 0; p < rawPrefix.length && prefixError === undefined; p++) {
        const el: unknown = rawPrefix[p]
        if (typeof el === "string") {
          if (el === "") prefixError = `"prefix" element ${p + 1} is an empty string`
          else prefix.push([el])
        } else if (Array.isArray(el)) {
          if (el.length === 0) prefixError = `"prefix" element ${p + 1} is an empty list of alternatives`
          else if (!el.every((a) => typeof a === "string" && a !== ""))
            prefixError = `"prefix" element ${p + 1} must list non-empty strings`
          else prefix.push(el as Array<string>)
        } else prefixError = `"prefix" element ${p + 1} must be a string or an array of strings, got ${typeName(el)}`
      }
    }
    if (prefixError !== undefined) return fail(prefixError, describeRule(index, undefined), "prefix")
    const name = describeRule(index, prefix)
    for (const key of Object.keys(raw)) {
      if (!RULE_KEYS.has(key)) {
        return fail(
          `unknown key "${key}" (expected prefix, decision, justification, allow_redirection, not_flags, exact, match, not_match)`,
          name,
          key
        )
      }
    }
    const decision = raw["decision"]
    if (decision === undefined) return fail(`missing "decision" (allow, ask or deny)`, name)
    if (typeof decision !== "string" || !VERDICTS.has(decision)) {
      return fail(`unknown decision ${JSON.stringify(decision)} (expected "allow", "ask" or "deny")`, name, "decision")
    }
    const justification = raw["justification"]
    if (justification !== undefined && typeof justification !== "string") {
      return fail(`"justification" must be a string, got ${typeName(justification)}`, name, "justification")
    }
    const allowRedirection = raw["allow_redirection"]
    if (allowRedirection !== undefined && typeof allowRedirection !== "boolean") {
      return fail(
        `"allow_redirection" must be true or false, got ${typeName(allowRedirection)}`,
        name,
        "allow_redirection"
      )
    }
    const notFlags = raw["not_flags"]
    if (
      notFlags !== undefined &&
      (!Array.isArray(notFlags) || !notFlags.every((f) => typeof f === "string" && /^-(-[^\s=]+|[^-\s])$/.test(f)))
    ) {
      return fail(
        `"not_flags" must be an array of options such as "--output" or "-o", got ${JSON.stringify(notFlags)}`,
        name,
        "not_flags"
      )
    }
    const exact = raw["exact"]
    if (exact !== undefined && typeof exact !== "boolean") {
      return fail(`"exact" must be true or false, got ${typeName(exact)}`, name, "exact")
    }
    const examples = (key: "match" | "not_match"): Either.Either<Array<Example>, RuleFileError> => {
      const value = raw[key]
      if (value === undefined) return Either.right([])
      if (!Array.isArray(value)) return fail(`"${key}" must be an array of examples, got ${typeName(value)}`, name, key)
      const out: Array<Example> = []
      for (const ex of value) {
        if (typeof ex === "string") out.push(ex)
        else if (Array.isArray(ex) && ex.length > 0 && ex.every((w) => typeof w === "string"))
          out.push(ex as Array<string>)
        else
          return fail(
            `"${key}" examples must be command strings or non-empty arrays of words, got ${typeName(ex)}`,
            name,
            key
          )
      }
      return Either.right(out)
    }
    const match = examples("match")
    if (Either.isLeft(match)) return Either.left(match.left)
    const notMatch = examples("not_match")
    if (Either.isLeft(notMatch)) return Either.left(notMatch.left)
    rules.push({
      index,
      file,
      line,
      layer,
      prefix: prefix!,
      decision: decision as Verdict,
      justification: justification as string | undefined,
      allowRedirection: allowRedirection === true,
      notFlags: (notFlags as Array<string> | undefined) ?? [],
      exact: exact === true,
      match: match.right,
      notMatch: notMatch.right
    })
  }
  return Either.right({ file, layer, default: fileDefault, rules })
}

/** Locates the line of a rule's `match` / `not_match` key, for example errors. */
export const exampleLine = (text: string | undefined, rule: Rule, key: "match" | "not_match"): number => {
  if (text === undefined) return rule.line
  return keyPosition(text, key, rule.line, text.split("\n").length + 1)?.line ?? rule.line
}

/** A rule file's text and where it came from. */
export interface RuleSource {
  readonly file: string
  readonly layer: RuleLayer
  readonly text: string
}

/**
 * Parses and checks rule files (TOML, shape, decisions, prefixes), lowest
 * layer first: everything but the `match` / `not_match` examples, which need
 * the grammar (see `Engine.build`).
 */
export const parseRuleFiles = (
  sources: ReadonlyArray<RuleSource>
): Either.Either<ReadonlyArray<RuleFile>, RuleFileError> => {
  const files: Array<RuleFile> = []
  for (const s of sources) {
    const parsed = parseRuleFile(s.text, s.file, s.layer)
    if (Either.isLeft(parsed)) return Either.left(parsed.left)
    files.push(parsed.right)
  }
  return Either.right(files)
}

/** The effective default of rule files: the highest layer's `default`, else `ask`. */
export const defaultOf = (files: ReadonlyArray<RuleFile>): Verdict => {
  let d: Verdict = "ask"
  for (const f of files) if (f.default !== undefined) d = f.default
  return d
}
