/**
 * Sources and statements: parsing a command string (or a nested script),
 * the checks on the raw source, rough recovery from input that does not
 * parse, and the walk over lists, pipelines, groups, loops, `case`,
 * functions and redirected statements.
 *
 * @internal
 */
import { CommandWalker } from "./commands.js"
import type { Found, Reason, Tok } from "./model.js"
import type { SyntaxNode } from "./syntax.js"
import { clip, lit } from "./tokens.js"
import { isDangerousVariable, REDIRECTS, RESERVED } from "./vocabulary.js"
import type { Scope } from "./walker.js"
import { braceExpand, unquoteWord } from "./words.js"

/** Characters that look like blanks but are word characters to bash (CR, VT, FF, Unicode spaces). */
const NOT_BLANK = /[\r\v\f\u0085\u00a0\u1680\u180e\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]/

/** The first ERROR or MISSING node, for the parse-error message. */
const firstError = (root: SyntaxNode): SyntaxNode | undefined => {
  const stack: Array<SyntaxNode> = [root]
  while (stack.length > 0) {
    const n = stack.pop()!
    if (n.type === "ERROR" || n.missing) return n
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!)
  }
  return undefined
}

/** The whole walker; `analyze.ts` runs it on a command string. */
export class Walker extends CommandWalker {
  /** Parses and walks one source (the top-level command, or a `bash -c` script). */
  override source(src: string, sc: Scope): void {
    const at = sc.pin ?? 0
    if (src.length > this.limits.maxInputLength) {
      this.reason(
        "too-large",
        `input is ${src.length} characters, over the ${this.limits.maxInputLength}-character limit`,
        at
      )
      return
    }
    const timed = src.length > 2_048 ? this.deadline : undefined
    const parsed = this.syntax.parse(src, timed)
    if (parsed._tag === "Cancelled") {
      this.reason("time-budget", `parsing passed its time budget of ${this.limits.timeBudgetMs} ms`, at)
      return
    }
    const root = parsed.root
    const dropped = /(^|[\s;&|()<>])\\[ \t]/.exec(src)
    if (dropped !== null) {
      // `\ ` alone is a word (a space) to bash; the grammar drops it as if it were blank.
      this.reason(
        "parse-error",
        "a backslash-escaped blank starts a word here: the parser drops it, bash does not",
        this.off(sc, dropped.index)
      )
    }
    const blank = NOT_BLANK.exec(src)
    if (blank !== null) {
      const code = blank[0].charCodeAt(0).toString(16).padStart(4, "0")
      this.reason(
        "unmodeled",
        `character U+${code} is not a blank to bash: it is part of a word (the parser may read the word differently)`,
        this.off(sc, blank.index)
      )
    }
    if (parsed.hasError) {
      const bad = firstError(root)
      const where =
        bad === undefined ? "" : ` near ${JSON.stringify(clip(src.slice(bad.start, Math.max(bad.end, bad.start + 1))))}`
      this.reason(
        "parse-error",
        bad?.missing === true
          ? `incomplete command: missing ${JSON.stringify(bad.type)}${where}`
          : `cannot parse the command${where}`,
        this.off(sc, bad ?? root)
      )
    }
    if (parsed.hasError) this.recover(src, sc)
    for (const c of parsed.comments) this.comment(c, sc)
    if (sc.pin === undefined && !root.children.some((c) => c.named && c.type !== "comment")) {
      this.reason("empty", "empty command: nothing to run", 0)
      return
    }
    this.stmt(root, sc, 0)
  }

  /**
   * Input the grammar cannot parse asks; but a program a deny rule names must
   * still be denied (`{curl,x}`, `cur[l] x` are parse errors to the grammar).
   * A rough split on operators finds plain command words, each decided with
   * a parse-error reason (so never `allow`).
   */
  protected recover(src: string, sc: Scope): void {
    const at = sc.pin ?? 0
    for (const segment of src.split(/[;&|\n()`]+/)) {
      const words = segment.trim().split(/[ \t]+/)
      while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!)) words.shift()
      const toks: Array<Tok> = []
      for (const w of words) {
        if (w === "" || /["'$\\<>]/.test(w)) break
        const expanded = braceExpand(w)
        if (expanded !== undefined && expanded.length > 1) {
          for (const e of expanded) toks.push(lit(e, w))
          continue
        }
        const u = unquoteWord(w)
        toks.push(
          u.pattern === undefined ? lit(u.value, w) : { value: undefined, text: w, pattern: u.pattern, why: "glob" }
        )
      }
      if (toks.length === 0 || (toks[0]!.value !== undefined && RESERVED.has(toks[0]!.value))) continue
      const reason: Reason = {
        code: "parse-error",
        message: `read roughly from input that does not parse: ${JSON.stringify(clip(segment.trim()))}`,
        offset: at
      }
      this.found(toks, segment.trim(), at, ["parse-error recovery"], [], [reason])
    }
  }

  /** Walks a statement; returns the simple commands a redirection after it belongs to. */
  protected override stmt(n: SyntaxNode, sc: Scope, d: number): Array<Found> {
    if (!this.tick()) return []
    if (d > this.limits.maxDepth) {
      if (!this.deepReported) {
        this.deepReported = true
        this.reason("too-deep", `nesting deeper than ${this.limits.maxDepth} levels`, this.off(sc, n))
      }
      return []
    }
    switch (n.type) {
      case "program":
      case "subshell":
      case "do_group":
      case "else_clause":
      case "elif_clause":
      case "if_statement":
      case "while_statement":
      case "case_item":
        return this.block(n, sc, d, true)
      case "list":
      case "pipeline":
      case "negated_command":
        return this.block(n, sc, d, false)
      case "compound_statement":
        if (n.children[0]?.type === "((") {
          this.arithmetic(n, sc, d, "arithmetic command")
          return []
        }
        // `{}` is a word to bash, not an empty group.
        if (!n.children.some((c) => c.named && c.type !== "comment")) {
          this.reason("parse-error", "an empty { } group is not valid bash", this.off(sc, n))
        }
        return this.block(n, sc, d, true)
      case "for_statement":
        return this.forStatement(n, sc, d)
      case "c_style_for_statement": {
        const start = this.founds.length
        for (const c of n.children) {
          if (!c.named || c.type === "comment") continue
          if (c.field === "body") this.stmt(c, sc, d + 1)
          else this.arithmetic(c, sc, d, "for (( ))")
        }
        return this.founds.slice(start)
      }
      case "case_statement": {
        const start = this.founds.length
        for (const c of n.children) {
          if (!c.named || c.type === "comment") continue
          if (c.field === "value") this.word(c, sc, d)
          else this.stmt(c, sc, d + 1)
        }
        return this.founds.slice(start)
      }
      case "redirected_statement":
        return this.redirected(n, sc, d)
      case "command":
        return this.simple(n, sc, d)
      case "variable_assignment":
        this.assignment(n, sc, d, undefined)
        return []
      case "variable_assignments":
        for (const c of n.children) if (c.type === "variable_assignment") this.assignment(c, sc, d, undefined)
        return []
      case "declaration_command":
        return this.declaration(n, sc, d)
      case "unset_command":
        return this.unset(n, sc, d)
      case "test_command":
        return this.test(n, sc, d)
      case "function_definition":
        return this.functionDefinition(n, sc, d)
      case "comment":
      case "ERROR":
        return []
      default:
        if (!n.named) return []
        this.reason("unmodeled", `unmodeled construct: ${n.type}`, this.off(sc, n))
        return []
    }
  }

  /** Walks the statements of a container. `all`: a redirection after it covers every command inside. */
  protected block(n: SyntaxNode, sc: Scope, d: number, all: boolean): Array<Found> {
    const start = this.founds.length
    let last: Array<Found> = []
    for (const c of n.children) {
      if (!c.named) {
        // The grammar accepts case terminators anywhere; bash rejects them outside `case`.
        if ((c.type === ";;" || c.type === ";&" || c.type === ";;&") && n.type !== "case_item") {
          this.reason("parse-error", `unexpected ${c.type} outside a case statement`, this.off(sc, c))
        }
        continue
      }
      if (c.type === "comment") continue
      if (c.field === "value") this.word(c, sc, d)
      else last = this.stmt(c, sc, d + 1)
    }
    return all ? this.founds.slice(start) : last
  }

  protected forStatement(n: SyntaxNode, sc: Scope, d: number): Array<Found> {
    const start = this.founds.length
    this.adjacency(n, sc)
    for (const c of n.children) {
      if (!c.named || c.type === "comment") continue
      if (c.field === "variable") {
        const name = this.text(sc, c)
        if (isDangerousVariable(name)) {
          this.reason("dangerous-env", `loop assigns ${name}`, this.off(sc, c))
        }
      } else if (c.field === "value") this.word(c, sc, d)
      else this.stmt(c, sc, d + 1)
    }
    return this.founds.slice(start)
  }

  protected redirected(n: SyntaxNode, sc: Scope, d: number): Array<Found> {
    const start = this.founds.length
    let tail: Array<Found> = []
    let hasBody = false
    for (const c of n.children) {
      if (c.field === "body") {
        hasBody = true
        tail = this.redirectOwners(c, this.stmt(c, sc, d + 1), start)
      }
    }
    for (const c of n.children) {
      if (c.field === "body" || !c.named || c.type === "comment") continue
      if (REDIRECTS.has(c.type)) this.redirect(c, hasBody ? tail : [], sc, d)
      else this.stmt(c, sc, d + 1)
    }
    return tail
  }

  /**
   * Which commands a redirection written after `body` applies to: the last
   * command of a pipeline or list (bash binds it there, whatever the grammar
   * nests), every command of a group, subshell or loop.
   */
  protected redirectOwners(body: SyntaxNode, tail: Array<Found>, start: number): Array<Found> {
    switch (body.type) {
      case "command":
      case "pipeline":
      case "list":
      case "negated_command":
      case "redirected_statement":
      case "declaration_command":
      case "unset_command":
      case "test_command":
        return tail
      default:
        return this.founds.slice(start)
    }
  }

  protected functionDefinition(n: SyntaxNode, sc: Scope, d: number): Array<Found> {
    const name = n.children.find((c) => c.field === "name")
    this.reason(
      "function-definition",
      `defines function ${name === undefined ? "" : this.text(sc, name)}`.trimEnd(),
      this.off(sc, n)
    )
    const start = this.founds.length
    for (const c of n.children) {
      if (c.field === "body") this.stmt(c, sc, d + 1)
    }
    const body = this.founds.slice(start)
    for (const c of n.children) {
      if (REDIRECTS.has(c.type)) this.redirect(c, body, sc, d)
    }
    return []
  }
}
