/**
 * Differential test against the real shells: for the checked-in corpus of
 * adversarial strings (test/differential/corpus.jsonl, grouped by class) and
 * for generated strings, every string the policy allows is run exactly as
 * the shell tool runs it (bash --noprofile --norc -c) in a sandbox, under
 * `strace -f -e trace=execve`; every program that really executed must be
 * allowed by the policy on its own, and no protected file may change.
 *
 * Needs strace: without it the test is skipped with the reason outside CI
 * and fails under CI=true. The long run is `npm run fuzz`.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import type { Decision } from "../src/Decision.js"
import { shellString } from "./differential/generator.js"
import { availability, corpus, makeChecker, newTally, runOne, Sandbox } from "./differential/run.js"

const status = availability()
const inCi = process.env.CI === "true" || process.env.CI === "1"
if (!status.ok) {
  console.warn(`\n!!! exec-policy differential test NOT RUN: ${status.why} !!!\n`)
}

describe("differential against bash with traced execve", () => {
  it.runIf(!status.ok && inCi)("strace is available under CI", () => {
    expect.fail(`the differential test needs strace under CI: ${status.why}`)
  })

  describe.runIf(status.ok)("runs", () => {
    let sandbox: Sandbox
    let check: (command: string) => Decision
    beforeAll(async () => {
      sandbox = new Sandbox()
      check = await makeChecker()
    })
    afterAll(() => sandbox?.close())

    it("the tracer sees what bash runs, through every substitution form", () => {
      // The oracle itself: a string that really runs `touch` is seen doing so.
      const tally = newTally()
      const seen = sandbox.run("echo `echo \\`touch a\\``; x=$(wget q); cat <(rm -f f); nosuchprogram z")
      const names = seen.execs.map((e) => e.argv[0])
      expect(names).toEqual(expect.arrayContaining(["touch", "wget", "rm", "nosuchprogram"]))
      expect(sandbox.run("echo x > .git/config").protectedChanged).toEqual([".git/config"])
      expect(tally.inputs).toBe(0)
    })

    it("the corpus: no allowed string runs a program the policy does not allow", () => {
      const tally = newTally()
      for (const c of corpus) runOne(check, sandbox, c.command, tally)
      expect(corpus.length).toBeGreaterThanOrEqual(500)
      expect(tally.bypasses).toEqual([])
      // The controls at least are allowed and ran.
      expect(tally.allowed).toBeGreaterThan(5)
    }, 120_000)

    it("generated strings: no allowed string runs a program the policy does not allow", () => {
      const tally = newTally()
      fc.assert(
        fc.property(shellString, (command) => {
          const found = runOne(check, sandbox, command, tally)
          expect(found).toEqual([])
        }),
        { numRuns: Number(process.env.STRATA_DIFF_RUNS ?? 300) }
      )
      expect(tally.inputs).toBeGreaterThan(0)
    }, 120_000)
  })
})
