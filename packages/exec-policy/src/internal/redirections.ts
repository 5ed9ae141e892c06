/**
 * Redirections: which commands a file redirection writes for, here-documents
 * and here-strings (their bodies walked as words, the delimiter and end line
 * checked against bash's reading), a here-document fed to a shell.
 *
 * @internal
 */
import { ExpansionWalker } from "./expansions.js"
import type { Found } from "./model.js"
import type { SyntaxNode } from "./syntax.js"
import { clip } from "./tokens.js"
import type { Scope } from "./walker.js"
import { unquoteDouble } from "./words.js"

const SAFE_SINKS: ReadonlySet<string> = new Set(["/dev/null", "/dev/stdout", "/dev/stderr"])
const OUTPUT_OPS: ReadonlySet<string> = new Set([">", ">>", ">|", "&>", "&>>", "<>"])
const INPUT_OPS: ReadonlySet<string> = new Set(["<", "<&", "<&-", ">&-", "<<", "<<-", "<<<"])

export abstract class RedirectionWalker extends ExpansionWalker {
  protected override redirect(r: SyntaxNode, owners: ReadonlyArray<Found>, sc: Scope, d: number): void {
    const offset = this.off(sc, r)
    if (r.type === "file_redirect") {
      this.adjacency(r, sc)
      let op: string | undefined
      for (const c of r.children) {
        if (!c.named && c.field !== "destination") {
          op = c.type
          break
        }
      }
      for (const c of r.children) {
        if (c.field !== "destination") continue
        const tok = this.word(c, sc, d)
        if (c.type === "process_substitution") continue
        if ((op === ">&" || op === "<&") && tok.value !== undefined && (/^\d+$/.test(tok.value) || tok.value === "-")) {
          continue
        }
        for (const f of owners) f.targets.push(tok)
        if (op === undefined || INPUT_OPS.has(op)) continue
        if (OUTPUT_OPS.has(op) || op === ">&") {
          if (tok.value !== undefined && SAFE_SINKS.has(tok.value)) continue
          if (owners.length === 0) {
            this.reason("output-redirection", `output redirection ${op} ${tok.text} writes a file`, offset)
          } else for (const f of owners) f.outputs.push(tok.text)
        } else {
          this.reason("unmodeled", `unmodeled redirection operator ${op}`, offset)
        }
      }
      return
    }
    if (r.type === "heredoc_redirect" || r.type === "herestring_redirect") {
      const kind = r.type === "heredoc_redirect" ? "here-document" : "here-string"
      const start = r.children.find((c) => c.type === "heredoc_start")
      // `<<'EOF'`, `<<"EOF"`, `<<\EOF`: the body is literal text.
      const quotedDelimiter = start !== undefined && /['"\\]/.test(this.text(sc, start))
      if (r.type === "heredoc_redirect") this.heredocExtent(r, start, sc)
      for (const c of r.children) {
        if (!c.named) continue
        switch (c.type) {
          case "heredoc_start":
          case "heredoc_end":
          case "heredoc_content":
            break
          case "heredoc_body":
            if (!quotedDelimiter) {
              const pieces = c.children.length === 0 ? [c] : c.children
              this.dq++
              try {
                for (const part of pieces) {
                  if (part.type === "heredoc_content" || part === c) {
                    if (unquoteDouble(this.text(sc, part)).meta) {
                      this.reason("unmodeled", "here-document holds an expansion the parser did not read", offset)
                    }
                  } else if (part.named) this.word(part, sc, d)
                }
              } finally {
                this.dq--
              }
            }
            break
          case "file_redirect":
          case "heredoc_redirect":
          case "herestring_redirect":
            this.redirect(c, owners, sc, d)
            break
          default:
            if (r.type === "herestring_redirect") this.word(c, sc, d)
            else this.stmt(c, sc, d + 1)
        }
      }
      for (const f of owners) {
        if (f.shell) {
          this.reason("heredoc-to-shell", `${kind} fed to ${f.argv[0]?.text ?? "a shell"}`, f.offset, f.reasons)
        }
      }
      return
    }
    this.reason("unmodeled", `unmodeled redirection: ${r.type}`, offset)
  }

  /**
   * Bash takes the whole word after `<<` as the delimiter and ends the body
   * at the first line equal to it (tabs stripped for `<<-`). Where the
   * grammar's delimiter or end differs (`<<{E`, here-documents inside
   * backticks inside a body), what follows is not what bash runs: ask.
   */
  protected heredocExtent(r: SyntaxNode, start: SyntaxNode | undefined, sc: Scope): void {
    const src = sc.src
    const op = r.children.find((c) => !c.named && (c.type === "<<" || c.type === "<<-"))
    const bad = (why: string) => this.reason("parse-error", `here-document: ${why}`, this.off(sc, r))
    if (op === undefined || start === undefined) {
      bad("no delimiter the parser could read")
      return
    }
    let i = op.end
    while (src[i] === " " || src[i] === "\t") i++
    let j = i
    let q: string | undefined
    for (; j < src.length; j++) {
      const ch = src[j]!
      if (q !== undefined) {
        if (ch === q) q = undefined
        continue
      }
      if (ch === "\\") {
        j++
        continue
      }
      if (ch === "'" || ch === '"') q = ch
      else if (/[\s;&|()<>]/.test(ch)) break
    }
    if (i !== start.start || j !== start.end) {
      bad(`bash reads the delimiter as ${JSON.stringify(clip(src.slice(i, j)))}`)
      return
    }
    const delimiter = src.slice(i, j).replace(/\\(.)|["']/g, "$1")
    const end = r.children.find((c) => c.type === "heredoc_end")
    const body = r.children.find((c) => c.type === "heredoc_body")
    const from = body?.start ?? end?.start
    if (from === undefined) return
    // The first line at or after the body's start that is the delimiter.
    let lineStart = src.lastIndexOf("\n", from - 1) + 1
    while (lineStart <= src.length) {
      const nl = src.indexOf("\n", lineStart)
      const line = src.slice(lineStart, nl < 0 ? src.length : nl)
      if ((op.type === "<<-" ? line.replace(/^\t+/, "") : line) === delimiter) {
        const at = op.type === "<<-" ? lineStart + (line.length - line.replace(/^\t+/, "").length) : lineStart
        if (end === undefined || end.start !== at) bad("bash ends the body at another line than the parser")
        return
      }
      if (nl < 0) break
      lineStart = nl + 1
    }
    // No end line: bash reads to the end of the input (with a warning).
    if (end !== undefined) bad("bash finds no end line where the parser does")
  }
}
