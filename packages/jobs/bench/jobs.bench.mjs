// Persisted job transitions per second on the fs and Redis stores, and the
// job machinery's overhead over running the same handler directly.
// Run: npm run build && npm run bench -w @strata/jobs
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeContext } from "@effect/platform-node"
import { JobBackend, JobManager } from "@strata/jobs"
import { layerRedis } from "@strata/storage/redis"
import * as StateStore from "@strata/storage/StateStore"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const JOBS = Number(process.env.JOBS ?? 400)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 64)
const TRANSITIONS_PER_JOB = 8 // created, running, progress x5, completed

const work = (ctx) =>
  Effect.gen(function* () {
    for (let i = 1; i <= 5; i++) yield* ctx.progress(i * 20)
  })

const measure = (label, storeLayer, concurrency) =>
  Effect.gen(function* () {
    const jobs = yield* JobManager.make({ concurrency, handlers: [{ kind: "bench", run: work }] })
    const started = performance.now()
    yield* Effect.forEach(
      Array.from({ length: JOBS }, (_, i) => i),
      (i) => jobs.enqueueJob("bench", { i }),
      {
        concurrency: 16
      }
    )
    yield* jobs.awaitIdle
    const seconds = (performance.now() - started) / 1000
    const done = (yield* jobs.listJobs).filter((j) => j.status === "completed").length
    if (done !== JOBS) throw new Error(`${label}: ${done}/${JOBS} completed`)
    const rate = (JOBS * TRANSITIONS_PER_JOB) / seconds
    console.log(
      `${label.padEnd(34)} ${String(Math.round(rate)).padStart(7)} transitions/s  (${JOBS} jobs x ${TRANSITIONS_PER_JOB}, concurrency ${concurrency}, ${seconds.toFixed(2)} s)`
    )
    return rate
  }).pipe(Effect.scoped, Effect.provide(JobBackend.layerStateStore), Effect.provide(storeLayer))

const direct = Effect.gen(function* () {
  const ctx = { progress: () => Effect.void, checkpoint: Effect.void }
  const started = performance.now()
  for (let i = 0; i < JOBS; i++) yield* work(ctx)
  return (performance.now() - started) / JOBS
})

const program = Effect.gen(function* () {
  const dir = mkdtempSync(join(tmpdir(), "strata-jobs-bench-"))
  try {
    console.log(`@strata/jobs bench: ${JOBS} jobs, each enqueue -> running -> progress x5 -> completed`)
    const mem = yield* measure("memory StateStore", StateStore.layerMemory, CONCURRENCY)
    const fs = yield* measure(
      "fs StateStore (fsync'd)",
      StateStore.layerFileSystem(dir).pipe(Layer.provide(NodeContext.layer)),
      8
    )
    const redis = yield* measure(
      "redis StateStore (127.0.0.1:6379)",
      layerRedis({ url: "redis://127.0.0.1:6379", prefix: `strata-jobs-bench:${Date.now()}` }),
      CONCURRENCY
    )
    const directMs = yield* direct
    const perJobMem = 1000 / (mem / TRANSITIONS_PER_JOB)
    console.log(`direct handler call                ${(directMs * 1000).toFixed(1)} µs/job`)
    console.log(
      `job machinery overhead (memory)    ${(perJobMem * 1000).toFixed(0)} µs/job = ${(perJobMem / directMs).toFixed(0)}x the direct call (8 persisted transitions)`
    )
    console.log(
      `targets: fs >= 2,000/s -> ${fs >= 2000 ? "met" : "NOT met"} (${Math.round(fs)}/s); redis >= 10,000/s -> ${redis >= 10000 ? "met" : "NOT met"} (${Math.round(redis)}/s)`
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

Effect.runPromise(program).catch((e) => {
  console.error(e)
  process.exit(1)
})
