/**
 * The memory backend (`layerMemory`): plain maps in this process. Values
 * are kept as the JSON text every other backend stores, so nothing a caller
 * holds aliases what is stored; every operation completes synchronously.
 */

import * as Event from "@strata/protocol/Event"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as StateStore from "../StateStore.js"
import { LeaseLost, StorageError } from "../StorageError.js"
import { SCHEMA_VERSION } from "../StorageSchema.js"
import type { Backend, Collection, Damaged, Fence, PutResult, StoredRecord } from "./backend.js"
import { withSeq } from "./backend.js"
import * as Capabilities from "./capabilities.js"
import { decodeEntry, isEntryError, makeFrameDecoder } from "./codec.js"
import * as InProcessLeases from "./inProcessLeases.js"

const PAGE = 1024

const collectionKey = (c: Collection): string => (c.kind === "checkpoint" ? `checkpoint:${c.threadId}` : c.kind)

/** A fresh, empty memory backend. */
export const make = (options: StateStore.StoreOptions = {}): Backend => {
  const journals = new Map<string, Array<string>>()
  const collections = new Map<string, Map<string, { readonly revision: number; readonly doc: string }>>()
  const decode = makeFrameDecoder(options.migrations ?? [], Event.EventFrame)
  const { leases, holds } = InProcessLeases.make()

  const collection = (c: Collection) => {
    const key = collectionKey(c)
    let m = collections.get(key)
    if (m === undefined) collections.set(key, (m = new Map()))
    return m
  }

  const parse = (c: Collection, id: string, revision: number, doc: string): StoredRecord | StorageError => {
    try {
      return { key: id, revision, doc: JSON.parse(doc) }
    } catch (e) {
      return new StorageError({ reason: "Corrupt", key: `${collectionKey(c)}/${id}`, detail: String(e) })
    }
  }

  const append = (threadId: string, bodies: ReadonlyArray<string>, fence?: number) =>
    Effect.suspend(() => {
      if (fence !== undefined && !holds(threadId, fence)) {
        return Effect.fail(
          new LeaseLost({ threadId, token: fence, detail: "a newer lease was issued, or this one was released" })
        )
      }
      let j = journals.get(threadId)
      if (j === undefined) journals.set(threadId, (j = []))
      const first = j.length + 1
      for (let i = 0; i < bodies.length; i++) j.push(withSeq(first + i, bodies[i]!))
      return Effect.succeed(first)
    })

  const read = (threadId: string, fromSeq: number, limit: number) =>
    Stream.suspend(() => {
      const j = journals.get(threadId) ?? []
      const last = Math.min(j.length, fromSeq + limit - 1)
      return Stream.paginateChunkEffect(fromSeq, (from) =>
        Effect.suspend(() => {
          const out: Array<Event.EventFrame> = []
          const to = Math.min(last, from + PAGE - 1)
          for (let seq = from; seq <= to; seq++) {
            const frame = decodeEntry(decode, threadId, SCHEMA_VERSION, j[seq - 1]!, threadId, seq)
            if (isEntryError(frame)) return Effect.fail(frame)
            out.push(frame)
          }
          return Effect.succeed([Chunk.unsafeFromArray(out), to < last ? Option.some(to + 1) : Option.none()] as const)
        })
      )
    })

  const getRecord = (c: Collection, id: string) =>
    Effect.suspend(() => {
      const r = collection(c).get(id)
      if (r === undefined) return Effect.succeed(Option.none<StoredRecord>())
      const parsed = parse(c, id, r.revision, r.doc)
      return parsed instanceof StorageError ? Effect.fail(parsed) : Effect.succeed(Option.some(parsed))
    })

  const putRecord = (c: Collection, id: string, doc: string, expected: number | undefined, fence?: Fence) =>
    Effect.sync((): PutResult => {
      const m = collection(c)
      const actual = m.get(id)?.revision ?? 0
      if (fence !== undefined && !holds(fence.threadId, fence.token)) return { ok: false, actual, lost: true }
      if (expected !== undefined && expected !== actual) return { ok: false, actual }
      m.set(id, { revision: actual + 1, doc })
      return { ok: true, revision: actual + 1 }
    })

  const listRecords = (c: Collection) =>
    Effect.sync(() => {
      const records: Array<StoredRecord> = []
      const damaged: Array<Damaged> = []
      for (const [id, r] of collection(c)) {
        const parsed = parse(c, id, r.revision, r.doc)
        if (parsed instanceof StorageError) damaged.push({ key: id, error: parsed })
        else records.push(parsed)
      }
      return { records, damaged }
    })

  const removeThread = (threadId: string) =>
    Effect.sync(() => {
      journals.delete(threadId)
      collections.delete(`checkpoint:${threadId}`)
      collection({ kind: "thread" }).delete(threadId)
    })

  return {
    name: "memory",
    durability: { level: "volatile", detail: "the memory store keeps nothing once the process ends" },
    capabilities: Capabilities.memory,
    append,
    read,
    lastSeq: (threadId) => Effect.sync(() => journals.get(threadId)?.length ?? 0),
    getRecord,
    putRecord,
    listRecords,
    removeThread,
    leases
  }
}
