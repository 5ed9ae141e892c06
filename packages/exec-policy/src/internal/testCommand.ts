/**
 * `[ ... ]` and `[[ ... ]]`: decided as a command named `[` / `[[`, the
 * expression flattened into its argv, arithmetic operands checked.
 *
 * @internal
 */
import { DeclarationWalker } from "./declarations.js"
import type { Found, Reason, Tok } from "./model.js"
import type { SyntaxNode } from "./syntax.js"
import { lit } from "./tokens.js"
import type { Scope } from "./walker.js"

const ARITH_TESTS: ReadonlySet<string> = new Set(["-eq", "-ne", "-lt", "-le", "-gt", "-ge"])

export abstract class TestWalker extends DeclarationWalker {
  /** `[ ... ]` and `[[ ... ]]`: decided as a command named `[` / `[[`; arithmetic operands checked. */
  protected test(n: SyntaxNode, sc: Scope, d: number): Array<Found> {
    const offset = this.off(sc, n)
    this.gluedKeyword(n, sc)
    if (n.children[0]?.type === "[") this.lineBreaks(n, sc)
    const opener = n.children[0]?.type ?? "[["
    const argv: Array<Tok> = [lit(opener, opener)]
    const reasons: Array<Reason> = []
    // `[` is an ordinary command to bash: an unescaped line break anywhere
    // between its words ends it, however deep the grammar nests the
    // expression (`[ -n<newline>'$(x)' ]` runs `'$(x)'` as a program).
    let prevLeaf: SyntaxNode | undefined = opener === "[" ? n.children[0] : undefined
    let brokenLine = false
    const leaf = (x: SyntaxNode): void => {
      if (prevLeaf !== undefined && !brokenLine && /(^|[^\\])\n/.test(sc.src.slice(prevLeaf.end, x.start))) {
        brokenLine = true
        this.reason(
          "parse-error",
          "the parser read one command across a line break; bash ends it there",
          this.off(sc, x),
          reasons
        )
      }
      if (opener === "[") prevLeaf = x
    }
    const flatten = (x: SyntaxNode, depth: number): void => {
      if (depth > this.limits.maxDepth) {
        this.reason("too-deep", "test expression nested too deeply", offset, reasons)
        return
      }
      if (x.type === "binary_expression" || x.type === "unary_expression") {
        const op = x.children.find((c) => c.field === "operator")
        const opText = op === undefined ? "" : this.text(sc, op)
        if (ARITH_TESTS.has(opText)) {
          for (const c of x.children) {
            if (c === op || !c.named) continue
            if (c.type !== "number" && !/^-?\d+$/.test(this.text(sc, c))) {
              this.reason(
                "arithmetic-variable",
                `${opText} evaluates ${JSON.stringify(this.text(sc, c))} as arithmetic`,
                offset,
                reasons
              )
            }
          }
        } else if (opText === "-v") {
          for (const c of x.children) {
            if (c !== op && c.named && /[[$`]/.test(this.text(sc, c))) {
              this.reason("arithmetic-variable", `-v evaluates the subscript of ${this.text(sc, c)}`, offset, reasons)
            }
          }
        }
      }
      switch (x.type) {
        case "binary_expression":
        case "unary_expression":
        case "parenthesized_expression":
        case "ternary_expression":
        case "postfix_expression":
          for (const c of x.children) flatten(c, depth + 1)
          return
      }
      leaf(x)
      switch (x.type) {
        case "test_operator":
        case "regex": {
          const t = this.text(sc, x)
          argv.push(lit(t, t))
          return
        }
        default:
          if (!x.named) {
            if (x === n.children[0] || x.type === "]]" || x.type === "]") return
            argv.push(lit(x.type, x.type))
            return
          }
          argv.push(this.word(x, sc, d))
      }
    }
    for (const c of n.children.slice(1)) {
      if (c.type === "]]" || c.type === "]") {
        leaf(c)
        continue
      }
      flatten(c, 0)
    }
    return [this.found(argv, this.text(sc, n), offset, [], [], reasons)]
  }
}
