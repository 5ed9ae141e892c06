/**
 * A backend over any unstorage `Storage`, crash-tolerant on drivers that
 * only offer single-key writes, none of them atomic (the fs driver truncates
 * a file, then writes it).
 *
 * Layout (`format` = `v1 "strata-store/kv2"`):
 *
 * - `j:<thread>:<seq, 12 digits>`: one journal entry, `v<version> <json>`.
 * - `h:<thread>:a|b`: the journal's committed head, in two alternating
 *   slots, `<generation> <head> <crc32>`. An append writes its entries first
 *   and is acknowledged only once the next slot is written; a reader takes
 *   the valid slot of the highest generation and ignores every entry beyond
 *   its head (an append that never committed), which the next writer
 *   removes. A torn slot fails its checksum, and the other slot, the
 *   previous head, wins.
 * - `s:<kind>:<id>:a|b` (`s:checkpoint:<thread>:<id>:a|b`): a record in two
 *   slots, revision `r` in slot `r % 2`, `<revision> <crc32> <document>`: a
 *   torn write of revision `r + 1` leaves revision `r` readable.
 * - `writer`: the one process that may write (see `writerLock.ts`), unless
 *   the driver is process-local (memory).
 *
 * A store written with the first layout (marker `v1 "strata-store"`: records
 * under `r:`, no heads) is upgraded by the first writer that opens it; the
 * upgrade is idempotent, so a crash during it is repaired by the next one.
 */
import * as Event from "@strata/protocol/Event"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Storage } from "unstorage"
import type * as StateStore from "../StateStore.js"
import { CorruptJournal, LeaseLost, StorageError, UnsupportedSchemaVersion } from "../StorageError.js"
import { SCHEMA_VERSION } from "../StorageSchema.js"
import type { Backend, Collection, Damaged, Fence, PutResult, StoredRecord } from "./backend.js"
import { emptyBackend, withSeq } from "./backend.js"
import { decodeEntry, isEntryError, makeFrameDecoder, tagVersion, untagVersion } from "./codec.js"
import { crc32 } from "./crc32.js"
import * as InProcessLeases from "./inProcessLeases.js"
import { tryPromise as use } from "./io.js"
import { makeStripedLock } from "./locks.js"
import * as WriterLock from "./writerLock.js"

const PAGE = 256
const FORMAT_KEY = "format"
const MARKER = '"strata-store/kv2"'
const LEGACY_MARKER = '"strata-store"'
const SLOTS = ["a", "b"] as const

const pad = (seq: number) => String(seq).padStart(12, "0")
const journalPrefix = (threadId: string) => `j:${threadId}`
const journalKey = (threadId: string, seq: number) => `j:${threadId}:${pad(seq)}`
const headKey = (threadId: string, slot: number) => `h:${threadId}:${SLOTS[slot]}`
const recordPrefix = (c: Collection): string => (c.kind === "checkpoint" ? `s:checkpoint:${c.threadId}` : `s:${c.kind}`)
const slotKey = (prefix: string, id: string, slot: number) => `${prefix}:${id}:${SLOTS[slot]}`

const encoder = new TextEncoder()
const checksum = (text: string): string => crc32(encoder.encode(text)).toString(16).padStart(8, "0")

/** `<gen> <head> <crc>`: a head slot. */
export const encodeHead = (gen: number, head: number) => `${gen} ${head} ${checksum(`${gen} ${head}`)}`

type Slot<A> = { readonly state: "absent" } | { readonly state: "torn" } | { readonly state: "ok"; readonly value: A }

const decodeHead = (value: unknown): Slot<{ readonly gen: number; readonly head: number }> => {
  if (value === null || value === undefined) return { state: "absent" }
  const parts = String(value).split(" ")
  if (parts.length !== 3) return { state: "torn" }
  const [g, h, c] = parts as [string, string, string]
  const gen = Number(g)
  const head = Number(h)
  if (!Number.isSafeInteger(gen) || !Number.isSafeInteger(head) || head < 0 || checksum(`${g} ${h}`) !== c) {
    return { state: "torn" }
  }
  return { state: "ok", value: { gen, head } }
}

/** `<revision> <crc of document> <document>`: a record slot. */
export const encodeSlot = (revision: number, doc: string) => `${revision} ${checksum(doc)} ${doc}`

const decodeSlot = (value: unknown): Slot<{ readonly revision: number; readonly doc: string }> => {
  if (value === null || value === undefined) return { state: "absent" }
  // A driver may hand back parsed JSON for text that looks like it; Strata's values never do.
  if (typeof value !== "string") return { state: "torn" }
  const a = value.indexOf(" ")
  const b = a < 0 ? -1 : value.indexOf(" ", a + 1)
  if (b < 0) return { state: "torn" }
  const revision = Number(value.slice(0, a))
  const doc = value.slice(b + 1)
  if (!Number.isSafeInteger(revision) || revision < 1 || checksum(doc) !== value.slice(a + 1, b)) {
    return { state: "torn" }
  }
  return { state: "ok", value: { revision, doc } }
}

/** The newer valid slot; `torn` when slots exist but none is valid. */
const pick = <A>(slots: ReadonlyArray<Slot<A>>, order: (a: A) => number): Slot<A> => {
  let best: Slot<A> = { state: "absent" }
  for (const s of slots) {
    if (s.state === "ok") {
      if (best.state !== "ok" || order(s.value) > order(best.value)) best = s
    } else if (s.state === "torn" && best.state === "absent") {
      best = s
    }
  }
  return best
}

/**
 * What the backend is told about its driver: its name, how durable its
 * writes are, whether its data lives in this process only (memory: no
 * writer lock), and how a writer process is identified.
 */
export interface Options extends StateStore.StoreOptions {
  readonly driverName: string
  readonly driverDurability: StateStore.Durability
  readonly capabilities: StateStore.Capabilities
  readonly processLocal: boolean
  readonly identity: WriterLock.Identity
  readonly writerTtlMs?: number | undefined
}

interface JournalState {
  readonly mutex: Effect.Semaphore
  head: number | undefined
  gen: number
}

/** A backend over `storage`. */
export const make = (
  storage: Storage,
  options: Options
): Effect.Effect<Backend, StorageError | UnsupportedSchemaVersion, Scope.Scope> =>
  Effect.gen(function* () {
    const name = `unstorage:${options.driverName}`
    const readOnly = options.readOnly === true
    if (options.durability === "strict" && options.driverDurability.level !== "durable") {
      // Before anything is read or written.
      return yield* new StorageError({
        reason: "NotDurable",
        key: name,
        detail: `storage.durability = "strict" refuses this store: ${options.driverDurability.detail}`
      })
    }
    const format = yield* use(FORMAT_KEY, "read", () => storage.getItem(FORMAT_KEY))
    const tagged = typeof format === "string" ? untagVersion(format) : undefined
    if (format !== null && format !== undefined) {
      if (tagged === undefined || (tagged.json !== MARKER && tagged.json !== LEGACY_MARKER)) {
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
    const legacy = tagged?.json === LEGACY_MARKER
    if (readOnly) {
      if (format === null || format === undefined)
        return emptyBackend(name, options.driverDurability, options.capabilities)
      if (legacy) {
        return yield* new StorageError({
          reason: "Unavailable",
          key: FORMAT_KEY,
          detail:
            "this store has the first unstorage layout (no commit markers); open it once for writing to upgrade it"
        })
      }
    }

    // One writer process at a time, unless the data lives in this process anyway.
    const writer =
      readOnly || options.processLocal
        ? undefined
        : yield* WriterLock.acquire(storage, {
            identity: options.identity,
            driver: options.driverName,
            ttlMs: options.writerTtlMs ?? WriterLock.DEFAULT_TTL_MS
          })
    const writable = writer === undefined ? Effect.void : writer.check

    if (!readOnly && legacy) yield* upgradeLegacy(storage)
    if (!readOnly && (format === null || format === undefined || legacy)) {
      yield* use(FORMAT_KEY, "write", () => storage.setItem(FORMAT_KEY, tagVersion(SCHEMA_VERSION, MARKER)))
    }

    const decode = makeFrameDecoder(options.migrations ?? [], Event.EventFrame)
    const journals = new Map<string, JournalState>()
    const journal = (threadId: string): JournalState => {
      let s = journals.get(threadId)
      if (s === undefined) {
        s = { mutex: Effect.unsafeMakeSemaphore(1), head: undefined, gen: 0 }
        journals.set(threadId, s)
      }
      return s
    }
    const recordLock = makeStripedLock()
    const { leases, holds } = InProcessLeases.make()
    const lostError = (threadId: string, token: number) =>
      new LeaseLost({ threadId, token, detail: "a newer lease was issued, or this one was released" })

    /** The committed head, read from its slots. */
    const readHead = (threadId: string) =>
      Effect.flatMap(
        use(`h:${threadId}`, "read", () => storage.getItems([headKey(threadId, 0), headKey(threadId, 1)])),
        (items) => {
          const byKey = new Map(items.map((i) => [i.key, i.value]))
          const best = pick(
            [decodeHead(byKey.get(headKey(threadId, 0))), decodeHead(byKey.get(headKey(threadId, 1)))],
            (h) => h.gen
          )
          if (best.state === "ok") return Effect.succeed(best.value)
          if (best.state === "absent") return Effect.succeed({ gen: 0, head: 0 })
          return Effect.fail(
            new CorruptJournal({ threadId, file: `h:${threadId}`, offset: 0, detail: "both head slots are damaged" })
          )
        }
      )

    /** Removes entries beyond the committed head: appends that never committed. */
    const cleanBeyond = (threadId: string, head: number) =>
      Effect.flatMap(
        use(journalPrefix(threadId), "list", () => storage.getKeys(journalPrefix(threadId))),
        (keys) =>
          Effect.forEach(
            keys.filter((k) => {
              const n = Number(k.slice(k.lastIndexOf(":") + 1))
              return (
                k.startsWith(`${journalPrefix(threadId)}:`) &&
                k.lastIndexOf(":") === journalPrefix(threadId).length &&
                n > head
              )
            }),
            (k) => use(k, "remove", () => storage.removeItem(k)),
            { discard: true }
          )
      )

    /**
     * The head a caller may rely on. The writer process caches it (nobody
     * else writes); a reader reads it again each time, to see the writer's
     * appends.
     */
    const head = (threadId: string, s: JournalState) =>
      writer !== undefined || options.processLocal
        ? s.head !== undefined
          ? Effect.succeed(s.head)
          : Effect.gen(function* () {
              const h = yield* readHead(threadId)
              if (writer !== undefined) yield* cleanBeyond(threadId, h.head)
              s.head = h.head
              s.gen = h.gen
              return h.head
            })
        : Effect.map(readHead(threadId), (h) => h.head)

    const lastSeq = (threadId: string) => {
      const s = journal(threadId)
      return s.head !== undefined ? Effect.succeed(s.head) : s.mutex.withPermits(1)(head(threadId, s))
    }

    const append = (threadId: string, bodies: ReadonlyArray<string>, fence?: number) => {
      const s = journal(threadId)
      return s.mutex.withPermits(1)(
        Effect.gen(function* () {
          yield* writable
          if (fence !== undefined && !holds(threadId, fence)) return yield* lostError(threadId, fence)
          const h = yield* head(threadId, s)
          const items = bodies.map((body, i) => ({
            key: journalKey(threadId, h + 1 + i),
            value: tagVersion(SCHEMA_VERSION, withSeq(h + 1 + i, body))
          }))
          yield* use(journalPrefix(threadId), "append", () => storage.setItems(items))
          // The commit: only now is the append visible and acknowledged.
          const gen = s.gen + 1
          const next = h + bodies.length
          yield* use(`h:${threadId}`, "commit", () =>
            storage.setItem(headKey(threadId, gen % 2), encodeHead(gen, next))
          )
          s.head = next
          s.gen = gen
          return h + 1
        }).pipe(
          Effect.tapError(() =>
            Effect.sync(() => {
              // Whether the commit landed is unknown: read it again next time.
              s.head = undefined
            })
          )
        )
      )
    }

    const readPage = (threadId: string, from: number, to: number) =>
      Effect.flatMap(
        use(journalPrefix(threadId), "read", () =>
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
                  value === null || value === undefined
                    ? "a committed entry is missing"
                    : "a committed entry is not a journal record"
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

    const toStored = (id: string, key: string, doc: string): StoredRecord | StorageError => {
      try {
        return { key: id, revision: 0, doc: JSON.parse(doc) }
      } catch (e) {
        return new StorageError({ reason: "Corrupt", key, detail: `stored value is not valid JSON (${String(e)})` })
      }
    }

    /** The newer valid slot of a record, or why there is none. */
    const fromSlots = (id: string, key: string, a: unknown, b: unknown): Option.Option<StoredRecord> | StorageError => {
      const best = pick([decodeSlot(a), decodeSlot(b)], (r) => r.revision)
      if (best.state === "absent") return Option.none()
      if (best.state === "torn") {
        return new StorageError({ reason: "Corrupt", key, detail: "every stored copy of the record is damaged" })
      }
      const stored = toStored(id, key, best.value.doc)
      return stored instanceof StorageError ? stored : Option.some({ ...stored, revision: best.value.revision })
    }

    const readRecord = (c: Collection, id: string) => {
      const prefix = recordPrefix(c)
      return Effect.flatMap(
        use(`${prefix}:${id}`, "read", () => storage.getItems([slotKey(prefix, id, 0), slotKey(prefix, id, 1)])),
        (items) => {
          const byKey = new Map(items.map((i) => [i.key, i.value]))
          const r = fromSlots(
            id,
            `${prefix}:${id}`,
            byKey.get(slotKey(prefix, id, 0)),
            byKey.get(slotKey(prefix, id, 1))
          )
          return r instanceof StorageError ? Effect.fail(r) : Effect.succeed(r)
        }
      )
    }

    // A driver may write in place (the fs driver truncates, then writes): a
    // read never overlaps a write of the same record in this process.
    const getRecord = (c: Collection, id: string) => recordLock(`${recordPrefix(c)}:${id}`, readRecord(c, id))

    const putRecord = (c: Collection, id: string, doc: string, expected: number | undefined, fence?: Fence) => {
      const prefix = recordPrefix(c)
      return recordLock(
        `${prefix}:${id}`,
        Effect.gen(function* () {
          yield* writable
          // A record whose every copy is damaged is replaced by an unconditional write only.
          const current = yield* Effect.either(readRecord(c, id))
          if (current._tag === "Left" && expected !== undefined) return yield* current.left
          const actual =
            current._tag === "Left" ? 0 : Option.match(current.right, { onNone: () => 0, onSome: (r) => r.revision })
          if (fence !== undefined && !holds(fence.threadId, fence.token)) {
            return { ok: false, actual, lost: true } satisfies PutResult
          }
          if (expected !== undefined && expected !== actual) return { ok: false, actual } satisfies PutResult
          const revision = actual + 1
          yield* use(`${prefix}:${id}`, "write", () =>
            storage.setItem(slotKey(prefix, id, revision % 2), encodeSlot(revision, doc))
          )
          return { ok: true, revision } satisfies PutResult
        })
      )
    }

    const listRecords = (c: Collection) => {
      const prefix = recordPrefix(c)
      return Effect.gen(function* () {
        const ids = new Set<string>()
        for (const k of yield* use(prefix, "list", () => storage.getKeys(prefix))) {
          const rest = k.slice(prefix.length + 1)
          const colon = rest.indexOf(":")
          if (k.startsWith(`${prefix}:`) && colon > 0 && rest.indexOf(":", colon + 1) < 0) ids.add(rest.slice(0, colon))
        }
        const order = [...ids]
        const items = yield* use(prefix, "read", () =>
          storage.getItems(order.flatMap((id) => [slotKey(prefix, id, 0), slotKey(prefix, id, 1)]))
        )
        const byKey = new Map(items.map((i) => [i.key, i.value]))
        const records: Array<StoredRecord> = []
        const damaged: Array<Damaged> = []
        for (const id of order) {
          const r = fromSlots(
            id,
            `${prefix}:${id}`,
            byKey.get(slotKey(prefix, id, 0)),
            byKey.get(slotKey(prefix, id, 1))
          )
          if (r instanceof StorageError) damaged.push({ key: id, error: r })
          else if (Option.isSome(r)) records.push(r.value)
        }
        return { records, damaged }
      })
    }

    const removeThread = (threadId: string) => {
      const s = journal(threadId)
      return s.mutex.withPermits(1)(
        Effect.gen(function* () {
          yield* writable
          const remove = (k: string) => use(k, "remove", () => storage.removeItem(k))
          // The heads first: from then on the journal is empty, whatever is left of its entries.
          yield* Effect.forEach([headKey(threadId, 0), headKey(threadId, 1)], remove, { discard: true })
          s.head = 0
          s.gen = 0
          // Only this thread's keys, whatever a driver's listing matches (db0 lists with LIKE).
          const under = (prefix: string) =>
            Effect.map(
              use(prefix, "list", () => storage.getKeys(prefix)),
              (keys) => keys.filter((k) => k.startsWith(`${prefix}:`))
            )
          const rest = [
            ...(yield* under(journalPrefix(threadId))),
            ...(yield* under(`s:checkpoint:${threadId}`)),
            slotKey("s:thread", threadId, 0),
            slotKey("s:thread", threadId, 1)
          ]
          yield* Effect.forEach(rest, remove, { discard: true })
        })
      )
    }

    return {
      name,
      durability: options.driverDurability,
      capabilities: options.capabilities,
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

/**
 * Upgrades a store of the first layout: each journal gets a committed head
 * (every entry of that layout was acknowledged once written), each record
 * its slot. Idempotent; the old keys are left where they are.
 */
const upgradeLegacy = (storage: Storage): Effect.Effect<void, StorageError> =>
  Effect.gen(function* () {
    const heads = new Map<string, number>()
    for (const k of yield* use("j", "list", () => storage.getKeys("j"))) {
      const parts = k.split(":")
      if (parts.length !== 3) continue
      const n = Number(parts[2])
      if (Number.isSafeInteger(n) && n > (heads.get(parts[1]!) ?? 0)) heads.set(parts[1]!, n)
    }
    for (const [threadId, head] of heads) {
      yield* use(`h:${threadId}`, "upgrade", () => storage.setItem(headKey(threadId, 1), encodeHead(1, head)))
    }
    for (const k of yield* use("r", "list", () => storage.getKeys("r"))) {
      const value = yield* use(k, "read", () => storage.getItem(k))
      if (typeof value !== "string") continue
      const space = value.indexOf(" ")
      const revision = Number(value.slice(0, space))
      if (space < 1 || !Number.isSafeInteger(revision) || revision < 1) continue
      const [, ...rest] = k.split(":")
      const target = `s:${rest.join(":")}:${SLOTS[revision % 2]}`
      yield* use(target, "upgrade", () => storage.setItem(target, encodeSlot(revision, value.slice(space + 1))))
    }
  })
