/**
 * The pattern engines of `grep` and `glob`: RE2 syntax run by `re2js`, a
 * pure JavaScript port of RE2 (MIT, no native code, the same on Node, Bun
 * and Deno). Matching takes time linear in the input whatever the pattern:
 * `^(a+)+$` on a million characters answers in milliseconds, where a
 * backtracking `RegExp` would block the event loop for ages. The price:
 * backreferences (`\1`, `\k<name>`) and lookahead (`(?=`, `(?!`) cannot be
 * expressed and are refused with a clear error; captureless lookbehind
 * (`(?<=`, `(?<!`) is supported, in linear time.
 *
 * @since 0.2.0
 */
import * as Either from "effect/Either"
import { RE2JS } from "re2js"
import { FsToolError } from "./FsToolError.js"

/**
 * A compiled pattern: `test` answers whether a string contains a match.
 *
 * @since 0.2.0
 * @category models
 */
export interface Matcher {
  readonly test: (input: string) => boolean
}

/**
 * The longest pattern accepted (characters).
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_PATTERN = 4096

/** What RE2 cannot express, found by a scan that skips escapes and classes. */
const unsupported = (pattern: string): string | undefined => {
  let inClass = false
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === "\\") {
      const next = pattern[i + 1]
      if (!inClass && next !== undefined && next >= "1" && next <= "9") return `backreference \\${next}`
      if (!inClass && next === "k" && pattern[i + 2] === "<") return "named backreference \\k<…>"
      i++
      continue
    }
    if (inClass) {
      if (c === "]") inClass = false
      continue
    }
    if (c === "[") {
      inClass = true
      if (pattern[i + 1] === "]") i++
      continue
    }
    if (c === "(" && pattern[i + 1] === "?" && (pattern[i + 2] === "=" || pattern[i + 2] === "!")) {
      return `lookahead (?${pattern[i + 2]}…)`
    }
  }
  return undefined
}

const invalid = (pattern: string, detail: string) =>
  Either.left(
    new FsToolError({ reason: "InvalidPattern", detail: `invalid pattern ${JSON.stringify(pattern)}: ${detail}` })
  )

/**
 * Compiles a regular expression (JavaScript syntax where RE2 has it:
 * `\uXXXX`, `\u{…}`, `\cX` are translated) for linear-time matching.
 * `Left` is an `InvalidPattern` error naming what is not supported or what
 * does not parse.
 *
 * @since 0.2.0
 * @category constructors
 */
export const regex = (
  pattern: string,
  options: { readonly ignoreCase?: boolean | undefined } = {}
): Either.Either<Matcher, FsToolError> => {
  if (pattern.length > MAX_PATTERN) return invalid(pattern.slice(0, 40), `longer than ${MAX_PATTERN} characters`)
  const missing = unsupported(pattern)
  if (missing !== undefined) {
    return invalid(
      pattern,
      `${missing} is not supported: grep runs a linear-time engine (RE2 syntax) that has no backreferences or lookahead; match a broader pattern and filter, or use (?<=…) lookbehind`
    )
  }
  try {
    const flags = RE2JS.LOOKBEHINDS | (options.ignoreCase === true ? RE2JS.CASE_INSENSITIVE : 0)
    const compiled = RE2JS.compile(RE2JS.translateRegExp(pattern), flags)
    return Either.right({ test: (input) => compiled.test(input) })
  } catch (e) {
    return invalid(pattern, (e instanceof Error ? e.message : String(e)).replace(/^error parsing regexp: /, ""))
  }
}

const escapeRe = (s: string) => s.replace(/[.+^$()|[\]{}\\*?/]/g, "\\$&")

/**
 * A glob pattern as an RE2 regular expression over `/`-separated relative
 * paths: `**` any number of directories, `*` and `?` within one name,
 * `{a,b}` alternatives, `[...]` and `[!...]` classes.
 *
 * @since 0.2.0
 * @category utils
 */
export const globToRegex = (pattern: string): string => {
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
          .map((s) => escapeRe(s).replace(/\\\*/g, "[^/]*").replace(/\\\?/g, "[^/]"))
          .join("|")})`
        i = end
      }
    } else if (c === "[") {
      const end = pattern.indexOf("]", i + 2)
      if (end === -1) re += "\\["
      else {
        const body = pattern.slice(i + 1, end)
        const negated = body.startsWith("!") || body.startsWith("^")
        const members = (negated ? body.slice(1) : body).replace(/[\\\][]/g, "\\$&")
        re += `[${negated ? "^/" : ""}${members}]`
        i = end
      }
    } else re += escapeRe(c)
  }
  return `^${re}$`
}

/**
 * Compiles a glob pattern (see {@link globToRegex}); `Left` names the
 * pattern when it does not compile.
 *
 * @since 0.2.0
 * @category constructors
 */
export const glob = (pattern: string): Either.Either<Matcher, FsToolError> => {
  if (pattern.length > MAX_PATTERN) return invalid(pattern.slice(0, 40), `longer than ${MAX_PATTERN} characters`)
  try {
    const compiled = RE2JS.compile(globToRegex(pattern), RE2JS.DOTALL)
    return Either.right({ test: (input) => compiled.test(input) })
  } catch (e) {
    return invalid(
      pattern,
      `not a valid glob: ${(e instanceof Error ? e.message : String(e)).replace(/^error parsing regexp: /, "")}`
    )
  }
}
