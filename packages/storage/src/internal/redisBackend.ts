/**
 * The Redis backend. Keys under a prefix `P`:
 *
 * ```
 * P:format                 "v1 strata-store"
 * P:j:<thread>             list: entry i is seq i+1, "v<version> <frame json>"
 * P:r:thread               hash: thread id -> "<revision> <document>"
 * P:r:checkpoint:<thread>  hash: checkpoint id -> "<revision> <document>"
 * P:r:job / P:r:approval   hash: id -> "<revision> <document>"
 * P:l:<thread>             string with PX expiry: "<token> <holder json>", the thread's lease
 * P:lt:<thread>            integer: the thread's last lease token (INCR)
 * ```
 *
 * Appends are one Lua script (read the length, push the frames with their
 * seqs), so they are atomic and gap-free across every process sharing the
 * server; record writes are a compare-and-set script. A lease is `SET NX PX`
 * with its token from `INCR`; renewal, release and fenced writes compare the
 * token inside their script. ioredis is loaded lazily, when the layer is built.
 */

import * as Event from "@strata/protocol/Event"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Redis } from "ioredis"
import type * as StateStore from "../StateStore.js"
import type { LeaseInfo } from "../StateStore.js"
import { CorruptJournal, LeaseLost, StorageError, UnsupportedSchemaVersion } from "../StorageError.js"
import { SCHEMA_VERSION } from "../StorageSchema.js"
import type { Backend, Collection, Damaged, Fence, Leases, PutResult, StoredRecord } from "./backend.js"
import * as Capabilities from "./capabilities.js"
import { decodeEntry, isEntryError, makeFrameDecoder, parseTaggedRecord, tagVersion, untagVersion } from "./codec.js"
import { tryPromise } from "./io.js"
import { basic } from "./processInfo.js"

const PAGE = 1000

// The token of a lease value "<token> <json>", or nil.
const TOKEN_OF = `local function token_of(v) if v then return tonumber(string.match(v, '^(%d+) ')) end return nil end`

// KEYS[1] journal, KEYS[2] lease; ARGV[1] version tag, ARGV[2] fence token
// ('' for none), ARGV[3..] bodies. Returns the first seq, or 0 when fenced out.
const APPEND = `
${TOKEN_OF}
if ARGV[2] ~= '' and token_of(redis.call('GET', KEYS[2])) ~= tonumber(ARGV[2]) then return 0 end
local n = redis.call('LLEN', KEYS[1])
local tag = ARGV[1]
local batch = {}
for i = 3, #ARGV do
  batch[#batch + 1] = tag .. '{"seq":' .. string.format('%d', n + i - 2) .. ',' .. string.sub(ARGV[i], 2)
  if #batch == 1000 then
    redis.call('RPUSH', KEYS[1], unpack(batch))
    batch = {}
  end
end
if #batch > 0 then redis.call('RPUSH', KEYS[1], unpack(batch)) end
return n + 1
`

// KEYS[1] hash, KEYS[2] lease (fenced writes); ARGV: field, expected revision
// ('' for any), document, fence token ('' for none). Returns the new
// revision, -(actual revision) - 1 when the expected one does not match, or
// 0 when fenced out.
const PUT = `
${TOKEN_OF}
if ARGV[4] ~= '' and token_of(redis.call('GET', KEYS[2])) ~= tonumber(ARGV[4]) then return 0 end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local rev = 0
if cur then rev = tonumber(string.match(cur, '^(%d+) ')) or 0 end
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= rev then return -rev - 1 end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', rev + 1) .. ' ' .. ARGV[3])
return rev + 1
`

// KEYS[1] lease, KEYS[2] token counter; ARGV: holder json, ttl ms.
// Returns {token, pttl} when taken, {0, value, pttl} when held.
const LEASE_ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur then return {0, cur, redis.call('PTTL', KEYS[1])} end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], string.format('%d', token) .. ' ' .. ARGV[1], 'PX', ARGV[2])
return {token, '', tonumber(ARGV[2])}
`

// KEYS[1] lease; ARGV: token, ttl ms. 1 when renewed, 0 when not ours.
const LEASE_RENEW = `
${TOKEN_OF}
if token_of(redis.call('GET', KEYS[1])) ~= tonumber(ARGV[1]) then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`

// KEYS[1] lease; ARGV: token.
const LEASE_RELEASE = `
${TOKEN_OF}
if token_of(redis.call('GET', KEYS[1])) == tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]) end
return 1
`

interface Scripted extends Redis {
  strataAppend(journal: string, lease: string, ...args: Array<string>): Promise<number>
  strataPut(hash: string, lease: string, field: string, expected: string, doc: string, fence: string): Promise<number>
  strataLeaseAcquire(lease: string, counter: string, holder: string, ttl: string): Promise<[number, string, number]>
  strataLeaseRenew(lease: string, token: string, ttl: string): Promise<number>
  strataLeaseRelease(lease: string, token: string): Promise<number>
}

/** Builds the backend on a connected client. */
export const make = (
  client: Redis,
  prefix: string,
  durability: StateStore.Durability,
  options: StateStore.StoreOptions = {}
): Effect.Effect<Backend, StorageError | UnsupportedSchemaVersion> =>
  Effect.gen(function* () {
    const use = <A>(key: string, action: string, f: () => Promise<A>): Effect.Effect<A, StorageError> =>
      tryPromise(key, `Redis ${action}`, f)

    const redis = client as Scripted
    if (typeof redis.strataLeaseAcquire !== "function") {
      client.defineCommand("strataAppend", { numberOfKeys: 2, lua: APPEND })
      client.defineCommand("strataPut", { numberOfKeys: 2, lua: PUT })
      client.defineCommand("strataLeaseAcquire", { numberOfKeys: 2, lua: LEASE_ACQUIRE })
      client.defineCommand("strataLeaseRenew", { numberOfKeys: 1, lua: LEASE_RENEW })
      client.defineCommand("strataLeaseRelease", { numberOfKeys: 1, lua: LEASE_RELEASE })
    }

    const formatKey = `${prefix}:format`
    const format = yield* use(formatKey, "GET", () => client.get(formatKey))
    if (format === null) {
      // A read-only store writes nothing: a missing marker reads as an empty store.
      if (options.readOnly !== true) {
        yield* use(formatKey, "SET", () => client.set(formatKey, tagVersion(SCHEMA_VERSION, "strata-store"), "NX"))
      }
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

    const leaseKey = (threadId: string) => `${prefix}:l:${threadId}`
    const lostError = (threadId: string, token: number) =>
      new LeaseLost({ threadId, token, detail: "a newer lease was issued, or this one expired or was released" })

    const append = (threadId: string, bodies: ReadonlyArray<string>, fence?: number) => {
      const key = journalKey(threadId)
      return Effect.flatMap(
        use(key, "append", () =>
          redis.strataAppend(key, leaseKey(threadId), versionTag, fence === undefined ? "" : String(fence), ...bodies)
        ),
        (first) =>
          first === 0 && fence !== undefined ? Effect.fail(lostError(threadId, fence)) : Effect.succeed(first)
      )
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
                const frame = decodeEntry(decode, threadId, tagged.version, tagged.json, key, seq)
                if (isEntryError(frame)) return Effect.fail(frame)
                out.push(frame)
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

    const putRecord = (c: Collection, id: string, doc: string, expected: number | undefined, fence?: Fence) => {
      const key = hashKey(c)
      const lease = fence === undefined ? `${prefix}:l:-` : leaseKey(fence.threadId)
      return Effect.map(
        use(key, "put", () =>
          redis.strataPut(
            key,
            lease,
            id,
            expected === undefined ? "" : String(expected),
            doc,
            fence === undefined ? "" : String(fence.token)
          )
        ),
        (r): PutResult =>
          r > 0
            ? { ok: true, revision: r }
            : r === 0
              ? { ok: false, actual: 0, lost: true }
              : { ok: false, actual: -r - 1 }
      )
    }

    const listRecords = (c: Collection) => {
      const key = hashKey(c)
      return Effect.flatMap(
        use(key, "HGETALL", () => client.hgetall(key)),
        (all) =>
          Effect.suspend(() => {
            const records: Array<StoredRecord> = []
            const damaged: Array<Damaged> = []
            for (const [id, value] of Object.entries(all)) {
              const parsed = parseTaggedRecord(id, `${key}/${id}`, value)
              if (parsed instanceof StorageError) damaged.push({ key: id, error: parsed })
              else records.push(parsed)
            }
            return Effect.succeed({ records, damaged })
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

    const holderOf = (value: string, pttl: number, now: number): LeaseInfo | undefined => {
      const space = value.indexOf(" ")
      try {
        const h = JSON.parse(value.slice(space + 1)) as { owner?: unknown; pid?: unknown; host?: unknown }
        return {
          token: Number(value.slice(0, space)),
          owner: typeof h.owner === "string" ? h.owner : "unknown",
          ...(typeof h.pid === "number" ? { pid: h.pid } : {}),
          ...(typeof h.host === "string" ? { host: h.host } : {}),
          expiresAt: now + Math.max(pttl, 0)
        }
      } catch {
        return undefined
      }
    }
    const self = basic()

    const leases: Leases = {
      acquire: (threadId, request) =>
        Effect.gen(function* () {
          const key = leaseKey(threadId)
          const holder = JSON.stringify({ owner: request.owner, pid: self.pid })
          const [token, value, pttl] = yield* use(key, "lease", () =>
            redis.strataLeaseAcquire(key, `${prefix}:lt:${threadId}`, holder, String(request.ttlMs))
          )
          const now = yield* Clock.currentTimeMillis
          if (token > 0) return { ok: true, token, expiresAt: now + pttl } as const
          const info = holderOf(value, pttl, now)
          if (info === undefined) {
            return yield* new StorageError({ reason: "Corrupt", key, detail: "the lease value is not a Strata lease" })
          }
          return { ok: false, holder: info } as const
        }),
      renew: (threadId, token, ttlMs) =>
        Effect.gen(function* () {
          const key = leaseKey(threadId)
          const ok = yield* use(key, "lease renewal", () => redis.strataLeaseRenew(key, String(token), String(ttlMs)))
          return ok === 1 ? Option.some((yield* Clock.currentTimeMillis) + ttlMs) : Option.none()
        }),
      release: (threadId, token) =>
        Effect.asVoid(
          use(leaseKey(threadId), "lease release", () => redis.strataLeaseRelease(leaseKey(threadId), String(token)))
        ),
      current: (threadId) =>
        Effect.gen(function* () {
          const key = leaseKey(threadId)
          const [[, value], [, pttl]] = (yield* use(key, "lease read", () =>
            client.multi().get(key).pttl(key).exec()
          )) as [[unknown, string | null], [unknown, number]]
          if (value === null) return Option.none()
          return Option.fromNullable(holderOf(value, pttl, yield* Clock.currentTimeMillis))
        })
    }

    return {
      name: "redis",
      durability,
      capabilities: Capabilities.redis(durability),
      append,
      read,
      lastSeq,
      getRecord,
      putRecord,
      listRecords,
      removeThread,
      leases
    } satisfies Backend
  })
