// The per-decision cost of the analyses added for issue 13 (backtick
// re-parsing, quoting checks, protected paths, not_flags, glob/brace deny
// matching, the end-of-decision time check): this build against a baseline
// build of the package, interleaved in one process on the same inputs, so
// that machine load hits both alike.
//
//   npm run build -w @strata/exec-policy
//   STRATA_POLICY_BASELINE=/path/to/old/packages/exec-policy/dist/index.js node bench/cost.bench.mjs
//
// Prints, per engine and input set, decisions/s, p50 and p99 (median of the rounds) and the ratio.
import { readFileSync } from "node:fs"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { ExecPolicy } from "@strata/exec-policy"
import * as Effect from "effect/Effect"
import { commandMix } from "./commandMix.mjs"

const baseline = process.env.STRATA_POLICY_BASELINE
if (baseline === undefined) throw new Error("set STRATA_POLICY_BASELINE to a baseline build's dist/index.js")
const Old = await import(baseline)
const RULES = new URL("../test/fixtures/sample-rules.toml", import.meta.url)
const N = 10_000
const ROUNDS = 5

const mix = commandMix(N)
const corpus = readFileSync(new URL("../test/differential/corpus.jsonl", import.meta.url), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => JSON.parse(l).command)

const make = (mod) =>
  Effect.runPromise(
    mod.ExecPolicy.make({ files: [decodeURIComponent(RULES.pathname)], limits: { timeBudgetMs: 60_000 } }).pipe(
      Effect.provide(NodeContext.layer)
    )
  )
const engines = { baseline: await make(Old), current: await make({ ExecPolicy }) }

const measure = (policy, inputs) => {
  const times = new Float64Array(inputs.length)
  const start = performance.now()
  for (let i = 0; i < inputs.length; i++) {
    const t0 = performance.now()
    policy.checkSync(inputs[i])
    times[i] = performance.now() - t0
  }
  const total = performance.now() - start
  times.sort()
  return {
    rate: inputs.length / (total / 1000),
    p50: times[Math.floor(times.length * 0.5)] * 1000,
    p99: times[Math.floor(times.length * 0.99)] * 1000
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

for (const [name, inputs] of [
  ["10k mix", mix],
  [`attack corpus (${corpus.length})`, corpus]
]) {
  for (const p of Object.values(engines)) for (const c of inputs.slice(0, 500)) p.checkSync(c) // warm up
  const rounds = { baseline: [], current: [] }
  for (let r = 0; r < ROUNDS; r++) {
    for (const k of r % 2 === 0 ? ["baseline", "current"] : ["current", "baseline"])
      rounds[k].push(measure(engines[k], inputs))
  }
  console.log(`\n${name}: ${ROUNDS} interleaved rounds, median`)
  const row = {}
  for (const k of ["baseline", "current"]) {
    row[k] = {
      rate: median(rounds[k].map((x) => x.rate)),
      p50: median(rounds[k].map((x) => x.p50)),
      p99: median(rounds[k].map((x) => x.p99))
    }
    console.log(
      `  ${k.padEnd(9)} ${Math.round(row[k].rate).toLocaleString("en").padStart(8)} decisions/s   p50 ${row[k].p50.toFixed(1).padStart(7)} µs   p99 ${row[k].p99.toFixed(1).padStart(8)} µs`
    )
  }
  console.log(
    `  per-decision cost of the new analyses: ${(row.current.p50 - row.baseline.p50).toFixed(1)} µs at p50 (${(row.current.p50 / row.baseline.p50).toFixed(2)}x), throughput ratio current/baseline ${(row.current.rate / row.baseline.rate).toFixed(2)}`
  )
}
