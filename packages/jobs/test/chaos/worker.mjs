// One chaos worker process: runs the chaos kinds on BullMQ, the job records
// in a Redis or PostgreSQL StateStore. Every run logs itself, and its side
// effect, to Redis lists the driver reads (chaos.mjs).
//
//   node worker.mjs <prefix> <redis|postgres> [concurrency]
import { HookDispatcher } from "@strata/hooks/HookDispatcher"
import * as JobsBull from "@strata/jobs/bullmq"
import * as JobBackend from "@strata/jobs/JobBackend"
import { layerRedis } from "@strata/storage/redis"
import { layerPostgres } from "@strata/storage/sql"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Redis } from "ioredis"
import { chaosKinds } from "./kinds.mjs"

const [prefix, storeKind = "redis", concurrency = "4"] = process.argv.slice(2)
const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
const log = new Redis(url)

const store =
  storeKind === "postgres"
    ? layerPostgres({ schema: prefix.replace(/[^a-z0-9_]/g, "_"), max: 4 })
    : layerRedis({ url, prefix: `${prefix}-store` })

const program = Effect.gen(function* () {
  yield* JobsBull.make({
    url,
    prefix,
    worker: true,
    concurrency: Number(concurrency),
    lockMs: Number(process.env.LOCK_MS ?? 1500),
    pollMs: 100,
    sweepMs: 2000,
    instanceId: `w${process.pid}`,
    handlers: chaosKinds(log, prefix)
  })
  process.stdout.write("READY\n")
  yield* Effect.never
}).pipe(
  Effect.scoped,
  Effect.provide(JobBackend.layerStateStore.pipe(Layer.provide(store))),
  Effect.provide(HookDispatcher.Default)
)

process.on("SIGTERM", () => process.exit(0))
Effect.runPromise(program).catch((e) => {
  process.stderr.write(`worker failed: ${e?.stack ?? e}\n`)
  process.exit(1)
})
