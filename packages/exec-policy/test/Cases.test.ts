/**
 * The contract's sample cases (`cases.jsonl` against `sample-rules.toml`):
 * from the package's copy, and from `../shared/policy` when it is there.
 */
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { describe, expect, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { ExecPolicy } from "../src/index.js"
import { fixtures, hasShared, policyLayer, readCases, sharedPolicy } from "./utils.js"

const folders = [
  { name: "test/fixtures", dir: fixtures },
  ...(hasShared ? [{ name: "../shared/policy", dir: sharedPolicy }] : [])
]

for (const { name, dir } of folders) {
  const cases = readCases(path.join(dir, "cases.jsonl"))
  layer(policyLayer([path.join(dir, "sample-rules.toml")]))(`cases.jsonl from ${name}`, (it) => {
    it.effect("has cases", () => Effect.sync(() => expect(cases.length).toBeGreaterThan(0)))
    for (const c of cases) {
      it.effect(`${c.id}: ${JSON.stringify(c.command)} is ${c.expected}`, () =>
        Effect.gen(function* () {
          const d = yield* ExecPolicy.check(c.command)
          expect(d.decision).toBe(c.expected)
        })
      )
    }
  })
}

describe.runIf(hasShared)("fixture copies", () => {
  for (const file of ["cases.jsonl", "sample-rules.toml"]) {
    it(`test/fixtures/${file} is the contract's ${file}`, () => {
      expect(readFileSync(path.join(fixtures, file), "utf8")).toBe(readFileSync(path.join(sharedPolicy, file), "utf8"))
    })
  }
})
