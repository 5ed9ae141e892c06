/**
 * A backend over any unstorage `Storage`. One key per journal entry
 * (`j:<thread>:<seq, 12 digits>`), one key per record (`r:<kind>:...`),
 * values as `v<version> <json>` and `<revision> <document>` text. The head of
 * each journal is found by listing its keys once and then cached; appends and
 * compare-and-set writes are serialized in this process only.
 */
import * as Event from "@strata/protocol/Event"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Storage } from "unstorage"
import type * as StateStore from "../StateStore.js"
import { CorruptJournal, LeaseLost, StorageError, UnsupportedSchemaVersion } from "../StorageError.js"
import { SCHEMA_VERSION } from "../StorageSchema.js"
import type { Backend, Collection, Damaged, Fence, PutResult, StoredRecord } from "./backend.js"
import { withSeq } from "./backend.js"
import {
  decodeEntry,
  isEntryError,
  makeFrameDecoder,
  parseTaggedRecord,
  tagRevision,
  tagVersion,
  untagVersion
} from "./codec.js"
import * as InProcessLeases from "./inProcessLeases.js"
import { tryPromise as use } from "./io.js"
import { makeStripedLock } from "./locks.js"

const PAGE = 256
const FORMAT_KEY = "format"

const pad = (seq: number) => String(seq).padStart(12, "0")
const journalKey = (threadId: string, seq: number) => `j:${threadId}:${pad(seq)}`

const recordPrefix = (c: Collection): string => (c.kind === "checkpoint" ? `r:checkpoint:${c.threadId}` : `r:${c.kind}`)

interface JournalState {
  readonly mutex: Effect.Semaphore
  head: number | undefined
}

/** A backend over `storage`. */
export const make = (
  storage: Storage,
  name: string,
  options: StateStore.StoreOptions = {}
): Effect.Effect<Backend, StorageError | UnsupportedSchemaVersion> =>
  Effect.gen(function* () {
    const format = yield* use(FORMAT_KEY, "read", () => storage.getItem(FORMAT_KEY))
    if (format === null || format === undefined) {
      yield* use(FORMAT_KEY, "write", () => storage.setItem(FORMAT_KEY, tagVersion(SCHEMA_VERSION, '"strata-store"')))
    } else {
      const tagged = typeof format === "string" ? untagVersion(format) : undefined
      if (tagged === undefined) {
        return yield* new StorageError({ reason: "Corrupt", key: FORMAT_KEY, detail: "not a Strata store marker" })
      }
      if (tagged.version > SCHEMA_VERSION) {
        return yield* new UnsupportedSchemaVersion({
          key: FORMAT_KEY,
          found: tagged.version,
          supported: SCHEMA_VERSION
        })
      }
    }

    const decode = makeFrameDecoder(options.migrations ?? [], Event.EventFrame)
    const journals = new Map<string, JournalState>()
    const journal = (threadId: string): JournalState => {
      let s = journals.get(threadId)
      if (s === undefined) journals.set(threadId, (s = { mutex: Effect.unsafeMakeSemaphore(1), head: undefined }))
      return s
    }
    const recordLock = makeStripedLock()
    const { leases, holds } = InProcessLeases.make()
    const lostError = (threadId: string, token: number) =>
      new LeaseLost({ threadId, token, detail: "a newer lease was issued, or this one was released" })

    const scanHead = (threadId: string) =>
      Effect.map(
        use(`j:${threadId}`, "list", () => storage.getKeys(`j:${threadId}`)),
        (keys) => {
          let head = 0
          for (const k of keys) {
            const n = Number(k.slice(k.lastIndexOf(":") + 1))
            if (Number.isSafeInteger(n) && n > head) head = n
          }
          return head
        }
      )

    const head = (threadId: string, s: JournalState) =>
      s.head !== undefined
        ? Effect.succeed(s.head)
        : Effect.tap(scanHead(threadId), (h) => {
            s.head = h
          })

    const lastSeq = (threadId: string) => {
      const s = journal(threadId)
      return s.head !== undefined ? Effect.succeed(s.head) : s.mutex.withPermits(1)(head(threadId, s))
    }

    const append = (threadId: string, bodies: ReadonlyArray<string>, fence?: number) => {
      const s = journal(threadId)
      return s.mutex.withPermits(1)(
        Effect.gen(function* () {
          if (fence !== undefined && !holds(threadId, fence)) return yield* lostError(threadId, fence)
          const h = yield* head(threadId, s)
          const items = bodies.map((body, i) => ({
            key: journalKey(threadId, h + 1 + i),
            value: tagVersion(SCHEMA_VERSION, withSeq(h + 1 + i, body))
          }))
          yield* use(`j:${threadId}`, "append", () => storage.setItems(items))
          s.head = h + bodies.length
          return h + 1
        })
      )
    }

    const readPage = (threadId: string, from: number, to: number) =>
      Effect.flatMap(
        use(`j:${threadId}`, "read", () =>
          storage.getItems(Array.from({ length: to - from + 1 }, (_, i) => journalKey(threadId, from + i)))
        ),
        (items) =>
          Effect.suspend(() => {
            const byKey = new Map(items.map((i) => [i.key, i.value]))
            const out: Array<Event.EventFrame> = []
            for (let seq = from; seq <= to; seq++) {
              const key = journalKey(threadId, seq)
              const value = byKey.get(key)
              const tagged = typeof value === "string" ? untagVersion(value) : undefined
              if (tagged === undefined) {
                const detail =
                  value === null || value === undefined ? "entry is missing" : "entry is not a journal record"
                return Effect.fail(new CorruptJournal({ threadId, file: key, offset: seq - 1, detail }))
              }
              const frame = decodeEntry(decode, threadId, tagged.version, tagged.json, key, seq)
              if (isEntryError(frame)) return Effect.fail(frame)
              out.push(frame)
            }
            return Effect.succeed(Chunk.unsafeFromArray(out))
          })
      )

    const read = (threadId: string, fromSeq: number, limit: number) =>
      Stream.unwrap(
        Effect.map(lastSeq(threadId), (h) => {
          const last = Math.min(h, fromSeq + limit - 1)
          return Stream.paginateChunkEffect(fromSeq, (from) =>
            from > last
              ? Effect.succeed([Chunk.empty<Event.EventFrame>(), Option.none<number>()] as const)
              : Effect.map(readPage(threadId, from, Math.min(last, from + PAGE - 1)), (chunk) => {
                  const next = from + PAGE
                  return [chunk, next > last ? Option.none<number>() : Option.some(next)] as const
                })
          )
        })
      )

    const readRecord = (c: Collection, id: string) => {
      const key = `${recordPrefix(c)}:${id}`
      return Effect.flatMap(
        use(key, "read", () => storage.getItem(key)),
        (value) => {
          if (value === null || value === undefined) return Effect.succeed(Option.none<StoredRecord>())
          const parsed = parseTaggedRecord(id, key, value)
          return parsed instanceof StorageError ? Effect.fail(parsed) : Effect.succeed(Option.some(parsed))
        }
      )
    }

    // A driver may write in place (the fs driver truncates, then writes): a
    // read never overlaps a write of the same record in this process.
    const getRecord = (c: Collection, id: string) => recordLock(`${recordPrefix(c)}:${id}`, readRecord(c, id))

    const putRecord = (c: Collection, id: string, doc: string, expected: number | undefined, fence?: Fence) => {
      const key = `${recordPrefix(c)}:${id}`
      return recordLock(
        key,
        Effect.gen(function* () {
          const current = yield* readRecord(c, id)
          const actual = Option.match(current, { onNone: () => 0, onSome: (r) => r.revision })
          if (fence !== undefined && !holds(fence.threadId, fence.token)) {
            return { ok: false, actual, lost: true } satisfies PutResult
          }
          if (expected !== undefined && expected !== actual) return { ok: false, actual } satisfies PutResult
          yield* use(key, "write", () => storage.setItem(key, tagRevision(actual + 1, doc)))
          return { ok: true, revision: actual + 1 } satisfies PutResult
        })
      )
    }

    const listRecords = (c: Collection) => {
      const prefix = recordPrefix(c)
      return Effect.gen(function* () {
        const keys = (yield* use(prefix, "list", () => storage.getKeys(prefix))).filter(
          (k) => k.lastIndexOf(":") === prefix.length
        )
        const items = yield* use(prefix, "read", () => storage.getItems(keys))
        const records: Array<StoredRecord> = []
        const damaged: Array<Damaged> = []
        for (const item of items) {
          if (item.value === null || item.value === undefined) continue
          const id = item.key.slice(prefix.length + 1)
          const parsed = parseTaggedRecord(id, item.key, item.value)
          if (parsed instanceof StorageError) damaged.push({ key: id, error: parsed })
          else records.push(parsed)
        }
        return { records, damaged }
      })
    }

    const removeThread = (threadId: string) => {
      const s = journal(threadId)
      return s.mutex.withPermits(1)(
        Effect.gen(function* () {
          const keys = [
            ...(yield* use(`j:${threadId}`, "list", () => storage.getKeys(`j:${threadId}`))),
            ...(yield* use(`r:checkpoint:${threadId}`, "list", () => storage.getKeys(`r:checkpoint:${threadId}`))),
            `r:thread:${threadId}`
          ]
          yield* Effect.forEach(keys, (k) => use(k, "remove", () => storage.removeItem(k)), { discard: true })
          s.head = 0
        })
      )
    }

    const durability: StateStore.Durability =
      name === "memory"
        ? { level: "volatile", detail: "the memory store keeps nothing once the process ends" }
        : {
            level: "unknown",
            detail: "an unstorage driver: acknowledged writes are as durable as the driver makes them"
          }
    return {
      name,
      durability,
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
