// Benchmark: Strata's ExecPolicy vs @google/gemini-cli-core's PolicyEngine,
// side by side in one run, on the same 10,000-command mix (simple, compound,
// nested) with equivalent rules (the contract's sample-rules.toml; for
// gemini-cli each rule becomes `commandPrefix` rules through its own
// buildArgsPatterns, deny > ask > allow by priority, default ask_user).
//
//   npm run build -w @strata/exec-policy && npm run bench -w @strata/exec-policy
//
// Prints decisions per second and p50 / p99 latency of each, the throughput
// ratio, and where the two engines disagree.
import { readFileSync } from "node:fs"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { ExecPolicy } from "@strata/exec-policy"
import * as Effect from "effect/Effect"
import { parse as parseToml } from "smol-toml"
import { commandMix } from "./commandMix.mjs"

const RULES = new URL("../test/fixtures/sample-rules.toml", import.meta.url)
const N = 10_000
const ROUNDS = 3

const mix = commandMix(N)

// -- the engines ---------------------------------------------------------------

const strata = await Effect.runPromise(
  ExecPolicy.make({ files: [decodeURIComponent(RULES.pathname)], builtin: true }).pipe(
    Effect.provide(NodeContext.layer)
  )
)

// gemini-cli-core logs every check through console.debug: silence it for both engines.
console.debug = () => {}
const { PolicyEngine } = await import("@google/gemini-cli-core/dist/src/policy/policy-engine.js")
const { PolicyDecision } = await import("@google/gemini-cli-core/dist/src/policy/types.js")
const { buildArgsPatterns } = await import("@google/gemini-cli-core/dist/src/policy/utils.js")

const toml = parseToml(readFileSync(RULES, "utf8"))
const GEMINI_DECISION = { allow: PolicyDecision.ALLOW, ask: PolicyDecision.ASK_USER, deny: PolicyDecision.DENY }
const PRIORITY = { allow: 1, ask: 2, deny: 3 }
const expand = (prefix) =>
  prefix.reduce(
    (acc, el) => acc.flatMap((p) => (Array.isArray(el) ? el : [el]).map((w) => (p === "" ? w : `${p} ${w}`))),
    [""]
  )
const geminiRules = toml.rule.flatMap((rule) =>
  buildArgsPatterns(undefined, expand(rule.prefix)).map((pattern) => ({
    toolName: "run_shell_command",
    argsPattern: new RegExp(pattern),
    decision: GEMINI_DECISION[rule.decision],
    priority: PRIORITY[rule.decision],
    allowRedirection: rule.allow_redirection === true
  }))
)
const gemini = new PolicyEngine({ rules: geminiRules, defaultDecision: PolicyDecision.ASK_USER })
const FROM_GEMINI = { [PolicyDecision.ALLOW]: "allow", [PolicyDecision.ASK_USER]: "ask", [PolicyDecision.DENY]: "deny" }

const engines = {
  "strata check (Effect API)": (c) => Effect.runSync(strata.check(c)).decision,
  "strata checkSync": (c) => strata.checkSync(c).decision,
  "gemini-cli PolicyEngine": async (c) =>
    FROM_GEMINI[(await gemini.check({ name: "run_shell_command", args: { command: c } }, undefined)).decision]
}

// -- measuring -----------------------------------------------------------------

const measure = async (fn) => {
  const times = new Float64Array(N)
  const decisions = new Array(N)
  const started = performance.now()
  for (let i = 0; i < N; i++) {
    const t = performance.now()
    const r = fn(mix[i])
    decisions[i] = r instanceof Promise ? await r : r
    times[i] = performance.now() - t
  }
  const total = performance.now() - started
  times.sort()
  return {
    rate: (N / total) * 1000,
    p50: times[Math.floor(N * 0.5)] * 1000,
    p99: times[Math.floor(N * 0.99)] * 1000,
    max: times[N - 1] * 1000,
    decisions
  }
}

for (const fn of Object.values(engines)) for (let i = 0; i < 1_000; i++) await fn(mix[i]) // warm-up

const results = Object.fromEntries(Object.keys(engines).map((k) => [k, []]))
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of Object.entries(engines)) results[name].push(await measure(fn))
}
const median = (rs, key) => rs.map((r) => r[key]).sort((a, b) => a - b)[Math.floor(rs.length / 2)]

const counts = (ds) => {
  const m = {}
  for (const d of ds) m[d] = (m[d] ?? 0) + 1
  return m
}
console.log(
  `exec-policy benchmark: ${N} commands (40% simple, 35% compound, 25% nested), ${ROUNDS} rounds, median round`
)
console.log(
  `node ${process.version}, rules: test/fixtures/sample-rules.toml (6 rules; gemini-cli: ${geminiRules.length} prefix rules)\n`
)
console.log("engine                          decisions/s      p50 µs     p99 µs     max µs   decisions")
for (const [name, rs] of Object.entries(results)) {
  console.log(
    `${name.padEnd(30)} ${median(rs, "rate").toFixed(0).padStart(12)} ${median(rs, "p50").toFixed(1).padStart(11)} ${median(rs, "p99").toFixed(1).padStart(10)} ${median(rs, "max").toFixed(0).padStart(10)}   ${JSON.stringify(counts(rs[0].decisions))}`
  )
}
const baseline = median(results["gemini-cli PolicyEngine"], "rate")
const ours = median(results["strata check (Effect API)"], "rate")
const oursSync = median(results["strata checkSync"], "rate")
const p99 = median(results["strata check (Effect API)"], "p99")
console.log(
  `\nthroughput ratio strata/gemini-cli: ${(ours / baseline).toFixed(2)}x (Effect API), ${(oursSync / baseline).toFixed(2)}x (checkSync); target >= 3x: ${ours / baseline >= 3 ? "met" : "NOT met"}`
)
console.log(`strata p99: ${p99.toFixed(1)} µs; target < 1000 µs: ${p99 < 1000 ? "met" : "NOT met"}`)

// Where the engines disagree, and which way.
const s = results["strata checkSync"][0].decisions
const g = results["gemini-cli PolicyEngine"][0].decisions
const pairs = {}
const examples = {}
for (let i = 0; i < N; i++) {
  if (s[i] === g[i]) continue
  const key = `gemini ${g[i]} / strata ${s[i]}`
  pairs[key] = (pairs[key] ?? 0) + 1
  examples[key] ??= mix[i]
}
console.log(`\nagreement: ${N - Object.values(pairs).reduce((a, b) => a + b, 0)}/${N}`)
for (const [k, n] of Object.entries(pairs)) console.log(`  ${k}: ${n}  e.g. ${JSON.stringify(examples[k])}`)

// Bounded on huge input.
const big = `echo ${"a".repeat(1 << 20)}`
let t = performance.now()
const refused = strata.checkSync(big)
console.log(
  `\n1 MB input: ${refused.decision} (${refused.reasons[0]?.code}) in ${((performance.now() - t) * 1000).toFixed(0)} µs`
)
const atLimit = "ls -la | wc -l; ".repeat(2_000)
t = performance.now()
const limit = strata.checkSync(atLimit)
console.log(`${atLimit.length}-character input: ${limit.decision} in ${(performance.now() - t).toFixed(1)} ms`)
