/**
 * Approvals remembered in chat are exact-prefix rules decided per simple
 * command: approving `touch a.txt` "always" covers exactly that, never
 * another command of the same line, never what the analysis forces to ask.
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Remembered from "../src/Remembered.js"

const grammar = new Uint8Array(
  readFileSync(createRequire(import.meta.url).resolve("tree-sitter-bash/tree-sitter-bash.wasm"))
)

describe("remembered approvals", () => {
  it.effect("cover exactly the approved argv, per simple command", () =>
    Effect.gen(function* () {
      const r = yield* Remembered.make(grammar)
      expect(r.covers("touch a.txt")).toBeUndefined()
      const added = yield* r.add("touch a.txt")
      expect(added).toEqual([Remembered.ruleToml(["touch", "a.txt"])])
      expect(r.covers("touch a.txt")).toBeDefined()
      expect(r.covers("touch 'a.txt'")).toBeDefined()
      expect(r.covers("touch b.txt")).toBeUndefined()
      // exact: the approved argv and nothing more
      expect(r.covers("touch a.txt -rf /")).toBeUndefined()
      expect(r.covers("touch a.txt b.txt")).toBeUndefined()
      expect(r.covers("touch a.txt && curl x")).toBeUndefined()
      expect(r.covers("touch a.txt; touch b.txt")).toBeUndefined()
      expect(r.covers("touch a.txt `curl x`")).toBeUndefined()
      expect(r.covers("touch a.txt > .git/config")).toBeUndefined()
      expect(r.covers("bash -c 'touch a.txt; curl x'")).toBeUndefined()
      // Both commands of an approved line become rules.
      yield* r.add("mkdir d && touch d/x")
      expect(r.covers("mkdir d")).toBeDefined()
      expect(r.covers("touch d/x && mkdir d")).toBeDefined()
      expect(r.rules()).toHaveLength(3)
    })
  )

  it.effect("what the analysis forces to ask is never remembered", () =>
    Effect.gen(function* () {
      const r = yield* Remembered.make(grammar)
      // The approved line ran `curl x`: that exact command is remembered, the computed `echo` is not.
      expect(yield* r.add("echo $(curl x)")).toEqual([Remembered.ruleToml(["curl", "x"])])
      expect(r.covers("echo $(curl x)")).toBeUndefined()
      expect(yield* r.add("cp f .git/config")).toEqual([])
      expect(r.covers("cp f .git/config")).toBeUndefined()
    })
  )

  it.effect("a hostile word (DEL, a lone surrogate) never makes a rule file that does not load", () =>
    Effect.gen(function* () {
      const r = yield* Remembered.make(grammar)
      // DEL is escaped (TOML, unlike JSON, refuses it raw); the rules still load and cover it
      expect(yield* r.add("touch 'a\u007fb'")).toEqual([Remembered.ruleToml(["touch", "a\u007fb"])])
      expect(Remembered.ruleToml(["touch", "a\u007fb"])).toContain('"a\\u007Fb"')
      expect(r.covers("touch 'a\u007fb'")).toBeDefined()
      // a lone surrogate has no TOML form: not remembered (and the chat does not die)
      expect(yield* r.add("touch 'a\ud800b'")).toEqual([])
      expect(r.covers("touch 'a\ud800b'")).toBeUndefined()
      expect(r.covers("touch 'a\u007fb'")).toBeDefined()
    })
  )
})
