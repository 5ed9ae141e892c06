// The turns chaos run, on the built `strata`: one `strata serve --cluster`
// API process and WORKERS `strata worker` processes share a BullMQ queue on
// Redis and a thread store (Redis, or PostgreSQL with STORE=postgres); a
// scripted model server streams every answer slowly, so turns are in flight
// when a killer sends SIGKILL to a random worker every KILL_MIN_MS..KILL_MAX_MS
// (and restarts it), or one time in five freezes one with SIGSTOP past its
// lock and its thread leases and lets it go on (a worker that comes back
// after its turns were taken over). THREADS threads take TURNS turns between them, one at a
// time per thread (turn/start with wait), each thread streamed over SSE from
// the API process from its first frame.
//
// Meanwhile the API process enqueues JOBS jobs (`jobs/enqueue`) of a chaos
// plugin's two kinds, run by the same workers: `idem` (idempotent: requeued
// after a crash) records its side effect under its idempotency key (an
// exclusive file create), so it happens once however often it runs; `plain`
// (not idempotent: paused after a crash, a person decides; here the run
// cancels it) records its side effect unguarded, so it must never run twice.
// At the end every job is terminal as its policy allows (completed, or a
// `plain` cancelled after a crash paused it), every completion recorded once,
// every `idem` side effect once, no `plain` run twice; reruns of `idem` jobs
// after a crash are counted.
//
// At the end, for every thread: the journal passes the turn invariants (every
// turn closed, turns never overlap, every tool call answered once), every
// prompt is recorded at most once and answered by at most one model call
// (no turn ran twice), every turn a client saw completed is in the journal
// once, and the SSE stream carried exactly the journal (every frame once,
// in order). Turns a crash closed (`interrupted`, not run again) are counted.
//
//   npm run build && npm run chaos -w @strata/cli
//   TURNS=50 JOBS=1000 THREADS=10 WORKERS=3 KILL_MIN_MS=2000 KILL_MAX_MS=5000 STORE=redis|postgres
//
// Prints one JSON summary line; exits 1 on any violation.
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import * as StrataClient from "@strata/client/StrataClient"
import { violations } from "@strata/core-runtime/TurnMachine"
import * as ScriptedModelServer from "@strata/testkit/node/ScriptedModelServer"
import { Redis } from "ioredis"

const here = dirname(fileURLToPath(import.meta.url))
const bin = join(here, "..", "..", "bin", "strata.js")
const env = (name, fallback) => Number(process.env[name] ?? fallback)
const TURNS = env("TURNS", 50)
const JOBS = env("JOBS", 1000)
const THREADS = env("THREADS", 10)
const WORKERS = env("WORKERS", 3)
const KILL_MIN_MS = env("KILL_MIN_MS", 2000)
const KILL_MAX_MS = env("KILL_MAX_MS", 5000)
const FIRST_KILL_MS = env("FIRST_KILL_MS", KILL_MIN_MS)
const MAX_KILLS = env("MAX_KILLS", Number.POSITIVE_INFINITY)
// The share of strikes that freeze a worker (SIGSTOP past its lock and leases, then SIGCONT) instead of killing it.
const FREEZE_SHARE = env("FREEZE_SHARE", 0.2)
const LOCK_MS = env("LOCK_MS", 1000)
const LEASE_MS = env("LEASE_MS", 1500)
const TIMEOUT_MS = env("TIMEOUT_MS", 600_000)
// Streamed answers: CHUNKS chunks DELAY_MS apart, so a kill often lands mid-turn.
const CHUNKS = env("CHUNKS", 40)
const DELAY_MS = env("DELAY_MS", 15)
const STORE = process.env.STORE ?? "redis"
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
const postgresUrl = process.env.POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const prefix = `chaos-turns-${randomBytes(4).toString("hex")}`
const schema = `chaos_turns_${randomBytes(6).toString("hex")}`

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const between = (a, b) => a + Math.floor(Math.random() * (b - a + 1))
const started = Date.now()

const root = mkdtempSync(join(tmpdir(), "strata-chaos-turns-"))
const dir = join(root, "project")
const home = join(root, "home")
mkdirSync(join(dir, ".strata"), { recursive: true })
mkdirSync(home)
mkdirSync(join(dir, "effects"))

// The chaos plugin (its job kinds), with the packages it imports linked into the project.
const require = createRequire(import.meta.url)
for (const name of ["@strata/plugin", "effect"]) {
  const link = join(dir, "node_modules", name)
  mkdirSync(dirname(link), { recursive: true })
  symlinkSync(dirname(require.resolve(`${name}/package.json`)), link)
}
writeFileSync(
  join(dir, "chaos.mjs"),
  `import { appendFileSync, writeFileSync } from "node:fs"
import { defineJob, definePlugin } from "@strata/plugin"
import * as Effect from "effect/Effect"
const dir = ${JSON.stringify(dir)}
const work = (job) => Effect.gen(function* () {
  const steps = 2 + Math.floor(Math.random() * 4)
  for (let i = 1; i <= steps; i++) {
    yield* job.checkpoint
    yield* Effect.sleep(\`\${10 + Math.floor(Math.random() * 60)} millis\`)
    yield* job.progress(Math.round((i / (steps + 1)) * 100))
  }
})
const logRun = (job, kind) => Effect.sync(() => appendFileSync(dir + "/runs.log", job.id + " " + kind + "\\n"))
const Idem = defineJob({
  kind: "idem",
  idempotent: true,
  run: (job) => Effect.gen(function* () {
    yield* logRun(job, "idem")
    yield* work(job)
    // exclusive create: the first run to claim the key records the effect, whatever kills which run when
    yield* Effect.sync(() => {
      try {
        writeFileSync(dir + "/effects/" + encodeURIComponent(job.idempotencyKey("effect")), job.id, { flag: "wx" })
      } catch (e) {
        if (e.code !== "EEXIST") throw e
      }
    })
    yield* work(job)
  })
})
const Plain = defineJob({
  kind: "plain",
  run: (job) => Effect.gen(function* () {
    yield* logRun(job, "plain")
    yield* work(job)
    yield* Effect.sync(() => appendFileSync(dir + "/effects.log", job.id + "\\n"))
    yield* work(job)
  })
})
export default definePlugin({ id: "chaos", version: "1.0.0", jobs: [Idem, Plain] })
`
)

const lastUser = (request) => [...request.messages].reverse().find((m) => m.role === "user")?.content ?? ""
const model = await ScriptedModelServer.start({
  respond: (request) => ({
    text: `answer to ${lastUser(request)}: ${"x".repeat(CHUNKS * 4)}`,
    chunkSize: 4,
    delayMs: DELAY_MS
  })
})

const storage =
  STORE === "postgres"
    ? `[storage]\nkind = "postgres"\nurl = ${JSON.stringify(postgresUrl)}\nschema = ${JSON.stringify(schema)}\n`
    : `[storage]\nkind = "redis"\nurl = ${JSON.stringify(redisUrl)}\nprefix = ${JSON.stringify(`${prefix}-store`)}\n`
writeFileSync(
  join(dir, ".strata", "config.toml"),
  [
    'plugins = ["./chaos.mjs"]',
    'model = "scripted"',
    "[providers.local]",
    'kind = "openai-compatible"',
    `base_url = ${JSON.stringify(model.baseUrl("openai-compatible"))}`,
    "[[models]]",
    'id = "scripted"',
    'provider = "local"',
    "context_window = 64000",
    "max_output_tokens = 1000",
    storage,
    // the chaos client makes thousands of calls a minute
    "[server]",
    "rate_limit = 1000000",
    "[jobs]",
    'backend = "bullmq"',
    `redis_url = ${JSON.stringify(redisUrl)}`,
    `prefix = ${JSON.stringify(prefix)}`,
    `lock_ms = ${LOCK_MS}`,
    `turn_lease_ms = ${LEASE_MS}`,
    "concurrency = 4",
    ""
  ].join("\n")
)

const spawnStrata = (args) =>
  spawn(process.execPath, [bin, ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, XDG_CONFIG_HOME: "", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"]
  })

const all = []
const waitFor = (child, pattern, what) =>
  new Promise((resolve, reject) => {
    let out = ""
    const timer = setTimeout(() => reject(new Error(`${what} did not start:\n${out}`)), 120_000)
    const onData = (d) => {
      out += d
      const m = out.match(pattern)
      if (m !== null) {
        clearTimeout(timer)
        resolve(m)
      }
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.on("exit", (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${what} exited (${code ?? signal}) before it was ready:\n${out}`))
    })
  })

// Workers: slot -> { child, out }; every output kept (recovered turns are counted from it).
const workers = new Map()
const outputs = []
let spawnedWorkers = 0
const startWorker = async (slot) => {
  const child = spawnStrata(["worker"])
  all.push(child)
  const record = { child, out: "" }
  outputs.push(record)
  child.stdout.on("data", (d) => {
    record.out += d
  })
  workers.set(slot, record)
  spawnedWorkers++
  await waitFor(child, /worker \S+ ready/, `worker ${slot}`)
}

const api = spawnStrata(["serve", "--cluster", "--port", "0"])
all.push(api)
const [listening] = await waitFor(api, /\{"event":"listening".*\}/, "strata serve --cluster")
const url = JSON.parse(listening).url
const client = StrataClient.make({ url })
for (let slot = 0; slot < WORKERS; slot++) await startWorker(slot)

let kills = 0
let freezes = 0
let killing = true
const killer = (async () => {
  await sleep(FIRST_KILL_MS)
  while (killing && kills + freezes < MAX_KILLS) {
    const slot = between(0, WORKERS - 1)
    const victim = workers.get(slot)
    if (Math.random() < FREEZE_SHARE) {
      // Frozen past its lock and its leases: its runs are taken over; then it comes back.
      freezes++
      victim.child.kill("SIGSTOP")
      await sleep(Math.max(LOCK_MS, LEASE_MS) * 2 + 500)
      victim.child.kill("SIGCONT")
      await sleep(between(KILL_MIN_MS, KILL_MAX_MS))
      continue
    }
    victim.child.kill("SIGKILL")
    kills++
    await new Promise((r) =>
      victim.child.exitCode !== null || victim.child.signalCode !== null ? r() : victim.child.on("exit", r)
    )
    await startWorker(slot)
    await sleep(between(KILL_MIN_MS, KILL_MAX_MS))
  }
})()

const problems = []
const seenOutcomes = new Map() // prompt -> "completed" | "closed" | error text
const threads = []

const watch = (threadId) => {
  const abort = new AbortController()
  const frames = []
  const done = (async () => {
    try {
      for await (const item of client.threadEvents(threadId, { after: 0, signal: abort.signal })) {
        if (item.type === "frame") frames.push(item.frame)
      }
    } catch (e) {
      if (!abort.signal.aborted) problems.push(`SSE of ${threadId} broke: ${e.message}`)
    }
  })()
  return {
    frames,
    stop: () => {
      abort.abort()
      return done
    }
  }
}

const runThread = async (t, turns) => {
  const thread = (await client.call("thread/start", { name: `chaos ${t}` })).thread_id
  const stream = watch(thread)
  threads.push({ thread, stream })
  for (let i = 0; i < turns; i++) {
    const prompt = `p-${t}-${i}`
    for (;;) {
      try {
        const answer = await client.call("turn/start", { thread_id: thread, prompt, wait: true })
        seenOutcomes.set(prompt, answer.outcome)
        break
      } catch (e) {
        // The thread is still held (a dead worker's lease not yet expired, a recovery running): try again.
        if (e.type === "Conflict" && /a turn is already/.test(e.message)) {
          await sleep(200)
          continue
        }
        seenOutcomes.set(
          prompt,
          /not run twice/.test(e.message)
            ? /after it ended/.test(e.message)
              ? "ended-before-the-crash"
              : "closed"
            : `error: ${e.message}`
        )
        break
      }
    }
  }
}

const deadline = setTimeout(() => {
  console.error(JSON.stringify({ error: `timed out after ${TIMEOUT_MS} ms`, kills }))
  for (const c of all) c.kill("SIGKILL")
  process.exit(1)
}, TIMEOUT_MS)

const terminal = new Set(["completed", "failed", "cancelled"])
const runJobs = async () => {
  if (JOBS === 0) return []
  const ids = new Set()
  const kindOf = (i) => (i % 5 < 3 ? "chaos__idem" : "chaos__plain")
  let next = 0
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < JOBS) {
        const i = next++
        ids.add((await client.call("jobs/enqueue", { name: kindOf(i), input: { i } })).id)
      }
    })
  )
  for (;;) {
    const jobs = (await client.call("jobs/list", {})).filter((j) => ids.has(j.id))
    // A `plain` job a crash paused waits for a person: here the person cancels it.
    for (const j of jobs) {
      if (j.status === "paused" && j.name === "chaos__plain" && j.history.some((h) => h.phase === "interrupted")) {
        await client.call("jobs/cancel", { id: j.id }).catch(() => {})
      }
    }
    if (jobs.length === JOBS && jobs.every((j) => terminal.has(j.status))) return jobs
    await sleep(300)
  }
}
const jobsDone = runJobs()

const perThread = Array.from({ length: THREADS }, (_, t) => Math.floor(TURNS / THREADS) + (t < TURNS % THREADS ? 1 : 0))
await Promise.all(perThread.map((n, t) => runThread(t, n)))
const jobs = await jobsDone
killing = false
await killer

const journal = async (thread) => {
  const out = []
  for (;;) {
    const page = await client.call("events/read", { thread_id: thread, after: out.length })
    if (page.events.length === 0) return out
    out.push(...page.events)
  }
}

const invariants = (frames) => {
  const found = violations(frames, { closed: true })
  let open
  for (const f of frames) {
    if (f.event === "turn_started") {
      if (open !== undefined) found.push(`turn ${f.turn_id} started while ${open} was open`)
      open = f.turn_id
    } else if (f.event === "turn_ended") {
      if (open !== f.turn_id) found.push(`turn ${f.turn_id} ended while ${open} was open`)
      open = undefined
    }
  }
  if (open !== undefined) found.push(`turn ${open} never ended`)
  return found
}

const modelCalls = new Map()
for (const r of model.requests) {
  const p = lastUser(r)
  modelCalls.set(p, (modelCalls.get(p) ?? 0) + 1)
}

let frames = 0
let interrupted = 0
for (const { thread, stream } of threads) {
  const events = await journal(thread)
  for (let i = 0; i < 100 && stream.frames.length < events.length; i++) await sleep(100)
  await stream.stop()
  frames += events.length
  for (const v of invariants(events)) problems.push(`${thread}: ${v}`)
  if (JSON.stringify(stream.frames) !== JSON.stringify(events)) {
    problems.push(
      `${thread}: the SSE stream carried ${stream.frames.length} frames (seqs ${stream.frames.map((f) => f.seq).join(",")}), the journal has ${events.length}`
    )
  }
  const users = events.filter((f) => f.event === "message_appended" && f.message.role === "user")
  const counts = new Map()
  for (const u of users) counts.set(u.message.content, (counts.get(u.message.content) ?? 0) + 1)
  for (const [prompt, n] of counts) if (n > 1) problems.push(`${thread}: prompt ${prompt} recorded ${n} times`)
  interrupted += events.filter((f) => f.event === "turn_ended" && f.outcome === "interrupted").length
}
for (const [prompt, n] of modelCalls) if (n > 1) problems.push(`prompt ${prompt} sent to the model ${n} times`)
for (const [prompt, outcome] of seenOutcomes) {
  if (outcome !== "completed" && outcome !== "closed" && outcome !== "ended-before-the-crash")
    problems.push(`prompt ${prompt}: ${outcome}`)
}

const closed = [...seenOutcomes.values()].filter((o) => o === "closed").length
if (closed !== interrupted) {
  problems.push(`${closed} turns were answered as closed by a crash, ${interrupted} ended interrupted in the journals`)
}
const lines = (file) => {
  try {
    return readFileSync(join(dir, file), "utf8")
      .split("\n")
      .filter((l) => l !== "")
  } catch {
    return []
  }
}
const count = (list) => {
  const m = new Map()
  for (const id of list) m.set(id, (m.get(id) ?? 0) + 1)
  return m
}
const runsOf = count(lines("runs.log").map((l) => l.split(" ")[0]))
const guardedOf = count(readdirSync(join(dir, "effects")).map((f) => readFileSync(join(dir, "effects", f), "utf8")))
const plainOf = count(lines("effects.log"))
let jobReruns = 0
for (const job of jobs) {
  const completions = job.history.filter((h) => h.phase === "completed").length
  const runs = runsOf.get(job.id) ?? 0
  if (completions > 1) problems.push(`job ${job.id}: completion recorded ${completions} times`)
  if (job.status === "completed" && completions !== 1) problems.push(`job ${job.id}: completed without one completion`)
  if (job.name === "chaos__idem") {
    if (job.status !== "completed") problems.push(`job ${job.id} (idem): ${job.status}, expected completed`)
    const e = guardedOf.get(job.id) ?? 0
    if (e !== 1) problems.push(`job ${job.id} (idem): side effect ${e} times`)
    jobReruns += Math.max(0, runs - 1)
  } else {
    const e = plainOf.get(job.id) ?? 0
    if (runs > 1 || e > 1) problems.push(`job ${job.id} (plain): ${runs} runs, ${e} side effects`)
    if (job.status === "completed" && e !== 1) problems.push(`job ${job.id} (plain): completed with ${e} side effects`)
    if (
      job.status !== "completed" &&
      !(job.status === "cancelled" && job.history.some((h) => h.phase === "interrupted"))
    )
      problems.push(`job ${job.id} (plain): ${job.status}, not by a crash`)
  }
}

const recoveredRuns = outputs.reduce((n, o) => n + (o.out.match(/\(prompt, recovered\)/g) ?? []).length, 0)
const summary = {
  store: STORE,
  threads: THREADS,
  turns: TURNS,
  completed: [...seenOutcomes.values()].filter((o) => o === "completed").length,
  closed_by_a_crash: closed,
  // the worker died after the turn ended, before it answered: the answer is in the journal
  ended_before_the_crash: [...seenOutcomes.values()].filter((o) => o === "ended-before-the-crash").length,
  interrupted_in_journals: interrupted,
  recovered_runs: recoveredRuns,
  model_calls: model.requests.length,
  jobs: jobs.length,
  jobs_completed: jobs.filter((j) => j.status === "completed").length,
  jobs_cancelled_after_a_crash_paused_them: jobs.filter((j) => j.status === "cancelled").length,
  job_reruns_allowed_by_requeue: jobReruns,
  workers_started: spawnedWorkers,
  sigkill: kills,
  sigstop_freezes: freezes,
  frames,
  sse_frames: threads.reduce((n, t) => n + t.stream.frames.length, 0),
  problems: problems.length,
  first_problems: problems.slice(0, 5),
  time_s: Math.round((Date.now() - started) / 1000)
}
clearTimeout(deadline)
for (const c of all) c.kill("SIGKILL")
await model.close().catch(() => {})
const redis = new Redis(redisUrl)
let cursor = "0"
do {
  const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
  cursor = next
  if (keys.length > 0) await redis.del(...keys)
} while (cursor !== "0")
redis.disconnect()
if (STORE === "postgres") {
  const pg = await import("pg")
  const c = new pg.default.Client({ connectionString: postgresUrl })
  await c.connect()
  await c.query(`drop schema if exists "${schema}" cascade`)
  await c.end()
}
rmSync(root, { recursive: true, force: true })
console.log(JSON.stringify(summary))
if (problems.length > 0) {
  for (const p of problems.slice(0, 50)) console.error(p)
  process.exit(1)
}
process.exit(0)
