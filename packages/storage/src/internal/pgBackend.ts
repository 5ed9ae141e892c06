/**
 * The PostgreSQL backend: four tables in one schema.
 *
 * ```sql
 * store_meta    (key text primary key, value text)                 -- schemaVersion
 * journal_heads (thread_id text primary key, last_seq bigint)
 * journal       (thread_id text, seq bigint, schema_version int, frame text, primary key (thread_id, seq))
 * records       (collection text, key text, revision bigint, doc text, primary key (collection, key))
 * ```
 *
 * An append is one statement: bump the thread's head row (which locks it, so
 * concurrent appends to one thread serialize in the database) and insert the
 * frames with their seqs. It is acknowledged after the commit, which with
 * the default `synchronous_commit = on` means the WAL is fsynced. Record
 * writes are conditional `INSERT` / `UPDATE ... WHERE revision = $expected`.
 */
import * as Event from "@strata/protocol/Event"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Pool, PoolClient, QueryResultRow } from "pg"
import type * as StateStore from "../StateStore.js"
import { CorruptJournal, describe, StorageError, UnsupportedSchemaVersion } from "../StorageError.js"
import { SCHEMA_VERSION } from "../StorageSchema.js"
import type { Backend, Collection, PutResult, StoredRecord } from "./backend.js"
import { checkSeq, makeFrameDecoder } from "./codec.js"

const PAGE = 1000

/** Builds the backend on a pool, creating the schema and tables if needed. */
export const make = (
  pool: Pool,
  schema: string,
  options: StateStore.StoreOptions = {}
): Effect.Effect<Backend, StorageError | UnsupportedSchemaVersion> =>
  Effect.gen(function* () {
    const s = `"${schema}"`
    const query = <R extends QueryResultRow>(key: string, text: string, values: ReadonlyArray<unknown> = []) =>
      Effect.tryPromise({
        try: () => pool.query<R>(text, values as Array<unknown>),
        catch: (cause) =>
          new StorageError({
            reason: "Unavailable",
            key,
            detail: `PostgreSQL query failed: ${describe(cause)}`,
            cause
          })
      })
    const transaction = <A>(key: string, f: (client: PoolClient) => Promise<A>) =>
      Effect.tryPromise({
        try: async () => {
          const client = await pool.connect()
          try {
            await client.query("BEGIN")
            const a = await f(client)
            await client.query("COMMIT")
            return a
          } catch (e) {
            await client.query("ROLLBACK").catch(() => {})
            throw e
          } finally {
            client.release()
          }
        },
        catch: (cause) =>
          new StorageError({
            reason: "Unavailable",
            key,
            detail: `PostgreSQL transaction failed: ${describe(cause)}`,
            cause
          })
      })

    yield* transaction(schema, async (c) => {
      // Serializes concurrent first starts on the same schema.
      await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`strata-storage:${schema}`])
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${s}`)
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.store_meta (key text PRIMARY KEY, value text NOT NULL)`)
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${s}.journal_heads (thread_id text PRIMARY KEY, last_seq bigint NOT NULL)`
      )
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${s}.journal (thread_id text NOT NULL, seq bigint NOT NULL, ` +
          "schema_version int NOT NULL, frame text NOT NULL, PRIMARY KEY (thread_id, seq))"
      )
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${s}.records (collection text NOT NULL, key text NOT NULL, ` +
          "revision bigint NOT NULL, doc text NOT NULL, PRIMARY KEY (collection, key))"
      )
      await c.query(
        `INSERT INTO ${s}.store_meta (key, value) VALUES ('schemaVersion', $1) ON CONFLICT (key) DO NOTHING`,
        [String(SCHEMA_VERSION)]
      )
    })
    const meta = yield* query<{ value: string }>(
      `${schema}.store_meta`,
      `SELECT value FROM ${s}.store_meta WHERE key = 'schemaVersion'`
    )
    const version = Number(meta.rows[0]?.value)
    if (version > SCHEMA_VERSION) {
      return yield* new UnsupportedSchemaVersion({
        key: `${schema}.store_meta`,
        found: version,
        supported: SCHEMA_VERSION
      })
    }

    const decode = makeFrameDecoder(options.migrations ?? [], Event.EventFrame)
    const collectionName = (c: Collection) => (c.kind === "checkpoint" ? `checkpoint:${c.threadId}` : c.kind)

    const appendSql =
      `WITH h AS (INSERT INTO ${s}.journal_heads AS jh (thread_id, last_seq) VALUES ($1, $2) ` +
      "ON CONFLICT (thread_id) DO UPDATE SET last_seq = jh.last_seq + EXCLUDED.last_seq RETURNING last_seq), " +
      `ins AS (INSERT INTO ${s}.journal (thread_id, seq, schema_version, frame) ` +
      `SELECT $1, h.last_seq - $2 + b.ord, $3, '{"seq":' || (h.last_seq - $2 + b.ord) || ',' || substr(b.body, 2) ` +
      "FROM h, unnest($4::text[]) WITH ORDINALITY AS b(body, ord) RETURNING 1) " +
      "SELECT (SELECT last_seq FROM h) - $2 + 1 AS first, (SELECT count(*) FROM ins) AS n"

    const append = (threadId: string, bodies: ReadonlyArray<string>) =>
      Effect.map(
        query<{ first: string }>(`${schema}.journal/${threadId}`, appendSql, [
          threadId,
          bodies.length,
          SCHEMA_VERSION,
          bodies
        ]),
        (r) => Number(r.rows[0]!.first)
      )

    const lastSeq = (threadId: string) =>
      Effect.map(
        query<{ last_seq: string }>(
          `${schema}.journal/${threadId}`,
          `SELECT last_seq FROM ${s}.journal_heads WHERE thread_id = $1`,
          [threadId]
        ),
        (r) => (r.rows[0] === undefined ? 0 : Number(r.rows[0].last_seq))
      )

    const read = (threadId: string, fromSeq: number, limit: number) => {
      const key = `${schema}.journal/${threadId}`
      const last = Number.isFinite(limit) ? fromSeq + limit - 1 : Number.MAX_SAFE_INTEGER
      return Stream.paginateChunkEffect(fromSeq, (from) =>
        Effect.flatMap(
          query<{ seq: string; schema_version: number; frame: string }>(
            key,
            `SELECT seq, schema_version, frame FROM ${s}.journal WHERE thread_id = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq LIMIT ${PAGE}`,
            [threadId, from, last]
          ),
          (r) =>
            Effect.suspend(() => {
              const out: Array<Event.EventFrame> = []
              for (let i = 0; i < r.rows.length; i++) {
                const row = r.rows[i]!
                const seq = from + i
                if (Number(row.seq) !== seq) {
                  return Effect.fail(
                    new CorruptJournal({ threadId, file: key, offset: seq - 1, detail: `entry ${seq} is missing` })
                  )
                }
                const frame = decode(threadId, row.schema_version, row.frame, key, seq - 1)
                if (frame instanceof CorruptJournal || frame instanceof UnsupportedSchemaVersion)
                  return Effect.fail(frame)
                const checked = checkSeq(frame, seq, threadId, key, seq - 1)
                if (checked instanceof CorruptJournal) return Effect.fail(checked)
                out.push(checked)
              }
              const next = from + r.rows.length
              const more = r.rows.length === PAGE && next <= last
              return Effect.succeed([Chunk.unsafeFromArray(out), more ? Option.some(next) : Option.none()] as const)
            })
        )
      )
    }

    const parseDoc = (key: string, id: string, revision: string, doc: string): StoredRecord | StorageError => {
      try {
        return { key: id, revision: Number(revision), doc: JSON.parse(doc) }
      } catch (e) {
        return new StorageError({ reason: "Corrupt", key, detail: `stored document is not valid JSON (${String(e)})` })
      }
    }

    const getRecord = (c: Collection, id: string) => {
      const key = `${schema}.records/${collectionName(c)}/${id}`
      return Effect.flatMap(
        query<{ revision: string; doc: string }>(
          key,
          `SELECT revision, doc FROM ${s}.records WHERE collection = $1 AND key = $2`,
          [collectionName(c), id]
        ),
        (r) => {
          const row = r.rows[0]
          if (row === undefined) return Effect.succeed(Option.none<StoredRecord>())
          const parsed = parseDoc(key, id, row.revision, row.doc)
          return parsed instanceof StorageError ? Effect.fail(parsed) : Effect.succeed(Option.some(parsed))
        }
      )
    }

    const putRecord = (c: Collection, id: string, doc: string, expected: number | undefined) => {
      const coll = collectionName(c)
      const key = `${schema}.records/${coll}/${id}`
      const written =
        expected === undefined
          ? query<{ revision: string }>(
              key,
              `INSERT INTO ${s}.records AS r (collection, key, revision, doc) VALUES ($1, $2, 1, $3) ` +
                "ON CONFLICT (collection, key) DO UPDATE SET revision = r.revision + 1, doc = EXCLUDED.doc RETURNING revision",
              [coll, id, doc]
            )
          : expected === 0
            ? query<{ revision: string }>(
                key,
                `INSERT INTO ${s}.records (collection, key, revision, doc) VALUES ($1, $2, 1, $3) ` +
                  "ON CONFLICT (collection, key) DO NOTHING RETURNING revision",
                [coll, id, doc]
              )
            : query<{ revision: string }>(
                key,
                `UPDATE ${s}.records SET revision = revision + 1, doc = $3 ` +
                  "WHERE collection = $1 AND key = $2 AND revision = $4 RETURNING revision",
                [coll, id, doc, expected]
              )
      return Effect.flatMap(written, (r) =>
        r.rows[0] !== undefined
          ? Effect.succeed<PutResult>({ ok: true, revision: Number(r.rows[0].revision) })
          : Effect.map(
              getRecord(c, id),
              (o): PutResult => ({ ok: false, actual: Option.isSome(o) ? o.value.revision : 0 })
            )
      )
    }

    const listRecords = (c: Collection) => {
      const coll = collectionName(c)
      const key = `${schema}.records/${coll}`
      return Effect.flatMap(
        query<{ key: string; revision: string; doc: string }>(
          key,
          `SELECT key, revision, doc FROM ${s}.records WHERE collection = $1`,
          [coll]
        ),
        (r) =>
          Effect.suspend(() => {
            const out: Array<StoredRecord> = []
            for (const row of r.rows) {
              const parsed = parseDoc(`${key}/${row.key}`, row.key, row.revision, row.doc)
              if (parsed instanceof StorageError) return Effect.fail(parsed)
              out.push(parsed)
            }
            return Effect.succeed(out)
          })
      )
    }

    const removeThread = (threadId: string) =>
      transaction(`${schema}.journal/${threadId}`, async (c) => {
        await c.query(`DELETE FROM ${s}.journal_heads WHERE thread_id = $1`, [threadId])
        await c.query(`DELETE FROM ${s}.journal WHERE thread_id = $1`, [threadId])
        await c.query(`DELETE FROM ${s}.records WHERE (collection = 'thread' AND key = $1) OR collection = $2`, [
          threadId,
          `checkpoint:${threadId}`
        ])
      })

    return {
      name: "postgres",
      append,
      read,
      lastSeq,
      getRecord,
      putRecord,
      listRecords,
      removeThread
    } satisfies Backend
  })
