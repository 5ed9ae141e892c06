/**
 * Approval modes, applied after the rules decided.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Decision } from "../src/index.js"
import { fromText } from "./utils.js"

const rules = `
default = "ask"
[[rule]]
prefix = ["ls"]
decision = "allow"
[[rule]]
prefix = ["rm", "-rf"]
decision = "deny"
[[rule]]
prefix = ["git", "push"]
decision = "ask"
`

const table: ReadonlyArray<[string, string, Record<string, string>]> = [
  // command, why, decision per mode
  ["ls", "allowed by a rule", { "on-request": "allow", "on-failure": "allow", untrusted: "allow", never: "allow" }],
  ["touch x", "no rule: default ask", { "on-request": "ask", "on-failure": "ask", untrusted: "ask", never: "deny" }],
  ["git push", "ask rule", { "on-request": "ask", "on-failure": "ask", untrusted: "ask", never: "deny" }],
  ["rm -rf /", "deny rule", { "on-request": "deny", "on-failure": "deny", untrusted: "deny", never: "deny" }],
  ["ls > out", "forced ask", { "on-request": "ask", "on-failure": "ask", untrusted: "ask", never: "deny" }],
  ["FOO=1", "nothing runs", { "on-request": "allow", "on-failure": "allow", untrusted: "ask", never: "allow" }],
  [
    "export A=1 && ls",
    "a builtin is not explicitly allowed",
    {
      "on-request": "allow",
      "on-failure": "allow",
      untrusted: "ask",
      never: "allow"
    }
  ]
]

describe("approval modes", () => {
  for (const [command, why, modes] of table) {
    for (const [mode, expected] of Object.entries(modes)) {
      it.effect(`${mode}: ${JSON.stringify(command)} (${why}) is ${expected}`, () =>
        Effect.gen(function* () {
          const policy = yield* fromText(rules)
          const d = yield* policy.check(command, { approval: mode as Decision.Decision["approval"] })
          expect(d.decision).toBe(expected)
          expect(d.approval).toBe(mode)
          expect(d.policy_decision).toBe(modes["on-request"])
        })
      )
    }
  }

  it.effect('untrusted asks when the allow came from default = "allow"', () =>
    Effect.gen(function* () {
      const policy = yield* fromText('default = "allow"\n[[rule]]\nprefix = ["ls"]\ndecision = "allow"\n')
      expect((yield* policy.check("touch x")).decision).toBe("allow")
      expect((yield* policy.check("touch x", { approval: "untrusted" })).decision).toBe("ask")
      expect((yield* policy.check("ls", { approval: "untrusted" })).decision).toBe("allow")
    })
  )

  it.effect("summary says why, in one line", () =>
    Effect.gen(function* () {
      const policy = yield* fromText(rules, "p.toml")
      expect(Decision.summary(yield* policy.check("ls && rm -rf /"))).toBe(
        'denied: "rm -rf /" matches deny rule ["rm", "-rf"] (p.toml:6)'
      )
      expect(Decision.summary(yield* policy.check("touch x"))).toBe('asks: "touch x" matches no rule (default)')
      expect(Decision.summary(yield* policy.check("ls > out"))).toContain("asks: output redirection into out")
      expect(Decision.summary(yield* policy.check("git push", { approval: "never" }))).toBe(
        'denied (approval mode never): "git push" matches ask rule ["git", "push"] (p.toml:9)'
      )
      expect(Decision.summary(yield* policy.check("ls"))).toBe('allowed: "ls" matched allow rules')
    })
  )

  it.effect("applyApproval is the same function, usable on a stored decision", () =>
    Effect.gen(function* () {
      const policy = yield* fromText(rules)
      const d = yield* policy.check("touch x")
      expect(Decision.applyApproval(d, "never").decision).toBe("deny")
      expect(Decision.applyApproval(Decision.applyApproval(d, "never"), "on-request").decision).toBe("ask")
      expect(Decision.isExplicitlyAllowed(yield* policy.check("ls"))).toBe(true)
      expect(Decision.isExplicitlyAllowed(d)).toBe(false)
    })
  )
})
