/**
 * A deferred policy (`ExecPolicy.makeDeferred`, what a session uses): the
 * rule files are checked at once, the bash grammar and the rules' examples
 * only when the first decision needs them; a failing example is still a
 * `RuleFileError` naming file, line and rule, before any decision is made.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { ParserError } from "../src/ExecPolicyError.js"
import { ExecPolicy } from "../src/index.js"
import { grammar } from "./utils.js"

const rules = (text: string): Array<ExecPolicy.RuleSource> => [{ file: "team.toml", layer: "project", text }]

/** The grammar's bytes, counting how often they were asked for. */
const counted = () => {
  let asked = 0
  return {
    get asked() {
      return asked
    },
    grammar: Effect.sync(() => {
      asked++
      return grammar
    })
  }
}

const good =
  '[[rule]]\nprefix = ["git", "status"]\ndecision = "allow"\nmatch = ["git status -s"]\nnot_match = ["git push"]\n'
const badExample =
  '[[rule]]\nprefix = ["ls"]\ndecision = "allow"\n\n[[rule]]\nprefix = ["cat"]\ndecision = "allow"\nmatch = ["head x"]\n'

describe("a deferred policy", () => {
  // covers: issue 19 part 1
  it.effect("loads the grammar on the first decision, once, and decides as an eager one does", () =>
    Effect.gen(function* () {
      const g = counted()
      const policy = yield* ExecPolicy.makeDeferred(rules(good), { grammar: g.grammar })
      expect(g.asked).toBe(0)
      // what the files say is known without the grammar
      expect(policy.files.map((f) => [f.file, f.rules])).toEqual([
        ["<builtin>", 0],
        ["team.toml", 1]
      ])
      expect(policy.defaultDecision).toBe("ask")
      expect(() => policy.checkSync("git status")).toThrow(/run `ready` first/)
      const first = yield* policy.check("git status && rm -rf build", { cwd: "/repo" })
      const again = yield* policy.check("git status", { cwd: "/repo" })
      expect(g.asked).toBe(1)
      const eager = yield* ExecPolicy.makeFromSources(rules(good), { grammar })
      expect(first).toEqual(eager.checkSync("git status && rm -rf build", { cwd: "/repo" }))
      expect(again.decision).toBe("allow")
      expect(policy.checkSync("git status").decision).toBe("allow")
    })
  )

  it.effect("a rule file that is not valid fails at once, as an eager policy does", () =>
    Effect.gen(function* () {
      const g = counted()
      const e = yield* Effect.flip(
        ExecPolicy.makeDeferred(rules('[[rule]]\nprefix = ["ls"]\ndecision = "perhaps"\n'), { grammar: g.grammar })
      )
      expect(e).toMatchObject({ _tag: "RuleFileError", reason: "Invalid", file: "team.toml" })
      expect(g.asked).toBe(0)
    })
  )

  it.effect("a failing example is a RuleFileError naming file, line and rule from ready, before any decision", () =>
    Effect.gen(function* () {
      const policy = yield* ExecPolicy.makeDeferred(rules(badExample), { grammar: Effect.succeed(grammar) })
      const e = yield* Effect.flip(policy.ready)
      expect(e).toMatchObject({ _tag: "RuleFileError", reason: "ExampleFailed", file: "team.toml", line: 8 })
      if (e._tag !== "RuleFileError") return
      expect(e.rule).toBe('rule #2 ["cat"]')
      expect(e.message).toContain('match example "head x" does not match the rule')
      // every later call fails the same way; a decision is never made
      expect((yield* Effect.flip(policy.ready)).message).toBe(e.message)
      const exit = yield* Effect.exit(policy.check("cat x"))
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({
        _tag: "RuleFileError",
        message: e.message
      })
      // the eager constructor reports the same error
      expect((yield* Effect.flip(ExecPolicy.makeFromSources(rules(badExample), { grammar }))).message).toBe(e.message)
    })
  )

  // covers: issue 19 (the policy loads in the background while a turn writes its events)
  it.live("ready lets the event loop run between its steps (each rule's examples, each warm-up decision)", () =>
    Effect.gen(function* () {
      const text = Array.from(
        { length: 20 },
        (_, i) => `[[rule]]\nprefix = ["p${i}"]\ndecision = "allow"\nmatch = ["p${i} x"]\nnot_match = ["q${i}"]\n`
      ).join("\n")
      // the grammar's runtime and the grammar loaded by a first policy: what is left is the examples
      yield* (yield* ExecPolicy.makeDeferred(rules(text), { grammar: Effect.succeed(grammar) })).ready
      const policy = yield* ExecPolicy.makeDeferred(rules(text), { grammar: Effect.succeed(grammar) })
      let ticks = 0
      let on = true
      const tick = () => {
        if (!on) return
        ticks++
        setImmediate(tick)
      }
      setImmediate(tick)
      yield* policy.ready
      on = false
      // a macrotask before each of the 20 rules: the event loop ran at least that often
      expect(ticks).toBeGreaterThanOrEqual(20)
      expect(policy.checkSync("p3 y").decision).toBe("allow")
    })
  )

  it.effect("a grammar that cannot be loaded is a ParserError from ready", () =>
    Effect.gen(function* () {
      const missing = new ParserError({ reason: "GrammarNotFound", path: "/nowhere.wasm", detail: "not there" })
      const policy = yield* ExecPolicy.makeDeferred(rules(good), { grammar: Effect.fail(missing) })
      expect(yield* Effect.flip(policy.ready)).toMatchObject({
        _tag: "ParserError",
        reason: "GrammarNotFound",
        path: "/nowhere.wasm"
      })
      const invalid = yield* ExecPolicy.makeDeferred(rules(good), { grammar: Effect.succeed(new Uint8Array(8)) })
      expect(yield* Effect.flip(invalid.ready)).toMatchObject({ _tag: "ParserError", reason: "GrammarInvalid" })
    })
  )
})
