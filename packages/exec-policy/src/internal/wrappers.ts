/**
 * Commands that run another command (`env`, `timeout`, `nice`, `xargs`,
 * ...) and shells given a script: how their options are read, which
 * command they run, and which options the engine refuses to model.
 *
 * @internal
 */
import type { Tok } from "./model.js"
import { dyn, lit } from "./tokens.js"

export interface WrapperSpec {
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

export const WRAPPERS: ReadonlyMap<string, WrapperSpec> = new Map([
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
export const unwrap = (w: WrapperSpec, name: string, argv: ReadonlyArray<Tok>): Unwrapped => {
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
export const unwrapXargs = (argv: ReadonlyArray<Tok>): XargsParsed => {
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
export const shellArgs = (argv: ReadonlyArray<Tok>): ShellArgs => {
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

/** Shells whose language the engine does not model at all. */
const FOREIGN_SHELLS: ReadonlySet<string> = new Set(["zsh", "ksh", "mksh"])
/** POSIX shells (dash on Debian) read these bash constructs differently. */
const DASH_GAPS =
  /\$'|\$"|&>|>&\s*[^\s\d-]|\|&|<<<|\[\[|\(\(|;;&|;&|\bfunction\b|\{[^}\s]*(,|\.\.)[^}]*\}|\$\{[^}]*[/:^,@]|\bselect\b|\bcoproc\b|\bdeclare\b|\blocal\b|\btypeset\b|\$\{!|\[[@*]\]/

/**
 * Why a script given to `base -c` may not mean to that shell what it means
 * to bash (the parsed dialect), or `undefined`.
 */
export const dialectGap = (base: string, script: string): string | undefined => {
  if (FOREIGN_SHELLS.has(base)) return `${base} -c script: ${base} is not the bash dialect the engine parses`
  if (base === "bash" || base === "rbash") return undefined
  const m = DASH_GAPS.exec(script)
  return m === null
    ? undefined
    : `${base} -c script uses ${JSON.stringify(m[0])}, which ${base} does not read as bash does`
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
export const splitEnvS = (argv: ReadonlyArray<Tok>): Array<Tok> | undefined => {
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
