/**
 * A parser for the Starlark subset codex's execpolicy files use: top-level
 * calls (`prefix_rule(...)`, `host_executable(...)`) whose arguments are
 * strings, numbers, `True` / `False` / `None`, lists, and nested calls.
 * It builds a syntax tree and never evaluates code: any other statement
 * (assignments, `load`, `def`, `if`, `for`, expressions with operators) is
 * kept as an `Unsupported` statement with its line, for the report.
 */

export interface Pos {
  readonly line: number
  readonly column: number
}

export type Expr =
  | { readonly kind: "string"; readonly value: string; readonly pos: Pos }
  | { readonly kind: "number"; readonly value: number; readonly pos: Pos }
  | { readonly kind: "name"; readonly name: string; readonly pos: Pos }
  | { readonly kind: "list"; readonly items: ReadonlyArray<Expr>; readonly pos: Pos }
  | { readonly kind: "call"; readonly call: Call; readonly pos: Pos }

export interface Arg {
  readonly name: string | undefined
  readonly value: Expr
  readonly pos: Pos
}

export interface Call {
  readonly callee: string
  readonly args: ReadonlyArray<Arg>
  readonly pos: Pos
  /** The source text of the call. */
  readonly text: string
}

export type Statement =
  | { readonly kind: "call"; readonly call: Call }
  | { readonly kind: "unsupported"; readonly text: string; readonly pos: Pos }

export class StarlarkSyntaxError {
  constructor(
    readonly detail: string,
    readonly pos: Pos
  ) {}
}

type Tok =
  | { readonly t: "ident"; readonly v: string; readonly pos: Pos; readonly at: number }
  | { readonly t: "string"; readonly v: string; readonly pos: Pos; readonly at: number }
  | { readonly t: "number"; readonly v: number; readonly pos: Pos; readonly at: number }
  | { readonly t: "punct"; readonly v: string; readonly pos: Pos; readonly at: number }
  | { readonly t: "newline"; readonly pos: Pos; readonly at: number }
  | { readonly t: "eof"; readonly pos: Pos; readonly at: number }

const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0" }

const tokenize = (src: string): Array<Tok> => {
  const out: Array<Tok> = []
  let i = 0
  let line = 1
  let col = 1
  let depth = 0
  const adv = (n: number) => {
    for (let k = 0; k < n; k++) {
      if (src[i] === "\n") {
        line++
        col = 1
      } else col++
      i++
    }
  }
  while (i < src.length) {
    const c = src[i]!
    const pos = { line, column: col }
    const at = i
    if (c === "#") {
      while (i < src.length && src[i] !== "\n") adv(1)
      continue
    }
    if (c === "\n") {
      if (depth === 0) out.push({ t: "newline", pos, at })
      adv(1)
      continue
    }
    if (c === " " || c === "\t" || c === "\r") {
      adv(1)
      continue
    }
    if (c === "\\" && src[i + 1] === "\n") {
      adv(2)
      continue
    }
    // String literals, with r/b prefixes and triple quotes.
    const prefixed = /^([rRbB]{0,2})("""|'''|"|')/.exec(src.slice(i, i + 5))
    if (prefixed !== null && (prefixed[1] === "" || /[rRbB]/.test(c))) {
      const raw = /r/i.test(prefixed[1]!)
      const quote = prefixed[2]!
      adv(prefixed[0].length)
      let value = ""
      let closed = false
      while (i < src.length) {
        if (src.startsWith(quote, i)) {
          adv(quote.length)
          closed = true
          break
        }
        const d = src[i]!
        if (d === "\n" && quote.length === 1) throw new StarlarkSyntaxError("unterminated string", pos)
        if (d === "\\" && !raw) {
          const e = src[i + 1]
          if (e === undefined) break
          if (e === "\n") {
            adv(2)
            continue
          }
          if (e === "x" || e === "u" || e === "U") {
            const n = e === "x" ? 2 : e === "u" ? 4 : 8
            const hex = src.slice(i + 2, i + 2 + n)
            if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex))
              throw new StarlarkSyntaxError(`invalid \\${e} escape`, { line, column: col })
            value += String.fromCodePoint(Number.parseInt(hex, 16))
            adv(2 + n)
            continue
          }
          const mapped = ESCAPES[e]
          if (mapped === undefined) throw new StarlarkSyntaxError(`invalid escape \\${e}`, { line, column: col })
          value += mapped
          adv(2)
          continue
        }
        if (d === "\\" && raw && src[i + 1] !== undefined) {
          value += d + src[i + 1]
          adv(2)
          continue
        }
        value += d
        adv(1)
      }
      if (!closed) throw new StarlarkSyntaxError("unterminated string", pos)
      out.push({ t: "string", v: value, pos, at })
      continue
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!
      adv(m[0].length)
      out.push({ t: "ident", v: m[0], pos, at })
      continue
    }
    if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(src.slice(i))!
      adv(m[0].length)
      out.push({ t: "number", v: Number(m[0]), pos, at })
      continue
    }
    const two = src.slice(i, i + 2)
    const p = ["==", "!=", "<=", ">=", "**", "//", "+=", "-=", "->"].includes(two) ? two : c
    if (p === "(" || p === "[" || p === "{") depth++
    if (p === ")" || p === "]" || p === "}") depth = Math.max(0, depth - 1)
    adv(p.length)
    out.push({ t: "punct", v: p, pos, at })
  }
  out.push({ t: "eof", pos: { line, column: col }, at: src.length })
  return out
}

/** Parses a file into statements. Throws `StarlarkSyntaxError` (with line and column) on malformed input. */
export const parse = (src: string): Array<Statement> => {
  const toks = tokenize(src)
  let k = 0
  const peek = () => toks[k]!
  const next = () => toks[k++]!
  const expectPunct = (v: string) => {
    const t = next()
    if (t.t !== "punct" || t.v !== v)
      throw new StarlarkSyntaxError(`expected ${JSON.stringify(v)}, found ${describeTok(t)}`, t.pos)
  }
  let depth = 0
  const parseExpr = (): Expr => {
    const t = next()
    if (++depth > MAX_DEPTH) throw new StarlarkSyntaxError(`nesting deeper than ${MAX_DEPTH} levels`, t.pos)
    try {
      return parseExprAt(t)
    } finally {
      depth--
    }
  }
  const parseExprAt = (t: Tok): Expr => {
    let expr: Expr
    if (t.t === "string") {
      let value = t.v
      // Adjacent string literals concatenate, as in Python.
      while (peek().t === "string") value += (next() as { v: string }).v
      expr = { kind: "string", value, pos: t.pos }
    } else if (t.t === "number") expr = { kind: "number", value: t.v, pos: t.pos }
    else if (t.t === "punct" && t.v === "[") {
      const items: Array<Expr> = []
      while (!(peek().t === "punct" && (peek() as { v: string }).v === "]")) {
        items.push(parseExpr())
        const sep = peek()
        if (sep.t === "punct" && sep.v === ",") next()
        else if (!(sep.t === "punct" && sep.v === "]"))
          throw new StarlarkSyntaxError(`expected "," or "]" in a list, found ${describeTok(sep)}`, sep.pos)
      }
      next()
      expr = { kind: "list", items, pos: t.pos }
    } else if (t.t === "ident") {
      if (peek().t === "punct" && (peek() as { v: string }).v === "(")
        expr = { kind: "call", call: parseCall(t), pos: t.pos }
      else expr = { kind: "name", name: t.v, pos: t.pos }
    } else throw new StarlarkSyntaxError(`unexpected ${describeTok(t)}`, t.pos)
    const after = peek()
    if (after.t === "punct" && ![",", ")", "]"].includes(after.v))
      throw new StarlarkSyntaxError(
        `operator ${JSON.stringify(after.v)} is not supported (values must be literals)`,
        after.pos
      )
    return expr
  }
  const parseCall = (name: Extract<Tok, { t: "ident" }>): Call => {
    expectPunct("(")
    const args: Array<Arg> = []
    const seen = new Set<string>()
    while (!(peek().t === "punct" && (peek() as { v: string }).v === ")")) {
      const t = peek()
      if (t.t === "eof") throw new StarlarkSyntaxError(`unclosed call to ${name.v}(`, name.pos)
      let argName: string | undefined
      if (t.t === "ident" && toks[k + 1]?.t === "punct" && (toks[k + 1] as { v: string }).v === "=") {
        argName = t.v
        if (seen.has(argName)) throw new StarlarkSyntaxError(`argument ${argName} given twice`, t.pos)
        seen.add(argName)
        k += 2
      } else if (seen.size > 0) throw new StarlarkSyntaxError("positional argument after a keyword argument", t.pos)
      args.push({ name: argName, value: parseExpr(), pos: t.pos })
      const sep = peek()
      if (sep.t === "punct" && sep.v === ",") next()
      else if (!(sep.t === "punct" && sep.v === ")"))
        throw new StarlarkSyntaxError(`expected "," or ")" in a call, found ${describeTok(sep)}`, sep.pos)
    }
    const close = next()
    return { callee: name.v, args, pos: name.pos, text: src.slice(name.at, close.at + 1) }
  }
  const statements: Array<Statement> = []
  while (peek().t !== "eof") {
    const t = peek()
    if (t.t === "newline" || (t.t === "punct" && t.v === ";")) {
      next()
      continue
    }
    if (
      t.t === "ident" &&
      toks[k + 1]?.t === "punct" &&
      (toks[k + 1] as { v: string }).v === "(" &&
      !KEYWORDS.has(t.v)
    ) {
      next()
      const call = parseCall(t)
      const end = peek()
      if (!(end.t === "newline" || end.t === "eof" || (end.t === "punct" && end.v === ";")))
        throw new StarlarkSyntaxError(`unexpected ${describeTok(end)} after ${call.callee}(...)`, end.pos)
      statements.push({ kind: "call", call })
      continue
    }
    // Anything else: skip to the end of the logical line and keep it for the report.
    const start = t
    let end = start.at
    while (peek().t !== "newline" && peek().t !== "eof") {
      const s = next()
      end = s.at + (s.t === "string" ? 1 : 1)
    }
    const stop = peek().at
    statements.push({ kind: "unsupported", text: src.slice(start.at, Math.max(end, stop)).trim(), pos: start.pos })
  }
  return statements
}

/** Lists and calls nest at most this deep: a hostile file cannot exhaust the stack. */
const MAX_DEPTH = 64

const KEYWORDS = new Set(["def", "if", "for", "while", "return", "load", "lambda", "elif", "else"])

const describeTok = (t: Tok): string =>
  t.t === "eof"
    ? "end of file"
    : t.t === "newline"
      ? "end of line"
      : t.t === "string"
        ? `string ${JSON.stringify(t.v)}`
        : JSON.stringify(String(t.v))
