/**
 * Simple commands: the argv as bash builds it, then what it runs: wrappers
 * unwrapped (`env`, `timeout`, `xargs`, ...), `bash -c` scripts parsed and
 * walked, `find -exec` commands, and the builtins that evaluate code or
 * assign variables.
 *
 * @internal
 */
import type { Found, Reason, Tok } from "./model.js"
import type { SyntaxNode } from "./syntax.js"
import { TestWalker } from "./testCommand.js"
import { dyn, joinTok, lit } from "./tokens.js"
import { BUILTIN_EVAL_FLAGS, DECLARATIONS, EVAL_LIKE, isDangerousVariable, RESERVED, SHELLS } from "./vocabulary.js"
import type { Scope } from "./walker.js"
import { basename, braceExpand } from "./words.js"
import { dialectGap, shellArgs, splitEnvS, unwrap, unwrapXargs, WRAPPERS } from "./wrappers.js"

export abstract class CommandWalker extends TestWalker {
  protected simple(n: SyntaxNode, sc: Scope, d: number): Array<Found> {
    const offset = this.off(sc, n)
    const pre: Array<Reason> = []
    const argv: Array<Tok> = []
    const redirects: Array<SyntaxNode> = []
    let last: SyntaxNode | undefined
    const push = (c: SyntaxNode, t: Tok) => {
      // Two words with nothing between them are one word to bash; the grammar
      // sometimes splits them (`'a'\b`, `l's'\of`): join them back.
      if (last !== undefined && last.end === c.start && argv.length > 0) {
        argv[argv.length - 1] = joinTok(argv[argv.length - 1]!, t, sc.src.slice(last.start, c.end))
        last = { ...last, end: c.end }
      } else {
        argv.push(t)
        last = c
      }
    }
    for (const c of n.children) {
      switch (c.type) {
        case "variable_assignment":
          this.assignment(c, sc, d, pre)
          last = undefined
          break
        case "command_name":
          push(c, this.word(c.children.length === 1 ? c.children[0]! : c, sc, d))
          break
        case "file_redirect":
        case "heredoc_redirect":
        case "herestring_redirect":
          redirects.push(c)
          last = undefined
          break
        case "comment":
          break
        default:
          if (c.field === "argument" || c.named) push(c, this.word(c, sc, d))
          else this.reason("unmodeled", `unmodeled token in command: ${JSON.stringify(c.type)}`, this.off(sc, c))
      }
    }
    this.adjacency(n, sc)
    const tail = this.resolve(argv, this.text(sc, n), offset, sc, d, pre, [], [])
    for (const r of redirects) this.redirect(r, tail, sc, d)
    return tail
  }

  /**
   * Turns an argv into the command(s) it runs: unwraps wrappers, recurses
   * into `bash -c` scripts and `find -exec`, and flags what forces `ask`.
   */
  protected resolve(
    argv: ReadonlyArray<Tok>,
    text: string,
    offset: number,
    sc: Scope,
    d: number,
    pre: Array<Reason>,
    via: Array<string>,
    wrappers: Array<ReadonlyArray<Tok>>
  ): Array<Found> {
    let cur = argv
    const extra = pre
    for (let guard = 0; guard < 64; guard++) {
      if (cur.length === 0) {
        for (const r of extra) this.reasons.push(r)
        return []
      }
      const head = cur[0]!
      if (head.value === undefined) {
        this.reason(
          "dynamic-command",
          `command name ${JSON.stringify(head.text)} is not a literal word (${head.why ?? "computed at run time"})`,
          offset,
          extra
        )
        // `{curl,x}` is `curl x`: expanded, the words still meet deny rules (the reason keeps it at ask).
        const expanded = head.why === "brace expansion" ? braceExpand(head.text) : undefined
        if (expanded !== undefined && expanded.length > 0) {
          cur = [...expanded.map((w) => lit(w, head.text)), ...cur.slice(1)]
          continue
        }
        return [this.found(cur, text, offset, via, wrappers, extra)]
      }
      const name = head.value
      if (RESERVED.has(name) && head.text === name) {
        this.reason(
          "parse-error",
          `reserved word ${JSON.stringify(name)} where a command name should be`,
          offset,
          extra
        )
        return [this.found(cur, text, offset, via, wrappers, extra)]
      }
      const base = basename(name)
      const wrapper = WRAPPERS.get(base)
      if (base === "env") {
        const split = splitEnvS(cur)
        if (split !== undefined) {
          this.reason("wrapper-option", "env -S splits a string into a command line", offset, extra)
          cur = split
          continue
        }
      }
      if (wrapper !== undefined || base === "xargs") {
        let inner: ReadonlyArray<Tok>
        if (base === "xargs") {
          const x = unwrapXargs(cur)
          if (x._tag === "Refuse") {
            this.reason("wrapper-option", x.message, offset, extra)
            return [this.found(cur, text, offset, via, wrappers, extra)]
          }
          if (x.slotVar !== undefined && isDangerousVariable(x.slotVar)) {
            this.reason("dangerous-env", `xargs --process-slot-var assigns ${x.slotVar}`, offset, extra)
          }
          inner = x.inner
        } else {
          const u = unwrap(wrapper!, base, cur)
          if (u._tag === "Refuse") {
            this.reason("wrapper-option", u.message, offset, extra)
            return [this.found(cur, text, offset, via, wrappers, extra)]
          }
          if (u._tag === "Self") return [this.found(cur, text, offset, via, wrappers, extra)]
          for (const v of u.names) {
            if (isDangerousVariable(v)) this.reason("dangerous-env", `${base} assigns ${v}`, offset, extra)
          }
          if (base === "exec") {
            for (const t of cur.slice(1, cur.length - u.inner.length)) {
              if (t.value !== undefined && /^-[a-z]*a/.test(t.value)) {
                this.reason("wrapper-option", "exec -a changes the name a program sees itself run as", offset, extra)
              }
            }
          }
          inner = u.inner
        }
        via = [...via, base]
        wrappers = [...wrappers, cur]
        cur = inner
        continue
      }
      if (SHELLS.has(base)) {
        const s = shellArgs(cur)
        if (s.startup !== undefined) {
          this.reason(
            "startup-file",
            `${base} ${s.startup} makes the shell read start-up files before the command`,
            offset,
            extra
          )
        }
        if (s._tag === "Script" && s.script.value !== undefined) {
          const divergent = dialectGap(base, s.script.value)
          if (divergent !== undefined) this.reason("dialect", divergent, offset, extra)
        }
        if (s._tag === "Script") {
          const script = s.script
          if (script.value === undefined) {
            this.reason(
              "dynamic-script",
              `${base} -c script ${JSON.stringify(script.text)} is not a literal string`,
              offset,
              extra
            )
            return [this.found(cur, text, offset, via, wrappers, extra, { shell: true })]
          }
          if (sc.shells + 1 > this.limits.maxShellDepth) {
            this.reason("too-deep", `${base} -c nested more than ${this.limits.maxShellDepth} levels`, offset, extra)
            return [this.found(cur, text, offset, via, wrappers, extra, { shell: true })]
          }
          const start = this.founds.length
          this.source(script.value, { src: script.value, pin: offset, shells: sc.shells + 1 })
          const created = this.founds.slice(start)
          for (const f of created) {
            f.shell = true
            f.via = [...via, `${base} -c`, ...f.via]
            f.wrappers = [...wrappers, cur, ...f.wrappers]
            for (const r of extra) f.reasons.push(r)
          }
          if (created.length === 0) for (const r of extra) this.reasons.push(r)
          return created
        }
        if (s._tag === "Stdin") {
          this.reason("shell-stdin", `${base} reads commands from its standard input`, offset, extra)
        } else if (s._tag === "Refuse") this.reason("wrapper-option", s.message, offset, extra)
        return [this.found(cur, text, offset, via, wrappers, extra, { shell: true })]
      }
      const evalFlags = BUILTIN_EVAL_FLAGS.get(base)
      if (evalFlags !== undefined) {
        for (const t of cur.slice(1)) {
          const v = t.value
          if (
            v === undefined ||
            (v.startsWith("-") && !v.startsWith("--") && [...evalFlags].some((f) => v.includes(f)))
          ) {
            this.reason("eval", `${base} ${t.text} runs a command or loads code of its choosing`, offset, extra)
            break
          }
        }
      }
      if (EVAL_LIKE.has(base)) {
        this.reason("eval", `${name} runs a string or file as shell code`, offset, extra)
      } else if (base === "let") {
        for (const t of cur.slice(1)) {
          if (t.value === undefined || /[A-Za-z_$`[]/.test(t.value)) {
            this.reason("arithmetic-variable", `let evaluates ${JSON.stringify(t.text)} as arithmetic`, offset, extra)
            break
          }
        }
      } else if (DECLARATIONS.has(base)) {
        this.declarationWords(base, cur.slice(1), offset, extra)
        return [this.found(cur, text, offset, via, wrappers, extra, { transparent: true })]
      } else if (base === "read" || base === "mapfile" || base === "readarray" || base === "getopts") {
        this.nameWords(
          base,
          cur.slice(1).filter((t) => t.value === undefined || !t.value.startsWith("-")),
          offset,
          extra
        )
        for (const t of cur.slice(1)) {
          if (t.value !== undefined && isDangerousVariable(t.value)) {
            this.reason("dangerous-env", `${base} assigns ${t.value}`, offset, extra)
          } else if (t.value === undefined && !t.text.startsWith("-")) {
            this.reason("dangerous-env", `${base} assigns a variable named at run time (${t.text})`, offset, extra)
          }
        }
      } else if (base === "printf") {
        const v = cur.findIndex((t) => t.value === "-v")
        const target = v < 0 ? undefined : cur[v + 1]
        if (target !== undefined && (target.value === undefined || isDangerousVariable(target.value))) {
          this.reason("dangerous-env", `printf -v assigns ${target.text}`, offset, extra)
        }
        if (target !== undefined) this.nameWords("printf -v", [target], offset, extra)
        for (const t of cur.slice(1)) {
          // `printf -va[...]`, `printf -v -- x`: a name glued to the option.
          if (t.value?.startsWith("-v") && t.value.length > 2) {
            this.nameWords("printf -v", [lit(t.value.slice(2), t.text)], offset, extra)
          }
        }
      } else if (base === "test" || base === "[" || base === "wait") {
        for (let k = 1; k < cur.length; k++) {
          const v = cur[k]!.value
          if ((v === "-v" || v === "-p") && cur[k + 1] !== undefined)
            this.nameWords(`${base} ${v}`, [cur[k + 1]!], offset, extra)
        }
      } else if (base === "find") {
        const main = this.found(cur, text, offset, via, wrappers, extra)
        const nested = this.findExec(main, cur, text, offset, sc, d, via, wrappers)
        return [main, ...nested]
      }
      return [this.found(cur, text, offset, via, wrappers, extra)]
    }
    this.reason("too-deep", "too many nested wrappers", offset)
    return []
  }

  /** `find -exec CMD ... ;` runs CMD: every such command is decided too. */
  protected findExec(
    main: Found,
    argv: ReadonlyArray<Tok>,
    text: string,
    offset: number,
    sc: Scope,
    d: number,
    via: Array<string>,
    wrappers: Array<ReadonlyArray<Tok>>
  ): Array<Found> {
    const out: Array<Found> = []
    for (let i = 1; i < argv.length; i++) {
      const v = argv[i]!.value
      if (v === "-fprint" || v === "-fprint0" || v === "-fls" || v === "-fprintf") {
        const target = argv[i + 1]
        if (target !== undefined) {
          main.outputs.push(target.text)
          main.targets.push(target)
        }
        continue
      }
      if (v !== "-exec" && v !== "-execdir" && v !== "-ok" && v !== "-okdir") continue
      let j = i + 1
      const segment: Array<Tok> = []
      while (j < argv.length && argv[j]!.value !== ";" && argv[j]!.value !== "+") {
        const t = argv[j]!
        segment.push(t.value?.includes("{}") ? dyn(t.text, "a path found by find") : t)
        j++
      }
      if (segment.length > 0) {
        out.push(...this.resolve(segment, text, offset, sc, d, [], [...via, `find ${v}`], [...wrappers, argv]))
      }
      i = j
    }
    return out
  }
}
