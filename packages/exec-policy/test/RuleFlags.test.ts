/**
 * `not_flags` and `exact` in rules, and the distribution's default rules
 * (apps/cli/policy/strata.toml): read-only in fact, proven by their own
 * examples at load and by the decisions below.
 */
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { ExecPolicy } from "../src/index.js"
import { fromText, grammar, repoRoot } from "./utils.js"

const distribution = path.join(repoRoot, "apps/cli/policy/strata.toml")
const loadDistribution = () =>
  Effect.runPromise(
    ExecPolicy.makeFromSources([{ file: distribution, layer: "cli", text: readFileSync(distribution, "utf8") }], {
      grammar,
      limits: { timeBudgetMs: 10_000 }
    })
  )

describe("not_flags and exact", () => {
  const rules = `default = "ask"
[[rule]]
prefix = ["git", "log"]
decision = "allow"
not_flags = ["--output", "-o"]

[[rule]]
prefix = ["git", "branch"]
decision = "allow"
exact = true
`
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["git log -n 3", "allow"],
    ["git log --output=x", "ask"],
    ["git log --output x", "ask"],
    ["git log --outp=x", "ask"],
    ["git log --out=x", "ask"],
    ["git log -o x", "ask"],
    ["git log -po x", "ask"],
    ["git log -ox", "ask"],
    ['git log "$opt"', "ask"],
    ["git log --oneline", "allow"],
    ["git branch", "allow"],
    ["git branch new", "ask"]
  ]
  for (const [command, expected] of cases) {
    it.effect(`${JSON.stringify(command)} is ${expected}`, () =>
      Effect.gen(function* () {
        const policy = yield* fromText(rules)
        expect(policy.checkSync(command).decision).toBe(expected)
      })
    )
  }

  it.effect("a literal not_flag unmatches a deny rule; a computed word keeps it in force", () =>
    Effect.gen(function* () {
      const policy = yield* fromText('[[rule]]\nprefix = ["rm"]\ndecision = "deny"\nnot_flags = ["-i"]\n')
      expect(policy.checkSync("rm x").decision).toBe("deny")
      expect(policy.checkSync("rm -i x").decision).toBe("ask")
      expect(policy.checkSync('rm "$f" x').decision).toBe("deny")
    })
  )

  it.effect("bad not_flags and exact are load errors naming the rule", () =>
    Effect.gen(function* () {
      const bad = yield* Effect.flip(
        fromText('[[rule]]\nprefix = ["git"]\ndecision = "allow"\nnot_flags = ["output"]\n')
      )
      expect(bad._tag).toBe("RuleFileError")
      expect(bad.message).toContain("not_flags")
      const bad2 = yield* Effect.flip(fromText('[[rule]]\nprefix = ["git"]\ndecision = "allow"\nexact = "yes"\n'))
      expect(bad2.message).toContain("exact")
      const failing = yield* Effect.flip(
        fromText(
          '[[rule]]\nprefix = ["git", "log"]\ndecision = "allow"\nnot_flags = ["--output"]\nmatch = ["git log --output=x"]\n'
        )
      )
      expect(failing.reason).toBe("ExampleFailed")
    })
  )
})

describe("the distribution's default rules are read-only in fact", () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["git status", "allow"],
    ["git log --oneline -n 5", "allow"],
    ["git diff HEAD~1", "allow"],
    ["git show HEAD", "allow"],
    ["git branch", "allow"],
    ["git branch -a", "allow"],
    ["ls -la", "allow"],
    ["date -u", "allow"],
    ["tree -L 2", "allow"],
    // Writes a file: two allowed commands were code execution through .git/config.
    ["git log --output=.git/config --format='[core]%n  fsmonitor = touch p'", "ask"],
    ["git log --output=notes --format=x", "ask"],
    ["git log --outp=notes", "ask"],
    ["git diff --output=x", "ask"],
    ["git show --output x", "ask"],
    // Reads outside the workspace.
    ["git diff --no-index /etc/passwd f", "ask"],
    ["date -f /etc/shadow", "ask"],
    ["date --file=/etc/shadow", "ask"],
    ["tree --fromfile /etc/shadow", "ask"],
    // Changes state.
    ["date -s 2000-01-01", "ask"],
    ["git branch -D main", "ask"],
    ["git branch -m x", "ask"],
    ["git branch newbranch", "ask"],
    ["git branch -v newbranch", "ask"],
    ["git branch -a -D main", "ask"],
    ["git branch --set-upstream-to=origin/x", "ask"],
    ["git branch --edit-description", "ask"],
    ["tree -o out.txt", "ask"],
    ["git diff --ext-diff", "ask"],
    ["sudo ls", "deny"]
  ]
  for (const [command, expected] of cases) {
    it(`${JSON.stringify(command)} is ${expected}`, async () => {
      const policy = await loadDistribution()
      expect(policy.checkSync(command, { cwd: "/w", home: "/home/u" }).decision).toBe(expected)
    })
  }

  it("every rule carries match and not_match examples", () => {
    const text = readFileSync(distribution, "utf8")
    const rules = text.split("[[rule]]").slice(1)
    expect(rules.length).toBeGreaterThan(4)
    for (const r of rules) {
      expect(r).toMatch(/^match = /m)
      expect(r).toMatch(/^not_match = /m)
    }
  })
})
