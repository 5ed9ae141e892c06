/**
 * Words as bash evaluates them before running a command: quote removal,
 * concatenation, globs, parameter expansion (`${...}`), command, process
 * and backtick substitution (walked as commands), arithmetic.
 *
 * @internal
 */
import type { Reason, Tok } from "./model.js"
import { ShellGaps } from "./shellGaps.js"
import type { SyntaxNode } from "./syntax.js"
import { clip, dyn, lit } from "./tokens.js"
import { isDangerousVariable, REDIRECTS } from "./vocabulary.js"
import type { Scope } from "./walker.js"
import { decodeAnsiC, escapeAll, regexEscape, unquoteDouble, unquoteWord } from "./words.js"

/** How each expansion node must begin for bash to read it as the grammar did. */
const OPENERS: Readonly<Record<string, RegExp>> = {
  simple_expansion: /^\$[A-Za-z0-9_@*#?$!-]/,
  translated_string: /^\$"/,
  ansi_c_string: /^\$'/,
  expansion: /^\$\{/,
  command_substitution: /^(\$\(|`)/,
  arithmetic_expansion: /^\$(\(\(|\[)/,
  process_substitution: /^[<>]\(/
}

/** `${…}` operators inside which quotes quote even between double quotes (patterns). */
const QUOTING_OPS: ReadonlySet<string> = new Set(["#", "##", "%", "%%", "/", "//", "/#", "/%", "^", "^^", ",", ",,"])

/** Arithmetic nodes that only combine their operands. */
const ARITH_SAFE: ReadonlySet<string> = new Set([
  "binary_expression",
  "unary_expression",
  "ternary_expression",
  "postfix_expression",
  "parenthesized_expression"
])

export abstract class ExpansionWalker extends ShellGaps {
  /** Evaluates a word as bash would before running the command; walks any substitution inside. */
  protected word(n: SyntaxNode, sc: Scope, d: number): Tok {
    if (!this.tick()) return dyn(this.text(sc, n), "analysis stopped")
    const text = this.text(sc, n)
    const opener = OPENERS[n.type]
    if (opener !== undefined && !opener.test(text)) {
      // `x=$ "t"` is `x=$` then the command `t` to bash; the grammar reads one word.
      this.reason(
        "parse-error",
        `the parser read ${JSON.stringify(clip(text))} as one ${n.type}; bash does not`,
        this.off(sc, n)
      )
    }
    switch (n.type) {
      case "word": {
        this.continuation(n, sc)
        const u = unquoteWord(text)
        if (u.meta)
          this.reason(
            "unmodeled",
            `unexpected shell metacharacter in word ${JSON.stringify(clip(text))}`,
            this.off(sc, n)
          )
        if (u.brace) return dyn(text, "brace expansion")
        if (u.pattern !== undefined) return { value: undefined, text, pattern: u.pattern, why: "glob" }
        return lit(u.value, text)
      }
      case "number":
      case "regex":
      case "special_variable_name":
      case "variable_name":
        return lit(text, text)
      case "raw_string":
        return lit(text.slice(1, -1), text)
      case "ansi_c_string":
        return lit(decodeAnsiC(text.slice(2, -1)), text)
      case "string":
      case "translated_string":
      case "concatenation":
      case "command_name":
        return this.parts(n, sc, d, text)
      case "simple_expansion":
        return dyn(text, "variable")
      case "expansion":
        this.expansion(n, sc, d)
        return dyn(text, "parameter expansion")
      case "command_substitution":
      case "process_substitution": {
        this.continuation(n, sc)
        const savedDq = this.dq
        this.dq = 0
        try {
          if (n.type === "command_substitution" && text.startsWith("`")) this.backtick(n, sc, savedDq > 0)
          else {
            for (const c of n.children) {
              if (c.named && c.type !== "comment") {
                if (REDIRECTS.has(c.type)) this.redirect(c, [], sc, d)
                else this.stmt(c, sc, d + 1)
              }
            }
          }
        } finally {
          this.dq = savedDq
        }
        // A process substitution is a /dev/fd path, never a path a rule names.
        return n.type === "command_substitution"
          ? dyn(text, "command substitution")
          : { value: undefined, text, pattern: "\\/dev\\/fd\\/[0-9]+", why: "process substitution" }
      }
      case "arithmetic_expansion":
        this.arithmetic(n, sc, d, "arithmetic expansion")
        return dyn(text, "arithmetic expansion")
      case "brace_expression":
        return dyn(text, "brace expansion")
      case "extglob_pattern":
        return dyn(text, "glob")
      case "array":
        for (const c of n.children) if (c.named) this.word(c, sc, d)
        return dyn(text, "array")
      case "$":
        return lit("$", text)
      default:
        if (!n.named) return lit(text, text)
        this.reason("unmodeled", `unmodeled word: ${n.type}`, this.off(sc, n))
        return dyn(text, n.type)
    }
  }

  /** Concatenated pieces: `"a"'b'c$d`. Literal only when every piece is. */
  protected parts(n: SyntaxNode, sc: Scope, d: number, text: string): Tok {
    if (n.type === "string" || n.type === "translated_string") {
      this.dq++
      try {
        return this.stringParts(n, sc, d, text)
      } finally {
        this.dq--
      }
    }
    return this.unquotedParts(n, sc, d, text)
  }

  /** `"..."` / `$"..."`: literal when every piece is. */
  protected stringParts(n: SyntaxNode, sc: Scope, d: number, text: string): Tok {
    let why: string | undefined
    {
      let value = ""
      for (const c of n.children) {
        if (!c.named) {
          // In `$"..."` the `$` is the translation marker, not text.
          if (c.type === "$" && !(n.type === "translated_string" && c === n.children[0])) value += "$"
          continue
        }
        if (c.type === "string_content") {
          const u = unquoteDouble(this.text(sc, c))
          if (u.meta) {
            this.reason("unmodeled", `unexpected expansion in string ${JSON.stringify(clip(text))}`, this.off(sc, c))
          }
          value += u.value
          continue
        }
        const t = this.word(c, sc, d)
        if (t.value !== undefined) value += t.value
        else why ??= t.why
      }
      if (n.type === "translated_string" && why === undefined) {
        // `$"..."` is translated through the locale's message catalog: it may become another word.
        return { value: undefined, text, pattern: regexEscape(value), why: "locale-translated string" }
      }
      return why === undefined ? lit(value, text) : dyn(text, why)
    }
  }

  /** Unquoted concatenations: `a"b"'c'$d`. */
  protected unquotedParts(n: SyntaxNode, sc: Scope, d: number, text: string): Tok {
    let why: string | undefined
    // Unquoted pieces are re-read as one word, quoted pieces escaped, so that
    // globs and brace expansions that span pieces (`/etc/[s]hadow`, `{a,"b"}`)
    // are seen as bash sees them.
    let synthetic = ""
    for (const c of n.children) {
      if (c.type === "word") {
        const raw = this.text(sc, c)
        this.continuation(c, sc)
        if (unquoteWord(raw).meta) {
          this.reason(
            "unmodeled",
            `unexpected shell metacharacter in word ${JSON.stringify(clip(text))}`,
            this.off(sc, c)
          )
        }
        synthetic += raw
        continue
      }
      if (!c.named) {
        synthetic += escapeAll(c.type === "$" ? "$" : this.text(sc, c))
        continue
      }
      const t = this.word(c, sc, d)
      if (t.value !== undefined) synthetic += escapeAll(t.value)
      else why ??= t.why
    }
    if (why !== undefined) return dyn(text, why)
    const u = unquoteWord(synthetic, true)
    if (u.brace) return dyn(text, "brace expansion")
    if (u.pattern !== undefined) return { value: undefined, text, pattern: u.pattern, why: "glob" }
    return lit(u.value, text)
  }

  /**
   * A backtick substitution: bash finds its end at the first backquote not
   * preceded by a backslash, removes the backslash before `$`, backquote and
   * `\` (and `"` inside double quotes), and parses the result again, so
   * `` \` `` opens a nested substitution and `\$(` is `$(`. The body is
   * re-read exactly so, at any depth.
   */
  protected backtick(n: SyntaxNode, sc: Scope, inDq: boolean): void {
    const src = sc.src
    let end = -1
    for (let i = n.start + 1; i < src.length; i++) {
      const ch = src.charCodeAt(i)
      if (ch === 92) i++
      else if (ch === 96) {
        end = i
        break
      }
    }
    const at = this.off(sc, n)
    if (end < 0 || end + 1 !== n.end) {
      this.reason("unmodeled", "the parser and bash end this backtick substitution at different places", at)
      return
    }
    const raw = src.slice(n.start + 1, end)
    if (sc.shells + 1 > this.limits.maxShellDepth) {
      this.reason("too-deep", `backtick substitutions nested more than ${this.limits.maxShellDepth} levels`, at)
      return
    }
    const body = raw.replace(/\\([\\`$])/g, "$1")
    // Between double quotes bash also removes the backslash before `"`; in an unquoted
    // here-document it does not. Where the two readings differ, both are analysed.
    const dqBody = inDq && raw.includes('\\"') ? raw.replace(/\\([\\`$"])/g, "$1") : body
    this.source(body, { src: body, pin: at, shells: sc.shells + 1 })
    if (dqBody !== body) this.source(dqBody, { src: dqBody, pin: at, shells: sc.shells + 1 })
  }

  /** `${...}`: flags indirect, substring, subscript, prompt and assigning forms. */
  protected expansion(n: SyntaxNode, sc: Scope, d: number): void {
    const offset = this.off(sc, n)
    const text = this.text(sc, n)
    if (this.dq > 0 && text.includes("'")) {
      const ops = n.children.filter((c) => c.field === "operator").map((c) => this.text(sc, c))
      if (!ops.every((op) => QUOTING_OPS.has(op))) {
        this.reason(
          "unsafe-expansion",
          `single quotes inside the double-quoted ${clip(text)} are ordinary characters to bash: what they enclose is expanded`,
          offset
        )
      }
    }
    let name: string | undefined
    let afterColon = false
    const kids = n.children
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i]!
      if (c.field === "operator") {
        const op = this.text(sc, c)
        if (op === "!" && name === undefined) {
          this.reason("unsafe-expansion", `indirect expansion ${text} evaluates a variable's value as a name`, offset)
        } else if (op === ":") {
          afterColon = true
        } else if ((op === "=" || op === ":=") && name !== undefined && isDangerousVariable(name)) {
          this.reason("dangerous-env", `${text} assigns ${name}`, offset)
        } else if (op === "@") {
          const next = kids[i + 1]
          const t = next === undefined ? "" : this.text(sc, next)
          if (
            t !== "Q" &&
            t !== "E" &&
            t !== "A" &&
            t !== "a" &&
            t !== "u" &&
            t !== "U" &&
            t !== "L" &&
            t !== "K" &&
            t !== "k"
          ) {
            this.reason("unsafe-expansion", `${text} expands the value as a prompt string`, offset)
          }
        } else afterColon = false
        continue
      }
      if (!c.named) continue
      if (c.type === "variable_name" || c.type === "special_variable_name") {
        if (name === undefined) name = this.text(sc, c)
        else if (afterColon) {
          this.reason("arithmetic-variable", `substring offset in ${text} is evaluated as arithmetic`, offset)
        }
        continue
      }
      if (c.type === "subscript") {
        const nm = c.children.find((x) => x.field === "name")
        name ??= nm === undefined ? undefined : this.text(sc, nm)
        this.subscriptIndex(c, sc, d, offset, undefined)
        continue
      }
      if (afterColon && c.type !== "number") {
        this.reason("arithmetic-variable", `substring offset in ${text} is evaluated as arithmetic`, offset)
      }
      this.word(c, sc, d)
    }
  }

  /** Arithmetic: fine on literals only; a variable's value would be evaluated as an expression. */
  protected arithmetic(n: SyntaxNode, sc: Scope, d: number, what: string): void {
    let flagged = false
    const visit = (x: SyntaxNode, depth: number): void => {
      if (depth > this.limits.maxDepth) {
        if (!flagged) {
          flagged = true
          this.reason("too-deep", `${what} nested too deeply`, this.off(sc, n))
        }
        return
      }
      if (!x.named) return
      if (x.type === "number") return
      if (ARITH_SAFE.has(x.type) || x === n) {
        for (const c of x.children) visit(c, depth + 1)
        return
      }
      if (x.type === "command_substitution" || x.type === "process_substitution") this.word(x, sc, d)
      else if (x.type === "expansion") this.expansion(x, sc, d)
      if (!flagged) {
        flagged = true
        this.reason(
          "arithmetic-variable",
          `${what} ${JSON.stringify(clip(this.text(sc, n)))} evaluates ${JSON.stringify(clip(this.text(sc, x)))}`,
          this.off(sc, n)
        )
      }
    }
    visit(n, 0)
  }

  protected subscriptIndex(
    sub: SyntaxNode,
    sc: Scope,
    d: number,
    offset: number,
    sink: Array<Reason> | undefined
  ): void {
    for (const c of sub.children) {
      if (c.field !== "index") continue
      const t = this.text(sc, c)
      if (c.type === "number" || t === "@" || t === "*" || /^\d+$/.test(t)) continue
      this.reason("arithmetic-variable", `array subscript [${t}] is evaluated as arithmetic`, offset, sink)
      this.word(c, sc, d)
    }
  }
}
