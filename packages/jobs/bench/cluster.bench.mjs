// The BullMQ cluster bench (`npm run bench -w @strata/jobs -- --cluster`):
// JOBS no-op jobs enqueued by one API process and run by 1, 2 and 3 worker
// processes through JobManager on BullMQ (records in the Redis StateStore),
// beside bare BullMQ workers (as many processes, the same concurrency) running
// the same no-op job, in the same run:
// jobs/s end to end (first enqueue to last completion), the per-job cost
// ratio to bare BullMQ (target <= 1.5x), and the p50 / p99 enqueue-to-start
// latency, and the CPU time per job summed over every process (on a shared
// machine the wall rate moves with the load, CPU per job much less).
// Then the latency alone, with PACED_JOBS enqueued at PACED_RATE per second
// (below both rates), bare and JobManager with one worker.
// Each row is the median of ROUNDS interleaved rounds (a shared machine's
// load moves between runs).
// JOBS=1000 CONCURRENCY=16 (per worker) ENQUEUERS=32 WORKERS=1,2,3 ROUNDS=3
// PACED_RATE=100 PACED_JOBS=300;
// CPU_PROF_DIR=<dir> writes a CPU profile of every worker process there.
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { loadavg } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { HookDispatcher } from "@strata/hooks/HookDispatcher"
import * as JobsBull from "@strata/jobs/bullmq"
import * as JobBackend from "@strata/jobs/JobBackend"
import { layerRedis } from "@strata/storage/redis"
import { Queue, QueueEvents } from "bullmq"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { Redis } from "ioredis"

const here = dirname(fileURLToPath(import.meta.url))
const JOBS = Number(process.env.JOBS ?? 1000)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16)
const ENQUEUERS = Number(process.env.ENQUEUERS ?? 32)
const WORKERS = (process.env.WORKERS ?? "1,2,3").split(",").map(Number)
const ROUNDS = Math.max(1, Number(process.env.ROUNDS ?? 3))
const PACED_RATE = Number(process.env.PACED_RATE ?? 100)
const PACED_JOBS = Number(process.env.PACED_JOBS ?? 300)
const url = "redis://127.0.0.1:6379"
const redis = new Redis(url)
const prefixes = []

const startWorkers = async (mode, prefix, n) => {
  const workers = []
  for (let i = 0; i < n; i++) {
    const prof = process.env.CPU_PROF_DIR ? ["--cpu-prof", "--cpu-prof-dir", process.env.CPU_PROF_DIR] : []
    const child = spawn(
      process.execPath,
      [...prof, join(here, "cluster-worker.mjs"), mode, prefix, String(CONCURRENCY)],
      {
        stdio: ["ignore", "pipe", "inherit"]
      }
    )
    let out = ""
    child.stdout.on("data", (d) => (out += d))
    await new Promise((resolve, reject) => {
      const t = setInterval(() => {
        if (out.includes("READY")) {
          clearInterval(t)
          resolve()
        }
      }, 20)
      child.on("exit", (code) => reject(new Error(`worker exited ${code}`)))
    })
    workers.push({ child, out: () => out })
  }
  return workers
}

const stopWorkers = async (workers) => {
  const latencies = []
  let cpuUs = 0
  for (const w of workers) {
    const exited = new Promise((r) => w.child.on("exit", r))
    w.child.kill("SIGTERM")
    await exited
    const line = w
      .out()
      .split("\n")
      .find((l) => l.startsWith("{"))
    const report = JSON.parse(line ?? '{"latencies":[],"cpuUs":0}')
    latencies.push(...report.latencies)
    cpuUs += report.cpuUs
  }
  return { latencies, cpuUs }
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN
}

// ENQUEUERS at a time, as fast as they go, or the i-th at start + i / rate.
const pool = async (n, f, rate) => {
  let next = 0
  const start = performance.now()
  await Promise.all(
    Array.from({ length: ENQUEUERS }, async () => {
      for (let i = next++; i < n; i = next++) {
        if (rate !== undefined) {
          const wait = start + (i * 1000) / rate - performance.now()
          if (wait > 0) await new Promise((r) => setTimeout(r, wait))
        }
        await f(i)
      }
    })
  )
}

const bare = async (n = 1, jobs = JOBS, rate = undefined) => {
  const prefix = `bench-bare-${randomBytes(3).toString("hex")}`
  prefixes.push(prefix)
  const workers = await startWorkers("bare", prefix, n)
  const queue = new Queue("bare", { connection: redis, prefix })
  // From the start of the (fresh) event stream: no completion is missed while it connects.
  const events = new QueueEvents("bare", { connection: { host: "127.0.0.1", port: 6379 }, prefix, lastEventId: "0-0" })
  await events.waitUntilReady()
  let done = 0
  const all = new Promise((resolve) =>
    events.on("completed", () => {
      if (++done === jobs) resolve()
    })
  )
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await pool(jobs, (i) => queue.add("noop", { t: Date.now(), i }, { removeOnComplete: true }), rate)
  const enqueued = (performance.now() - t0) / 1000
  await all
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const w = await stopWorkers(workers)
  await events.close()
  await queue.close()
  const apiCpuUs = cpu.user + cpu.system
  return { seconds, enqueued, latencies: w.latencies, cpuUs: apiCpuUs + w.cpuUs, apiCpuUs, workerCpuUs: w.cpuUs }
}

const strata = async (n, jobs = JOBS, rate = undefined) => {
  const prefix = `bench-strata-${randomBytes(3).toString("hex")}`
  prefixes.push(prefix)
  const workers = await startWorkers("strata", prefix, n)
  const result = await Effect.runPromise(
    Effect.gen(function* () {
      const api = yield* JobsBull.make({ url, prefix, handlers: [{ kind: "noop", run: () => Effect.void }] })
      const completed = yield* api.events.pipe(
        Stream.filter((e) => e.status === "completed"),
        Stream.take(jobs),
        Stream.runDrain,
        Effect.fork
      )
      yield* Effect.sleep("100 millis")
      const cpu0 = process.cpuUsage()
      const t0 = performance.now()
      yield* Effect.promise(() =>
        pool(jobs, (i) => Effect.runPromise(api.enqueueJob("noop", { t: Date.now(), i })), rate)
      )
      const enqueued = (performance.now() - t0) / 1000
      yield* completed.await
      const cpu = process.cpuUsage(cpu0)
      return { seconds: (performance.now() - t0) / 1000, enqueued, apiCpuUs: cpu.user + cpu.system }
    }).pipe(
      Effect.scoped,
      Effect.provide(JobBackend.layerStateStore.pipe(Layer.provide(layerRedis({ url, prefix: `${prefix}-store` })))),
      Effect.provide(HookDispatcher.Default)
    )
  )
  const w = await stopWorkers(workers)
  return {
    seconds: result.seconds,
    enqueued: result.enqueued,
    latencies: w.latencies,
    cpuUs: result.apiCpuUs + w.cpuUs,
    apiCpuUs: result.apiCpuUs,
    workerCpuUs: w.cpuUs
  }
}

const rows = []
const row = (name, r, base) => {
  const rate = JOBS / r.seconds
  const perJob = (r.seconds * 1000) / JOBS
  const cpuPerJob = r.cpuUs / JOBS
  rows.push(
    `${name.padEnd(34)} ${rate.toFixed(0).padStart(6)} jobs/s  ${perJob.toFixed(2).padStart(6)} ms/job` +
      `${base === undefined ? "      " : ` ${(r.seconds / base.seconds).toFixed(2).padStart(5)}x`}` +
      `  CPU ${cpuPerJob.toFixed(0).padStart(5)} us/job${base === undefined ? "      " : ` ${(r.cpuUs / base.cpuUs).toFixed(2).padStart(5)}x`}` +
      ` (API ${(r.apiCpuUs / JOBS).toFixed(0)}, workers ${(r.workerCpuUs / JOBS).toFixed(0)})` +
      `  enqueue-to-start p50 ${pct(r.latencies, 50)} ms, p99 ${pct(r.latencies, 99)} ms` +
      `  (enqueueing ${r.enqueued.toFixed(2)} s)`
  )
  console.log(rows.at(-1))
}

/** The median of each figure over the rounds; the latencies of every round together. */
const median = (runs) => {
  const mid = (f) => {
    const xs = runs.map(f).sort((a, b) => a - b)
    return xs.length % 2 === 1 ? xs[(xs.length - 1) / 2] : (xs[xs.length / 2 - 1] + xs[xs.length / 2]) / 2
  }
  return {
    seconds: mid((r) => r.seconds),
    enqueued: mid((r) => r.enqueued),
    cpuUs: mid((r) => r.cpuUs),
    apiCpuUs: mid((r) => r.apiCpuUs),
    workerCpuUs: mid((r) => r.workerCpuUs),
    latencies: runs.flatMap((r) => r.latencies)
  }
}

try {
  console.log(
    `== BullMQ cluster: ${JOBS} no-op jobs, ${CONCURRENCY} at once per worker, ${ENQUEUERS} enqueuers, median of ${ROUNDS} round${ROUNDS === 1 ? "" : "s"}`
  )
  await bare() // warm-up
  await strata(1) // warm-up (of this process's enqueue path, as for bare BullMQ)
  // Rounds interleave the runs, so a change in the machine's load reaches
  // every row alike; each row is the median of its rounds.
  // Each JobManager row beside bare BullMQ with as many worker processes.
  const results = Object.fromEntries(WORKERS.map((n) => [n, { bare: [], strata: [] }]))
  for (let round = 0; round < ROUNDS; round++) {
    for (const n of WORKERS) {
      results[n].bare.push(await bare(n))
      results[n].strata.push(await strata(n))
    }
  }
  for (const n of WORKERS) {
    const workers = `${n} worker${n === 1 ? "" : "s"}`
    const b = median(results[n].bare)
    row(`bare BullMQ, ${workers}`, b)
    row(`JobManager on BullMQ, ${workers}`, median(results[n].strata), b)
  }
  console.log(
    "(ratios: end-to-end wall time per job, and CPU per job summed over every process (API + workers), vs bare BullMQ with as many workers in the same rounds; target <= 1.5x)"
  )
  // Flat out, the enqueue-to-start latency above is mostly the backlog (jobs
  // are enqueued faster than they run). Paced below both rates, it is the
  // dispatch itself: enqueue, BullMQ's hand-over to a worker, the claim.
  console.log(`== enqueue-to-start latency at ${PACED_RATE} jobs/s (${PACED_JOBS} jobs, 1 worker)`)
  const latency = (name, r) =>
    console.log(`${name.padEnd(34)} p50 ${pct(r.latencies, 50)} ms, p99 ${pct(r.latencies, 99)} ms`)
  latency("bare BullMQ worker", await bare(1, PACED_JOBS, PACED_RATE))
  latency("JobManager on BullMQ", await strata(1, PACED_JOBS, PACED_RATE))
  console.log(
    `(load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")})`
  )
} finally {
  for (const prefix of prefixes) {
    let cursor = "0"
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
      if (keys.length > 0) await redis.del(...keys)
      cursor = next
    } while (cursor !== "0")
  }
  await redis.quit()
}
