/**
 * Job records on the file-system store: one append-only journal,
 * `jobs/journal`, in the thread journal's frame format (`journal.ts`). Each
 * frame is one write of one job, `{"id":…,"revision":N,"doc":{…}}`; a job's
 * record is its last frame. A transition is one frame, and transitions that
 * arrive while a write is in flight share the next write and fsync (group
 * commit), which is what makes durable transitions cheap.
 *
 * Writers hold `jobs/lock` (see `fileLock.ts`) and first adopt the frames
 * other processes appended. The journal is compacted (rewritten with one
 * frame per job, then renamed over) when it is over 8 MiB and four times its
 * live size; readers notice the new file by its identity and rescan it.
 *
 * A torn tail is skipped by readers and truncated by the next writer. A
 * corrupt frame fails writes (nothing stored is overwritten) while reads go
 * on with the frames before it, reported as damaged (`damage`).
 *
 * Job files of the previous layout (`jobs/<id>.json`) are still read; the
 * journal wins for a job it holds.
 */

import type * as FileSystem from "@effect/platform/FileSystem"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { StorageError } from "../StorageError.js"
import type { PutResult, StoredRecord } from "./backend.js"
import type { FileLocks } from "./fileLock.js"
import type { Files } from "./fsFiles.js"
import { decodeName, isReason } from "./fsFiles.js"
import { mapIo } from "./io.js"
import * as Journal from "./journal.js"
import { makeBatcher } from "./locks.js"

const COMPACT_MIN_BYTES = 8 * 1024 * 1024
const COMPACT_RATIO = 4

interface Entry {
  readonly revision: number
  /** The document, or its JSON text (parsed when first read: writes are many, reads few). */
  doc: unknown
  /** Bytes of its frame in the journal (0 for a legacy file). */
  readonly bytes: number
}

interface View {
  readonly size: number
  readonly ino: number | undefined
  readonly exists: boolean
  readonly committedEnd: number
  readonly lastSeq: number
  readonly tail: number
  /** Owned by this module and updated in place by writes (never shared with a caller). */
  readonly entries: Map<string, Entry>
  readonly live: number
  readonly corrupt: StorageError | undefined
}

interface Put {
  readonly id: string
  readonly doc: string
  readonly expected: number | undefined
  readonly deferred: Deferred.Deferred<PutResult, StorageError>
}

export interface Jobs {
  readonly get: (id: string) => Effect.Effect<Option.Option<StoredRecord>, StorageError>
  readonly list: Effect.Effect<ReadonlyArray<StoredRecord>, StorageError>
  readonly put: (id: string, doc: string, expected: number | undefined) => Effect.Effect<PutResult, StorageError>
  /** The damage a scan found (a corrupt frame), if any. */
  readonly damage: Effect.Effect<Option.Option<StorageError>, StorageError>
}

export const make = (deps: {
  readonly files: Files
  readonly locks: FileLocks
  readonly scope: Scope.Scope
  readonly dir: string
}): Jobs => {
  const { files, locks, dir } = deps
  const { fs, path } = files
  const file = path.join(dir, "journal")
  const lockFile = path.join(dir, "lock")
  const mutex = Effect.unsafeMakeSemaphore(1)
  const textDecoder = new TextDecoder()
  let view: View | undefined
  let legacy: ReadonlyMap<string, Entry> | undefined

  const corrupt = (offset: number, detail: string) =>
    new StorageError({ reason: "Corrupt", key: `${file}@${offset}`, detail: `job journal: ${detail}` })

  /** Job files of the previous layout, read once. */
  const loadLegacy = Effect.gen(function* () {
    if (legacy !== undefined) return legacy
    const found = new Map<string, Entry>()
    for (const name of yield* files.listNames(dir)) {
      if (!name.endsWith(".json") || name.includes(".tmp-")) continue
      const text = yield* files.readTextOptional(path.join(dir, name))
      if (Option.isNone(text)) continue
      try {
        const doc = JSON.parse(text.value) as { revision?: unknown }
        if (typeof doc.revision === "number") {
          found.set(decodeName(name.slice(0, -5)), { revision: doc.revision, doc, bytes: 0 })
        }
      } catch {
        // A damaged legacy file: the record reads as damaged below.
        found.set(decodeName(name.slice(0, -5)), { revision: 0, doc: undefined, bytes: 0 })
      }
    }
    legacy = found
    return found
  })

  const stat = fs.stat(file).pipe(
    Effect.map((info) => Option.some({ size: Number(info.size), ino: Option.getOrUndefined(info.ino) })),
    Effect.catchIf(
      (e) => isReason(e, "NotFound"),
      () => Effect.succeed(Option.none<{ size: number; ino: number | undefined }>())
    ),
    mapIo(file, "stat of the job journal")
  )

  /** Adopts what changed in the file since the view was made. */
  const refresh: Effect.Effect<View, StorageError> = Effect.gen(function* () {
    const info = yield* stat
    if (Option.isNone(info)) {
      const empty: View = {
        size: 0,
        ino: undefined,
        exists: false,
        committedEnd: 0,
        lastSeq: 0,
        tail: 0,
        entries: new Map(),
        live: 0,
        corrupt: undefined
      }
      view = empty
      return empty
    }
    const { size, ino } = info.value
    const known = view
    if (known?.exists && known.ino === ino && known.size === size) return known
    const fresh = known === undefined || !known.exists || known.ino !== ino || size < known.committedEnd
    const entries = fresh ? new Map<string, Entry>() : known.entries
    let live = fresh ? 0 : known.live
    const from = fresh ? 0 : known.committedEnd
    const bytes = yield* Effect.scoped(
      Effect.flatMap(fs.open(file, { flag: "r" }), (f) =>
        Effect.flatMap(f.seek(from, "start"), () => f.readAlloc(size - from))
      )
    ).pipe(mapIo(file, "reading the job journal"))
    const buf = Option.getOrElse(bytes, () => new Uint8Array(0))
    const scan = Journal.startScan(fresh ? undefined : { end: known.committedEnd, seq: known.lastSeq, index: [] })
    const text = textDecoder.decode(buf)
    const ascii = text.length === buf.length
    let failure: StorageError | undefined
    const pending: Array<readonly [string, Entry]> = []
    const stop = Journal.scanWindow(
      scan,
      buf,
      from,
      true,
      (_version, _seq, ps, pe, offset) => {
        if (failure !== undefined) return
        try {
          const payload = ascii ? text.slice(ps, pe) : textDecoder.decode(buf.subarray(ps, pe))
          const v = JSON.parse(payload) as { id?: unknown; revision?: unknown; doc?: unknown }
          if (typeof v.id !== "string" || typeof v.revision !== "number") throw new Error("not a job frame")
          pending.push([v.id, { revision: v.revision, doc: v.doc, bytes: pe - ps + Journal.OVERHEAD }])
        } catch (e) {
          failure = corrupt(offset, String(e))
        }
      },
      () => {
        for (const [id, entry] of pending) {
          live += entry.bytes - (entries.get(id)?.bytes ?? 0)
          entries.set(id, entry)
        }
        pending.length = 0
      }
    )
    const verdict = Journal.verdict(scan, stop, size, () => Journal.isZeros(buf, scan.offset - from, buf.length))
    const next: View = {
      size,
      ino,
      exists: true,
      committedEnd: verdict.committedEnd,
      lastSeq: verdict.committedSeq,
      tail: verdict.corrupt === undefined ? verdict.tail : 0,
      entries,
      live,
      corrupt:
        failure ?? (verdict.corrupt === undefined ? undefined : corrupt(verdict.corrupt.offset, verdict.corrupt.detail))
    }
    view = next
    return next
  })

  const docOf = (e: Entry): unknown => {
    if (typeof e.doc === "string") e.doc = JSON.parse(e.doc)
    return e.doc
  }
  const record = (id: string, e: Entry): StoredRecord => ({ key: id, revision: e.revision, doc: docOf(e) })

  const damagedLegacy = (id: string) =>
    new StorageError({ reason: "Corrupt", key: path.join(dir, `${id}.json`), detail: "not valid JSON" })

  const get = (id: string) =>
    Effect.gen(function* () {
      const v = yield* refresh
      const e = v.entries.get(id) ?? (yield* loadLegacy).get(id)
      if (e === undefined) return Option.none<StoredRecord>()
      if (e.doc === undefined) return yield* damagedLegacy(id)
      return Option.some(record(id, e))
    })

  const list = Effect.gen(function* () {
    const v = yield* refresh
    const out: Array<StoredRecord> = []
    for (const [id, e] of yield* loadLegacy) if (!v.entries.has(id) && e.doc !== undefined) out.push(record(id, e))
    for (const [id, e] of v.entries) out.push(record(id, e))
    return out
  })

  /** Rewrites the journal with one frame per job (under the lock). */
  const compact = (v: View) =>
    Effect.gen(function* () {
      const ids = [...v.entries.keys()]
      const payloads = ids.map((id) => {
        const e = v.entries.get(id)!
        return JSON.stringify({ id, revision: e.revision, doc: docOf(e) })
      })
      const { bytes } = Journal.encodeFrames(payloads, 1, 1, () => true)
      yield* files.atomicWrite(file, textDecoder.decode(bytes))
      yield* closeHandle
      view = undefined
    })

  // The append handle, kept open while it is on the journal's current file.
  let handle:
    | { readonly file: FileSystem.File; readonly scope: Scope.CloseableScope; readonly ino: number | undefined }
    | undefined
  const closeHandle = Effect.suspend(() => {
    const h = handle
    handle = undefined
    return h === undefined ? Effect.void : Scope.close(h.scope, Exit.void)
  })
  const appendHandle = (v: View) =>
    Effect.gen(function* () {
      if (handle !== undefined && v.exists && handle.ino === v.ino) return handle.file
      yield* closeHandle
      const scope = yield* Scope.fork(deps.scope, ExecutionStrategy.sequential)
      const f = yield* Scope.extend(fs.open(file, { flag: "a" }), scope).pipe(
        Effect.tapError(() => Scope.close(scope, Exit.void)),
        mapIo(file, "opening the job journal")
      )
      const info = yield* Effect.option(f.stat)
      handle = { file: f, scope, ino: Option.isSome(info) ? Option.getOrUndefined(info.value.ino) : undefined }
      return f
    })

  const writeBatch = (batch: ReadonlyArray<Put>) =>
    Effect.gen(function* () {
      let v = yield* refresh
      if (v.corrupt !== undefined) return yield* v.corrupt
      if (v.tail > 0) {
        yield* fs.truncate(file, v.committedEnd).pipe(mapIo(file, "truncating a torn tail"))
        v = { ...v, tail: 0, size: v.committedEnd }
      }
      const old = yield* loadLegacy
      const revisions = new Map<string, number>()
      const current = (id: string) => revisions.get(id) ?? v.entries.get(id)?.revision ?? old.get(id)?.revision ?? 0
      const results: Array<PutResult> = []
      const payloads: Array<string> = []
      const written: Array<readonly [string, number, string]> = []
      for (const p of batch) {
        const actual = current(p.id)
        if (p.expected !== undefined && p.expected !== actual) {
          results.push({ ok: false, actual })
          continue
        }
        const revision = actual + 1
        revisions.set(p.id, revision)
        const stored = `{"revision":${revision},${p.doc.slice(1)}`
        payloads.push(`{"id":${JSON.stringify(p.id)},"revision":${revision},"doc":${stored}}`)
        written.push([p.id, revision, stored])
        results.push({ ok: true, revision })
      }
      if (payloads.length === 0) return results
      const first = v.lastSeq + 1
      const { bytes, offsets } = Journal.encodeFrames(payloads, first, 1, (i) => i === payloads.length - 1)
      const created = !v.exists
      if (created) yield* files.ensureDir(dir)
      const f = yield* appendHandle(v)
      yield* Effect.zipRight(f.writeAll(bytes), f.sync).pipe(
        mapIo(file, "appending to the job journal"),
        Effect.tapError(() =>
          Effect.zipRight(
            closeHandle,
            fs.truncate(file, v.committedEnd).pipe(
              Effect.catchAll(() =>
                Effect.sync(() => {
                  view = undefined
                })
              )
            )
          )
        )
      )
      if (created) yield* files.syncDir(dir)
      const entries = v.entries
      let live = v.live
      for (let i = 0; i < written.length; i++) {
        const [id, revision, stored] = written[i]!
        const size = (i + 1 < offsets.length ? offsets[i + 1]! : bytes.length) - offsets[i]!
        live += size - (entries.get(id)?.bytes ?? 0)
        entries.set(id, { revision, doc: stored, bytes: size })
      }
      const next: View = {
        ...v,
        size: v.committedEnd + bytes.length,
        ino: handle?.ino,
        exists: true,
        committedEnd: v.committedEnd + bytes.length,
        lastSeq: v.lastSeq + payloads.length,
        entries,
        live
      }
      view = next
      if (next.size > COMPACT_MIN_BYTES && next.size > COMPACT_RATIO * next.live) {
        yield* compact(next).pipe(
          Effect.catchAll((e) => Effect.logWarning(`job journal compaction failed: ${e.message}`))
        )
      }
      return results
    })

  const submit = makeBatcher(deps.scope, (batch: Array<Put>) =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(mutex.withPermits(1)(locks.withLock(lockFile, writeBatch(batch))))
      for (let i = 0; i < batch.length; i++) {
        const p = batch[i]!
        if (Exit.isSuccess(exit)) yield* Deferred.succeed(p.deferred, exit.value[i]!)
        else yield* Deferred.failCause(p.deferred, exit.cause)
      }
    })
  )

  const put = (id: string, doc: string, expected: number | undefined) =>
    Effect.gen(function* () {
      const deferred = yield* Deferred.make<PutResult, StorageError>()
      yield* submit({ id, doc, expected, deferred })
      return yield* Deferred.await(deferred)
    })

  return {
    get,
    list,
    put,
    damage: Effect.map(refresh, (v) => Option.fromNullable(v.corrupt))
  }
}
