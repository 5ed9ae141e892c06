/**
 * The package's own cases (`fixtures/strata-cases.jsonl`, one category per
 * construct of the contract) against `fixtures/strata-rules.toml`, and the
 * explanation a decision carries.
 */
import * as path from "node:path"
import { describe, expect, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { ExecPolicy } from "../src/index.js"
import { fixtures, policyLayer, readCases, sampleRules, strataRules } from "./utils.js"

const cases = readCases(path.join(fixtures, "strata-cases.jsonl"))
const categories = [...new Set(cases.map((c) => c.category ?? "other"))]

describe("own cases", () => {
  it("cover at least 200 cases across every category of the contract", () => {
    expect(cases.length).toBeGreaterThanOrEqual(200)
    for (const category of [
      "separators",
      "substitutions",
      "subshells",
      "bash-c",
      "wrappers",
      "xargs",
      "sudo",
      "env-assignments",
      "redirections",
      "quoting",
      "ansi-c",
      "newlines",
      "comments",
      "heredocs",
      "functions",
      "eval-source",
      "globs",
      "background",
      "malformed"
    ]) {
      expect(categories).toContain(category)
    }
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length)
  })
})

layer(policyLayer([strataRules]))("strata-cases.jsonl", (it) => {
  for (const category of categories) {
    describe(category, () => {
      for (const c of cases.filter((x) => (x.category ?? "other") === category)) {
        const title = `${c.id}: ${JSON.stringify(c.command).slice(0, 80)} is ${c.expected}${c.reason === undefined ? "" : ` (${c.reason})`}`
        it.effect(title, () =>
          Effect.gen(function* () {
            const d = yield* ExecPolicy.check(c.command)
            expect(d.decision, JSON.stringify(d, null, 1)).toBe(c.expected)
            if (c.reason !== undefined) expect(d.reasons.map((r) => r.code)).toContain(c.reason)
            if (c.expected === "allow") expect(d.reasons).toEqual([])
          })
        )
      }
    })
  }
})

layer(policyLayer([sampleRules]))("explanations", (it) => {
  it.effect("names every simple command and the rule (file, line) that matched it", () =>
    Effect.gen(function* () {
      const d = yield* ExecPolicy.check("git status && rm -rf build")
      expect(d.decision).toBe("deny")
      expect(d.commands.map((c) => c.argv)).toEqual([
        ["git", "status"],
        ["rm", "-rf", "build"]
      ])
      expect(d.commands[0]!.rule).toMatchObject({
        file: sampleRules,
        line: 9,
        layer: "cli",
        decision: "allow",
        prefix: '["git", ["status", "diff", "log"]]',
        justification: "read-only git"
      })
      expect(d.commands[1]!.rule).toMatchObject({ file: sampleRules, line: 23, decision: "deny" })
      expect(d.commands[1]).toMatchObject({ line: 1, column: 15, source: "rule", decision: "deny" })
    })
  )

  it.effect("reports a command no rule matched as decided by default", () =>
    Effect.gen(function* () {
      const d = yield* ExecPolicy.check("ls\ntouch x")
      expect(d.commands[1]).toMatchObject({ argv: ["touch", "x"], source: "default", rule: null, line: 2, column: 1 })
      expect(d.decision).toBe("ask")
    })
  )

  it.effect("gives the reason of a forced ask with its position", () =>
    Effect.gen(function* () {
      const d = yield* ExecPolicy.check("ls; echo hi > notes.txt")
      expect(d.decision).toBe("ask")
      expect(d.reasons).toHaveLength(1)
      expect(d.reasons[0]).toMatchObject({ code: "output-redirection", line: 1, column: 5 })
      expect(d.reasons[0]!.message).toContain("notes.txt")
      expect(d.commands[1]!.reasons).toEqual(d.reasons)
    })
  )

  it.effect("shows the wrappers a command was found through", () =>
    Effect.gen(function* () {
      const d = yield* ExecPolicy.check("timeout 5 env FOO=1 bash -c 'ls | xargs wc'")
      expect(d.commands.map((c) => [c.argv[0], c.via])).toEqual([
        ["ls", ["timeout", "env", "bash -c"]],
        ["wc", ["timeout", "env", "bash -c", "xargs"]]
      ])
    })
  )

  it.effect("keeps the text after quote removal in argv", () =>
    Effect.gen(function* () {
      const d = yield* ExecPolicy.check(`'g'it "st"atus $'\\x2d'-oneline`)
      expect(d.commands[0]!.argv).toEqual(["git", "status", "--oneline"])
      expect(d.decision).toBe("allow")
    })
  )

  it.effect("records the cwd it was given", () =>
    Effect.gen(function* () {
      const d = yield* ExecPolicy.check("ls", { cwd: "/repo" })
      expect(d.cwd).toBe("/repo")
      expect(d.approval).toBe("on-request")
    })
  )

  it.effect("asks for an empty command, with a reason", () =>
    Effect.gen(function* () {
      for (const empty of ["", "   ", "\n", "# only a comment"]) {
        const d = yield* ExecPolicy.check(empty)
        expect(d.decision).toBe("ask")
        expect(d.reasons.map((r) => r.code)).toEqual(["empty"])
        expect(d.commands).toEqual([])
      }
    })
  )
})
