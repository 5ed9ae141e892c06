/**
 * Walks the bash syntax tree of a command string and finds every simple
 * command the shell would run, with the words it would run it with, and
 * every construct that forces `ask`. It fails closed: a node type it does not
 * model, an error node, a word the grammar left with a metacharacter in it,
 * all become reasons to ask.
 *
 * @internal
 */
import type { Found, Limits, Reason, ReasonCode, Tok } from "./model.js"
import type { BashSyntax, SyntaxNode } from "./syntax.js"
import { basename, decodeAnsiC, escapeAll, regexEscape, unquoteDouble, unquoteWord } from "./words.js"

/** The high-resolution clock every supported runtime has (not in the ES lib). */
declare const performance: { now(): number }

/** The result of analysing one command string. */
export interface Analysis {
  /** Simple commands, in source order. */
  readonly founds: ReadonlyArray<Found>
  /** Reasons not tied to one simple command (parse errors, function definitions, limits, ...). */
  readonly reasons: ReadonlyArray<Reason>
}

// ---------------------------------------------------------------------------
// Vocabulary

/** Shells whose `-c` script is parsed and analysed too. */
const SHELLS: ReadonlySet<string> = new Set(["bash", "sh", "zsh", "dash", "ksh", "mksh", "ash", "rbash"])

/** Reserved words: as a command name they mean the grammar misread the structure. */
const RESERVED: ReadonlySet<string> = new Set([
  "{",
  "}",
  "!",
  "[[",
  "]]",
  "if",
  "then",
  "elif",
  "else",
  "fi",
  "case",
  "esac",
  "for",
  "select",
  "while",
  "until",
  "do",
  "done",
  "in",
  "function"
])

/** Builtins that run a string or a file as shell code. */
const EVAL_LIKE: ReadonlySet<string> = new Set(["eval", "source", ".", "trap"])

/**
 * Builtins whose options make them run code: `mapfile -C CALLBACK`,
 * `compgen -C CMD`/`-F FUNC`, `complete -C`, `hash -p PATH NAME` (NAME then
 * runs PATH), `bind -x`, `enable -f` (loads a shared object).
 */
const BUILTIN_EVAL_FLAGS: ReadonlyMap<string, string> = new Map([
  ["mapfile", "C"],
  ["readarray", "C"],
  ["compgen", "CF"],
  ["complete", "CF"],
  ["hash", "p"],
  ["bind", "x"],
  ["enable", "f"]
])

/** Builtins that only set variables or their attributes. */
const DECLARATIONS: ReadonlySet<string> = new Set(["export", "declare", "typeset", "local", "readonly"])

const DANGEROUS_EXACT: ReadonlySet<string> = new Set([
  // The contract's list.
  "PATH",
  "LD_PRELOAD",
  "LD_LIBRARY_PATH",
  "BASH_ENV",
  "ENV",
  "IFS",
  "PROMPT_COMMAND",
  "SHELLOPTS",
  "PS4",
  // Same effect through other names (bash manual, "Shell Variables").
  "BASHOPTS",
  "POSIXLY_CORRECT",
  "CDPATH",
  "GLOBIGNORE",
  "EXECIGNORE",
  "INPUTRC",
  "HISTFILE",
  "FUNCNEST",
  "TEXTDOMAIN",
  "TEXTDOMAINDIR",
  "SHELL",
  "ZDOTDIR",
  "OLDPWD",
  "PWD",
  // Where programs read their configuration: HOME (git's ~/.gitconfig, ~/.profile, ...), XDG dirs.
  "HOME",
  "LOCPATH",
  // Variables that make an allowed program run another program or load code.
  "PAGER",
  "MANPAGER",
  "MANOPT",
  "BROWSER",
  "EDITOR",
  "VISUAL",
  "LESS",
  "LESSOPEN",
  "LESSCLOSE",
  "LESSKEY",
  "MORE",
  "NODE_OPTIONS",
  "NODE_PATH",
  "PYTHONPATH",
  "PYTHONSTARTUP",
  "PYTHONHOME",
  "PYTHONBREAKPOINT",
  "PYTHONINSPECT",
  "PERL5OPT",
  "PERL5LIB",
  "PERL5DB",
  "PERLLIB",
  "RUBYOPT",
  "RUBYLIB",
  "CLASSPATH",
  "JAVA_TOOL_OPTIONS",
  "_JAVA_OPTIONS",
  "GCONV_PATH",
  "OPENSSL_CONF",
  "OPENSSL_ENGINES",
  "TAR_OPTIONS",
  "RSYNC_RSH",
  "RSYNC_CONNECT_PROG",
  "CVS_RSH",
  "AWKPATH",
  "SUDO_ASKPASS",
  "SSH_ASKPASS",
  "KUBECONFIG",
  "DOCKER_CONFIG",
  "CARGO_HOME",
  "RUSTC_WRAPPER",
  "MAKEFLAGS",
  "MFLAGS",
  "CC",
  "CXX"
])
const DANGEROUS_PREFIXES: ReadonlyArray<string> = [
  "LD_",
  "DYLD_",
  "BASH_",
  "PS",
  "GIT_",
  "XDG_",
  "npm_config_",
  "NPM_CONFIG_",
  "PYTHON",
  "PERL",
  "RUBY",
  "LUA_",
  "JAVA_",
  "SSH_",
  "GCONV_",
  "LESS",
  "HIST",
  "COMP_",
  "NLSPATH"
]

/**
 * Variables whose assignment changes what an allowed command runs (program
 * lookup, preloaded libraries, shell start-up files, word splitting, pagers).
 */
export const isDangerousVariable = (name: string): boolean => {
  if (DANGEROUS_EXACT.has(name)) return true
  for (const p of DANGEROUS_PREFIXES) if (name.startsWith(p)) return true
  return false
}

const SAFE_SINKS: ReadonlySet<string> = new Set(["/dev/null", "/dev/stdout", "/dev/stderr"])
const OUTPUT_OPS: ReadonlySet<string> = new Set([">", ">>", ">|", "&>", "&>>", "<>"])
const INPUT_OPS: ReadonlySet<string> = new Set(["<", "<&", "<&-", ">&-", "<<", "<<-", "<<<"])
const ARITH_TESTS: ReadonlySet<string> = new Set(["-eq", "-ne", "-lt", "-le", "-gt", "-ge"])
const REDIRECTS: ReadonlySet<string> = new Set(["file_redirect", "heredoc_redirect", "herestring_redirect"])

// ---------------------------------------------------------------------------
// Wrappers

interface WrapperSpec {
  readonly flags: ReadonlySet<string>
  readonly withArg: ReadonlySet<string>
  /** Operands between the options and the command (timeout's DURATION). */
  readonly operands: number
  /** `NAME=value` words before the command (env). */
  readonly assignments: boolean
  /** `-10` style numeric options (nice). */
  readonly numeric: boolean
  /** Options after which the wrapper does not run a command (`command -v`). */
  readonly selfFlags: ReadonlySet<string>
  /** Options the engine refuses to model (`env -S`), with the reason. */
  readonly refuse: ReadonlyMap<string, string>
}

const spec = (s: Partial<WrapperSpec>): WrapperSpec => ({
  flags: s.flags ?? new Set(),
  withArg: s.withArg ?? new Set(),
  operands: s.operands ?? 0,
  assignments: s.assignments ?? false,
  numeric: s.numeric ?? false,
  selfFlags: s.selfFlags ?? new Set(),
  refuse: s.refuse ?? new Map()
})

const WRAPPERS: ReadonlyMap<string, WrapperSpec> = new Map([
  [
    "env",
    spec({
      flags: new Set([
        "-i",
        "-",
        "--ignore-environment",
        "-0",
        "--null",
        "-v",
        "--debug",
        "--default-signal",
        "--ignore-signal",
        "--block-signal",
        "--list-signal-handling"
      ]),
      withArg: new Set(["-u", "--unset", "-C", "--chdir"]),
      assignments: true,
      refuse: new Map([
        ["-S", "env -S splits a string into a command line"],
        ["--split-string", "env --split-string splits a string into a command line"],
        ["-P", "env -P searches another PATH for the command"]
      ])
    })
  ],
  [
    "timeout",
    spec({
      flags: new Set(["--preserve-status", "--foreground", "-v", "--verbose", "-f"]),
      withArg: new Set(["-k", "--kill-after", "-s", "--signal"]),
      operands: 1
    })
  ],
  ["nice", spec({ withArg: new Set(["-n", "--adjustment"]), numeric: true })],
  ["nohup", spec({})],
  ["coproc", spec({})],
  [
    "time",
    spec({
      flags: new Set(["-p", "-a", "--append", "-v", "--verbose", "-q", "--quiet", "--portability"]),
      withArg: new Set(["-f", "--format"]),
      refuse: new Map([
        ["-o", "time -o writes its report into a file"],
        ["--output", "time --output writes its report into a file"]
      ])
    })
  ],
  ["command", spec({ flags: new Set(["-p"]), selfFlags: new Set(["-v", "-V"]) })],
  ["builtin", spec({})],
  ["exec", spec({ flags: new Set(["-c", "-l"]), withArg: new Set(["-a"]) })],
  ["stdbuf", spec({ withArg: new Set(["-i", "-o", "-e", "--input", "--output", "--error"]) })]
])

type Unwrapped =
  | { readonly _tag: "Inner"; readonly inner: ReadonlyArray<Tok>; readonly names: ReadonlyArray<string> }
  | { readonly _tag: "Self" }
  | { readonly _tag: "Refuse"; readonly message: string }

/** Splits a wrapper's argv into its options and the command it runs. */
const unwrap = (w: WrapperSpec, name: string, argv: ReadonlyArray<Tok>): Unwrapped => {
  const assigned: Array<string> = []
  let i = 1
  options: while (i < argv.length) {
    const t = argv[i]!
    const v = t.value
    if (v === undefined) {
      return { _tag: "Refuse", message: `${name} option ${t.text} is not a literal word` }
    }
    if (v === "--") {
      i++
      break
    }
    if (w.assignments && /^[A-Za-z_][A-Za-z0-9_]*=/.test(v)) {
      assigned.push(v.slice(0, v.indexOf("=")))
      i++
      continue
    }
    if (v.startsWith("--") && v.length > 2) {
      const eq = v.indexOf("=")
      const opt = eq < 0 ? v : v.slice(0, eq)
      const refused = w.refuse.get(opt)
      if (refused !== undefined) return { _tag: "Refuse", message: refused }
      if (w.selfFlags.has(opt)) return { _tag: "Self" }
      if (w.flags.has(opt)) i++
      else if (w.withArg.has(opt)) i += eq < 0 ? 2 : 1
      else return { _tag: "Refuse", message: `unknown ${name} option ${v}` }
      continue
    }
    if (v === "-" && w.flags.has("-")) {
      i++
      continue
    }
    if (v.startsWith("-") && v.length > 1) {
      if (w.numeric && /^-\d+$/.test(v)) {
        i++
        continue
      }
      for (let j = 1; j < v.length; j++) {
        const opt = "-" + v[j]
        const refused = w.refuse.get(opt)
        if (refused !== undefined) return { _tag: "Refuse", message: refused }
        if (w.selfFlags.has(opt)) return { _tag: "Self" }
        if (w.flags.has(opt)) continue
        if (w.withArg.has(opt)) {
          i += j + 1 < v.length ? 1 : 2
          continue options
        }
        return { _tag: "Refuse", message: `unknown ${name} option ${v}` }
      }
      i++
      continue
    }
    break
  }
  i += w.operands
  if (i >= argv.length) return { _tag: "Self" }
  return { _tag: "Inner", inner: argv.slice(i), names: assigned }
}

const XARGS_FLAGS: ReadonlySet<string> = new Set([
  "-0",
  "--null",
  "-r",
  "--no-run-if-empty",
  "-t",
  "--verbose",
  "-p",
  "--interactive",
  "-x",
  "--exit",
  "-o",
  "--open-tty",
  "--show-limits"
])
const XARGS_WITH_ARG: ReadonlySet<string> = new Set([
  "-a",
  "--arg-file",
  "-d",
  "--delimiter",
  "-E",
  "-I",
  "-L",
  "-n",
  "--max-args",
  "-P",
  "--max-procs",
  "-s",
  "--max-chars",
  "--process-slot-var"
])

type XargsParsed =
  | { readonly _tag: "Inner"; readonly inner: Array<Tok>; readonly slotVar: string | undefined }
  | { readonly _tag: "Refuse"; readonly message: string }

const stdinArgs: Tok = { value: undefined, text: "<xargs input>", pattern: undefined, why: "arguments read by xargs" }

/** The command `xargs` runs: its operands plus the arguments it reads (bare `xargs` runs `echo`). */
const unwrapXargs = (argv: ReadonlyArray<Tok>): XargsParsed => {
  let replace: string | undefined
  let slotVar: string | undefined
  let i = 1
  while (i < argv.length) {
    const t = argv[i]!
    const v = t.value
    if (v === undefined) return { _tag: "Refuse", message: `xargs option ${t.text} is not a literal word` }
    if (v === "--") {
      i++
      break
    }
    if (v.startsWith("--") && v.length > 2) {
      const eq = v.indexOf("=")
      const opt = eq < 0 ? v : v.slice(0, eq)
      const arg = eq < 0 ? argv[i + 1]?.value : v.slice(eq + 1)
      if (opt === "--replace") {
        replace = eq < 0 ? "{}" : v.slice(eq + 1)
        i++
      } else if (opt === "--eof" || opt === "--max-lines") i++
      else if (XARGS_FLAGS.has(opt)) i++
      else if (XARGS_WITH_ARG.has(opt)) {
        if (opt === "--process-slot-var") slotVar = arg
        i += eq < 0 ? 2 : 1
      } else return { _tag: "Refuse", message: `unknown xargs option ${v}` }
      continue
    }
    if (v.startsWith("-") && v.length > 1) {
      let takesNext = false
      for (let j = 1; j < v.length; j++) {
        const opt = "-" + v[j]
        // `-e[EOF]`, `-l[N]` and `-i[R]` take only an attached argument: the rest of the word.
        if (opt === "-e" || opt === "-l") break
        if (opt === "-i") {
          replace = j + 1 < v.length ? v.slice(j + 1) : "{}"
          break
        }
        if (XARGS_FLAGS.has(opt)) continue
        if (XARGS_WITH_ARG.has(opt)) {
          const attached = j + 1 < v.length
          if (opt === "-I") replace = attached ? v.slice(j + 1) : (argv[i + 1]?.value ?? "")
          takesNext = !attached
          break
        }
        return { _tag: "Refuse", message: `unknown xargs option ${v}` }
      }
      i += takesNext ? 2 : 1
      continue
    }
    break
  }
  const rest = argv.slice(i)
  const inner: Array<Tok> =
    rest.length === 0 ? [{ value: "echo", text: "echo", pattern: undefined, why: undefined }] : [...rest]
  if (replace !== undefined) {
    const r = replace
    if (r === "") return { _tag: "Refuse", message: "xargs replacement string is not a literal word" }
    for (let k = 0; k < inner.length; k++) {
      const tok = inner[k]!
      if (tok.value?.includes(r)) {
        inner[k] = { value: undefined, text: tok.text, pattern: undefined, why: "arguments read by xargs" }
      }
    }
    if (rest.length === 0) inner.push(stdinArgs)
  } else inner.push(stdinArgs)
  return { _tag: "Inner", inner, slotVar }
}

type ShellArgs = (
  | { readonly _tag: "Script"; readonly script: Tok }
  | { readonly _tag: "Stdin" }
  | { readonly _tag: "File" }
  | { readonly _tag: "Refuse"; readonly message: string }
) & {
  /** An option that makes the shell read start-up files (or a debugger profile) before the command. */
  readonly startup?: string | undefined
}

/** Long options of bash that read no start-up file and change nothing the analysis models. */
const SHELL_LONG_SAFE: ReadonlySet<string> = new Set([
  "--noprofile",
  "--norc",
  "--noediting",
  "--posix",
  "--restricted",
  "--verbose",
  "--version",
  "--help",
  "--dump-strings",
  "--dump-po-strings",
  "--pretty-print"
])

/** Reads a shell's options: `-c SCRIPT`, a script file, or commands from stdin. */
const shellArgs = (argv: ReadonlyArray<Tok>): ShellArgs => {
  let c = false
  let s = false
  let startup: string | undefined
  let i = 1
  while (i < argv.length) {
    const t = argv[i]!
    const v = t.value
    if (v === undefined) {
      if (c) break
      return { _tag: "Refuse", message: `shell option ${t.text} is not a literal word` }
    }
    if (v === "--" || v === "-") {
      i++
      break
    }
    if (v.startsWith("--")) {
      if (!SHELL_LONG_SAFE.has(v)) startup ??= v
      i += v === "--rcfile" || v === "--init-file" ? 2 : 1
      continue
    }
    if ((v.startsWith("-") || v.startsWith("+")) && v.length > 1) {
      let takes = 0
      for (let j = 1; j < v.length; j++) {
        const ch = v[j]!
        if (ch === "c") c = true
        else if (ch === "s") s = true
        else if ((ch === "i" || ch === "l") && v.startsWith("-")) startup ??= `-${ch}`
        else if (ch === "o" || ch === "O") {
          const opt = argv[i + 1 + takes]?.value
          // `-O extdebug` at start-up reads the debugger profile; `-o` options
          // that are not plain flags are refused below by the caller's checks.
          if (opt === undefined || (ch === "O" && opt === "extdebug")) startup ??= `${v[0]}${ch} ${opt ?? "?"}`
          takes++
        }
      }
      i += 1 + takes
      continue
    }
    break
  }
  if (c) {
    const script = argv[i]
    return script === undefined ? { _tag: "File", startup } : { _tag: "Script", script, startup }
  }
  if (s || i >= argv.length) return { _tag: "Stdin", startup }
  return { _tag: "File", startup }
}

/** Characters that look like blanks but are word characters to bash (CR, VT, FF, Unicode spaces). */
const NOT_BLANK = /[\r\v\f\u0085\u00a0\u1680\u180e\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]/

/** Shells whose language the engine does not model at all. */
const FOREIGN_SHELLS: ReadonlySet<string> = new Set(["zsh", "ksh", "mksh"])
/** POSIX shells (dash on Debian) read these bash constructs differently. */
const DASH_GAPS =
  /\$'|\$"|&>|>&\s*[^\s\d-]|\|&|<<<|\[\[|\(\(|;;&|;&|\bfunction\b|\{[^}\s]*(,|\.\.)[^}]*\}|\$\{[^}]*[/:^,@]|\bselect\b|\bcoproc\b|\bdeclare\b|\blocal\b|\btypeset\b|\$\{!|\[[@*]\]/

/**
 * Why a script given to `base -c` may not mean to that shell what it means
 * to bash (the parsed dialect), or `undefined`.
 */
const dialectGap = (base: string, script: string): string | undefined => {
  if (FOREIGN_SHELLS.has(base)) return `${base} -c script: ${base} is not the bash dialect the engine parses`
  if (base === "bash" || base === "rbash") return undefined
  const m = DASH_GAPS.exec(script)
  return m === null
    ? undefined
    : `${base} -c script uses ${JSON.stringify(m[0])}, which ${base} does not read as bash does`
}

// ---------------------------------------------------------------------------
// Tokens

const lit = (value: string, text: string): Tok => ({ value, text, pattern: undefined, why: undefined })
const dyn = (text: string, why: string): Tok => ({ value: undefined, text, pattern: undefined, why })

const ARITH_SAFE: ReadonlySet<string> = new Set([
  "binary_expression",
  "unary_expression",
  "ternary_expression",
  "postfix_expression",
  "parenthesized_expression"
])

interface Scope {
  readonly src: string
  /** For a nested `bash -c` script: the outer command's offset, used for every position inside. */
  readonly pin: number | undefined
  readonly shells: number
}

// ---------------------------------------------------------------------------
// The walker

class Walker {
  readonly founds: Array<Found> = []
  readonly reasons: Array<Reason> = []
  private ticks = 0
  /** Inside double quotes (or an unquoted here-document body): single quotes in `${x:-…}` do not quote. */
  private dq = 0
  private stopped = false
  private deepReported = false

  constructor(
    private readonly syntax: BashSyntax,
    private readonly limits: Limits,
    private readonly deadline: number
  ) {}

  private off(sc: Scope, n: SyntaxNode | number): number {
    return sc.pin ?? (typeof n === "number" ? n : n.start)
  }

  private text(sc: Scope, n: SyntaxNode): string {
    return sc.src.slice(n.start, n.end)
  }

  private reason(code: ReasonCode, message: string, offset: number, sink?: Array<Reason>): void {
    ;(sink ?? this.reasons).push({ code, message, offset })
  }

  private tick(): boolean {
    if (this.stopped) return false
    if ((++this.ticks & 63) === 0 && performance.now() > this.deadline) {
      this.stopped = true
      this.reason("time-budget", `analysis passed its time budget of ${this.limits.timeBudgetMs} ms`, 0)
      return false
    }
    return true
  }

  /** Parses and walks one source (the top-level command, or a `bash -c` script). */
  source(src: string, sc: Scope): void {
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
  private recover(src: string, sc: Scope): void {
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

  // -- statements ------------------------------------------------------------

  /** Walks a statement; returns the simple commands a redirection after it belongs to. */
  private stmt(n: SyntaxNode, sc: Scope, d: number): Array<Found> {
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

  /**
   * In bash `#` starts a comment only at the start of a word; the grammar
   * also reads one glued to a word (`{}#x`). Where they differ, ask.
   */
  private comment(n: SyntaxNode, sc: Scope): void {
    if (n.start === 0) return
    const before = sc.src[n.start - 1]!
    if (!/[\s;&|()<>]/.test(before)) {
      this.reason("unmodeled", `"#" glued to a word is not a comment to bash`, this.off(sc, n))
    }
  }

  /** Walks the statements of a container. `all`: a redirection after it covers every command inside. */
  private block(n: SyntaxNode, sc: Scope, d: number, all: boolean): Array<Found> {
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

  private forStatement(n: SyntaxNode, sc: Scope, d: number): Array<Found> {
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

  private redirected(n: SyntaxNode, sc: Scope, d: number): Array<Found> {
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
  private redirectOwners(body: SyntaxNode, tail: Array<Found>, start: number): Array<Found> {
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

  private functionDefinition(n: SyntaxNode, sc: Scope, d: number): Array<Found> {
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

  // -- simple commands -------------------------------------------------------

  private simple(n: SyntaxNode, sc: Scope, d: number): Array<Found> {
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
   * Two words with nothing between them are one word to bash; the grammar
   * sometimes splits them (`'a'\b`). Where it does, the argv is not bash's: ask.
   */
  private adjacency(n: SyntaxNode, sc: Scope): void {
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

  private found(
    argv: ReadonlyArray<Tok>,
    text: string,
    offset: number,
    via: ReadonlyArray<string>,
    wrappers: ReadonlyArray<ReadonlyArray<Tok>>,
    reasons: ReadonlyArray<Reason>,
    flags?: { transparent?: boolean; shell?: boolean }
  ): Found {
    const f: Found = {
      argv,
      text,
      offset,
      via: [...via],
      wrappers: [...wrappers],
      outputs: [],
      targets: [],
      reasons: [...reasons],
      transparent: flags?.transparent ?? false,
      shell: flags?.shell ?? false
    }
    this.founds.push(f)
    return f
  }

  /**
   * Turns an argv into the command(s) it runs: unwraps wrappers, recurses
   * into `bash -c` scripts and `find -exec`, and flags what forces `ask`.
   */
  private resolve(
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
  private findExec(
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

  /**
   * Words a builtin takes as variable names (`unset`, `read`, `printf -v`,
   * `test -v`): a subscript in one is evaluated (arithmetic, or expanded as
   * a key), so `unset 'a[$(cmd)]'` runs `cmd`; a name computed at run time
   * can be such a subscript.
   */
  private nameWords(keyword: string, words: ReadonlyArray<Tok>, offset: number, sink: Array<Reason>): void {
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

  private declarationWords(keyword: string, words: ReadonlyArray<Tok>, offset: number, sink: Array<Reason>): void {
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

  private checkAssignedName(keyword: string, name: string, text: string, offset: number, sink: Array<Reason>): void {
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

  private declaration(n: SyntaxNode, sc: Scope, d: number): Array<Found> {
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

  /**
   * A newline between two words of one simple command ends the command for
   * bash; the grammar sometimes runs on into the next line
   * (`a |& b | c<newline>d`). Where it does, ask.
   */
  private lineBreaks(n: SyntaxNode, sc: Scope): void {
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
  private gluedKeyword(n: SyntaxNode, sc: Scope): void {
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
  private adjacencyAll(n: SyntaxNode, sc: Scope): void {
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

  private unset(n: SyntaxNode, sc: Scope, d: number): Array<Found> {
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

  /** `[ ... ]` and `[[ ... ]]`: decided as a command named `[` / `[[`; arithmetic operands checked. */
  private test(n: SyntaxNode, sc: Scope, d: number): Array<Found> {
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

  /** Checks an assignment; returns its value (`undefined` for an array literal or no value). */
  private assignment(
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

  private subscriptIndex(sub: SyntaxNode, sc: Scope, d: number, offset: number, sink: Array<Reason> | undefined): void {
    for (const c of sub.children) {
      if (c.field !== "index") continue
      const t = this.text(sc, c)
      if (c.type === "number" || t === "@" || t === "*" || /^\d+$/.test(t)) continue
      this.reason("arithmetic-variable", `array subscript [${t}] is evaluated as arithmetic`, offset, sink)
      this.word(c, sc, d)
    }
  }

  // -- redirections ----------------------------------------------------------

  private redirect(r: SyntaxNode, owners: ReadonlyArray<Found>, sc: Scope, d: number): void {
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
  private heredocExtent(r: SyntaxNode, start: SyntaxNode | undefined, sc: Scope): void {
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

  // -- words -----------------------------------------------------------------

  /** Evaluates a word as bash would before running the command; walks any substitution inside. */
  private word(n: SyntaxNode, sc: Scope, d: number): Tok {
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
  private parts(n: SyntaxNode, sc: Scope, d: number, text: string): Tok {
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
  private stringParts(n: SyntaxNode, sc: Scope, d: number, text: string): Tok {
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
  private unquotedParts(n: SyntaxNode, sc: Scope, d: number, text: string): Tok {
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
  private backtick(n: SyntaxNode, sc: Scope, inDq: boolean): void {
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

  /**
   * The grammar reads `\<newline>` as a word break; bash removes it and
   * joins the two halves (`l\<newline>s` is `ls`). Where they differ, ask.
   */
  private continuation(n: SyntaxNode, sc: Scope): void {
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

  /** `${...}`: flags indirect, substring, subscript, prompt and assigning forms. */
  private expansion(n: SyntaxNode, sc: Scope, d: number): void {
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
  private arithmetic(n: SyntaxNode, sc: Scope, d: number, what: string): void {
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

/** ANSI-like escapes `env -S` understands inside its string. */
const ENV_S_ESCAPES: Record<string, string> = {
  _: " ",
  t: "\t",
  n: "\n",
  r: "\r",
  f: "\f",
  v: "\v",
  "\\": "\\",
  '"': '"',
  "'": "'",
  "#": "#",
  $: "$"
}

/**
 * `env -S STRING` (also `-SSTRING`, `--split-string[=]STRING`): the argv
 * with STRING split into words as env does, or `undefined` when there is no
 * such option or the string is computed (`${VAR}` inside is computed too).
 */
const splitEnvS = (argv: ReadonlyArray<Tok>): Array<Tok> | undefined => {
  for (let i = 1; i < argv.length; i++) {
    const v = argv[i]!.value
    if (v === undefined || v === "--" || !v.startsWith("-")) return undefined
    let str: string | undefined
    let used = 1
    if (v === "-S" || v === "--split-string") {
      str = argv[i + 1]?.value
      used = 2
    } else if (v.startsWith("--split-string=")) str = v.slice("--split-string=".length)
    else if (v.startsWith("-S")) str = v.slice(2)
    else continue
    if (str === undefined) return undefined
    const words: Array<Tok> = []
    let cur: string | undefined
    let dynamic = false
    let q: string | undefined
    for (let k = 0; k < str.length; k++) {
      const ch = str[k]!
      if (q === "'") {
        if (ch === "'") q = undefined
        else cur = (cur ?? "") + ch
        continue
      }
      if (ch === "\\" && k + 1 < str.length) {
        const e = str[++k]!
        if (e === "c" && q === undefined) break
        cur = (cur ?? "") + (ENV_S_ESCAPES[e] ?? e)
        continue
      }
      if (q === '"') {
        if (ch === '"') q = undefined
        else if (ch === "$") dynamic = true
        else cur = (cur ?? "") + ch
        continue
      }
      if (ch === "'" || ch === '"') {
        q = ch
        cur ??= ""
      } else if (ch === " " || ch === "\t" || ch === "\n") {
        if (cur !== undefined) words.push(dynamic ? dyn(cur, "env -S variable") : lit(cur, cur))
        cur = undefined
        dynamic = false
      } else if (ch === "#" && cur === undefined) break
      else {
        if (ch === "$") dynamic = true
        cur = (cur ?? "") + ch
      }
    }
    if (cur !== undefined) words.push(dynamic ? dyn(cur, "env -S variable") : lit(cur, cur))
    return [...argv.slice(0, i), ...words, ...argv.slice(i + used)]
  }
  return undefined
}

/** A `name[subscript]` word whose subscript is evaluated as something other than a plain number. */
const unsafeSubscript = (v: string): boolean => {
  const open = v.indexOf("[")
  if (open < 0) return false
  const close = v.lastIndexOf("]")
  const index = close > open ? v.slice(open + 1, close) : v.slice(open + 1)
  return !/^\s*(\d+|@|\*)?\s*$/.test(index) || close < open
}

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

/** Joins two pieces of one word the grammar split apart. */
const joinTok = (a: Tok, b: Tok, text: string): Tok => {
  if (a.value !== undefined && b.value !== undefined) return lit(a.value + b.value, text)
  const pa = a.value !== undefined ? regexEscape(a.value) : a.pattern
  const pb = b.value !== undefined ? regexEscape(b.value) : b.pattern
  if (pa !== undefined && pb !== undefined && a.why !== "process substitution" && b.why !== "process substitution") {
    return { value: undefined, text, pattern: pa + pb, why: "glob" }
  }
  return dyn(text, a.why ?? b.why ?? "computed at run time")
}

const clip = (s: string): string => (s.length > 60 ? `${s.slice(0, 57)}...` : s)

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

/**
 * Analyses one command string. Never throws on any input: whatever cannot
 * be analysed within the limits becomes a reason.
 */
export const analyze = (syntax: BashSyntax, source: string, limits: Limits): Analysis => {
  const walker = new Walker(syntax, limits, performance.now() + limits.timeBudgetMs)
  walker.source(source, { src: source, pin: undefined, shells: 0 })
  const founds = walker.founds
  // Source order; ties (commands of one nested script) keep discovery order.
  const sorted =
    founds.length < 2
      ? founds
      : founds
          .map((f, i) => [f, i] as const)
          .sort((a, b) => a[0].offset - b[0].offset || a[1] - b[1])
          .map(([f]) => f)
  return { founds: sorted, reasons: walker.reasons }
}
