/**
 * Quote removal and unescaping for the pieces of a bash word, as bash does
 * them before a command runs. Pure string functions, no parser state.
 *
 * @internal
 */

/** The result of reading an unquoted word: its value and what bash would still expand in it. */
export interface UnquotedWord {
  /** The word after backslash removal. */
  readonly value: string
  /** A regular expression source matching what the word could glob to, when it holds an unquoted glob. */
  readonly pattern: string | undefined
  /** An unquoted brace expansion (`{a,b}`, `{1..3}`): the word may become several words. */
  readonly brace: boolean
  /** A leading unquoted `~`: tilde expansion. */
  readonly tilde: boolean
  /** An unescaped shell metacharacter the grammar left inside a word: the parse is not trustworthy. */
  readonly meta: boolean
}

const isGlobChar = (c: string): boolean => c === "*" || c === "?" || c === "["

const META = new Set(["$", "`", ";", "&", "|", "<", ">", "(", ")", " ", "\t", "\n", "\r"])

/** Backslash-escapes every character, so that `unquoteWord(s, true)` reads `s` back literally. */
export const escapeAll = (s: string): string => s.replace(/[\s\S]/g, "\\$&")

/** Escapes a literal string for use inside a regular expression. */
export const regexEscape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")

/**
 * Reads an unquoted word: `\x` is `x`, `\<newline>` disappears, `*`, `?` and
 * `[...]` are glob characters, `{a,b}` is a brace expansion.
 */
const PLAIN = /^[A-Za-z0-9_.,:/@%+=-]*$/

export const unquoteWord = (raw: string, escapedNewlineIsLiteral = false): UnquotedWord => {
  // Most words have nothing to unquote or expand.
  if (PLAIN.test(raw)) return { value: raw, pattern: undefined, brace: false, tilde: false, meta: false }
  let value = ""
  let pattern = ""
  let glob = false
  let brace = false
  let meta = false
  let openBrace = -1
  let braceHasSep = false
  const n = raw.length
  for (let i = 0; i < n; i++) {
    const c = raw[i]!
    if (c === "\\") {
      if (i + 1 < n) {
        const next = raw[i + 1]!
        i++
        if (next === "\n" && !escapedNewlineIsLiteral) continue
        value += next
        pattern += regexEscape(next)
      } else {
        value += c
        pattern += "\\\\"
      }
      continue
    }
    if (isGlobChar(c)) {
      if (c === "[") {
        const close = raw.indexOf("]", i + 2)
        if (close > i) {
          glob = true
          let body = raw.slice(i + 1, close)
          if (body.startsWith("!") || body.startsWith("^")) body = "^" + body.slice(1)
          pattern += "[" + body.replace(/\\/g, "\\\\") + "]"
          value += raw.slice(i, close + 1)
          i = close
          continue
        }
        value += c
        pattern += "\\["
        continue
      }
      glob = true
      // In pathname expansion `*` and `?` never match a `/`.
      pattern += c === "*" ? "[^/]*" : "[^/]"
      value += c
      continue
    }
    if (c === "{") {
      if (openBrace < 0) {
        openBrace = i
        braceHasSep = false
      }
    } else if (c === "," && openBrace >= 0) {
      braceHasSep = true
    } else if (c === "." && openBrace >= 0 && raw[i + 1] === ".") {
      braceHasSep = true
    } else if (c === "}" && openBrace >= 0) {
      if (braceHasSep) brace = true
      openBrace = -1
    } else if (META.has(c)) {
      meta = true
    }
    value += c
    pattern += regexEscape(c)
  }
  return { value, pattern: glob ? pattern : undefined, brace, tilde: raw.startsWith("~"), meta }
}

/** The characters a backslash escapes inside double quotes. */
const DQ_ESCAPABLE = new Set(["$", "`", '"', "\\"])

/** The result of reading the text between double quotes. */
export interface DoubleQuoted {
  readonly value: string
  /** An unescaped `$(`, `${`, `$name` or backquote the grammar did not turn into an expansion. */
  readonly meta: boolean
}

/**
 * Reads literal text inside double quotes: a backslash is removed only
 * before `$`, backquote, `"`, `\` and newline.
 */
export const unquoteDouble = (raw: string): DoubleQuoted => {
  let value = ""
  let meta = false
  const n = raw.length
  for (let i = 0; i < n; i++) {
    const c = raw[i]!
    if (c === "\\" && i + 1 < n) {
      const next = raw[i + 1]!
      if (next === "\n") {
        i++
        continue
      }
      if (DQ_ESCAPABLE.has(next)) {
        value += next
        i++
        continue
      }
      value += c
      continue
    }
    if (c === "`") meta = true
    else if (c === "$" && i + 1 < n && /[({A-Za-z0-9_@*#?$!-]/.test(raw[i + 1]!)) meta = true
    value += c
  }
  return { value, meta }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: "\x07",
  b: "\b",
  e: "\x1b",
  E: "\x1b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\\": "\\",
  "'": "'",
  '"': '"',
  "?": "?"
}

const isOctal = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "7"
const isHex = (c: string | undefined): boolean => c !== undefined && /[0-9a-fA-F]/.test(c)

/**
 * Decodes the body of an ANSI-C quoted string (`$'...'`, without the `$'`
 * and `'`) as bash does: `\n`, `\t`, `\xHH`, `\uHHHH`, `\UHHHHHHHH`, octal
 * `\nnn`, `\cX`. A NUL ends the string, as it does in bash.
 */
export const decodeAnsiC = (body: string): string => {
  let out = ""
  const n = body.length
  for (let i = 0; i < n; i++) {
    const c = body[i]!
    if (c !== "\\" || i + 1 >= n) {
      out += c
      continue
    }
    const e = body[i + 1]!
    i++
    const simple = SIMPLE_ESCAPES[e]
    if (simple !== undefined) {
      out += simple
      continue
    }
    let code: number | undefined
    if (isOctal(e)) {
      let digits = e
      while (digits.length < 3 && isOctal(body[i + 1])) digits += body[++i]
      code = Number.parseInt(digits, 8) & 0xff
    } else if (e === "x" && isHex(body[i + 1])) {
      let digits = ""
      while (digits.length < 2 && isHex(body[i + 1])) digits += body[++i]
      code = Number.parseInt(digits, 16)
    } else if ((e === "u" || e === "U") && isHex(body[i + 1])) {
      const max = e === "u" ? 4 : 8
      let digits = ""
      while (digits.length < max && isHex(body[i + 1])) digits += body[++i]
      code = Number.parseInt(digits, 16)
      if (code > 0x10ffff) code = 0xfffd
    } else if (e === "c" && i + 1 < n) {
      const ch = body[++i]!
      code = ch === "?" ? 0x7f : ch.toUpperCase().charCodeAt(0) & 0x1f
    } else {
      out += "\\" + e
      continue
    }
    if (code === 0) return out
    out += String.fromCodePoint(code)
  }
  return out
}

/** The last path segment of a command name (`/usr/bin/rm` is `rm`). */
export const basename = (name: string): string => {
  const i = name.lastIndexOf("/")
  return i < 0 ? name : name.slice(i + 1)
}

/**
 * Brace expansion of an unquoted word with no quoting or expansion in it
 * (`{a,b}c`, `x{1..3}`), as bash does it; `undefined` when the word is not
 * that simple or expands to more than 64 words.
 */
export const braceExpand = (w: string): Array<string> | undefined => {
  if (!/^[A-Za-z0-9_.,/{}:+=@%~^-]*$/.test(w)) return undefined
  const out: Array<string> = []
  const go = (word: string, from: number): boolean => {
    for (let i = from; i < word.length; i++) {
      if (word[i] !== "{") continue
      let depth = 0
      let j = i
      const commas: Array<number> = []
      for (; j < word.length; j++) {
        const ch = word[j]
        if (ch === "{") depth++
        else if (ch === "}") {
          depth--
          if (depth === 0) break
        } else if (ch === "," && depth === 1) commas.push(j)
      }
      if (j >= word.length) break
      const body = word.slice(i + 1, j)
      let alts: Array<string> | undefined
      if (commas.length > 0) {
        alts = []
        let at = i + 1
        for (const c of [...commas, j]) {
          alts.push(word.slice(at, c))
          at = c + 1
        }
      } else {
        const m = /^(-?\d+|[A-Za-z])\.\.(-?\d+|[A-Za-z])(?:\.\.(-?\d+))?$/.exec(body)
        if (m !== null) {
          const num = /\d/.test(m[1]!)
          const a = num ? Number(m[1]) : m[1]!.charCodeAt(0)
          const b = num ? Number(m[2]) : m[2]!.charCodeAt(0)
          const step = Math.max(1, Math.abs(Number(m[3] ?? 1)))
          if (Math.abs(b - a) / step > 64) return false
          alts = []
          for (let k = a; a <= b ? k <= b : k >= b; k += a <= b ? step : -step) {
            alts.push(num ? String(k) : String.fromCharCode(k))
          }
        }
      }
      if (alts === undefined) continue
      const pre = word.slice(0, i)
      const post = word.slice(j + 1)
      for (const alt of alts) if (!go(pre + alt + post, i)) return false
      return true
    }
    out.push(word)
    return out.length <= 64
  }
  return go(w, 0) ? out : undefined
}
