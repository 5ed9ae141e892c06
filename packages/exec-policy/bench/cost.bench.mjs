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

const baseline = process.env.STRATA_POLICY_BASELINE
if (baseline === undefined) throw new Error("set STRATA_POLICY_BASELINE to a baseline build's dist/index.js")
const Old = await import(baseline)
const RULES = new URL("../test/fixtures/sample-rules.toml", import.meta.url)
const N = 10_000
const ROUNDS = 5

let seed = 0x5eed
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed / 0x7fffffff
}
const pick = (xs) => xs[Math.floor(rand() * xs.length)]
const file = () =>
  pick(["src/index.ts", "README.md", "package.json", "notes.txt", "build", "dist/out.js"]) +
  (rand() < 0.5 ? "" : `.${Math.floor(rand() * 1000)}`)
const simple = () =>
  pick([
    () => `ls -la ${file()}`,
    () => "git status",
    () => `git diff ${file()}`,
    () => `git log --oneline -n ${1 + Math.floor(rand() * 50)}`,
    () => `cat ${file()}`,
    () => `wc -l ${file()}`,
    () => "npm test",
    () => `echo hello ${Math.floor(rand() * 1e6)}`,
    () => `touch ${file()}`,
    () => `rm -rf ${file()}`,
    () => "curl https://example.test/x",
    () => `sort -u ${file()}`,
    () => `grep -n TODO ${file()}`,
    () => `python3 scripts/gen.py --out ${file()}`
  ])()
const compound = () => {
  const n = 2 + Math.floor(rand() * 3)
  let s = simple()
  for (let i = 1; i < n; i++) s += pick([" && ", " | ", "; ", " || "]) + simple()
  return s
}
const nested = () =>
  pick([
    () => `echo $(${simple()})`,
    () => `bash -c '${compound()}'`,
    () => `(${simple()}; ${simple()}) | ${simple()}`,
    () => `for f in *.ts; do ${simple()}; done`,
    () => `timeout 5 ${simple()}`,
    () => `x=$(${simple()}) && ${simple()}`,
    () => `cat <(${simple()}) | wc -l`,
    () => `${simple()} 2>&1 | tee ${file()}`,
    () => `if ${simple()}; then ${compound()}; fi`
  ])()
const mix = Array.from({ length: N }, () => {
  const r = rand()
  return r < 0.4 ? simple() : r < 0.75 ? compound() : nested()
})
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
