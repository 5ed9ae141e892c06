/**
 * @internal
 *
 * The BullMQ side of the Redis connection: queue names, the status of the
 * queues under a prefix (also for a process that runs no manager).
 */
import { Queue } from "bullmq"
import * as Effect from "effect/Effect"
import { Redis } from "ioredis"
import type * as BM from "../bullmq.js"
import { JobBackendError } from "../JobBackend.js"

/** The BullMQ queue of a kind: one per kind, so a worker takes only kinds it runs. */
export const queueName = (kind: string): string => `strata.${kind.replace(/[^A-Za-z0-9._-]/g, "_")}`

/** The queues under a prefix (each has a `meta` key), with `extra` names added. */
export const queueStatus = (
  redis: Redis,
  prefix: string,
  extra: ReadonlyArray<string>
): Effect.Effect<BM.QueueStatus> =>
  Effect.promise(async () => {
    const names = new Set(extra)
    let cursor = "0"
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:strata.*:meta`, "COUNT", 1000)
      cursor = next
      for (const key of keys) names.add(key.slice(prefix.length + 1, -":meta".length))
    } while (cursor !== "0")
    const kinds = []
    const all = new Set<string>()
    for (const name of [...names].sort()) {
      const q = new Queue(name, { connection: redis, prefix })
      q.on("error", () => {})
      try {
        const counts = await q.getJobCounts("wait", "active", "delayed", "failed", "prioritized")
        // `rawname` is the connection's name, `<prefix>:<queue>:w:<instanceId>`.
        const workers = (await q.getWorkers().catch(() => [])).map(
          (w) =>
            String((w as Record<string, unknown>).rawname ?? w.id ?? "?")
              .split(":w:")
              .at(-1)!
        )
        for (const w of workers) all.add(w)
        kinds.push({
          kind: name.slice("strata.".length),
          waiting: (counts.wait ?? 0) + (counts.prioritized ?? 0),
          active: counts.active ?? 0,
          delayed: counts.delayed ?? 0,
          failed: counts.failed ?? 0,
          workers: new Set(workers).size
        })
      } finally {
        await q.close().catch(() => {})
      }
    }
    const stalled = Number((await redis.get(`${prefix}:strata:stalled-recoveries`).catch(() => null)) ?? 0)
    return { kinds, workers: all.size, stalledRecoveries: stalled }
  })

/** @internal */
export const clusterStatus = (options: { readonly url?: string | undefined; readonly prefix?: string | undefined }) =>
  Effect.acquireUseRelease(
    Effect.tryPromise({
      try: async () => {
        const r = new Redis(options.url ?? "redis://127.0.0.1:6379", {
          maxRetriesPerRequest: 1,
          connectTimeout: 3000,
          lazyConnect: true
        })
        r.on("error", () => {})
        await r.connect()
        return r
      },
      catch: (cause) =>
        new JobBackendError({ operation: `connect to ${options.url ?? "redis://127.0.0.1:6379"}`, cause })
    }),
    (redis) => queueStatus(redis, options.prefix ?? "strata", []),
    (redis) => Effect.sync(() => redis.disconnect())
  ).pipe(Effect.withSpan("JobManager.clusterStatus"))
