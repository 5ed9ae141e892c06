/**
 * Where the grammar and bash read a command differently: a `#` glued to a
 * word, one word split in two, a command read across a line break, a
 * keyword glued to more characters, a line continuation inside a word. Each
 * becomes a reason to ask, since the argv the walk sees is not bash's.
 *
 * @internal
 */
import type { SyntaxNode } from "./syntax.js"
import { clip } from "./tokens.js"
import { type Scope, WalkerCore } from "./walker.js"

export abstract class ShellGaps extends WalkerCore {
  /**
   * In bash `#` starts a comment only at the start of a word; the grammar
   * also reads one glued to a word (`{}#x`). Where they differ, ask.
   */
  protected comment(n: SyntaxNode, sc: Scope): void {
    if (n.start === 0) return
    const before = sc.src[n.start - 1]!
    if (!/[\s;&|()<>]/.test(before)) {
      this.reason("unmodeled", `"#" glued to a word is not a comment to bash`, this.off(sc, n))
    }
  }

  /**
   * Two words with nothing between them are one word to bash; the grammar
   * sometimes splits them (`'a'\b`). Where it does, the argv is not bash's: ask.
   */
  protected adjacency(n: SyntaxNode, sc: Scope): void {
    this.lineBreaks(n, sc)
    let prev: SyntaxNode | undefined
    for (const c of n.children) {
      const wordish =
        c.field === "value" ||
        c.field === "destination" ||
        c.type === "command_name" ||
        c.type === "variable_assignment"
      if (wordish && prev !== undefined && prev.end === c.start) {
        this.reason(
          "unmodeled",
          `the parser split one word in two at ${JSON.stringify(clip(this.text(sc, c)))}`,
          this.off(sc, c)
        )
        return
      }
      prev = wordish ? c : undefined
    }
  }

  /**
   * A newline between two words of one simple command ends the command for
   * bash; the grammar sometimes runs on into the next line
   * (`a |& b | c<newline>d`). Where it does, ask.
   */
  protected lineBreaks(n: SyntaxNode, sc: Scope): void {
    let prev: SyntaxNode | undefined
    for (const c of n.children) {
      if (prev !== undefined && c.type !== "heredoc_body" && prev.type !== "heredoc_redirect") {
        const gap = sc.src.slice(prev.end, c.start)
        if (/(^|[^\\])\n/.test(gap)) {
          this.reason(
            "parse-error",
            "the parser read one command across a line break; bash ends it there",
            this.off(sc, c)
          )
          return
        }
      }
      prev = c
    }
  }

  /** `declare}`, `[[x`: a keyword glued to more characters is one word to bash, not the keyword. */
  protected gluedKeyword(n: SyntaxNode, sc: Scope): void {
    const kw = n.children[0]
    if (kw === undefined || kw.named) return
    const next = sc.src[kw.end]
    if (next !== undefined && !/[\s;&|()<>]/.test(next)) {
      this.reason(
        "unmodeled",
        `${JSON.stringify(clip(this.text(sc, kw) + next))} is one word to bash, not the keyword`,
        this.off(sc, n)
      )
    }
  }

  /** As `adjacency`, for nodes whose word children carry no field. */
  protected adjacencyAll(n: SyntaxNode, sc: Scope): void {
    this.gluedKeyword(n, sc)
    this.lineBreaks(n, sc)
    let prev: SyntaxNode | undefined
    for (const c of n.children) {
      if (c.named && prev?.named && prev.end === c.start) {
        this.reason(
          "unmodeled",
          `the parser split one word in two at ${JSON.stringify(clip(this.text(sc, c)))}`,
          this.off(sc, c)
        )
        return
      }
      prev = c
    }
  }

  /**
   * The grammar reads `\<newline>` as a word break; bash removes it and
   * joins the two halves (`l\<newline>s` is `ls`). Where they differ, ask.
   */
  protected continuation(n: SyntaxNode, sc: Scope): void {
    const src = sc.src
    const e = n.end
    if (
      src.charCodeAt(e) === 92 &&
      src.charCodeAt(e + 1) === 10 &&
      e + 2 < src.length &&
      !/[\s;&|<>()]/.test(src[e + 2]!)
    ) {
      this.reason("unmodeled", "a line continuation joins two words here", this.off(sc, e))
    }
  }
}
