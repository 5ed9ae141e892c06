/**
 * Differential test against real bash: for random commands (compositions of
 * allowed and other commands, then mutated with random shell tokens) that
 * the policy allows, run them under bash with an empty PATH and a
 * `command_not_found_handle` that records every program bash tries to run.
 * Every recorded argv must itself be allowed: bash never runs a program the
 * policy did not see and allow.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import { ExecPolicy } from "../src/index.js"
import { policyLayer, strataRules } from "./utils.js"

const hasBash = spawnSync("bash", ["-c", "exit 0"]).status === 0 && spawnSync("timeout", ["1", "true"]).status === 0

const TOKENS = [
  " ",
  ";",
  "|",
  "&&",
  "||",
  "\n",
  "'",
  '"',
  "\\",
  "$(",
  ")",
  "`",
  "(",
  "{ ",
  "}",
  "${x:-",
  "$x",
  "<<EOF\n",
  "\nEOF\n",
  "<<<",
  "bash -c ",
  "env ",
  "timeout 1 ",
  "xargs ",
  "#",
  "=",
  "x=",
  "<(",
  "$'",
  "*",
  "[",
  "]",
  "!",
  ">",
  "<",
  "rm",
  "touch",
  "-rf",
  "\t",
  "{a,b}",
  "\\\n",
  "$'\\x72m'",
  "'\\''",
  "l",
  "s"
]
const LEAVES = [
  "ls",
  "ls -la",
  "cat f",
  "wc -l",
  "git status",
  "git log",
  "echo hi",
  "grep x f",
  "sort",
  "rm -rf y",
  "touch z"
]
const OPS = [
  "%a; %b",
  "%a && %b",
  "%a | %b",
  "%a\n%b",
  "( %a )",
  "{ %a; }",
  "echo $( %a )",
  "bash -c '%a'",
  "timeout 1 %a",
  "env A=1 %a",
  "echo `%a`",
  "if %a; then %b; fi",
  "cat <( %a )",
  "x=$( %a )",
  "%a 2>/dev/null",
  "%a # c"
]

const tree = fc.letrec<{ node: string; op: string }>((tie) => ({
  node: fc.oneof({ depthSize: "small" }, fc.constantFrom(...LEAVES), tie("op")),
  op: fc
    .tuple(fc.constantFrom(...OPS), tie("node"), tie("node"))
    .map(([op, a, b]) => op.replace("%a", () => a).replace("%b", () => b))
})).node
const mutated = fc
  .tuple(tree, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...TOKENS)), { maxLength: 3 }))
  .map(([s, ms]) =>
    ms.reduce((acc, [i, t]) => acc.slice(0, i % (acc.length + 1)) + t + acc.slice(i % (acc.length + 1)), s)
  )
  // No function definitions: a random one could be a fork bomb.
  .filter((s) => !/\w\s*\(\s*\)|function/.test(s))

const PRELUDE = `command_not_found_handle() { local IFS=$'\\x1f'; printf '%s\\n' "$*" >> "$LOG"; return 0; }\n`

layer(policyLayer([strataRules]))("differential against bash", (it) => {
  it.effect.runIf(hasBash)(
    "bash never runs a program the policy did not allow",
    () =>
      Effect.gen(function* () {
        const policy = yield* ExecPolicy.ExecPolicy
        const dir = mkdtempSync(path.join(tmpdir(), "strata-policy-oracle-"))
        const log = path.join(dir, "log")
        let allowed = 0
        try {
          fc.assert(
            fc.property(mutated, (command) => {
              if (policy.checkSync(command).decision !== "allow") return
              allowed++
              rmSync(log, { force: true })
              spawnSync("timeout", ["-s", "KILL", "2", "bash", "--norc", "--noprofile", "-c", PRELUDE + command], {
                cwd: dir,
                env: { PATH: "/nonexistent", LOG: log, HOME: dir },
                stdio: "ignore"
              })
              if (!existsSync(log)) return
              for (const line of readFileSync(log, "utf8")
                .split("\n")
                .filter((l) => l !== "")) {
                const argv = line.split("\x1f")
                const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ")
                expect(
                  policy.checkSync(quoted).decision,
                  `${JSON.stringify(command)} ran ${JSON.stringify(argv)}`
                ).toBe("allow")
              }
            }),
            { numRuns: 1_200 }
          )
        } finally {
          rmSync(dir, { recursive: true, force: true })
        }
        expect(allowed).toBeGreaterThan(50)
      }),
    120_000
  )
})
