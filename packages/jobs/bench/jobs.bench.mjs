// Persisted job transitions per second through JobManager on the memory, fs
// and Redis stores, each beside the raw pattern a user would write instead,
// measured in the same run:
//
// - memory: the handler called directly (the machinery's own cost);
// - fs: a JSON line appended and fsynced per transition, CONCURRENCY writers
//   sharing one file handle (what "durable" costs on this disk);
// - Redis: one MULTI (HSET of the record + RPUSH of the history entry) per
//   transition, CONCURRENCY in flight.
//
// Wall time and process CPU time are both printed: on a shared machine the
// wall rate moves with the load, CPU per transition much less.
//
//   npm run build && npm run bench -w @strata/jobs      (JOBS=400 CONCURRENCY=64)
//   npm run bench -w @strata/jobs -- --cluster           (the BullMQ cluster: cluster.bench.mjs)

import * as NFS from "node:fs"
import { mkdtempSync, rmSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { NodeContext } from "@effect/platform-node"
import { HookDispatcher } from "@strata/hooks/HookDispatcher"
import { JobBackend, JobManager } from "@strata/jobs"
import { layerRedis } from "@strata/storage/redis"
import * as StateStore from "@strata/storage/StateStore"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Redis } from "ioredis"

if (process.argv.includes("--cluster")) {
  // `npm run bench -w @strata/jobs -- --cluster`: the BullMQ cluster bench.
  await import("./cluster.bench.mjs")
  process.exit(0)
}

const JOBS = Number(process.env.JOBS ?? 400)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 64)
const TRANSITIONS_PER_JOB = 8 // created, running, progress x5, completed
const TRANSITIONS = JOBS * TRANSITIONS_PER_JOB

const work = (ctx) =>
  Effect.gen(function* () {
    for (let i = 1; i <= 5; i++) yield* ctx.progress(i * 20)
  })

const timed = async (f) => {
  const c = process.cpuUsage()
  const t = performance.now()
  await f()
  const seconds = (performance.now() - t) / 1000
  const cpu = process.cpuUsage(c)
  return { rate: TRANSITIONS / seconds, cpuUs: (cpu.user + cpu.system) / TRANSITIONS, seconds }
}

const manager = (storeLayer) =>
  timed(() =>
    Effect.runPromise(
      Effect.gen(function* () {
        const jobs = yield* JobManager.make({ concurrency: CONCURRENCY, handlers: [{ kind: "bench", run: work }] })
        yield* Effect.forEach(
          Array.from({ length: JOBS }, (_, i) => i),
          (i) => jobs.enqueueJob("bench", { i }),
          { concurrency: 16 }
        )
        yield* jobs.awaitIdle
        const done = (yield* jobs.listJobs).filter((j) => j.status === "completed").length
        if (done !== JOBS) throw new Error(`${done}/${JOBS} completed`)
      }).pipe(
        Effect.scoped,
        Effect.provide(JobBackend.layerStateStore),
        Effect.provide(storeLayer),
        Effect.provide(HookDispatcher.Default)
      )
    )
  )

const record = (i, n) =>
  JSON.stringify({
    id: `job-${i}`,
    name: "bench",
    status: "running",
    progress: n * 20,
    history: Array.from({ length: n + 1 }, (_, k) => ({ at: k, phase: "progress", progress: k * 20 }))
  })

/** Runs `transition(job, n)` for every job and step, CONCURRENCY jobs at a time. */
const rawLoop = (transition) =>
  timed(async () => {
    let next = 0
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < JOBS; i = next++) {
          for (let n = 0; n < TRANSITIONS_PER_JOB; n++) await transition(i, n)
        }
      })
    )
  })

const results = []
const line = (label, store, raw, target) => {
  const text =
    `${label.padEnd(8)} ${String(Math.round(store.rate)).padStart(7)} transitions/s (${store.cpuUs.toFixed(0)} µs CPU each) | ` +
    `${raw.label}: ${String(Math.round(raw.rate)).padStart(7)}/s (${raw.cpuUs.toFixed(0)} µs CPU) | ratio ${(store.rate / raw.rate).toFixed(2)}x` +
    ` | target ${target}: ${store.rate >= Number(target.replace(/\D/g, "")) ? "met" : "NOT met"}`
  results.push(text)
  console.log(text)
}

const dir = mkdtempSync(join(tmpdir(), "strata-jobs-bench-"))
const prefix = `strata-jobs-bench:${Date.now()}`
const redis = new Redis("redis://127.0.0.1:6379")
try {
  console.log(
    `@strata/jobs bench: ${JOBS} jobs x ${TRANSITIONS_PER_JOB} persisted transitions (enqueue, running, progress x5, completed), concurrency ${CONCURRENCY}`
  )
  // memory
  const direct = await timed(() =>
    Effect.runPromise(
      Effect.gen(function* () {
        const ctx = { progress: () => Effect.void }
        for (let i = 0; i < JOBS; i++) yield* work(ctx)
      })
    )
  )
  await manager(StateStore.layerMemory) // warm-up
  line("memory", await manager(StateStore.layerMemory), { label: "direct handler calls", ...direct }, ">= 20,000/s")

  // fs
  const rawFile = await NFS.promises.open(join(dir, "raw.jsonl"), "a")
  const rawFs = await rawLoop(async (i, n) => {
    await rawFile.write(`${record(i, n)}\n`)
    await rawFile.sync()
  })
  await rawFile.close()
  const fs = await manager(StateStore.layerFileSystem(join(dir, "store")).pipe(Layer.provide(NodeContext.layer)))
  line("fs", fs, { label: "raw append+fsync per transition", ...rawFs }, ">= 2,000/s")

  // Redis
  const rawRedis = await rawLoop((i, n) =>
    redis.multi().hset(`${prefix}:raw`, `job-${i}`, record(i, n)).rpush(`${prefix}:raw:${i}`, `{"at":${n}}`).exec()
  )
  const red = await manager(layerRedis({ url: "redis://127.0.0.1:6379", prefix }))
  line("redis", red, { label: "raw MULTI (HSET + RPUSH) per transition", ...rawRedis }, ">= 10,000/s")
  const [, aof] = await redis.config("GET", "appendonly")
  const [, fsync] = await redis.config("GET", "appendfsync")
  console.log(`(Redis persistence: appendonly ${aof}, appendfsync ${fsync})`)
} finally {
  rmSync(dir, { recursive: true, force: true })
  let cursor = "0"
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
    if (keys.length > 0) await redis.del(...keys)
    cursor = next
  } while (cursor !== "0")
  await redis.quit()
}
console.log("\n== summary")
for (const r of results) console.log(r)
console.log(
  `(load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")})`
)
