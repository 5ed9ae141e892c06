// A bench worker process: `strata` (JobManager on BullMQ, records in the
// Redis StateStore) or `bare` (a BullMQ Worker, what a user would write
// instead). Both run the same no-op job and keep its enqueue-to-start
// latency (the job's input carries the enqueue time); on SIGTERM they print
// the latencies and the CPU time used since ready as one JSON line and exit.
//
//   node cluster-worker.mjs <strata|bare> <prefix> <concurrency>
import { HookDispatcher } from "@strata/hooks/HookDispatcher"
import * as JobsBull from "@strata/jobs/bullmq"
import * as JobBackend from "@strata/jobs/JobBackend"
import { layerRedis } from "@strata/storage/redis"
import { Worker } from "bullmq"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const [mode, prefix, concurrency] = process.argv.slice(2)
const url = "redis://127.0.0.1:6379"
const latencies = []
let cpuAtReady
process.on("SIGINT", () => process.exit(0))
process.on("SIGTERM", () => {
  const cpu = process.cpuUsage(cpuAtReady)
  process.stdout.write(`${JSON.stringify({ latencies, cpuUs: cpu.user + cpu.system })}\n`, () => process.exit(0))
})

if (mode === "bare") {
  const worker = new Worker(
    "bare",
    async (job) => {
      latencies.push(Date.now() - job.data.t)
    },
    {
      connection: { host: "127.0.0.1", port: 6379, maxRetriesPerRequest: null },
      prefix,
      concurrency: Number(concurrency)
    }
  )
  worker.on("error", () => {})
  await worker.waitUntilReady()
  cpuAtReady = process.cpuUsage()
  process.stdout.write("READY\n")
} else {
  Effect.runPromise(
    Effect.gen(function* () {
      yield* JobsBull.make({
        url,
        prefix,
        worker: true,
        concurrency: Number(concurrency),
        handlers: [
          {
            kind: "noop",
            run: (ctx) =>
              Effect.sync(() => {
                latencies.push(Date.now() - ctx.input.t)
              })
          }
        ]
      })
      cpuAtReady = process.cpuUsage()
      process.stdout.write("READY\n")
      yield* Effect.never
    }).pipe(
      Effect.scoped,
      Effect.provide(JobBackend.layerStateStore.pipe(Layer.provide(layerRedis({ url, prefix: `${prefix}-store` })))),
      Effect.provide(HookDispatcher.Default)
    )
  )
}
