/**
 * Assignments and the builtins that take variable names (`declare`,
 * `export`, `local`, `unset`, `read`, `printf -v`, ...): a dangerous
 * variable assigned, an evaluated subscript, a compound array assignment
 * parsed again.
 *
 * @internal
 */
import type { Found, Reason, Tok } from "./model.js"
import { RedirectionWalker } from "./redirections.js"
import type { SyntaxNode } from "./syntax.js"
import { clip, lit } from "./tokens.js"
import { isDangerousVariable, REDIRECTS } from "./vocabulary.js"
import type { Scope } from "./walker.js"

/** A `name[subscript]` word whose subscript is evaluated as something other than a plain number. */
const unsafeSubscript = (v: string): boolean => {
  const open = v.indexOf("[")
  if (open < 0) return false
  const close = v.lastIndexOf("]")
  const index = close > open ? v.slice(open + 1, close) : v.slice(open + 1)
  return !/^\s*(\d+|@|\*)?\s*$/.test(index) || close < open
}

export abstract class DeclarationWalker extends RedirectionWalker {
  /** Checks an assignment; returns its value (`undefined` for an array literal or no value). */
  protected assignment(
    n: SyntaxNode,
    sc: Scope,
    d: number,
    sink: Array<Reason> | undefined,
    keyword?: string
  ): Tok | undefined {
    const offset = this.off(sc, n)
    let value: Tok | undefined
    for (const c of n.children) {
      if (c.field === "name") {
        if (c.type === "subscript") {
          const name = c.children.find((x) => x.field === "name")
          const nameText = name === undefined ? "" : this.text(sc, name)
          if (isDangerousVariable(nameText)) {
            this.reason("dangerous-env", `${keyword ?? "assignment"} of ${nameText}`, offset, sink)
          }
          this.subscriptIndex(c, sc, d, offset, sink)
        } else {
          const name = this.text(sc, c)
          if (isDangerousVariable(name)) {
            this.reason(
              "dangerous-env",
              `${keyword === undefined ? "assigns" : `${keyword} assigns`} ${name}`,
              offset,
              sink
            )
          }
        }
      } else if (c.field === "value" || (c.named && c.type !== "variable_name")) {
        if (c.type === "array") {
          for (const e of c.children) if (e.named) this.word(e, sc, d)
        } else value = this.word(c, sc, d)
      }
    }
    return value
  }

  protected declaration(n: SyntaxNode, sc: Scope, d: number): Array<Found> {
    const offset = this.off(sc, n)
    this.adjacencyAll(n, sc)
    const keyword = n.children[0]?.type ?? "declare"
    const argv: Array<Tok> = [lit(keyword, keyword)]
    const reasons: Array<Reason> = []
    const redirects: Array<SyntaxNode> = []
    for (const c of n.children.slice(1)) {
      if (!c.named || c.type === "comment") continue
      if (REDIRECTS.has(c.type)) {
        redirects.push(c)
        continue
      }
      if (c.type === "variable_assignment") {
        const value = this.assignment(c, sc, d, reasons, keyword)
        if (keyword !== "export" && value !== undefined && (value.value === undefined || value.value.startsWith("("))) {
          this.reason(
            "eval",
            `${keyword} ${clip(this.text(sc, c))}: a value that is (or may expand to) "(...)" is parsed again as a compound array assignment`,
            offset,
            reasons
          )
        }
        argv.push(lit(this.text(sc, c), this.text(sc, c)))
      } else if (c.type === "variable_name") {
        const t = this.text(sc, c)
        argv.push(lit(t, t))
      } else {
        const t = this.word(c, sc, d)
        argv.push(t)
        this.declarationWords(keyword, [t], offset, reasons)
      }
    }
    const f = this.found(argv, this.text(sc, n), offset, [], [], reasons, { transparent: true })
    for (const r of redirects) this.redirect(r, [f], sc, d)
    return [f]
  }

  protected unset(n: SyntaxNode, sc: Scope, d: number): Array<Found> {
    this.adjacencyAll(n, sc)
    const argv: Array<Tok> = [lit("unset", "unset")]
    for (const c of n.children.slice(1)) {
      if (!c.named || c.type === "comment") continue
      argv.push(c.type === "variable_name" ? lit(this.text(sc, c), this.text(sc, c)) : this.word(c, sc, d))
    }
    const reasons: Array<Reason> = []
    this.nameWords("unset", argv.slice(1), this.off(sc, n), reasons)
    return [this.found(argv, this.text(sc, n), this.off(sc, n), [], [], reasons, { transparent: true })]
  }

  /**
   * Words a builtin takes as variable names (`unset`, `read`, `printf -v`,
   * `test -v`): a subscript in one is evaluated (arithmetic, or expanded as
   * a key), so `unset 'a[$(cmd)]'` runs `cmd`; a name computed at run time
   * can be such a subscript.
   */
  protected nameWords(keyword: string, words: ReadonlyArray<Tok>, offset: number, sink: Array<Reason>): void {
    for (const t of words) {
      if (t.value === undefined) {
        this.reason(
          "arithmetic-variable",
          `${keyword} takes a variable name computed at run time (${clip(t.text)})`,
          offset,
          sink
        )
      } else if (unsafeSubscript(t.value)) {
        this.reason(
          "arithmetic-variable",
          `${keyword} evaluates the subscript of ${JSON.stringify(clip(t.value))}`,
          offset,
          sink
        )
      }
    }
  }

  protected declarationWords(keyword: string, words: ReadonlyArray<Tok>, offset: number, sink: Array<Reason>): void {
    for (const t of words) {
      const v = t.value
      if (v === undefined) {
        if (!t.text.startsWith("-")) {
          this.reason("dangerous-env", `${keyword} sets a variable named at run time (${t.text})`, offset, sink)
        }
        continue
      }
      if ((v.startsWith("-") || v.startsWith("+")) && keyword !== "export" && keyword !== "readonly") {
        if (v.includes("i")) {
          this.reason("arithmetic-variable", `${keyword} ${v} makes assignments arithmetic`, offset, sink)
        }
        if (v.includes("n")) this.reason("dangerous-env", `${keyword} ${v} declares a name reference`, offset, sink)
        continue
      }
      const eq = v.indexOf("=")
      const name = eq < 0 ? v : v.slice(0, eq)
      this.checkAssignedName(keyword, name, t.text, offset, sink)
      if (eq >= 0 && keyword !== "export" && v.slice(eq + 1).startsWith("(")) {
        this.reason(
          "eval",
          `${keyword} ${clip(t.text)}: "(...)" is parsed again as a compound array assignment`,
          offset,
          sink
        )
      }
    }
  }

  protected checkAssignedName(keyword: string, name: string, text: string, offset: number, sink: Array<Reason>): void {
    const bracket = name.indexOf("[")
    const base = bracket < 0 ? name.replace(/\+$/, "") : name.slice(0, bracket)
    if (isDangerousVariable(base)) this.reason("dangerous-env", `${keyword} assigns ${base}`, offset, sink)
    if (bracket >= 0) {
      const index = name.slice(bracket + 1, name.lastIndexOf("]"))
      if (!/^\s*(\d+|@|\*)?\s*$/.test(index)) {
        this.reason(
          "arithmetic-variable",
          `array subscript ${JSON.stringify(text)} is evaluated as arithmetic`,
          offset,
          sink
        )
      }
    }
  }
}
