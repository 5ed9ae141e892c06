// A worker's own CPU per job, apart from the API: JOBS no-op jobs enqueued
// (through JobManager on BullMQ, or straight into a BullMQ queue for `bare`)
// with no worker running, the queue paused, one worker process started
// (cluster-worker.mjs), the queue resumed, and the worker's CPU time from
// ready to drained divided by JOBS.
//
//   node bench/worker-drain.mjs strata|bare      (JOBS=3000; CPU_PROF_DIR=<dir> profiles the worker)
import { spawn } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { HookDispatcher } from "@strata/hooks/HookDispatcher"
import * as JobsBull from "@strata/jobs/bullmq"
import * as JobBackend from "@strata/jobs/JobBackend"
import { layerRedis } from "@strata/storage/redis"
import { Queue } from "bullmq"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Redis } from "ioredis"

const here = dirname(fileURLToPath(import.meta.url))
const N = Number(process.env.JOBS ?? 3000)
const mode = process.argv[2] ?? "strata"
const url = "redis://127.0.0.1:6379"
const prefix = `bench-drain-${process.pid}`
const redis = new Redis(url)
if (mode === "bare") {
  const q = new Queue("bare", { connection: redis, prefix })
  for (let i = 0; i < N; i += 100)
    await Promise.all(
      Array.from({ length: Math.min(100, N - i) }, (_, j) =>
        q.add("noop", { t: Date.now(), i: i + j }, { removeOnComplete: true })
      )
    )
  await q.close()
} else {
  await Effect.runPromise(
    Effect.gen(function* () {
      const api = yield* JobsBull.make({ url, prefix, handlers: [{ kind: "noop", run: () => Effect.void }] })
      for (let i = 0; i < N; i += 100)
        yield* Effect.forEach(
          Array.from({ length: Math.min(100, N - i) }, (_, j) => i + j),
          (k) => api.enqueueJob("noop", { t: Date.now(), i: k }),
          { concurrency: "unbounded" }
        )
    }).pipe(
      Effect.scoped,
      Effect.provide(JobBackend.layerStateStore.pipe(Layer.provide(layerRedis({ url, prefix: `${prefix}-store` })))),
      Effect.provide(HookDispatcher.Default)
    )
  )
}
const watchQ = new Queue(mode === "bare" ? "bare" : "strata.noop", { connection: redis, prefix })
await watchQ.pause()
const prof = process.env.CPU_PROF_DIR ? ["--cpu-prof", "--cpu-prof-dir", process.env.CPU_PROF_DIR] : []
const child = spawn(process.execPath, [...prof, join(here, "cluster-worker.mjs"), mode, prefix, "16"], {
  stdio: ["ignore", "pipe", "ignore"]
})
let out = ""
child.stdout.on("data", (d) => (out += d))
while (!out.includes("READY")) await new Promise((r) => setTimeout(r, 5))
await watchQ.resume()
const t0 = performance.now()
for (;;) {
  const c = await watchQ.getJobCounts("wait", "active", "delayed", "prioritized", "paused")
  if (Object.values(c).every((v) => v === 0)) break
  await new Promise((r) => setTimeout(r, 5))
}
const secs = (performance.now() - t0) / 1000
const exited = new Promise((r) => child.on("exit", r))
child.kill("SIGTERM")
await exited
const rep = JSON.parse(out.split("\n").find((l) => l.startsWith("{")))
console.log(`${mode}: worker CPU ${(rep.cpuUs / N).toFixed(0)} us/job, ${(N / secs).toFixed(0)} jobs/s`)
let cur = "0"
do {
  const [n, k] = await redis.scan(cur, "MATCH", `${prefix}*`, "COUNT", 1000)
  if (k.length) await redis.del(...k)
  cur = n
} while (cur !== "0")
await redis.quit()
