/**
 * The long differential run: `npm run fuzz -w @strata/exec-policy`.
 * Generates strings for STRATA_FUZZ_SECONDS (default 60) or STRATA_FUZZ_RUNS
 * strings, after the whole corpus; runs the allowed ones under bash (and
 * dash, reported apart: the shell tool runs bash) with execve traced.
 * Prints the seed, how many inputs ran and every escape; fails on any bash
 * escape. STRATA_FUZZ_REPORT=1 only reports (for counting on old code).
 */
import { expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import { shellString } from "../differential/generator.js"
import { availability, corpus, makeChecker, newTally, runOne, Sandbox } from "../differential/run.js"

it(
  "fuzz: differential against bash and dash",
  async () => {
    const status = availability()
    if (!status.ok) throw new Error(`the fuzz run needs strace: ${status.why}`)
    const seed = fc.readConfigureGlobal().seed ?? 0
    const seconds = Number(process.env.STRATA_FUZZ_SECONDS ?? 60)
    const runs = process.env.STRATA_FUZZ_RUNS === undefined ? undefined : Number(process.env.STRATA_FUZZ_RUNS)
    const dash = process.env.STRATA_FUZZ_DASH !== "0"
    const check = await makeChecker()
    const sandbox = new Sandbox()
    const tally = newTally()
    const dashTally = newTally()
    const started = Date.now()
    try {
      const byClass = new Map<string, number>()
      for (const c of corpus) {
        const found = runOne(check, sandbox, c.command, tally)
        if (found.length > 0) byClass.set(c.class, (byClass.get(c.class) ?? 0) + 1)
        if (dash) runOne(check, sandbox, c.command, dashTally, ["dash"])
      }
      const corpusEscapes = new Set(tally.bypasses.map((b) => b.command)).size
      const corpusAllowed = tally.allowed
      const samples = fc.sample(shellString, { seed, numRuns: runs ?? 1_000_000 })
      let generated = 0
      for (const s of samples) {
        if (runs === undefined && Date.now() - started > seconds * 1000) break
        generated++
        runOne(check, sandbox, s, tally)
        if (dash) runOne(check, sandbox, s, dashTally, ["dash"])
      }
      const escaped = new Set(tally.bypasses.map((b) => b.command))
      const dashEscaped = new Set(dashTally.bypasses.map((b) => b.command))
      console.log(
        [
          `fuzz seed=${seed} (replay: STRATA_FUZZ_SEED=${seed})`,
          `corpus: ${corpus.length} strings, ${corpusAllowed} allowed, ${corpusEscapes} escaped under bash ${JSON.stringify(Object.fromEntries(byClass))}`,
          `generated: ${generated} strings in ${Math.round((Date.now() - started) / 1000)} s`,
          `total: ${tally.inputs} inputs, ${tally.allowed} allowed and run, ${escaped.size} escaping strings under bash, ${dashEscaped.size} under dash`,
          ...[...escaped]
            .slice(0, 40)
            .map((c) => `  bash escape: ${JSON.stringify(c)} ${tally.bypasses.find((b) => b.command === c)?.what}`),
          ...[...dashEscaped].slice(0, 10).map((c) => `  dash escape: ${JSON.stringify(c)}`)
        ].join("\n")
      )
      if (process.env.STRATA_FUZZ_REPORT !== "1") expect([...escaped]).toEqual([])
    } finally {
      sandbox.close()
    }
  },
  24 * 3600_000
)
