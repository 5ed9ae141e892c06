/**
 * Issue 13's bypass classes, one group each, decided against the
 * differential rules (test/differential/rules.toml: read-only basics
 * allowed, `curl` and `rm -rf` denied, the rest asks). Each class is also
 * in the corpus the differential test runs under real bash; here every
 * string has its exact expected decision and reason.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { Decision } from "../src/Decision.js"
import { Decision as D, type ExecPolicy, ProtectedPaths } from "../src/index.js"
import { makeChecker } from "./differential/run.js"
import { fromText } from "./utils.js"

const checkP = makeChecker()
const decide = async (command: string, options?: ExecPolicy.CheckOptions): Promise<Decision> => {
  const check = await checkP
  return options === undefined ? check(command) : (await policyP).checkSync(command, options)
}
const policyP = Effect.runPromise(
  fromText(
    'default = "ask"\n[[rule]]\nprefix = [["echo", "ls", "cat", "cp", "tee", "git", "sed", "rm", "cd", "printf"]]\ndecision = "allow"\nallow_redirection = true\n'
  )
)
const codes = (d: Decision) =>
  new Set([...d.reasons.map((r) => r.code), ...d.commands.flatMap((c) => c.reasons.map((r) => r.code))])

type Row = readonly [command: string, decision: "allow" | "ask" | "deny", code?: string]
const table = (name: string, rows: ReadonlyArray<Row>) =>
  describe(name, () => {
    for (const [command, decision, code] of rows) {
      it(`${JSON.stringify(command)} is ${decision}${code === undefined ? "" : ` (${code})`}`, async () => {
        const d = await decide(command)
        expect(d.decision, JSON.stringify(d.reasons)).toBe(decision)
        if (code !== undefined) expect([...codes(d)]).toContain(code)
      })
    }
  })

table("1. backtick bodies are parsed again after backslash removal", [
  ["echo `echo \\`touch p\\``", "ask"],
  ["echo `echo \\`curl x\\``", "deny"],
  ["echo `echo \\$(curl x)`", "deny"],
  ["echo `echo \\`echo \\\\\\`curl x\\\\\\`\\``", "deny"],
  ["x=`echo \\$(touch p)`", "ask"],
  ["for i in `echo \\$(touch p)`; do echo; done", "ask"],
  ["case `echo \\$(touch p)` in *) echo;; esac", "ask"],
  ["cat <<< `echo \\$(touch p)`", "ask"],
  ['echo "`echo \\$(touch p)`"', "ask"],
  ['echo "`echo \\"$(curl x)\\"`"', "deny"],
  // What stays literal for bash stays allowed.
  ["echo `echo \\\\$HOME`", "allow"],
  ["echo `echo hi`", "allow"],
  ["echo `echo '\\$(touch p)'`", "allow"]
])

table("2. single quotes inside a double-quoted ${x:-...} do not quote", [
  ["echo \"${x:-'$(touch p)'}\"", "ask", "unsafe-expansion"],
  ["echo \"${x:+'`touch p`'}\"", "ask", "unsafe-expansion"],
  ["echo \"${x='$(touch p)'}\"", "ask", "unsafe-expansion"],
  ["echo \"${x?'$(touch p)'}\"", "ask", "unsafe-expansion"],
  ["echo \"${x:-${y:-'$(touch p)'}}\"", "ask", "unsafe-expansion"],
  ["cat <<EOF\n${x:-'$(touch p)'}\nEOF", "ask", "unsafe-expansion"],
  // Pattern operators: quotes quote, engine and bash agree.
  ["echo \"${x#'$(touch p)'}\"", "allow"],
  ["echo \"${x%'a'}\"", "allow"],
  ["echo \"${x/'a'/'$(touch p)'}\"", "allow"],
  // Unquoted: single quotes quote.
  ["echo ${x:-'$(touch p)'}", "allow"],
  ['echo "${x:-a}"', "allow"]
])

table("3. one dialect: bash; other shells' scripts ask where they differ", [
  ["sh -c 'echo hi &> /dev/null; touch p'", "ask"],
  ["sh -c \"echo $'a\\\\' ; touch p ; echo '\"", "ask", "dialect"],
  ["sh -c 'ls |& cat'", "ask", "dialect"],
  ["zsh -c 'echo hi'", "ask", "dialect"],
  ["ksh -c 'echo hi'", "ask", "dialect"],
  ["sh -c 'echo hi; ls'", "allow"],
  ["bash -c 'echo hi &> /dev/null'", "allow"]
])

table("4. builtins that evaluate strings", [
  ["unset 'a[$(touch p)]'", "ask", "arithmetic-variable"],
  ["unset a[x]", "ask", "arithmetic-variable"],
  ["unset a b", "allow"],
  ["declare -a a='([$(touch p)]=1)'", "ask", "eval"],
  ["declare -A a='([x]=$(touch p))'", "ask", "eval"],
  ["typeset -a a='([0]=1)'", "ask", "eval"],
  ["readonly -a a='([$(touch p)]=1)'", "ask", "eval"],
  ["declare 'a=([0]=$(touch p))'", "ask", "eval"],
  ['declare a="$x"', "ask", "eval"],
  ["printf -v 'a[$(touch p)]' x", "ask", "arithmetic-variable"],
  ["printf -v x %s y", "allow"],
  ["read 'a[$(touch p)]' <<< x", "ask", "arithmetic-variable"],
  ["test -v 'a[$(touch p)]'", "ask", "arithmetic-variable"],
  ["[ -v 'a[$(touch p)]' ]", "ask", "arithmetic-variable"],
  ["[[ -v a[$(touch p)] ]]", "ask"],
  ["declare -n r='a[$(touch p)]'", "ask"]
])

table("5. start-up files and configuration", [
  ["bash -i -c 'echo hi'", "ask", "startup-file"],
  ["bash -l -c 'echo hi'", "ask", "startup-file"],
  ["bash --login -c 'echo hi'", "ask", "startup-file"],
  ["bash --rcfile f -c 'echo hi'", "ask", "startup-file"],
  ["bash --init-file f -c 'echo hi'", "ask", "startup-file"],
  ["bash -O extdebug -c 'echo hi'", "ask", "startup-file"],
  ["sh -l -c 'echo hi'", "ask", "startup-file"],
  ["bash --norc --noprofile -c 'echo hi'", "allow"],
  ["HOME=. git status", "ask", "dangerous-env"],
  ["XDG_CONFIG_HOME=. git status", "ask", "dangerous-env"],
  ["GIT_DIR=x git status", "ask", "dangerous-env"],
  ["GIT_CONFIG_GLOBAL=f git log", "ask", "dangerous-env"],
  ["env HOME=. git status", "ask", "dangerous-env"],
  ["export HOME=.; git status", "ask", "dangerous-env"],
  ["CDPATH=.git cd hooks", "ask", "dangerous-env"],
  ["GCONV_PATH=. echo hi", "ask", "dangerous-env"],
  ["exec -a -bash bash -c 'echo hi'", "ask", "wrapper-option"],
  ["LANG=C ls", "allow"]
])

table("7. blanks, syntax errors, denials through expansions", [
  ["echo hi\rcurl x", "ask", "unmodeled"],
  ["echo hi\v; touch p", "ask", "unmodeled"],
  ["echo\u00a0hi", "ask", "unmodeled"],
  ["ls; }", "ask", "parse-error"],
  ["} ; ls", "ask", "parse-error"],
  ["declare} -a x", "ask", "unmodeled"],
  // The grammar runs this `tee` on into the next line; bash runs `touch` apart.
  ["ls |& echo hi | tee notes.txt\ntouch x && ls", "ask", "parse-error"],
  ["{curl,x.test}", "deny"],
  ["cu{r,}l x", "deny"],
  ["echo hi; {rm,-rf,d}", "deny"],
  ['$"curl" x', "deny"],
  ["/usr/bin/cur? x", "deny"],
  ["cur[l] x", "deny"],
  ["env -S 'curl x'", "deny"],
  ["env -S'curl x'", "deny"],
  ["env --split-string='curl x'", "deny"],
  ["env -S 'ls -la'", "ask", "wrapper-option"],
  ["{ls,-la}", "ask"],
  // The grammar reads `$ "t"` as one translated string; bash assigns `$` and runs `t` (found by npm run fuzz).
  ['x=$ "touch" p', "ask", "parse-error"],
  ["x=$ touch", "ask", "parse-error"],
  // Found by npm run fuzz: a delimiter bash reads differently; `\ ` as a whole word.
  ['echo hi <<{E\n"`touch p`"\nE\n', "ask", "parse-error"],
  ["( echo hi\n\\ )", "ask", "parse-error"],
  ["cat <<E\nhi\nE", "allow"],
  ["cat <<-E\n\thi\n\tE", "allow"],
  ["echo file\\ name", "allow"]
])

describe("protected paths in shell commands (issue 14 part 1)", () => {
  const cwd = "/w"
  const home = "/home/u"
  const rows: ReadonlyArray<readonly [string, "allow" | "ask"]> = [
    ["echo x > .git/config", "ask"],
    ["echo x >> .git/hooks/pre-commit", "ask"],
    ["echo x > .strata/config.toml", "ask"],
    ["echo x >| /w/.strata/rules.toml", "ask"],
    ["echo x &> ./.git/../.git/config", "ask"],
    ["echo x | tee .git/config", "ask"],
    ["echo x | tee -a .strata/config.toml", "ask"],
    ["cp f .git/config", "ask"],
    ["cp f .git/hooks/", "ask"],
    ["sed -i s/a/b/ .git/config", "ask"],
    ["git config core.fsmonitor 'touch p'", "ask"],
    ["git -C . config --add core.pager x", "ask"],
    ["rm -rf .git", "ask"],
    ["rm -rf .", "ask"],
    ["rm -rf .*", "ask"],
    ["rm -rf ../w", "ask"],
    ["cp -r x ~/.config/strata", "ask"],
    ["echo x > ~/.strata/policy.toml", "ask"],
    ["echo x > .claude/settings.local.json", "ask"],
    ["echo x > sub/.git/config", "ask"],
    ["cd .git && echo x > config", "ask"],
    ["cd .git; cp f hooks/pre-commit", "ask"],
    ['cp f "$target"', "ask"],
    ["echo x > $(printf .git)/config", "ask"],
    ["cat < .strata/approvals.jsonl", "ask"],
    ["printf '[core]\\n' | tee /w/.git/config >/dev/null", "ask"],
    // Not protected.
    ["echo x > notes.txt", "allow"],
    ["cp a b", "allow"],
    ["rm -rf build", "allow"],
    ["git status", "allow"],
    ["git config --get user.name", "allow"],
    ["cat *", "allow"],
    ["ls .github", "allow"],
    ["cd src && ls", "allow"]
  ]
  for (const [command, decision] of rows) {
    it(`${JSON.stringify(command)} is ${decision}`, async () => {
      const d = await decide(command, { cwd, home })
      expect(d.decision, JSON.stringify(d.reasons)).toBe(decision)
      if (decision === "ask") expect([...codes(d)]).toContain("protected-path")
    })
  }

  it("is deny under approval mode never, ask under untrusted, whatever the rules say", async () => {
    expect((await decide("echo x > .git/config", { cwd, home, approval: "never" })).decision).toBe("deny")
    expect((await decide("echo x > .git/config", { cwd, home, approval: "untrusted" })).decision).toBe("ask")
    expect((await decide("echo x > .git/config", { cwd, home, approval: "on-request" })).decision).toBe("ask")
  })

  it("configured protected paths are honoured", async () => {
    const extra = ProtectedPaths.extend({ patterns: [] }, cwd, ["secrets/"])
    expect((await decide("cp a secrets/key", { cwd, home, protectedPaths: extra })).decision).toBe("ask")
    expect((await decide("cp a secrets/key", { cwd, home })).decision).toBe("allow")
  })
})

describe("display of commands", () => {
  it("control characters and ANSI sequences are escaped in explanations", async () => {
    const d = await decide("touch a.txt\r\x1b[2K echo hi")
    const text = D.format(d)
    expect(text).not.toMatch(/[\r\x1b]/)
    expect(text).toContain("\\r\\x1b[2K")
    expect(D.escapeControls("a\u202eb\u200bc\td")).toBe("a\\u202eb\\u200bc\td")
  })
})

describe("builtins whose options run code ask even when a rule allows the builtin", () => {
  const allowAll = Effect.runPromise(
    fromText(
      '[[rule]]\nprefix = [["mapfile", "readarray", "compgen", "complete", "hash", "bind", "enable", "echo"]]\ndecision = "allow"\n'
    )
  )
  const rows: ReadonlyArray<readonly [string, "allow" | "ask"]> = [
    ["mapfile -C 'touch p' -c 1 < f", "ask"],
    ["readarray -tC 'touch p' a < f", "ask"],
    ["compgen -C 'touch p' x", "ask"],
    ["complete -F f x", "ask"],
    ["hash -p /usr/bin/curl echo; echo hi", "ask"],
    ["bind -x '\"a\": touch p'", "ask"],
    ["enable -f ./x.so x", "ask"],
    ["mapfile -t a < f", "allow"],
    ["hash -r", "allow"]
  ]
  for (const [command, decision] of rows) {
    it(`${JSON.stringify(command)} is ${decision}`, async () => {
      const d = (await allowAll).checkSync(command)
      expect(d.decision, JSON.stringify(d.reasons)).toBe(decision)
      if (decision === "ask") expect([...codes(d)]).toContain("eval")
    })
  }
})
