/**
 * Matchers select which events a hook runs on, by the event's match target
 * (the tool name for tool events, see `HookEvent.catalog`).
 *
 * Strata dialect (in-process hooks, TOML config):
 * - absent, `""` or `"*"`: every event;
 * - `"/regex/flags"`: a regular expression (flags among `i`, `m`, `s`, `u`);
 * - otherwise `|`-separated alternatives, each an exact name or a glob where
 *   `*` is any run of characters and `?` one character (`mcp__*`,
 *   `Edit|Write`); globs match the whole name.
 *
 * Claude dialect (`hooks.json`), as Claude Code reads it: absent, `""` or `"*"`
 * match everything; a string of letters, digits, `_` and `|` is a list of
 * exact names; anything else is a regular expression matched against the
 * whole name (`Notebook.*`, `mcp__memory__.*`). A Claude matcher is tested
 * against the tool's Strata name and its Claude Code name (`ClaudeCode`:
 * `Bash` matches `shell__exec`, `Edit|Write` matches `fs__edit`).
 *
 * codex dialect: the Claude dialect on codex's tool names (`Bash`,
 * `apply_patch`). gemini-cli dialect: a regular expression tested anywhere
 * in the name, as gemini-cli does (`run_shell_command|write_file`), on the
 * gemini-cli name and the Strata name; an invalid one is an exact name.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import { claudeName } from "./ClaudeCode.js"
import { codexTools, geminiTools, theirName } from "./Dialects.js"
import { HookConfigError } from "./HookError.js"

/**
 * How a matcher string is read.
 *
 * @since 0.1.0
 * @category models
 */
export type Dialect = "strata" | "claude" | "gemini" | "codex"

/**
 * A compiled matcher. `test(undefined)` (an event without its match target)
 * is true only for match-all matchers.
 *
 * @since 0.1.0
 * @category models
 */
export interface Matcher {
  readonly source: string | undefined
  readonly matchesAll: boolean
  readonly test: (target: string | undefined) => boolean
}

/**
 * The matcher that matches every event.
 *
 * @since 0.1.0
 * @category constructors
 */
export const all: Matcher = { source: undefined, matchesAll: true, test: () => true }

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")

const globToRegex = (glob: string) =>
  glob
    .split("")
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : escapeRegex(c)))
    .join("")

const fromRegex = (source: string, regex: RegExp): Matcher => ({
  source,
  matchesAll: false,
  test: (target) => target !== undefined && regex.test(target)
})

const invalid = (pattern: string, detail: string, path: string) =>
  Either.left(new HookConfigError({ reason: "InvalidMatcher", path, detail: `${JSON.stringify(pattern)} ${detail}` }))

const tryRegex = (
  pattern: string,
  body: string,
  flags: string,
  path: string
): Either.Either<Matcher, HookConfigError> => {
  try {
    return Either.right(fromRegex(pattern, new RegExp(body, flags)))
  } catch (error) {
    return invalid(pattern, `is not a valid regular expression (${String((error as Error)?.message ?? error)})`, path)
  }
}

/**
 * Compiles a matcher. Fails with `HookConfigError` (`InvalidMatcher`, naming
 * `path`) on an invalid regular expression or empty alternative.
 *
 * @since 0.1.0
 * @category constructors
 */
export const compile = (
  pattern: string | undefined,
  options: { readonly dialect?: Dialect | undefined; readonly path?: string | undefined } = {}
): Either.Either<Matcher, HookConfigError> => {
  const path = options.path ?? "matcher"
  if (pattern === undefined || pattern === "" || pattern === "*") return Either.right(all)
  if (options.dialect === "gemini") {
    // gemini-cli: a regular expression tested anywhere in the name (its tool name or Strata's); not a valid one: an exact name.
    let regex: RegExp | undefined
    try {
      regex = new RegExp(pattern)
    } catch {
      regex = undefined
    }
    const test = (t: string) => (regex === undefined ? t === pattern : regex.test(t))
    return Either.right({
      source: pattern,
      matchesAll: false,
      test: (t) => t !== undefined && (test(t) || test(theirName(geminiTools, t)))
    })
  }
  if (options.dialect === "claude" || options.dialect === "codex") {
    const alias = options.dialect === "codex" ? (t: string) => theirName(codexTools, t) : claudeName
    // Tested on the Strata name and on its Claude Code name.
    const either = (m: Matcher): Matcher => ({
      ...m,
      test: (t) => t !== undefined && (m.test(t) || m.test(alias(t)))
    })
    if (/^[A-Za-z0-9_|]+$/.test(pattern)) {
      const names = new Set(pattern.split("|"))
      return Either.right(either({ source: pattern, matchesAll: false, test: (t) => t !== undefined && names.has(t) }))
    }
    return Either.map(tryRegex(pattern, `^(?:${pattern})$`, "", path), either)
  }
  const regex = /^\/(.+)\/([imsu]*)$/.exec(pattern)
  if (regex !== null) return tryRegex(pattern, regex[1]!, regex[2]!, path)
  const alternatives = pattern.split("|")
  if (alternatives.some((a) => a === "")) return invalid(pattern, "has an empty alternative", path)
  if (alternatives.every((a) => !/[*?]/.test(a))) {
    const names = new Set(alternatives)
    return Either.right({ source: pattern, matchesAll: false, test: (t) => t !== undefined && names.has(t) })
  }
  return Either.right(fromRegex(pattern, new RegExp(`^(?:${alternatives.map(globToRegex).join("|")})$`)))
}
