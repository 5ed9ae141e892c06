/**
 * The PostgreSQL backend: four tables in one schema.
 *
 * ```sql
 * store_meta    (key text primary key, value text)                 -- schemaVersion
 * journal_heads (thread_id text primary key, last_seq bigint)
 * journal       (thread_id text, seq bigint, schema_version int, frame text, primary key (thread_id, seq))
 * records       (collection text, key text, revision bigint, doc text, primary key (collection, key))
 * leases        (thread_id text primary key, token bigint, owner text, pid int, host text, expires_at bigint)
 * ```
 *
 * An append is one statement: bump the thread's head row (which locks it, so
 * concurrent appends to one thread serialize in the database) and insert the
 * frames with their seqs. It is acknowledged after the commit, which with
 * the default `synchronous_commit = on` means the WAL is fsynced. Record
 * writes are conditional `INSERT` / `UPDATE ... WHERE revision = $expected`.
 *
 * A thread's lease is its row in `leases` (kept after release: its `token`
 * is the thread's counter). Taking it is one upsert that bumps the token
 * only when the row has expired (`expires_at`, milliseconds by the server's
 * clock; 0 once released). A fenced write locks the lease row `FOR SHARE`
 * in the same statement and writes only while the token is still there, so
 * a takeover (which updates the row) and a stale write serialize.
 */

import * as Event from "@strata/protocol/Event"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Pool, PoolClient, QueryResultRow } from "pg"
import type * as StateStore from "../StateStore.js"
import type { LeaseInfo } from "../StateStore.js"
import { CorruptJournal, LeaseLost, StorageError, UnsupportedSchemaVersion } from "../StorageError.js"
import { SCHEMA_VERSION } from "../StorageSchema.js"
import type { Backend, Collection, Damaged, Fence, Leases, PutResult, StoredRecord } from "./backend.js"
import { emptyBackend } from "./backend.js"
import * as Capabilities from "./capabilities.js"
import { decodeEntry, isEntryError, makeFrameDecoder } from "./codec.js"
import { tryPromise } from "./io.js"
import { basic } from "./processInfo.js"

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
      tryPromise(key, "PostgreSQL query", () => pool.query<R>(text, values as Array<unknown>))
    const transaction = <A>(key: string, f: (client: PoolClient) => Promise<A>) =>
      tryPromise(key, "PostgreSQL transaction", async () => {
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
      })

    const settings = yield* query<{ name: string; setting: string }>(
      schema,
      "SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync')"
    )
    const setting = (name: string) => settings.rows.find((r) => r.name === name)?.setting ?? "unknown"
    const durable = setting("fsync") === "on" && setting("synchronous_commit") !== "off"
    const durability: StateStore.Durability = durable
      ? {
          level: "durable",
          detail: `a write is acknowledged at commit (synchronous_commit ${setting("synchronous_commit")}, fsync ${setting("fsync")})`
        }
      : {
          level: "volatile",
          detail: `PostgreSQL runs with synchronous_commit ${setting("synchronous_commit")}, fsync ${setting("fsync")}: acknowledged writes can be lost in a crash; set synchronous_commit = on and fsync = on`
        }
    if (options.durability === "strict" && !durable) {
      // Before anything is created.
      return yield* new StorageError({
        reason: "NotDurable",
        key: schema,
        detail: `durability = "strict" refuses this store: ${durability.detail}`
      })
    }

    if (options.readOnly === true) {
      // A read-only store creates nothing: no tables yet reads as an empty store.
      const exists = yield* query<{ t: string | null }>(schema, "SELECT to_regclass($1) AS t", [`${s}.store_meta`])
      if (exists.rows[0]?.t === null || exists.rows[0]?.t === undefined) {
        const none: StateStore.Durability = {
          level: "unknown",
          detail: `PostgreSQL schema ${schema} does not exist yet`
        }
        return emptyBackend("postgres", none, Capabilities.postgres(none))
      }
    } else
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
          `CREATE TABLE IF NOT EXISTS ${s}.leases (thread_id text PRIMARY KEY, token bigint NOT NULL, ` +
            "owner text NOT NULL, pid int, host text, expires_at bigint NOT NULL)"
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

    // Milliseconds since the epoch by the server's clock.
    const NOW = "(extract(epoch from clock_timestamp()) * 1000)::bigint"
    // The lease row of a fenced write, locked against a takeover until commit.
    const fenced = (thread: string, token: string) =>
      `(SELECT 1 FROM ${s}.leases WHERE thread_id = ${thread} AND token = ${token} AND expires_at > 0 FOR SHARE)`

    const appendSql =
      `WITH h AS (INSERT INTO ${s}.journal_heads AS jh (thread_id, last_seq) VALUES ($1, $2) ` +
      "ON CONFLICT (thread_id) DO UPDATE SET last_seq = jh.last_seq + EXCLUDED.last_seq RETURNING last_seq), " +
      `ins AS (INSERT INTO ${s}.journal (thread_id, seq, schema_version, frame) ` +
      `SELECT $1, h.last_seq - $2 + b.ord, $3, '{"seq":' || (h.last_seq - $2 + b.ord) || ',' || substr(b.body, 2) ` +
      "FROM h, unnest($4::text[]) WITH ORDINALITY AS b(body, ord) RETURNING 1) " +
      "SELECT (SELECT last_seq FROM h) - $2 + 1 AS first, (SELECT count(*) FROM ins) AS n"

    // The same statement, run only while the lease token ($5) is current.
    const fencedAppendSql =
      `WITH l AS ${fenced("$1", "$5")}, ` +
      `h AS (INSERT INTO ${s}.journal_heads AS jh (thread_id, last_seq) SELECT $1, $2 FROM l ` +
      "ON CONFLICT (thread_id) DO UPDATE SET last_seq = jh.last_seq + EXCLUDED.last_seq RETURNING last_seq), " +
      `ins AS (INSERT INTO ${s}.journal (thread_id, seq, schema_version, frame) ` +
      `SELECT $1, h.last_seq - $2 + b.ord, $3, '{"seq":' || (h.last_seq - $2 + b.ord) || ',' || substr(b.body, 2) ` +
      "FROM h, unnest($4::text[]) WITH ORDINALITY AS b(body, ord) RETURNING 1) " +
      "SELECT (SELECT last_seq FROM h) - $2 + 1 AS first, (SELECT count(*) FROM ins) AS n"

    const append = (threadId: string, bodies: ReadonlyArray<string>, fence?: number) =>
      Effect.flatMap(
        query<{ first: string | null }>(
          `${schema}.journal/${threadId}`,
          fence === undefined ? appendSql : fencedAppendSql,
          fence === undefined
            ? [threadId, bodies.length, SCHEMA_VERSION, bodies]
            : [threadId, bodies.length, SCHEMA_VERSION, bodies, fence]
        ),
        (r) => {
          const first = r.rows[0]?.first
          return first === null || first === undefined
            ? Effect.fail(
                new LeaseLost({
                  threadId,
                  token: fence ?? 0,
                  detail: "a newer lease was issued, or this one was released"
                })
              )
            : Effect.succeed(Number(first))
        }
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
                const frame = decodeEntry(decode, threadId, row.schema_version, row.frame, key, seq)
                if (isEntryError(frame)) return Effect.fail(frame)
                out.push(frame)
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

    const putRecord = (c: Collection, id: string, doc: string, expected: number | undefined, fence?: Fence) => {
      const coll = collectionName(c)
      const key = `${schema}.records/${coll}/${id}`
      // $1 collection, $2 key, $3 doc, then the expected revision and the fence, numbered as they come.
      const values: Array<unknown> = [coll, id, doc]
      const param = (v: unknown) => {
        values.push(v)
        return `$${values.length}`
      }
      const revision = expected !== undefined && expected !== 0 ? param(expected) : ""
      const guard = fence === undefined ? "" : `EXISTS ${fenced(param(fence.threadId), param(fence.token))}`
      const source = `SELECT $1, $2, 1, $3${guard === "" ? "" : ` WHERE ${guard}`}`
      const written =
        expected === undefined
          ? query<{ revision: string }>(
              key,
              `INSERT INTO ${s}.records AS r (collection, key, revision, doc) ${source} ` +
                "ON CONFLICT (collection, key) DO UPDATE SET revision = r.revision + 1, doc = EXCLUDED.doc RETURNING revision",
              values
            )
          : expected === 0
            ? query<{ revision: string }>(
                key,
                `INSERT INTO ${s}.records (collection, key, revision, doc) ${source} ` +
                  "ON CONFLICT (collection, key) DO NOTHING RETURNING revision",
                values
              )
            : query<{ revision: string }>(
                key,
                `UPDATE ${s}.records SET revision = revision + 1, doc = $3 ` +
                  `WHERE collection = $1 AND key = $2 AND revision = ${revision}${guard === "" ? "" : ` AND ${guard}`} RETURNING revision`,
                values
              )
      return Effect.flatMap(written, (r) =>
        r.rows[0] !== undefined
          ? Effect.succeed<PutResult>({ ok: true, revision: Number(r.rows[0].revision) })
          : Effect.gen(function* () {
              const actual = Option.match(yield* getRecord(c, id), { onNone: () => 0, onSome: (o) => o.revision })
              if (fence !== undefined) {
                const held = yield* query(
                  key,
                  `SELECT 1 FROM ${s}.leases WHERE thread_id = $1 AND token = $2 AND expires_at > 0`,
                  [fence.threadId, fence.token]
                )
                if (held.rows.length === 0) return { ok: false, actual, lost: true } satisfies PutResult
              }
              return { ok: false, actual } satisfies PutResult
            })
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
            const records: Array<StoredRecord> = []
            const damaged: Array<Damaged> = []
            for (const row of r.rows) {
              const parsed = parseDoc(`${key}/${row.key}`, row.key, row.revision, row.doc)
              if (parsed instanceof StorageError) damaged.push({ key: row.key, error: parsed })
              else records.push(parsed)
            }
            return Effect.succeed({ records, damaged })
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

    const self = basic()
    const leaseKey = (threadId: string) => `${schema}.leases/${threadId}`
    const leases: Leases = {
      acquire: (threadId, request) =>
        Effect.gen(function* () {
          for (let attempt = 0; attempt < 3; attempt++) {
            const taken = yield* query<{ token: string; expires_at: string }>(
              leaseKey(threadId),
              `INSERT INTO ${s}.leases AS l (thread_id, token, owner, pid, host, expires_at) ` +
                `VALUES ($1, 1, $2, $3, NULL, ${NOW} + $4) ON CONFLICT (thread_id) DO UPDATE SET ` +
                "token = l.token + 1, owner = EXCLUDED.owner, pid = EXCLUDED.pid, host = EXCLUDED.host, " +
                `expires_at = EXCLUDED.expires_at WHERE l.expires_at <= ${NOW} RETURNING token, expires_at`,
              [threadId, request.owner, self.pid > 0 ? self.pid : null, request.ttlMs]
            )
            const row = taken.rows[0]
            if (row !== undefined)
              return { ok: true, token: Number(row.token), expiresAt: Number(row.expires_at) } as const
            const held = yield* current(threadId)
            if (Option.isSome(held)) return { ok: false, holder: held.value } as const
            // Released or expired in between: try again.
          }
          return yield* new StorageError({
            reason: "Conflict",
            key: leaseKey(threadId),
            detail: "the lease changed hands three times while taking it"
          })
        }),
      renew: (threadId, token, ttlMs) =>
        Effect.map(
          query<{ expires_at: string }>(
            leaseKey(threadId),
            `UPDATE ${s}.leases SET expires_at = ${NOW} + $3 WHERE thread_id = $1 AND token = $2 AND expires_at > 0 ` +
              "RETURNING expires_at",
            [threadId, token, ttlMs]
          ),
          (r) => (r.rows[0] === undefined ? Option.none() : Option.some(Number(r.rows[0].expires_at)))
        ),
      release: (threadId, token) =>
        Effect.asVoid(
          query(leaseKey(threadId), `UPDATE ${s}.leases SET expires_at = 0 WHERE thread_id = $1 AND token = $2`, [
            threadId,
            token
          ])
        ),
      current: (threadId) => current(threadId)
    }
    function current(threadId: string) {
      return Effect.map(
        query<{ token: string; owner: string; pid: number | null; host: string | null; expires_at: string }>(
          leaseKey(threadId),
          `SELECT token, owner, pid, host, expires_at FROM ${s}.leases WHERE thread_id = $1 AND expires_at > ${NOW}`,
          [threadId]
        ),
        (r) => {
          const row = r.rows[0]
          if (row === undefined) return Option.none<LeaseInfo>()
          return Option.some<LeaseInfo>({
            token: Number(row.token),
            owner: row.owner,
            ...(row.pid === null ? {} : { pid: row.pid }),
            ...(row.host === null ? {} : { host: row.host }),
            expiresAt: Number(row.expires_at)
          })
        }
      )
    }

    return {
      name: "postgres",
      durability,
      capabilities: Capabilities.postgres(durability),
      leases,
      append,
      read,
      lastSeq,
      getRecord,
      putRecord,
      listRecords,
      removeThread
    } satisfies Backend
  })
