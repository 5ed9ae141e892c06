// Start-up and memory of a whole `strata run`, against `node -e 0` in the same
// run (issue: `strata run` starts like a tool, not like a server):
//
// - `strata run --json "hi"` against the testkit's OpenAI-format server (a
//   child process on 127.0.0.1) answering with a 40-chunk reply; the model's
//   own streaming time (the same request made with fetch) is reported
//   separately, and subtracted for the "Strata's cost" ratio;
// - the demo turn (`STRATA_DEMO=1 strata run --yes`: `ls`, then `touch`
//   approved by --yes, then the answer): real tool calls;
// - `strata status` with a store of 100 threads;
// - peak RSS (GNU time's maximum resident set) and CPU time of the text and
//   demo turns, and the load average (a busy machine stretches every wall time);
// - the same three on Bun and Deno (reported, no target).
//
// Medians of RUNS (default 10) runs each, with hyperfine when installed
// (Debian package), else child processes timed here. The start-up profile
// of one text turn (`--profile-startup`) is printed at the end.
//
//   npm run build && npm run bench:turn -w @strata/cli
import { spawn, spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Ids from "@strata/protocol/Ids"
import * as StateStore from "@strata/storage/StateStore"
import * as Effect from "effect/Effect"

const loadBefore = loadavg()
  .map((l) => l.toFixed(2))
  .join(" ")
const root = new URL("../../../", import.meta.url).pathname
// STRATA_BENCH_BIN: another build of the launcher, to compare (e.g. a copy of the previous one)
const bin = process.env.STRATA_BENCH_BIN ?? join(root, "apps/cli/bin/strata.js")
const bun = join(root, "node_modules/.bin/bun")
const deno = join(root, "node_modules/.bin/deno")
const runs = Number(process.env.RUNS ?? 10)
const work = mkdtempSync(join(tmpdir(), "strata-bench-turn-"))
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

// The model server runs in its own process, so that this one may block.
const serverScript = join(work, "server.mjs")
writeFileSync(
  serverScript,
  `import * as S from ${JSON.stringify(join(root, "packages/testkit/dist/node/ScriptedModelServer.js"))}
const server = await S.start({ respond: () => ({ text: "x".repeat(320), chunkSize: 8 }) })
process.stdout.write(server.baseUrl("openai-compatible") + "\\n")
process.stdin.on("end", () => server.close().then(() => process.exit(0))).resume()
`
)
const server = spawn(process.execPath, [serverScript], { stdio: ["pipe", "pipe", "inherit"] })
const baseUrl = await new Promise((resolve, reject) => {
  let out = ""
  server.stdout.on("data", (d) => {
    out += d
    if (out.includes("\n")) resolve(out.trim())
  })
  server.on("exit", (code) => reject(new Error(`model server exited ${code}`)))
})

const project = (name, config) => {
  const dir = join(work, name)
  mkdirSync(join(dir, ".strata"), { recursive: true })
  if (config !== undefined) writeFileSync(join(dir, ".strata/config.toml"), config)
  return dir
}
const textDir = project(
  "text",
  [
    'model = "scripted"',
    "[providers.local]",
    'kind = "openai-compatible"',
    `base_url = ${JSON.stringify(baseUrl)}`,
    "[[models]]",
    'id = "scripted"',
    'provider = "local"',
    "context_window = 32000",
    "max_output_tokens = 1000",
    ""
  ].join("\n")
)
const demoDir = project("demo")
const statusDir = project("status")

// 100 threads in the status project's file store, through the store's own API.
{
  const now = Date.now()
  const program = Effect.gen(function* () {
    const store = yield* StateStore.StateStore
    for (let i = 0; i < 100; i++) {
      yield* store.createThread({
        id: Ids.make("ThreadId"),
        preview: `thread ${i}`,
        ephemeral: false,
        model_provider: "local",
        created_at: now + i,
        updated_at: now + i,
        status: "idle",
        cwd: statusDir,
        cli_version: "bench",
        source: "api"
      })
    }
  })
  await Effect.runPromise(
    program.pipe(
      Effect.provide(StateStore.layerFileSystem(join(statusDir, ".strata"))),
      Effect.provide(NodeContext.layer)
    )
  )
}

const env = (dir, extra = {}) => ({ ...process.env, HOME: dir, NO_COLOR: "1", ...extra })
const runtimes = {
  node: (args) => [process.execPath, bin, ...args],
  bun: (args) => [bun, bin, ...args],
  deno: (args) => [deno, "run", "-A", bin, ...args]
}
const baselines = { node: [process.execPath, "-e", "0"], bun: [bun, "-e", "0"], deno: [deno, "eval", "0"] }
const cases = (rt) => [
  { name: `${rt}: text turn`, argv: runtimes[rt](["run", "--json", "hi"]), cwd: textDir, env: env(textDir) },
  {
    name: `${rt}: demo turn`,
    argv: runtimes[rt](["run", "--json", "--yes", "show me the demo"]),
    cwd: demoDir,
    env: env(demoDir, { STRATA_DEMO: "1" })
  },
  { name: `${rt}: status (100 threads)`, argv: runtimes[rt](["status"]), cwd: statusDir, env: env(statusDir) }
]

const check = (c) => {
  const r = spawnSync(c.argv[0], c.argv.slice(1), { cwd: c.cwd, env: c.env, encoding: "utf8" })
  if (r.status !== 0) throw new Error(`${c.name}: ${c.argv.join(" ")} exited ${r.status}: ${r.stderr}${r.stdout}`)
}
// Each case's runs alternate with runs of the empty script (`base`), so that
// both see the same load on a shared machine: a case's ratio is against the
// baseline measured beside it, not minutes earlier.
const timeAll = (list, base) => {
  const results = new Map()
  const time = (c) => {
    const started = process.hrtime.bigint()
    spawnSync(c.argv[0], c.argv.slice(1), { cwd: c.cwd, env: c.env })
    return Number(process.hrtime.bigint() - started) / 1e6
  }
  for (const c of list) {
    check(c) // warm-up (disk cache), and it must work
    const samples = []
    const bases = []
    for (let i = 0; i < runs; i++) {
      bases.push(time(base))
      samples.push(time(c))
    }
    results.set(c.name, { ms: median(samples), base: median(bases) })
  }
  return results
}
// Peak RSS with GNU time (`%M`, KiB) and CPU time (user + system, which
// a busy machine inflates less than the wall clock), medians of 5.
const peakRss = (c) => {
  const rss = []
  const cpu = []
  for (let i = 0; i < 5; i++) {
    const r = spawnSync("/usr/bin/time", ["-f", "%M %U %S", ...c.argv], { cwd: c.cwd, env: c.env, encoding: "utf8" })
    const [kib, user, system] = (r.stderr.trim().split("\n").at(-1) ?? "").split(" ").map(Number)
    if (Number.isFinite(kib)) rss.push(kib / 1024)
    if (Number.isFinite(user) && Number.isFinite(system)) cpu.push((user + system) * 1000)
  }
  return rss.length === 0 ? undefined : { rss: median(rss), cpu: cpu.length === 0 ? undefined : median(cpu) }
}

// The model's own time: the same request, made with fetch, read to the end.
const modelTime = async () => {
  const samples = []
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    const res = await fetch(`${baseUrl}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer bench" },
      body: JSON.stringify({ model: "scripted", stream: true, messages: [{ role: "user", content: "hi" }] })
    })
    await res.text()
    samples.push(performance.now() - started)
  }
  return median(samples)
}

const all = new Map()
const baseline = new Map()
for (const rt of ["node", "bun", "deno"]) {
  const b = { name: `${rt}: empty script`, argv: baselines[rt], cwd: work, env: env(work) }
  for (const [k, v] of timeAll(cases(rt), b)) {
    all.set(k, v)
    baseline.set(rt, [...(baseline.get(rt) ?? []), v.base])
  }
}
const model = await modelTime()
const rssText = peakRss(cases("node")[0])
const rssDemo = peakRss(cases("node")[1])
const rssBaseline = peakRss({ argv: baselines.node, cwd: work, env: env(work) })

const ms = (x) => `${x.toFixed(1).padStart(8)} ms`
console.log(`strata run start-up (median of ${runs} runs; model server: testkit OpenAI wire, 40 chunks)`)
const ratio = (name) => all.get(name).ms / all.get(name).base
for (const rt of ["node", "bun", "deno"]) {
  console.log(`  ${rt} empty script ${ms(median(baseline.get(rt)))}  (median of the runs beside each case)`)
  for (const c of cases(rt)) {
    const r = all.get(c.name)
    console.log(
      `  ${c.name.padEnd(30)} ${ms(r.ms)}  ${ratio(c.name).toFixed(2)}x  (empty script beside it ${ms(r.base)})`
    )
  }
}
const text = all.get("node: text turn")
console.log(`  model's own streaming time (fetch of the same reply) ${ms(model)}`)
console.log(
  `  text turn / node -e 0            ${ratio("node: text turn").toFixed(2)}x; without the model's time ${((text.ms - model) / text.base).toFixed(2)}x  (target <= 5x)`
)
console.log(`  demo turn / node -e 0            ${ratio("node: demo turn").toFixed(2)}x  (target <= 8x)`)
console.log(`  status, 100 threads / node -e 0  ${ratio("node: status (100 threads)").toFixed(2)}x  (target <= 3x)`)
const mib = (x) => (x === undefined ? "n/a (no /usr/bin/time)" : `${x.rss.toFixed(1)} MiB`)
console.log(
  `  peak RSS: node -e 0 ${mib(rssBaseline)}, text turn ${mib(rssText)} (target <= 100 MiB), demo turn ${mib(rssDemo)}`
)
const cpu = (x) => (x?.cpu === undefined ? "n/a" : `${x.cpu.toFixed(0)} ms`)
console.log(
  `  CPU (user + system): node -e 0 ${cpu(rssBaseline)}, text turn ${cpu(rssText)}, demo turn ${cpu(rssDemo)}`
)
console.log(
  `  load average: ${loadBefore} at the start, ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")} at the end`
)

// The start-up profile of one text turn.
const profiled = spawnSync(process.execPath, [bin, "run", "--json", "--profile-startup", "hi"], {
  cwd: textDir,
  env: env(textDir),
  encoding: "utf8"
})
console.log(`\n${profiled.stderr.slice(profiled.stderr.indexOf("startup profile"))}`)

server.stdin.end()
rmSync(work, { recursive: true, force: true })
