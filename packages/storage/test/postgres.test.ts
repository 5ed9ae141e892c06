import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import pg from "pg"
import { layerPostgres, makePostgres } from "../src/sql.js"
import * as StateStoreSuite from "./StateStoreSuite.js"
import { makeJob, threadId, turn } from "./StateStoreSuite.js"

// Real PostgreSQL on 127.0.0.1:5432, database `test`. Every run uses its own
// schema and drops it afterwards, so parallel runs never collide.
const connectionString = "postgres://postgres@127.0.0.1:5432/test"
const schema = `strata_test_${crypto.randomUUID().replaceAll("-", "")}`
const pool = new pg.Pool({ connectionString, max: 2 })

afterAll(async () => {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}_shared" CASCADE`)
  await pool.end()
})

StateStoreSuite.run("postgres", layerPostgres({ connectionString, schema }), {
  child: { store: () => ({ kind: "postgres", connectionString, schema }), detectsDeadProcess: false },
  raw: {
    appendEventWithVersion: (thread, seq, version) =>
      Effect.promise(async () => {
        await pool.query(
          `INSERT INTO "${schema}".journal_heads (thread_id, last_seq) VALUES ($1, $2) ON CONFLICT (thread_id) DO UPDATE SET last_seq = $2`,
          [thread, seq]
        )
        await pool.query(`INSERT INTO "${schema}".journal VALUES ($1, $2, $3, $4)`, [
          thread,
          seq,
          version,
          JSON.stringify({ seq, thread_id: thread, timestamp: 1, event: "turn_started", turn_id: "x", model: "m" })
        ])
      }),
    putJobWithVersion: (jobId, version) =>
      Effect.promise(() =>
        pool.query(`INSERT INTO "${schema}".records VALUES ('job', $1, 1, $2)`, [
          jobId,
          JSON.stringify({ schemaVersion: version, kind: "job", record: makeJob(jobId, 1) })
        ])
      ),
    corruptEvent: (thread, seq) =>
      Effect.promise(() =>
        pool.query(
          `UPDATE "${schema}".journal SET frame = substr(frame, 1, length(frame) / 2) WHERE thread_id = $1 AND seq = $2`,
          [thread, seq]
        )
      ),
    corruptThread: (thread) =>
      Effect.promise(() =>
        pool.query(
          `UPDATE "${schema}".records SET doc = '{"schemaVersion":1,"ki' WHERE collection = 'thread' AND key = $1`,
          [thread]
        )
      )
  }
})

describe("postgres store", () => {
  it.live("two stores (two pools) on one schema share a gap-free journal", () =>
    Effect.gen(function* () {
      const a = yield* makePostgres({ connectionString, schema: `${schema}_shared`, max: 4 })
      const b = yield* makePostgres({ connectionString, schema: `${schema}_shared`, max: 4 })
      const id = threadId()
      yield* Effect.forEach(
        Array.from({ length: 40 }, (_, i) => i),
        (i) => (i % 2 === 0 ? a : b).appendEvents(id, [turn(i), turn(i)]),
        { concurrency: 8, discard: true }
      )
      const frames = Chunk.toReadonlyArray(yield* Stream.runCollect(b.readEvents(id)))
      assert.deepStrictEqual(
        frames.map((f) => f.seq),
        Array.from({ length: 80 }, (_, i) => i + 1)
      )
      for (let i = 0; i < 80; i += 2) {
        const [x, y] = [frames[i]!, frames[i + 1]!]
        assert.deepStrictEqual(x.event === "turn_started" && x.turn_id, y.event === "turn_started" && y.turn_id)
      }
    }).pipe(Effect.scoped)
  )

  it.live("bad options and an unreachable server are typed errors", () =>
    Effect.gen(function* () {
      const bad = yield* Effect.flip(makePostgres({ connectionString, schema: "Robert'); DROP TABLE x;--" }))
      assert.strictEqual(bad._tag === "StorageError" && bad.reason, "InvalidInput")
      const down = yield* Effect.flip(makePostgres({ connectionString: "postgres://postgres@127.0.0.1:1/test" }))
      assert.strictEqual(down._tag === "StorageError" && down.reason, "Unavailable")
    }).pipe(Effect.scoped)
  )
})
