import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Redis } from "ioredis"
import { layerRedis, makeRedis } from "../src/redis.js"
import * as StateStoreSuite from "./StateStoreSuite.js"
import { makeJob, threadId, turn } from "./StateStoreSuite.js"

// Real Redis on 127.0.0.1:6379. Every run uses its own key prefix and
// deletes its keys afterwards, so parallel runs never collide.
const prefix = `strata-test-${crypto.randomUUID()}`
const url = "redis://127.0.0.1:6379"

const raw = new Redis(url, { lazyConnect: true })

afterAll(async () => {
  let cursor = "0"
  do {
    const [next, keys] = await raw.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
    if (keys.length > 0) await raw.del(...keys)
    cursor = next
  } while (cursor !== "0")
  await raw.quit()
})

StateStoreSuite.run("redis", layerRedis({ url, prefix }), {
  child: { store: () => ({ kind: "redis", url, prefix }), detectsDeadProcess: false },
  raw: {
    appendEventWithVersion: (thread, seq, version) =>
      Effect.promise(() =>
        raw.rpush(
          `${prefix}:j:${thread}`,
          `v${version} ${JSON.stringify({ seq, thread_id: thread, timestamp: 1, event: "turn_started", turn_id: "x", model: "m" })}`
        )
      ),
    putJobWithVersion: (jobId, version) =>
      Effect.promise(() =>
        raw.hset(
          `${prefix}:r:job`,
          jobId,
          `1 ${JSON.stringify({ schemaVersion: version, kind: "job", record: makeJob(jobId, 1) })}`
        )
      ),
    // Without checksums a store sees damage that breaks the JSON: half an entry.
    corruptEvent: (thread, seq) =>
      Effect.promise(async () => {
        const key = `${prefix}:j:${thread}`
        const entry = (await raw.lindex(key, seq - 1))!
        await raw.lset(key, seq - 1, entry.slice(0, Math.floor(entry.length / 2)))
      }),
    corruptThread: (thread) => Effect.promise(() => raw.hset(`${prefix}:r:thread`, thread, '1 {"schemaVersion":1,"ki'))
  }
})

describe("redis store", () => {
  it.live("two stores (two clients) on one prefix share a gap-free journal", () =>
    Effect.gen(function* () {
      const a = yield* makeRedis({ url, prefix: `${prefix}-shared` })
      const b = yield* makeRedis({ url, prefix: `${prefix}-shared` })
      const id = threadId()
      yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) => (i % 2 === 0 ? a : b).appendEvents(id, [turn(i), turn(i)]),
        { concurrency: 10, discard: true }
      )
      const frames = Chunk.toReadonlyArray(yield* Stream.runCollect(a.readEvents(id)))
      assert.deepStrictEqual(
        frames.map((f) => f.seq),
        Array.from({ length: 100 }, (_, i) => i + 1)
      )
      for (let i = 0; i < 100; i += 2) {
        const [x, y] = [frames[i]!, frames[i + 1]!]
        assert.deepStrictEqual(x.event === "turn_started" && x.turn_id, y.event === "turn_started" && y.turn_id)
      }
    }).pipe(Effect.scoped)
  )

  it.live("an unreachable server is a typed Unavailable error, fast", () =>
    Effect.gen(function* () {
      const err = yield* Effect.flip(makeRedis({ url: "redis://127.0.0.1:1", connectTimeout: "2 seconds" }))
      assert.strictEqual(err._tag === "StorageError" && err.reason, "Unavailable")
      const bad = yield* Effect.flip(makeRedis({ url, prefix: "bad prefix" }))
      assert.strictEqual(bad._tag === "StorageError" && bad.reason, "InvalidInput")
    }).pipe(Effect.scoped)
  )

  it.live("requireDurable refuses a server that does not fsync every write", () =>
    Effect.gen(function* () {
      const client = new Redis(url)
      const [, aof] = (yield* Effect.promise(() => client.config("GET", "appendonly"))) as [string, string]
      const [, fsync] = (yield* Effect.promise(() => client.config("GET", "appendfsync"))) as [string, string]
      yield* Effect.promise(() => client.quit())
      const result = yield* Effect.either(makeRedis({ url, prefix: `${prefix}-durable`, requireDurable: true }))
      if (aof === "yes" && fsync === "always") {
        assert.isTrue(result._tag === "Right")
      } else {
        assert.isTrue(result._tag === "Left" && result.left.message.includes("appendfsync always"))
      }
    }).pipe(Effect.scoped)
  )
})
