// The jobs chaos run: WORKERS worker processes (worker.mjs) share one BullMQ
// queue per kind; an API manager in this process enqueues JOBS jobs of mixed
// kinds; a killer sends SIGKILL to a random worker every KILL_MIN_MS..
// KILL_MAX_MS and restarts it (and now and then freezes one with SIGSTOP for
// longer than its lock, then lets it go on: a stalled worker that comes back).
// At the end every job must be in a terminal state its kind's policy allows,
// every completion recorded once, and the side-effect log must show no job
// run twice except the reruns `requeue` allows (counted).
//
//   npm run build && npm run chaos -w @strata/jobs
//   JOBS=1000 WORKERS=3 KILL_MIN_MS=2000 KILL_MAX_MS=5000 STORE=redis|postgres
//
// Prints one JSON summary line; exits 1 on any violation.
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { HookDispatcher } from "@strata/hooks/HookDispatcher"
import * as JobsBull from "@strata/jobs/bullmq"
import * as JobBackend from "@strata/jobs/JobBackend"
import { layerRedis } from "@strata/storage/redis"
import { layerPostgres } from "@strata/storage/sql"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Redis } from "ioredis"
import { chaosKinds } from "./kinds.mjs"

const here = dirname(fileURLToPath(import.meta.url))
const env = (name, fallback) => Number(process.env[name] ?? fallback)
const JOBS = env("JOBS", 1000)
const WORKERS = env("WORKERS", 3)
const KILL_MIN_MS = env("KILL_MIN_MS", 2000)
const KILL_MAX_MS = env("KILL_MAX_MS", 5000)
// The first strike comes this soon after the jobs are enqueued, so a fast
// machine that would finish a small run before KILL_MIN_MS still sees one.
const FIRST_KILL_MS = env("FIRST_KILL_MS", KILL_MIN_MS)
const CONCURRENCY = env("CONCURRENCY", 8)
const LOCK_MS = env("LOCK_MS", 1500)
const TIMEOUT_MS = env("TIMEOUT_MS", 600_000)
// Stop the killer after this many kills and freezes (the CI slice bounds its time with it).
const MAX_KILLS = env("MAX_KILLS", Number.POSITIVE_INFINITY)
const STORE = process.env.STORE ?? "redis"
const RUNTIME = process.env.WORKER_RUNTIME ?? process.execPath
const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
const prefix = `chaos-${randomBytes(4).toString("hex")}`
const redis = new Redis(url)

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const between = (a, b) => a + Math.floor(Math.random() * (b - a + 1))

const workers = new Map()
let spawned = 0
const start = (slot) => {
  const child = spawn(RUNTIME, [join(here, "worker.mjs"), prefix, STORE, String(CONCURRENCY)], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, LOCK_MS: String(LOCK_MS) }
  })
  let err = ""
  child.stderr.on("data", (d) => {
    err += d
  })
  child.stdout.on("data", () => {})
  child.on("exit", (code, signal) => {
    if (signal === null && code !== 0 && workers.get(slot) === child)
      process.stderr.write(`worker ${slot} exited ${code}: ${err}\n`)
  })
  spawned++
  workers.set(slot, child)
  return child
}

const storeLayer =
  STORE === "postgres"
    ? layerPostgres({ schema: prefix.replace(/[^a-z0-9_]/g, "_"), max: 4 })
    : layerRedis({ url, prefix: `${prefix}-store` })

const counts = { kills: 0, freezes: 0 }
let stopKiller = false
const killer = async () => {
  while (!stopKiller && counts.kills + counts.freezes < MAX_KILLS) {
    const first = counts.kills + counts.freezes === 0
    const until =
      Date.now() +
      (first ? Math.min(FIRST_KILL_MS, between(KILL_MIN_MS, KILL_MAX_MS)) : between(KILL_MIN_MS, KILL_MAX_MS))
    while (!stopKiller && Date.now() < until) await sleep(50)
    if (stopKiller) return
    const slot = between(0, WORKERS - 1)
    const child = workers.get(slot)
    if (Math.random() < 0.2) {
      // Frozen past its lock: its runs are taken over; then it comes back.
      counts.freezes++
      child.kill("SIGSTOP")
      await sleep(LOCK_MS * 2 + 500)
      child.kill("SIGCONT")
    } else {
      counts.kills++
      child.kill("SIGKILL")
      start(slot)
    }
  }
}

const bullQueue = async (kind) => {
  const { Queue } = await import("bullmq")
  return new Queue(JobsBull.queueName(kind), { connection: redis, prefix })
}

const kindOf = (i) => (i % 20 < 12 ? "idem" : i % 20 < 17 ? "once" : "flaky")
const terminal = new Set(["completed", "failed", "cancelled"])

const program = Effect.gen(function* () {
  const api = yield* JobsBull.make({ url, prefix, worker: false, handlers: chaosKinds(redis, prefix) })
  for (let i = 0; i < WORKERS; i++) start(i)
  const started = Date.now()
  yield* Effect.forEach(
    Array.from({ length: JOBS }, (_, i) => i),
    (i) => api.enqueueJob(kindOf(i), { i }),
    { concurrency: 16 }
  )
  const killing = killer()
  let jobs = []
  for (;;) {
    jobs = yield* api.listJobs
    if (jobs.length === JOBS && jobs.every((j) => terminal.has(j.status))) break
    if (Date.now() - started > TIMEOUT_MS) break
    yield* Effect.sleep("300 millis")
  }
  const seconds = (Date.now() - started) / 1000
  stopKiller = true
  yield* Effect.promise(() => killing)
  const status = yield* api.queueStatus
  return { jobs, seconds, status }
}).pipe(
  Effect.scoped,
  Effect.provide(JobBackend.layerStateStore.pipe(Layer.provide(storeLayer))),
  Effect.provide(HookDispatcher.Default)
)

const cleanup = async () => {
  for (const child of workers.values()) {
    child.kill("SIGCONT")
    child.kill("SIGKILL")
  }
  let cursor = "0"
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
    cursor = next
    if (keys.length > 0) await redis.del(...keys)
  } while (cursor !== "0")
  if (STORE === "postgres") {
    const pg = await import("pg")
    const client = new pg.default.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/test" })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS "${prefix.replace(/[^a-z0-9_]/g, "_")}" CASCADE`)
    await client.end()
  }
  redis.disconnect()
}

let exitCode = 0
try {
  const { jobs, seconds, status } = await Effect.runPromise(program)
  const lines = async (key) => (await redis.lrange(key, 0, -1)).map((l) => JSON.parse(l))
  const runs = await lines(`${prefix}:chaos:runs`)
  const effects = await lines(`${prefix}:chaos:effects`)
  const by = (list) => {
    const m = new Map()
    for (const e of list) m.set(e.id, (m.get(e.id) ?? 0) + 1)
    return m
  }
  const runsOf = by(runs)
  const effectsOf = by(effects)
  const violations = []
  let lost = 0
  let runTwice = 0
  let reruns = 0
  let failedByCrash = 0
  for (const job of jobs) {
    const completions = job.history.filter((h) => h.phase === "completed").length
    const r = runsOf.get(job.id) ?? 0
    const e = effectsOf.get(job.id) ?? 0
    if (!terminal.has(job.status)) {
      lost++
      const dispatch = job.owner?.split("#")[0]
      const state = dispatch === undefined ? "-" : await (await bullQueue(job.name)).getJobState(dispatch)
      const tail = job.history
        .slice(-4)
        .map((h) => `${h.phase}:${h.to}`)
        .join(",")
      violations.push(
        `${job.id} (${job.name}) ended ${job.status}, owner ${job.owner}, dispatch ${state}, history ..${tail}`
      )
      continue
    }
    if (completions > 1) violations.push(`${job.id}: completion recorded ${completions} times`)
    if (job.status === "completed" && completions !== 1)
      violations.push(`${job.id}: completed without one completion entry`)
    if (job.name === "once") {
      if (r > 1 || e > 1) {
        runTwice++
        violations.push(`${job.id} (once): ${r} runs, ${e} side effects`)
      }
      if (job.status === "completed" && e !== 1) violations.push(`${job.id} (once): completed with ${e} side effects`)
      if (job.status === "failed") {
        failedByCrash++
        if (!job.history.some((h) => h.phase === "interrupted"))
          violations.push(`${job.id} (once): failed, not by a crash`)
      }
    } else {
      if (job.status !== "completed") {
        lost++
        violations.push(`${job.id} (${job.name}): ${job.status}, expected completed`)
      }
      if (e !== 1) {
        if (e > 1) runTwice++
        violations.push(`${job.id} (${job.name}): side effect ${e} times`)
      }
      reruns += Math.max(0, r - (job.name === "flaky" ? 2 : 1))
    }
  }
  if (jobs.length !== JOBS) violations.push(`${jobs.length} of ${JOBS} jobs found`)
  const summary = {
    store: STORE,
    jobs: jobs.length,
    workers: WORKERS,
    workerProcesses: spawned,
    kills: counts.kills,
    freezes: counts.freezes,
    seconds,
    completed: jobs.filter((j) => j.status === "completed").length,
    failedByCrash,
    lost,
    runTwice,
    rerunsAllowedByRequeue: reruns,
    stalledRecoveries: status.stalledRecoveries,
    violations: violations.slice(0, 20),
    violationCount: violations.length
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`)
  if (violations.length > 0) exitCode = 1
} catch (e) {
  process.stderr.write(`chaos run failed: ${e?.stack ?? e}\n`)
  exitCode = 1
} finally {
  await cleanup()
}
process.exit(exitCode)
