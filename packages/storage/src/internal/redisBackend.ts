/**
 * The Redis backend. Keys under a prefix `P`:
 *
 * ```
 * P:format                 "v1 strata-store"
 * P:j:<thread>             list: entry i is seq i+1, "v<version> <frame json>"
 * P:r:thread               hash: thread id -> "<revision> <document>"
 * P:r:checkpoint:<thread>  hash: checkpoint id -> "<revision> <document>"
 * P:r:job / P:r:approval   hash: id -> "<revision> <document>"
 * ```
 *
 * Appends are one Lua script (read the length, push the frames with their
 * seqs), so they are atomic and gap-free across every process sharing the
 * server; record writes are a compare-and-set script. ioredis is loaded
 * lazily, when the layer is built.
 */
import * as Event from "@strata/protocol/Event"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Redis } from "ioredis"
import type * as StateStore from "../StateStore.js"
import { CorruptJournal, describe, StorageError, UnsupportedSchemaVersion } from "../StorageError.js"
import { SCHEMA_VERSION } from "../StorageSchema.js"
import type { Backend, Collection, PutResult, StoredRecord } from "./backend.js"
import { checkSeq, makeFrameDecoder, parseTaggedRecord, tagVersion, untagVersion } from "./codec.js"

const PAGE = 1000

const APPEND = `
local n = redis.call('LLEN', KEYS[1])
local tag = ARGV[1]
local batch = {}
for i = 2, #ARGV do
  batch[#batch + 1] = tag .. '{"seq":' .. string.format('%d', n + i - 1) .. ',' .. string.sub(ARGV[i], 2)
  if #batch == 1000 then
    redis.call('RPUSH', KEYS[1], unpack(batch))
    batch = {}
  end
end
if #batch > 0 then redis.call('RPUSH', KEYS[1], unpack(batch)) end
return n + 1
`

// Returns the new revision, or -(actual revision) - 1 when the expected one
// (ARGV[2], empty for "any") does not match.
const PUT = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local rev = 0
if cur then rev = tonumber(string.match(cur, '^(%d+) ')) or 0 end
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= rev then return -rev - 1 end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', rev + 1) .. ' ' .. ARGV[3])
return rev + 1
`

interface Scripted extends Redis {
  strataAppend(key: string, ...args: Array<string>): Promise<number>
  strataPut(key: string, field: string, expected: string, doc: string): Promise<number>
}

/** Builds the backend on a connected client. */
export const make = (
  client: Redis,
  prefix: string,
  options: StateStore.StoreOptions = {}
): Effect.Effect<Backend, StorageError | UnsupportedSchemaVersion> =>
  Effect.gen(function* () {
    const use = <A>(key: string, action: string, f: () => Promise<A>): Effect.Effect<A, StorageError> =>
      Effect.tryPromise({
        try: f,
        catch: (cause) =>
          new StorageError({ reason: "Unavailable", key, detail: `Redis ${action} failed: ${describe(cause)}`, cause })
      })

    const redis = client as Scripted
    if (typeof redis.strataAppend !== "function") {
      client.defineCommand("strataAppend", { numberOfKeys: 1, lua: APPEND })
      client.defineCommand("strataPut", { numberOfKeys: 1, lua: PUT })
    }

    const formatKey = `${prefix}:format`
    const format = yield* use(formatKey, "GET", () => client.get(formatKey))
    if (format === null) {
      yield* use(formatKey, "SET", () => client.set(formatKey, tagVersion(SCHEMA_VERSION, "strata-store"), "NX"))
    } else {
      const tagged = untagVersion(format)
      if (tagged === undefined || tagged.json !== "strata-store") {
        return yield* new StorageError({ reason: "Corrupt", key: formatKey, detail: "not a Strata store marker" })
      }
      if (tagged.version > SCHEMA_VERSION) {
        return yield* new UnsupportedSchemaVersion({ key: formatKey, found: tagged.version, supported: SCHEMA_VERSION })
      }
    }

    const decode = makeFrameDecoder(options.migrations ?? [], Event.EventFrame)
    const journalKey = (threadId: string) => `${prefix}:j:${threadId}`
    const hashKey = (c: Collection) =>
      c.kind === "checkpoint" ? `${prefix}:r:checkpoint:${c.threadId}` : `${prefix}:r:${c.kind}`
    const versionTag = `v${SCHEMA_VERSION} `

    const append = (threadId: string, bodies: ReadonlyArray<string>) => {
      const key = journalKey(threadId)
      return use(key, "append", () => redis.strataAppend(key, versionTag, ...bodies))
    }

    const lastSeq = (threadId: string) => {
      const key = journalKey(threadId)
      return use(key, "LLEN", () => client.llen(key))
    }

    const read = (threadId: string, fromSeq: number, limit: number) => {
      const key = journalKey(threadId)
      const last = fromSeq + limit - 1
      if (last < fromSeq) return Stream.empty
      return Stream.paginateChunkEffect(fromSeq, (from) => {
        const to = Math.min(last, from + PAGE - 1)
        return Effect.flatMap(
          use(key, "LRANGE", () => client.lrange(key, from - 1, to - 1)),
          (entries) =>
            Effect.suspend(() => {
              const out: Array<Event.EventFrame> = []
              for (let i = 0; i < entries.length; i++) {
                const seq = from + i
                const tagged = untagVersion(entries[i]!)
                if (tagged === undefined) {
                  return Effect.fail(
                    new CorruptJournal({
                      threadId,
                      file: key,
                      offset: seq - 1,
                      detail: "entry is not a journal record"
                    })
                  )
                }
                const frame = decode(threadId, tagged.version, tagged.json, key, seq - 1)
                if (frame instanceof CorruptJournal || frame instanceof UnsupportedSchemaVersion)
                  return Effect.fail(frame)
                const checked = checkSeq(frame, seq, threadId, key, seq - 1)
                if (checked instanceof CorruptJournal) return Effect.fail(checked)
                out.push(checked)
              }
              const next = from + entries.length
              const more = entries.length === to - from + 1 && next <= last
              return Effect.succeed([Chunk.unsafeFromArray(out), more ? Option.some(next) : Option.none()] as const)
            })
        )
      })
    }

    const getRecord = (c: Collection, id: string) => {
      const key = hashKey(c)
      return Effect.flatMap(
        use(key, "HGET", () => client.hget(key, id)),
        (value) => {
          if (value === null) return Effect.succeed(Option.none<StoredRecord>())
          const parsed = parseTaggedRecord(id, `${key}/${id}`, value)
          return parsed instanceof StorageError ? Effect.fail(parsed) : Effect.succeed(Option.some(parsed))
        }
      )
    }

    const putRecord = (c: Collection, id: string, doc: string, expected: number | undefined) => {
      const key = hashKey(c)
      return Effect.map(
        use(key, "put", () => redis.strataPut(key, id, expected === undefined ? "" : String(expected), doc)),
        (r): PutResult => (r > 0 ? { ok: true, revision: r } : { ok: false, actual: -r - 1 })
      )
    }

    const listRecords = (c: Collection) => {
      const key = hashKey(c)
      return Effect.flatMap(
        use(key, "HGETALL", () => client.hgetall(key)),
        (all) =>
          Effect.suspend(() => {
            const out: Array<StoredRecord> = []
            for (const [id, value] of Object.entries(all)) {
              const parsed = parseTaggedRecord(id, `${key}/${id}`, value)
              if (parsed instanceof StorageError) return Effect.fail(parsed)
              out.push(parsed)
            }
            return Effect.succeed(out)
          })
      )
    }

    const removeThread = (threadId: string) =>
      use(journalKey(threadId), "remove", () =>
        client
          .multi()
          .del(journalKey(threadId), hashKey({ kind: "checkpoint", threadId }))
          .hdel(hashKey({ kind: "thread" }), threadId)
          .exec()
      ).pipe(Effect.asVoid)

    return { name: "redis", append, read, lastSeq, getRecord, putRecord, listRecords, removeThread } satisfies Backend
  })
