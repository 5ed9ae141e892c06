/**
 * The crash-safe file-system backend.
 *
 * ```
 * <dir>/LOCK                                   owner of the directory (see fsLock.ts)
 * <dir>/strata-store.json                      { format, schemaVersion }
 * <dir>/threads/<thread>/journal               framed, checksummed events (see journal.ts)
 * <dir>/threads/<thread>/thread.json           thread metadata
 * <dir>/threads/<thread>/checkpoints/<id>.json
 * <dir>/jobs/<job>.json
 * <dir>/approvals/<approval>.json
 * ```
 *
 * Records are written atomically: temp file, fsync, rename, fsync of the
 * directory. Journals are append-only; appends to one thread are serialized
 * in this process and group-committed (appends that arrive while a write is
 * in flight share the next write and fsync), and acknowledged only after the
 * fsync. Ids go into file names with upper-case letters escaped (`A` ->
 * `~a`), so the layout also works on case-insensitive file systems.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Event from "@strata/protocol/Event"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as StateStore from "../StateStore.js"
import { CorruptJournal, describe, LeaseLost, StorageError, UnsupportedSchemaVersion } from "../StorageError.js"
import { SCHEMA_VERSION } from "../StorageSchema.js"
import type { Backend, Collection, Fence, JournalError, PutResult, StoredRecord } from "./backend.js"
import { withSeq } from "./backend.js"
import { checkSeq, makeFrameDecoder } from "./codec.js"
import * as FileLock from "./fileLock.js"
import * as FsLease from "./fsLease.js"
import * as FsLock from "./fsLock.js"
import * as Journal from "./journal.js"
import { makeBatcher, makeStripedLock } from "./locks.js"
import * as ProcessInfo from "./processInfo.js"

const FORMAT = "strata-fs-store"
const CHUNK = 4 * 1024 * 1024
const FRAMES_PER_CHUNK = 4096
/** Journals kept open for appending (least recently used are closed). */
const MAX_OPEN_JOURNALS = 128

/** `Thread-A` -> `~thread-~a`: ids never contain `~`, so this is reversible. */
export const encodeName = (id: string): string => id.replace(/[A-Z]/g, (c) => `~${c.toLowerCase()}`)
/** The inverse of {@link encodeName}. */
export const decodeName = (name: string): string => name.replace(/~([a-z])/g, (_, c: string) => c.toUpperCase())

const isReason = (e: unknown, reason: string): boolean =>
  typeof e === "object" && e !== null && (e as { reason?: string }).reason === reason

interface Pending {
  readonly bodies: ReadonlyArray<string>
  readonly fence: number | undefined
  readonly deferred: Deferred.Deferred<number, JournalError | LeaseLost>
}

interface JournalState {
  readonly threadId: string
  readonly file: string
  readonly mutex: Effect.Semaphore
  opened: boolean
  exists: boolean
  size: number
  lastSeq: number
  index: Array<number>
  corrupt: CorruptJournal | undefined
  submit: (pending: Pending) => Effect.Effect<void>
  /** The journal opened for appending, kept between batches. */
  handle: { readonly file: FileSystem.File; readonly scope: Scope.CloseableScope } | undefined
}

/** Builds the backend; holds the directory's lock for the life of the scope. */
export const make = (
  directory: string,
  options: StateStore.FileSystemOptions = {}
): Effect.Effect<Backend, StorageError | UnsupportedSchemaVersion, FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const root = path.resolve(directory)
    const io =
      (key: string, action: string) =>
      (cause: unknown): StorageError =>
        new StorageError({ reason: "Unavailable", key, detail: `${action} failed: ${describe(cause)}`, cause })

    yield* fs.makeDirectory(root, { recursive: true }).pipe(Effect.mapError(io(root, "creating the store directory")))
    yield* FsLock.acquire(root, path.join(root, "LOCK"))
    const scope = yield* Effect.scope

    // Directory fsync makes renames and new files durable. Some platforms
    // cannot open a directory; there it is skipped (and said so, once).
    // The record directories are synced often (every job transition): their
    // handles stay open for the life of the store. Others are opened per sync.
    const dirHandles = new Map<string, FileSystem.File>()
    const syncDirRaw = (dir: string) => {
      const cached = dirHandles.get(dir)
      return cached !== undefined
        ? cached.sync
        : Effect.scoped(Effect.flatMap(fs.open(dir, { flag: "r" }), (f) => f.sync))
    }
    const dirSync = yield* syncDirRaw(root).pipe(
      Effect.as(true),
      Effect.catchAll((e) =>
        Effect.as(
          Effect.logWarning(`@strata/storage: cannot fsync directories here (${describe(e)}); renames are not fsynced`),
          false
        )
      )
    )
    // Group commit for directories: an fsync that starts after a rename
    // covers it, so the renames waiting when a sync starts share it.
    const dirSyncers = new Map<string, (d: Deferred.Deferred<void, StorageError>) => Effect.Effect<void>>()
    const syncDir = (dir: string): Effect.Effect<void, StorageError> => {
      if (!dirSync) return Effect.void
      let submit = dirSyncers.get(dir)
      if (submit === undefined) {
        submit = makeBatcher(scope, (waiting: Array<Deferred.Deferred<void, StorageError>>) =>
          Effect.flatMap(Effect.exit(Effect.mapError(syncDirRaw(dir), io(dir, "fsync of the directory"))), (exit) =>
            Effect.forEach(waiting, (d) => Deferred.done(d, exit), { discard: true })
          )
        )
        dirSyncers.set(dir, submit)
      }
      const enqueue = submit
      return Effect.flatMap(Deferred.make<void, StorageError>(), (d) => Effect.zipRight(enqueue(d), Deferred.await(d)))
    }

    const known = new Set<string>([root])
    const ensureDir = (dir: string): Effect.Effect<void, StorageError> =>
      known.has(dir)
        ? Effect.void
        : Effect.gen(function* () {
            const exists = yield* fs.exists(dir).pipe(Effect.mapError(io(dir, "stat")))
            if (!exists) {
              const parent = path.dirname(dir)
              yield* ensureDir(parent)
              yield* fs.makeDirectory(dir).pipe(
                Effect.catchIf(
                  (e) => isReason(e, "AlreadyExists"),
                  () => Effect.void
                ),
                Effect.mapError(io(dir, "creating the directory"))
              )
              yield* syncDir(parent)
            }
            known.add(dir)
          })

    let tmpCounter = 0
    const tmpSuffix = (globalThis as unknown as { crypto: { randomUUID(): string } }).crypto.randomUUID().slice(0, 8)
    const encoder = new TextEncoder()

    /** temp file + fsync + rename + fsync of the directory (without the fsyncs when not `durable`). */
    const atomicWrite = (file: string, text: string, durable = true): Effect.Effect<void, StorageError> => {
      const dir = path.dirname(file)
      const tmp = `${file}.tmp-${tmpSuffix}-${tmpCounter++}`
      return Effect.gen(function* () {
        yield* ensureDir(dir)
        yield* Effect.scoped(
          Effect.gen(function* () {
            const f = yield* fs.open(tmp, { flag: "w" })
            yield* f.writeAll(encoder.encode(text))
            if (durable) yield* f.sync
          })
        ).pipe(Effect.mapError(io(file, "writing")))
        yield* fs.rename(tmp, file).pipe(Effect.mapError(io(file, "renaming")))
        if (durable) yield* syncDir(dir)
      }).pipe(Effect.tapError(() => Effect.ignore(fs.remove(tmp))))
    }

    // -------------------------------------------------------------------------
    // the store marker

    const formatFile = path.join(root, "strata-store.json")
    const format = yield* fs.readFileString(formatFile).pipe(
      Effect.map(Option.some),
      Effect.catchIf(
        (e) => isReason(e, "NotFound"),
        () => Effect.succeed(Option.none<string>())
      ),
      Effect.mapError(io(formatFile, "reading"))
    )
    if (Option.isNone(format)) {
      yield* atomicWrite(formatFile, JSON.stringify({ format: FORMAT, schemaVersion: SCHEMA_VERSION }))
    } else {
      let marker: { format?: unknown; schemaVersion?: unknown } = {}
      try {
        marker = JSON.parse(format.value)
      } catch {}
      if (marker.format !== FORMAT || typeof marker.schemaVersion !== "number") {
        return yield* new StorageError({
          reason: "Corrupt",
          key: formatFile,
          detail: `not a Strata store marker; is ${root} a Strata store directory?`
        })
      }
      if (marker.schemaVersion > SCHEMA_VERSION) {
        return yield* new UnsupportedSchemaVersion({
          key: formatFile,
          found: marker.schemaVersion,
          supported: SCHEMA_VERSION
        })
      }
    }

    const threadsDir = path.join(root, "threads")
    const jobsDir = path.join(root, "jobs")
    const approvalsDir = path.join(root, "approvals")
    yield* Effect.forEach([threadsDir, jobsDir, approvalsDir], ensureDir, { discard: true })
    if (dirSync) {
      for (const dir of [threadsDir, jobsDir, approvalsDir]) {
        dirHandles.set(dir, yield* fs.open(dir, { flag: "r" }).pipe(Effect.mapError(io(dir, "opening the directory"))))
      }
    }

    // Temp files left by a crash mid-write are never read; sweep the flat
    // record directories (no writer can be running: we hold the lock).
    yield* Effect.forEach(
      [jobsDir, approvalsDir],
      (dir) =>
        Effect.flatMap(fs.readDirectory(dir), (names) =>
          Effect.forEach(
            names.filter((n) => n.includes(".tmp-")),
            (n) => fs.remove(path.join(dir, n)),
            { discard: true }
          )
        ).pipe(Effect.ignore),
      { discard: true }
    )

    // -------------------------------------------------------------------------
    // records

    const threadDir = (threadId: string) => path.join(threadsDir, encodeName(threadId))
    const recordFile = (c: Collection, id: string): string => {
      switch (c.kind) {
        case "thread":
          return path.join(threadDir(id), "thread.json")
        case "checkpoint":
          return path.join(threadDir(c.threadId), "checkpoints", `${encodeName(id)}.json`)
        case "job":
          return path.join(jobsDir, `${encodeName(id)}.json`)
        case "approval":
          return path.join(approvalsDir, `${encodeName(id)}.json`)
      }
    }

    // The revision of every record this process has read or written. The
    // directory is ours (LOCK), so this view is authoritative and a
    // compare-and-set need not read the file first.
    const revisions = new Map<string, number>()

    const readRecord = (file: string, id: string): Effect.Effect<Option.Option<StoredRecord>, StorageError> =>
      fs.readFileString(file).pipe(
        Effect.map(Option.some),
        Effect.catchIf(
          (e) => isReason(e, "NotFound"),
          () => Effect.succeed(Option.none<string>())
        ),
        Effect.mapError(io(file, "reading")),
        Effect.flatMap(
          Option.match({
            onNone: () => Effect.succeed(Option.none<StoredRecord>()),
            onSome: (text) => {
              let doc: { revision?: unknown }
              try {
                doc = JSON.parse(text)
              } catch (e) {
                return Effect.fail(
                  new StorageError({ reason: "Corrupt", key: file, detail: `not valid JSON (${String(e)})` })
                )
              }
              const revision = doc?.revision
              if (typeof revision !== "number" || !Number.isSafeInteger(revision) || revision < 1) {
                return Effect.fail(new StorageError({ reason: "Corrupt", key: file, detail: "record has no revision" }))
              }
              revisions.set(file, revision)
              return Effect.succeed(Option.some({ key: id, revision, doc }))
            }
          })
        )
      )

    const recordLock = makeStripedLock()

    const getRecord = (c: Collection, id: string) => readRecord(recordFile(c, id), id)

    const putRecord = (
      c: Collection,
      id: string,
      doc: string,
      expected: number | undefined,
      fence?: Fence
    ): Effect.Effect<PutResult, StorageError> =>
      fence === undefined
        ? putUnfenced(c, id, doc, expected)
        : underLock(
            fence.threadId,
            Effect.flatMap(leases.read(fence.threadId), (lease) =>
              leases.holds(lease, fence.token)
                ? putUnfenced(c, id, doc, expected)
                : Effect.succeed<PutResult>({ ok: false, actual: 0, lost: true })
            )
          )

    const putUnfenced = (c: Collection, id: string, doc: string, expected: number | undefined) => {
      const file = recordFile(c, id)
      return recordLock(
        file,
        Effect.gen(function* () {
          const known = revisions.get(file)
          const actual =
            known !== undefined
              ? known
              : Option.match(yield* readRecord(file, id), { onNone: () => 0, onSome: (r) => r.revision })
          if (expected !== undefined && expected !== actual) return { ok: false, actual } satisfies PutResult
          // Unknown until the write is known to have landed (or not).
          revisions.delete(file)
          yield* atomicWrite(file, `{"revision":${actual + 1},${doc.slice(1)}`)
          revisions.set(file, actual + 1)
          return { ok: true, revision: actual + 1 } satisfies PutResult
        })
      )
    }

    const listNames = (dir: string) =>
      fs.readDirectory(dir).pipe(
        Effect.catchIf(
          (e) => isReason(e, "NotFound"),
          () => Effect.succeed([] as Array<string>)
        ),
        Effect.mapError(io(dir, "listing"))
      )

    const listRecords = (c: Collection) =>
      Effect.gen(function* () {
        let entries: Array<readonly [string, string]>
        if (c.kind === "thread") {
          const names = yield* listNames(threadsDir)
          entries = names.map((n) => [path.join(threadsDir, n, "thread.json"), decodeName(n)] as const)
        } else {
          const dir = path.dirname(recordFile(c, "x"))
          const names = yield* listNames(dir)
          entries = names
            .filter((n) => n.endsWith(".json") && !n.includes(".tmp-"))
            .map((n) => [path.join(dir, n), decodeName(n.slice(0, -5))] as const)
        }
        const found = yield* Effect.forEach(entries, ([file, id]) => readRecord(file, id), { concurrency: 16 })
        return found.flatMap((o) => (Option.isSome(o) ? [o.value] : []))
      })

    // -------------------------------------------------------------------------
    // journals

    const decode = makeFrameDecoder(options.migrations ?? [], Event.EventFrame)
    const textDecoder = new TextDecoder()
    const journals = new Map<string, JournalState>()
    const journal = (threadId: string): JournalState => {
      let s = journals.get(threadId)
      if (s === undefined) {
        s = {
          threadId,
          file: path.join(threadDir(threadId), "journal"),
          mutex: Effect.unsafeMakeSemaphore(1),
          opened: false,
          exists: false,
          size: 0,
          lastSeq: 0,
          index: [],
          corrupt: undefined,
          submit: () => Effect.void,
          handle: undefined
        }
        s.submit = makeBatcher(scope, drainJournal(s))
        journals.set(threadId, s)
      }
      return s
    }

    // -------------------------------------------------------------------------
    // thread locks and leases

    const self = yield* ProcessInfo.current(fs)
    const fileLocks = FileLock.make(fs, self)
    const threadLock = (threadId: string) => path.join(threadDir(threadId), "lock")
    /** Holds the thread's lock file (call under its in-process mutex). */
    const withThreadFile = <A, E>(threadId: string, effect: Effect.Effect<A, E>) =>
      Effect.zipRight(ensureDir(threadDir(threadId)), fileLocks.withLock(threadLock(threadId), effect))
    const underLock = <A, E>(threadId: string, effect: Effect.Effect<A, E>) =>
      journal(threadId).mutex.withPermits(1)(withThreadFile(threadId, effect))
    const leases = FsLease.make({
      fs,
      self,
      leaseFile: (threadId) => path.join(threadDir(threadId), "lease"),
      underLock,
      writeFile: atomicWrite
    })
    const lostError = (threadId: string, token: number) =>
      new LeaseLost({ threadId, token, detail: "a newer lease was issued, or this one was released" })

    /**
     * Scans the journal on first use (call under the mutex): finds its end,
     * truncates a torn tail, records damage. Returns the bytes it read, all
     * of them verified, or undefined when it was already open.
     */
    const open = (j: JournalState): Effect.Effect<Uint8Array | undefined, StorageError> =>
      j.opened
        ? Effect.succeed(undefined)
        : Effect.gen(function* () {
            const bytes = yield* fs.readFile(j.file).pipe(
              Effect.map(Option.some),
              Effect.catchIf(
                (e) => isReason(e, "NotFound"),
                () => Effect.succeed(Option.none<Uint8Array>())
              ),
              Effect.mapError(io(j.file, "reading the journal"))
            )
            if (Option.isNone(bytes)) {
              Object.assign(j, { opened: true, exists: false, size: 0, lastSeq: 0, index: [], corrupt: undefined })
              return new Uint8Array(0)
            }
            const buf = bytes.value
            const result = Journal.scan(buf)
            if (result.corrupt !== undefined) {
              j.corrupt = new CorruptJournal({
                threadId: j.threadId,
                file: j.file,
                offset: result.corrupt.offset,
                detail: result.corrupt.detail
              })
            } else if (result.tail > 0) {
              // A torn tail: an append cut short by a crash, never acknowledged.
              yield* fs.truncate(j.file, result.size).pipe(Effect.mapError(io(j.file, "truncating a torn tail")))
              yield* Effect.scoped(Effect.flatMap(fs.open(j.file, { flag: "r+" }), (f) => f.sync)).pipe(
                Effect.mapError(io(j.file, "fsync"))
              )
            }
            j.opened = true
            j.exists = true
            j.size = result.size
            j.lastSeq = result.lastSeq
            j.index = [...result.index]
            return buf.subarray(0, result.size)
          })

    // Open journals, least recently used first (a Map keeps insertion order).
    const openJournals = new Map<string, JournalState>()
    const closeHandle = (j: JournalState): Effect.Effect<void> =>
      Effect.suspend(() => {
        const h = j.handle
        j.handle = undefined
        openJournals.delete(j.threadId)
        return h === undefined ? Effect.void : Scope.close(h.scope, Exit.void)
      })

    /** The journal's append handle (call under its mutex). */
    const appendHandle = (j: JournalState): Effect.Effect<FileSystem.File, StorageError> =>
      Effect.gen(function* () {
        openJournals.delete(j.threadId)
        openJournals.set(j.threadId, j)
        if (j.handle !== undefined) return j.handle.file
        // Close the least recently used idle journals beyond the limit (a
        // busy one is skipped: its mutex is held by its own writer).
        for (const other of [...openJournals.values()]) {
          if (openJournals.size <= MAX_OPEN_JOURNALS) break
          if (other !== j) yield* other.mutex.withPermitsIfAvailable(1)(closeHandle(other))
        }
        const handleScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
        const file = yield* Scope.extend(fs.open(j.file, { flag: "a" }), handleScope).pipe(
          Effect.tapError(() => Scope.close(handleScope, Exit.void)),
          Effect.mapError(io(j.file, "opening the journal"))
        )
        j.handle = { file, scope: handleScope }
        return file
      })

    const writeBatch = (j: JournalState, batch: ReadonlyArray<Pending>): Effect.Effect<number, JournalError> =>
      Effect.gen(function* () {
        yield* open(j)
        if (j.corrupt !== undefined) return yield* j.corrupt
        const first = j.lastSeq + 1
        const payloads: Array<string> = []
        const commits = new Set<number>()
        for (const p of batch) {
          for (const body of p.bodies) payloads.push(withSeq(first + payloads.length, body))
          commits.add(payloads.length - 1)
        }
        if (j.lastSeq + payloads.length > Journal.MAX_SEQ) {
          return yield* new StorageError({
            reason: "InvalidInput",
            key: j.file,
            detail: "journal is full (2^32 events)"
          })
        }
        const { bytes, offsets } = Journal.encodeFrames(payloads, first, SCHEMA_VERSION, (i) => commits.has(i))
        const created = !j.exists
        if (created) yield* ensureDir(path.dirname(j.file))
        const handle = yield* appendHandle(j)
        yield* Effect.zipRight(handle.writeAll(bytes), handle.sync).pipe(
          Effect.mapError(io(j.file, "appending")),
          Effect.tapError(() =>
            // Drop the handle and roll back a partial write; if even that
            // fails, rescan on next use.
            Effect.zipRight(
              closeHandle(j),
              fs.truncate(j.file, j.size).pipe(
                Effect.catchAll(() =>
                  Effect.sync(() => {
                    j.opened = false
                  })
                )
              )
            )
          )
        )
        if (created) {
          yield* syncDir(path.dirname(j.file))
          j.exists = true
        }
        for (let i = 0; i < offsets.length; i++) {
          if ((first + i - 1) % Journal.STRIDE === 0) j.index.push(j.size + offsets[i]!)
        }
        j.size += bytes.length
        j.lastSeq += payloads.length
        return first
      })

    // Group commit: appends queue up while a write is in flight and the next
    // write takes them all (one write, one fsync); each caller is released
    // by its own Deferred once the batch holding it is durable. An append
    // whose caller is interrupted after it was queued may still be written.
    const drainJournal = (j: JournalState) => (all: Array<Pending>) =>
      Effect.gen(function* () {
        // Fenced appends are checked against the lease under the thread's
        // lock, in the same critical section as the write.
        let batch = all
        const exit = yield* Effect.exit(
          j.mutex.withPermits(1)(
            withThreadFile(
              j.threadId,
              Effect.gen(function* () {
                if (batch.some((p) => p.fence !== undefined)) {
                  const lease = yield* leases.read(j.threadId)
                  const refused = batch.filter((p) => p.fence !== undefined && !leases.holds(lease, p.fence))
                  for (const p of refused) yield* Deferred.fail(p.deferred, lostError(j.threadId, p.fence!))
                  batch = batch.filter((p) => !refused.includes(p))
                }
                return batch.length === 0 ? 0 : yield* writeBatch(j, batch)
              })
            )
          )
        )
        let first = Exit.isSuccess(exit) ? exit.value : 0
        for (const p of batch) {
          if (Exit.isSuccess(exit)) {
            yield* Deferred.succeed(p.deferred, first)
            first += p.bodies.length
          } else {
            yield* Deferred.failCause(p.deferred, exit.cause)
          }
        }
      })

    const append = (
      threadId: string,
      bodies: ReadonlyArray<string>,
      fence?: number
    ): Effect.Effect<number, JournalError | LeaseLost> =>
      Effect.gen(function* () {
        const j = journal(threadId)
        const deferred = yield* Deferred.make<number, JournalError | LeaseLost>()
        yield* j.submit({ bodies, fence, deferred })
        return yield* Deferred.await(deferred)
      })

    const lastSeq = (threadId: string) => {
      const j = journal(threadId)
      const check = Effect.suspend(() => (j.corrupt !== undefined ? Effect.fail(j.corrupt) : Effect.succeed(j.lastSeq)))
      return j.opened ? check : Effect.zipRight(j.mutex.withPermits(1)(open(j)), check)
    }

    /** Decodes the frames of `buf[start, end)` in [fromSeq, last]. */
    const decodeFrames = (
      j: JournalState,
      buf: Uint8Array,
      start: number,
      end: number,
      seq: number,
      fromSeq: number,
      last: number,
      maxFrames: number,
      verify: boolean,
      base: number
    ): Effect.Effect<{ frames: Array<Event.EventFrame>; offset: number; seq: number }, JournalError> =>
      Effect.suspend(() => {
        const frames: Array<Event.EventFrame> = []
        let failure: JournalError | undefined
        let next = seq
        // A journal is ASCII: the whole range decodes in one call and each
        // payload is a slice of it, as a JSONL reader slices lines. Should a
        // foreign writer have left non-ASCII bytes, the lengths differ and
        // each payload is decoded on its own instead.
        const text = textDecoder.decode(buf.subarray(start, end))
        const sliced = text.length === end - start
        const payload = (ps: number, pe: number): string =>
          sliced ? text.slice(ps - start, pe - start) : textDecoder.decode(buf.subarray(ps, pe))
        const result = Journal.forEachFrame(buf, start, end, verify, (version, frameSeq, ps, pe, off) => {
          if (frameSeq !== next) {
            failure = new CorruptJournal({
              threadId: j.threadId,
              file: j.file,
              offset: base + off,
              detail: `expected seq ${next}, found ${frameSeq}`
            })
            return false
          }
          if (next >= fromSeq) {
            const frame = decode(j.threadId, version, payload(ps, pe), j.file, base + off)
            if (frame instanceof CorruptJournal || frame instanceof UnsupportedSchemaVersion) {
              failure = frame
              return false
            }
            const ok = checkSeq(frame, next, j.threadId, j.file, base + off)
            if (ok instanceof CorruptJournal) {
              failure = ok
              return false
            }
            frames.push(ok)
          }
          next++
          return next <= last && frames.length < maxFrames
        })
        if (failure !== undefined) return Effect.fail(failure)
        if (result.error !== undefined) {
          return Effect.fail(
            new CorruptJournal({
              threadId: j.threadId,
              file: j.file,
              offset: base + result.offset,
              detail: result.error
            })
          )
        }
        return Effect.succeed({ frames, offset: result.offset, seq: next })
      })

    interface Cursor {
      readonly offset: number
      readonly seq: number
      readonly need: number
    }

    /** Reads `length` bytes at `offset` (a journal's committed part never changes). */
    const readRange = (file: string, offset: number, length: number) =>
      Effect.scoped(
        Effect.gen(function* () {
          const f = yield* fs.open(file, { flag: "r" })
          yield* f.seek(offset, "start")
          const buf = new Uint8Array(length)
          let filled = 0
          while (filled < length) {
            const n = Number(yield* f.read(buf.subarray(filled)))
            if (n === 0) break
            filled += n
          }
          return buf.subarray(0, filled)
        })
      ).pipe(Effect.mapError(io(file, "reading the journal")))

    const read = (threadId: string, fromSeq: number, limit: number): Stream.Stream<Event.EventFrame, JournalError> =>
      Stream.unwrap(
        Effect.gen(function* () {
          const j = journal(threadId)
          const fresh = j.opened ? undefined : yield* j.mutex.withPermits(1)(open(j))
          if (j.corrupt !== undefined) return yield* j.corrupt
          // A snapshot: the committed part never changes under us.
          const size = j.size
          const last = Math.min(j.lastSeq, fromSeq + limit - 1)
          if (fromSeq > last || limit <= 0) return Stream.empty
          const k = Math.floor((fromSeq - 1) / Journal.STRIDE)
          const start: Cursor = { offset: j.index[k] ?? 0, seq: k * Journal.STRIDE + 1, need: 0 }
          const done = (c: Cursor) => c.seq > last || c.offset >= size

          if (fresh !== undefined) {
            // Just scanned (checksums verified): decode straight from memory.
            return Stream.paginateChunkEffect(start, (c) =>
              Effect.map(
                decodeFrames(j, fresh, c.offset, size, c.seq, fromSeq, last, FRAMES_PER_CHUNK, false, 0),
                (r) => {
                  const next: Cursor = { offset: r.offset, seq: r.seq, need: 0 }
                  return [Chunk.unsafeFromArray(r.frames), done(next) ? Option.none() : Option.some(next)] as const
                }
              )
            )
          }

          // Every checksum of the committed part was verified when this
          // process opened the journal (or wrote the frame); the part is
          // append-only and the directory is ours (LOCK), so reads trust it.
          // A later reopen verifies everything again.
          const chunk = (c: Cursor) =>
            Effect.gen(function* () {
              const want = Math.min(Math.max(CHUNK, c.need), size - c.offset)
              const buf = yield* readRange(j.file, c.offset, want)
              if (buf.length < want) {
                return yield* new CorruptJournal({
                  threadId,
                  file: j.file,
                  offset: c.offset + buf.length,
                  detail: "journal is shorter than its committed size"
                })
              }
              const r = yield* decodeFrames(
                j,
                buf,
                0,
                buf.length,
                c.seq,
                fromSeq,
                last,
                Number.POSITIVE_INFINITY,
                false,
                c.offset
              )
              const need = r.offset === 0 ? Journal.frameLength(buf, 0) : 0
              if (r.offset === 0 && (need === 0 || need <= buf.length)) {
                return yield* new CorruptJournal({
                  threadId,
                  file: j.file,
                  offset: c.offset,
                  detail: "unreadable frame header"
                })
              }
              const next: Cursor = { offset: c.offset + r.offset, seq: r.seq, need }
              return [Chunk.unsafeFromArray(r.frames), next] as const
            })
          if (start.offset === 0 && size <= CHUNK) {
            // The common case (a resume): one readFile, no paging machinery.
            const whole = yield* fs.readFile(j.file).pipe(Effect.mapError(io(j.file, "reading the journal")))
            if (whole.length < size) {
              return yield* new CorruptJournal({
                threadId,
                file: j.file,
                offset: whole.length,
                detail: "journal is shorter than its committed size"
              })
            }
            const r = yield* decodeFrames(
              j,
              whole,
              0,
              size,
              start.seq,
              fromSeq,
              last,
              Number.POSITIVE_INFINITY,
              false,
              0
            )
            return Stream.fromChunk(Chunk.unsafeFromArray(r.frames))
          }
          return Stream.paginateChunkEffect(start, (c) =>
            Effect.map(chunk(c), ([frames, next]) => [frames, done(next) ? Option.none() : Option.some(next)] as const)
          )
        })
      )

    // The lease file stays: its token is the thread's lease counter.
    const removeThread = (threadId: string) => {
      const j = journal(threadId)
      const dir = threadDir(threadId)
      return j.mutex.withPermits(1)(
        withThreadFile(
          threadId,
          Effect.gen(function* () {
            yield* closeHandle(j)
            for (const file of revisions.keys()) if (file.startsWith(`${dir}${path.sep}`)) revisions.delete(file)
            const names = yield* listNames(dir)
            yield* Effect.forEach(
              names.filter((n) => n !== "lease" && n !== "lock"),
              (n) =>
                fs.remove(path.join(dir, n), { recursive: true }).pipe(
                  Effect.catchIf(
                    (e) => isReason(e, "NotFound"),
                    () => Effect.void
                  ),
                  Effect.mapError(io(dir, "removing the thread"))
                ),
              { discard: true }
            )
            yield* syncDir(dir)
            for (const k of known) if (k.startsWith(`${dir}${path.sep}`)) known.delete(k)
            Object.assign(j, { opened: true, exists: false, size: 0, lastSeq: 0, index: [], corrupt: undefined })
          })
        )
      )
    }

    return {
      name: "fs",
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
