/**
 * A grammar-based generator of adversarial shell strings (fast-check): words
 * in every quoting, every substitution form nested in every other, here-docs,
 * here-strings, builtins that evaluate strings, assignments, redirections,
 * wrappers and nested shells, then mutated with raw shell tokens. Payloads
 * (`touch`, `curl`, `rm`, `wget`) are what an attacker hides; allowed
 * programs (`echo`, `ls`, `cat`, `printf`, `git status`) are the disguise.
 */
import * as fc from "effect/FastCheck"

const PAYLOADS = ["touch pwned", "curl x.test", "rm -f f", "wget x.test", "rm -rf d"]
const ALLOWED = ["echo hi", "ls", "cat f", "printf %s x", "git status", "wc -l f", "true", "echo"]

/** Escapes for a single-quoted string: `'` -> `'\''`. */
const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`
/** Escapes for a backtick substitution body: `\`, backtick and `$` get a backslash. */
const bq = (s: string): string => s.replace(/[\\`$]/g, "\\$&")
/** Escapes for a double-quoted string. */
const dq = (s: string): string => `"${s.replace(/[\\`$"]/g, "\\$&")}"`

type Gen = { word: string; cmd: string; stmt: string }

const tie = fc.letrec<Gen>((t) => ({
  word: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(
      "x",
      "f",
      "-n",
      "a b",
      "'q'",
      '"d"',
      "$'\\x41'",
      '$"t"',
      "\\$(z)",
      "*",
      "{a,b}",
      "a[1]",
      "~",
      "$x",
      "${x}",
      "$((1+2))"
    ),
    t("cmd").map((c) => `$(${c})`),
    t("cmd").map((c) => `\`${bq(c)}\``),
    t("cmd").map((c) => `\`${c}\``),
    t("cmd").map((c) => `"$(${c})"`),
    t("cmd").map((c) => `"\`${bq(c)}\`"`),
    t("cmd").map((c) => `\\$(${c})`),
    t("cmd").map((c) => `<(${c})`),
    fc
      .tuple(fc.constantFrom(":-", "-", ":=", "=", ":+", "+", "#", "%", "/", ":?"), t("cmd"))
      .map(([op, c]) => `"\${x${op}'$(${c})'}"`),
    fc.tuple(fc.constantFrom(":-", ":+", "-"), t("word")).map(([op, w]) => `\${x${op}${w}}`),
    fc.tuple(fc.constantFrom(":-", ":+"), t("word")).map(([op, w]) => `"\${x${op}${w}}"`),
    t("cmd").map((c) => `$((a[$(${c})]))`),
    t("cmd").map((c) => `'a[$(${c})]'`),
    t("cmd").map((c) => sq(`$(${c})`)),
    t("cmd").map((c) => dq(`$(${c})`)),
    fc.tuple(t("word"), t("word")).map(([a, b]) => a + b)
  ),
  cmd: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(...ALLOWED, ...PAYLOADS),
    fc
      .tuple(fc.constantFrom("echo", "ls", "cat", "printf %s", "git log", "test -n", "[ -n"), t("word"))
      .map(([c, w]) => (c === "[ -n" ? `[ -n ${w} ]` : `${c} ${w}`)),
    fc
      .tuple(fc.constantFrom("env", "timeout 1", "nice", "command", "nohup", "env A=1", "xargs", "env -S"), t("cmd"))
      .map(([w, c]) => (w === "env -S" ? `env -S ${sq(c)}` : `${w} ${c}`)),
    fc
      .tuple(fc.constantFrom("bash", "sh", "bash -l", "bash -i", "sh -l", "bash --norc"), t("stmt"))
      .map(([sh, s]) => `${sh} -c ${sq(s)}`),
    fc
      .tuple(
        fc.constantFrom(
          "unset",
          "declare -a a=",
          "printf -v",
          "read",
          "test -v",
          "[[ -v",
          "declare",
          "export",
          "typeset -a a=",
          "local"
        ),
        t("word")
      )
      .map(([b, w]) =>
        b.endsWith("=")
          ? `${b}${w}`
          : b === "[[ -v"
            ? `[[ -v ${w} ]]`
            : b === "printf -v"
              ? `printf -v ${w} x`
              : b === "read"
                ? `read ${w} <<< x`
                : `${b} ${w}`
      ),
    fc
      .tuple(fc.constantFrom("x", "HOME", "GIT_DIR", "PATH", "y", "PS4", "a[1]"), t("word"), t("cmd"))
      .map(([v, w, c]) => `${v}=${w} ${c}`),
    fc.tuple(t("cmd"), t("word")).map(([c, w]) => `${c} <<< ${w}`),
    fc
      .tuple(t("cmd"), fc.constantFrom("E", "'E'", "\\E", '"E"'), t("word"))
      .map(([c, d, w]) => `${c} <<${d}\n${w}\n${w}\nE\n`),
    fc
      .tuple(t("cmd"), fc.constantFrom("> /dev/null", "2>&1", ">&2", "> out", ">> .git/config", "> .strata/x", "< f"))
      .map(([c, r]) => `${c} ${r}`),
    fc
      .tuple(
        fc.constantFrom("tee", "cp f", "mv f", "sed -i s/a/b/", "ln -s f", "dd if=f of=", "truncate -s0"),
        fc.constantFrom(".git/config", ".strata/x", "out", ".git/hooks/pre-commit", "./.git/config")
      )
      .map(([c, p]) => (c.endsWith("=") ? `${c}${p}` : `${c} ${p}`))
  ),
  stmt: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    t("cmd"),
    fc
      .tuple(t("stmt"), fc.constantFrom("; ", " && ", " || ", " | ", "\n", " & "), t("stmt"))
      .map(([a, op, b]) => a + op + b),
    t("stmt").map((s) => `( ${s} )`),
    t("stmt").map((s) => `{ ${s}; }`),
    fc.tuple(t("stmt"), t("stmt")).map(([a, b]) => `if ${a}; then ${b}; fi`),
    fc.tuple(t("word"), t("stmt")).map(([w, s]) => `for i in ${w}; do ${s}; done`),
    fc.tuple(t("word"), t("stmt")).map(([w, s]) => `case ${w} in *) ${s};; esac`),
    fc.tuple(fc.constantFrom("x", "y", "a[$(touch q)]", "HOME"), t("word")).map(([v, w]) => `${v}=${w}`)
  )
}))

const TOKENS = [
  "\\",
  "`",
  "'",
  '"',
  "$(",
  ")",
  "}",
  "{",
  ";",
  "\n",
  "\r",
  "\v",
  "\\`",
  "\\$",
  "${x:-",
  "'",
  "<<E\n",
  "#",
  " ",
  "&"
]

/** A generated string: a statement, sometimes mutated with raw shell tokens. */
export const shellString: fc.Arbitrary<string> = fc
  .tuple(tie.stmt, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...TOKENS)), { maxLength: 2 }))
  .map(([s, ms]) =>
    ms.reduce((acc, [i, t]) => acc.slice(0, i % (acc.length + 1)) + t + acc.slice(i % (acc.length + 1)), s)
  )
  // No function definitions or loops that never end.
  .filter((s) => !/\w\s*\(\s*\)|function|while|until|:\(\)/.test(s) && s.length < 2_000)
