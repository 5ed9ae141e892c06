/**
 * Thread journals on the file-system store (the format is in `journal.ts`),
 * shared by every process that opens the store.
 *
 * - **What a process knows** of a journal is a *view*: the committed end,
 *   last seq and seq index as of its last scan, plus the file's identity.
 *   Every read and write first compares it with the file (one `stat`) and
 *   scans only what changed: frames appended by another process are
 *   verified (checksums) and adopted; a replaced file is scanned afresh.
 * - **Reads never write.** A torn tail (see `journal.ts`) is skipped by
 *   readers; corruption fails the thread with `CorruptJournal`.
 * - **Writes** hold the thread's lock (an in-process mutex, then the lock
 *   file `threads/<thread>/lock` across processes). Under it a writer
 *   truncates a torn tail (a writer that died mid-append left it), checks
 *   the lease of fenced appends, writes and fsyncs. Appends are
 *   group-committed: those that arrive while a write is in flight share
 *   the next write and fsync.
 * - **Reads are bounded**: the file is read in windows of 4 MiB (or one
 *   frame, up to 64 MiB) and decoded window by window, so a journal of any
 *   size streams in bounded memory. The first read of a journal in a
 *   process verifies every checksum while it decodes.
 *
 * (Somewhat over 600 lines: the view, the windowed scan and read, and the
 * group-committed write all work on one journal's state; the frame format
 * itself is in `journal.ts`, files and locks in `fsFiles.ts` / `fileLock.ts`.)
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Event from "@strata/protocol/Event"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { CorruptJournal, LeaseLost, StorageError, UnsupportedSchemaVersion } from "../StorageError.js"
import { SCHEMA_VERSION } from "../StorageSchema.js"
import type { FrameDecoder, JournalError } from "./backend.js"
import { withSeq } from "./backend.js"
import { checkSeq } from "./codec.js"
import type { FileLocks } from "./fileLock.js"
import type { Files } from "./fsFiles.js"
import { isReason } from "./fsFiles.js"
import type { FsLeases } from "./fsLease.js"
import { mapIo } from "./io.js"
import * as Journal from "./journal.js"
import { makeBatcher } from "./locks.js"

/** Read window. */
const CHUNK = 4 * 1024 * 1024
/** Journals kept open for appending (least recently used are closed). */
const MAX_OPEN_JOURNALS = 128

/** What this process knows of a journal file. */
interface View {
  readonly committedEnd: number
  readonly lastSeq: number
  readonly index: ReadonlyArray<number>
  /** The file's size and identity when it was scanned (`ino` undefined: no file, or unknown). */
  readonly size: number
  readonly ino: number | undefined
  readonly exists: boolean
  /** Bytes of torn tail after the committed end. */
  readonly tail: number
  readonly corrupt: CorruptJournal | undefined
}

const EMPTY: View = {
  committedEnd: 0,
  lastSeq: 0,
  index: [],
  size: 0,
  ino: undefined,
  exists: false,
  tail: 0,
  corrupt: undefined
}

interface Pending {
  readonly bodies: ReadonlyArray<string>
  readonly fence: number | undefined
  readonly deferred: Deferred.Deferred<number, JournalError | LeaseLost>
}

interface State {
  readonly threadId: string
  readonly file: string
  /** Serializes this process's writers of the thread (appends, lease changes, fenced writes). */
  readonly mutex: Effect.Semaphore
  view: View | undefined
  submit: (pending: Pending) => Effect.Effect<void>
  /** The journal opened for appending, kept between batches, and the inode it was opened on. */
  handle:
    | { readonly file: FileSystem.File; readonly scope: Scope.CloseableScope; readonly ino: number | undefined }
    | undefined
}

export interface Deps {
  readonly files: Files
  readonly scope: Scope.Scope
  readonly locks: FileLocks
  readonly decode: FrameDecoder
  readonly threadDir: (threadId: string) => string
}

export interface Journals {
  readonly append: (
    threadId: string,
    bodies: ReadonlyArray<string>,
    fence: number | undefined
  ) => Effect.Effect<number, JournalError | LeaseLost>
  readonly read: (threadId: string, fromSeq: number, limit: number) => Stream.Stream<Event.EventFrame, JournalError>
  readonly lastSeq: (threadId: string) => Effect.Effect<number, JournalError>
  /** Runs `effect` holding the thread's lock (in-process mutex, then the lock file). */
  readonly underLock: <A, E>(threadId: string, effect: Effect.Effect<A, E>) => Effect.Effect<A, E | StorageError>
  /** Removes the thread's files except its lease and lock (its journal, metadata, checkpoints). */
  readonly remove: (threadId: string) => Effect.Effect<void, StorageError>
  /** Wires in the leases (they need `underLock`). */
  readonly setLeases: (leases: FsLeases) => void
}

const lostError = (threadId: string, token: number) =>
  new LeaseLost({ threadId, token, detail: "a newer lease was issued, or this one was released" })

export const make = (deps: Deps): Journals => {
  const { files, scope, locks, decode } = deps
  const { fs, path } = files
  let leases: FsLeases | undefined
  const textDecoder = new TextDecoder()

  const states = new Map<string, State>()
  const state = (threadId: string): State => {
    let s = states.get(threadId)
    if (s === undefined) {
      s = {
        threadId,
        file: path.join(deps.threadDir(threadId), "journal"),
        mutex: Effect.unsafeMakeSemaphore(1),
        view: undefined,
        submit: () => Effect.void,
        handle: undefined
      }
      s.submit = makeBatcher(scope, drain(s))
      states.set(threadId, s)
    }
    return s
  }

  const lockFile = (threadId: string) => path.join(deps.threadDir(threadId), "lock")
  /** The lock file only (call under the thread's mutex). */
  const withFileLock = <A, E>(threadId: string, effect: Effect.Effect<A, E>) =>
    Effect.zipRight(files.ensureDir(deps.threadDir(threadId)), locks.withLock(lockFile(threadId), effect))
  const underLock = <A, E>(threadId: string, effect: Effect.Effect<A, E>) =>
    state(threadId).mutex.withPermits(1)(withFileLock(threadId, effect))

  // ---------------------------------------------------------------------------
  // scanning

  const corruptAt = (s: State, offset: number, detail: string) =>
    new CorruptJournal({ threadId: s.threadId, file: s.file, offset, detail })

  /** Reads up to `length` bytes at `offset` (fewer at the end of the file). */
  const readAt = (f: FileSystem.File, offset: number, length: number): Effect.Effect<Uint8Array, unknown> =>
    Effect.gen(function* () {
      yield* f.seek(offset, "start")
      const buf = new Uint8Array(length)
      let filled = 0
      while (filled < length) {
        const n = Number(yield* f.read(buf.subarray(filled)))
        if (n === 0) break
        filled += n
      }
      return filled === length ? buf : buf.subarray(0, filled)
    })

  /**
   * Where a scan reads from: a journal of up to one window is read whole
   * (one call, the common case of a resume); a bigger one through a handle,
   * window by window.
   */
  interface Source {
    readonly readAt: (offset: number, length: number) => Effect.Effect<Uint8Array, unknown>
  }

  const openSource = (s: State, size: number): Effect.Effect<Source, StorageError, Scope.Scope> =>
    size <= CHUNK
      ? Effect.map(
          fs.readFile(s.file).pipe(mapIo(s.file, "reading the journal")),
          (buf): Source => ({
            readAt: (offset, length) => Effect.succeed(buf.subarray(offset, Math.min(offset + length, buf.length)))
          })
        )
      : Effect.map(
          fs.open(s.file, { flag: "r" }).pipe(mapIo(s.file, "opening the journal")),
          (f): Source => ({ readAt: (offset, length) => readAt(f, offset, length) })
        )

  /** Whether every byte of the file from `from` to `size` is zero. */
  const zerosFrom = (f: Source, from: number, size: number) =>
    Effect.gen(function* () {
      for (let at = from; at < size; at += CHUNK) {
        const buf = yield* f.readAt(at, Math.min(CHUNK, size - at))
        if (!Journal.isZeros(buf, 0, buf.length)) return false
      }
      return true
    })

  /** What a scan decodes, window by window. */
  interface Sink {
    readonly fromSeq: number
    readonly last: number
    /** Frames decoded and committed, not yet handed out. */
    ready: Array<Event.EventFrame>
    /** Frames decoded but not committed yet. */
    pending: Array<Event.EventFrame>
    failure: JournalError | undefined
  }

  /**
   * Decodes the frames of one window into `sink` (the callbacks of
   * `scanWindow`). A journal is ASCII: the window decodes to a string in one
   * call and each payload is a slice of it, as a JSONL reader slices lines.
   * Should a foreign writer have left non-ASCII bytes, the lengths differ and
   * each payload is decoded on its own instead.
   */
  const decoder = (s: State, sink: Sink, buf: Uint8Array) => {
    let text: string | undefined
    let sliced = false
    const payload = (ps: number, pe: number): string => {
      if (text === undefined) {
        text = textDecoder.decode(buf)
        sliced = text.length === buf.length
      }
      return sliced ? text.slice(ps, pe) : textDecoder.decode(buf.subarray(ps, pe))
    }
    const onFrame = (version: number, seq: number, ps: number, pe: number, offset: number) => {
      if (sink.failure !== undefined || seq < sink.fromSeq || seq > sink.last) return
      const frame = decode(s.threadId, version, payload(ps, pe), s.file, offset)
      if (frame instanceof CorruptJournal || frame instanceof UnsupportedSchemaVersion) {
        sink.failure = frame
        return
      }
      const checked = checkSeq(frame, seq, s.threadId, s.file, offset)
      if (checked instanceof CorruptJournal) sink.failure = checked
      else sink.pending.push(checked)
    }
    const onCommit = () => {
      if (sink.pending.length === 0) return
      if (sink.ready.length === 0) sink.ready = sink.pending
      else for (const f of sink.pending) sink.ready.push(f)
      sink.pending = []
    }
    return { onFrame, onCommit }
  }

  /** A scan in progress over an open file (`to`: the file size when it started). */
  interface Cursor {
    readonly scan: Journal.Scan
    readonly to: number
    /** Bytes the next window must hold at least (a frame longer than a window). */
    need: number
    done: Journal.Verdict | undefined
  }

  /**
   * Scans one window: advances the cursor, decodes into `sink` when given,
   * and at the end of the file records the verdict. `verify`: check
   * checksums (everything not verified before in this process).
   */
  const step = (
    s: State,
    f: Source,
    c: Cursor,
    verify: boolean,
    sink: Sink | undefined,
    stopAfter: number
  ): Effect.Effect<void, StorageError> =>
    Effect.gen(function* () {
      const at = c.scan.offset
      if (at >= c.to || c.scan.seq >= stopAfter) {
        c.done = Journal.verdict(c.scan, { _tag: "End" }, c.to, () => true)
        return
      }
      const want = Math.min(Math.max(CHUNK, c.need), c.to - at)
      const buf = yield* f.readAt(at, want).pipe(mapIo(s.file, "reading the journal"))
      const size = at + buf.length // the file may have shrunk under a reader
      const callbacks = sink === undefined ? undefined : decoder(s, sink, buf)
      const stop = Journal.scanWindow(c.scan, buf, at, verify, callbacks?.onFrame, callbacks?.onCommit)
      if (stop._tag === "End") {
        c.need = 0
        if (buf.length < want) c.done = Journal.verdict(c.scan, stop, size, () => true)
        return
      }
      if (stop._tag === "More" && c.scan.offset + stop.length <= c.to && buf.length === want) {
        // A frame longer than the rest of the window: read it whole next.
        c.need = stop.length
        return
      }
      // A partial frame at the end of the file (torn), or a bad frame: a torn
      // tail when only zeros follow, corruption otherwise.
      const zeros =
        stop._tag !== "Bad" ||
        (verify && (yield* zerosFrom(f, c.scan.offset, c.to).pipe(Effect.orElseSucceed(() => false))))
      c.done = Journal.verdict(c.scan, stop, Math.max(size, c.to), () => zeros)
    })

  const statFile = (file: string) =>
    fs.stat(file).pipe(
      Effect.map((info) => Option.some({ size: Number(info.size), ino: Option.getOrUndefined(info.ino) })),
      Effect.catchIf(
        (e) => isReason(e, "NotFound"),
        () => Effect.succeed(Option.none<{ size: number; ino: number | undefined }>())
      ),
      mapIo(file, "stat of the journal")
    )

  /** Where a scan of the file must start, given what is known (`undefined`: it has not changed). */
  const scanStart = (known: View | undefined, size: number, ino: number | undefined): Journal.Scan | undefined => {
    if (known?.exists && known.ino === ino && known.size === size) return undefined
    if (known === undefined || !known.exists || known.ino !== ino || size < known.committedEnd || known.corrupt) {
      return Journal.startScan()
    }
    return Journal.startScan({ end: known.committedEnd, seq: known.lastSeq, index: known.index })
  }

  const viewOf = (s: State, v: Journal.Verdict, size: number, ino: number | undefined): View => ({
    committedEnd: v.committedEnd,
    lastSeq: v.committedSeq,
    index: v.index,
    size,
    ino,
    exists: true,
    tail: v.corrupt === undefined ? v.tail : 0,
    corrupt: v.corrupt === undefined ? undefined : corruptAt(s, v.corrupt.offset, v.corrupt.detail)
  })

  /** Brings the view up to date with the file (scanning what changed) and returns it. */
  const refresh = (s: State): Effect.Effect<View, StorageError> =>
    Effect.gen(function* () {
      const stat = yield* statFile(s.file)
      if (Option.isNone(stat)) {
        s.view = EMPTY
        return EMPTY
      }
      const { size, ino } = stat.value
      const scan = scanStart(s.view, size, ino)
      if (scan === undefined) return s.view!
      const verdict = yield* Effect.scoped(
        Effect.gen(function* () {
          const f = yield* openSource(s, size)
          const c: Cursor = { scan, to: size, need: 0, done: undefined }
          while (c.done === undefined) yield* step(s, f, c, true, undefined, Number.POSITIVE_INFINITY)
          return c.done
        })
      )
      const view = viewOf(s, verdict, size, ino)
      s.view = view
      return view
    })

  // ---------------------------------------------------------------------------
  // reading

  /**
   * A stream of the frames the cursor decodes into `sink`, window by window.
   * `onDone` gets the verdict once the cursor reaches its end.
   */
  const frames = (
    s: State,
    f: Source,
    cursor: Cursor,
    verify: boolean,
    sink: Sink,
    stopAfter: number,
    onDone: (verdict: Journal.Verdict) => void
  ): Stream.Stream<Event.EventFrame, JournalError> =>
    Stream.repeatEffectChunkOption(
      Effect.gen(function* () {
        for (;;) {
          if (sink.ready.length > 0) {
            const out = sink.ready
            sink.ready = []
            return Chunk.unsafeFromArray(out)
          }
          if (sink.failure !== undefined) return yield* Effect.fail(Option.some<JournalError>(sink.failure))
          const done = cursor.done
          if (done !== undefined) {
            if (!verify && sink.pending.length > 0) {
              // Below the committed end every frame is committed.
              sink.ready = sink.pending
              sink.pending = []
              continue
            }
            onDone(done)
            if (done.corrupt !== undefined) {
              return yield* Effect.fail(
                Option.some<JournalError>(corruptAt(s, done.corrupt.offset, done.corrupt.detail))
              )
            }
            return yield* Effect.fail(Option.none())
          }
          yield* step(s, f, cursor, verify, sink, stopAfter).pipe(Effect.mapError(Option.some))
        }
      })
    )

  const read = (threadId: string, fromSeq: number, limit: number): Stream.Stream<Event.EventFrame, JournalError> =>
    Stream.unwrapScoped(
      Effect.gen(function* () {
        const s = state(threadId)
        const stat = yield* statFile(s.file)
        if (Option.isNone(stat)) {
          s.view = EMPTY
          return Stream.empty
        }
        const { size, ino } = stat.value
        const last = fromSeq + limit - 1
        const sink: Sink = { fromSeq, last, ready: [], pending: [], failure: undefined }
        const scan = scanStart(s.view, size, ino)
        if (scan !== undefined && scan.offset === 0) {
          // Not read before in this process (or replaced): verify and decode
          // in one pass, to the end of the file, which makes the view.
          const f = yield* openSource(s, size)
          const cursor: Cursor = { scan, to: size, need: 0, done: undefined }
          return frames(s, f, cursor, true, sink, Number.POSITIVE_INFINITY, (verdict) => {
            s.view = viewOf(s, verdict, size, ino)
          })
        }
        // Known: frames appended since are verified first; what this process
        // verified before is trusted (the committed part never changes).
        const view = scan === undefined ? s.view! : yield* refresh(s)
        if (view.corrupt !== undefined) return yield* view.corrupt
        if (fromSeq > view.lastSeq) return Stream.empty
        const k = Math.min(Math.floor((fromSeq - 1) / Journal.STRIDE), view.index.length - 1)
        const from = k < 0 ? { end: 0, seq: 0, index: [] } : { end: view.index[k]!, seq: k * Journal.STRIDE, index: [] }
        const f = yield* openSource(s, size)
        const cursor: Cursor = { scan: Journal.startScan(from), to: view.committedEnd, need: 0, done: undefined }
        return frames(s, f, cursor, false, sink, Math.min(last, view.lastSeq), () => {})
      })
    )

  const lastSeq = (threadId: string): Effect.Effect<number, JournalError> =>
    Effect.flatMap(refresh(state(threadId)), (v) =>
      v.corrupt !== undefined ? Effect.fail(v.corrupt) : Effect.succeed(v.lastSeq)
    )

  // ---------------------------------------------------------------------------
  // writing

  // Open journals, least recently used first (a Map keeps insertion order).
  const open = new Map<string, State>()
  const closeHandle = (s: State): Effect.Effect<void> =>
    Effect.suspend(() => {
      const h = s.handle
      s.handle = undefined
      open.delete(s.threadId)
      return h === undefined ? Effect.void : Scope.close(h.scope, Exit.void)
    })

  /** The append handle on the file the view describes (call under the lock). */
  const appendHandle = (s: State, view: View): Effect.Effect<FileSystem.File, StorageError> =>
    Effect.gen(function* () {
      open.delete(s.threadId)
      open.set(s.threadId, s)
      if (s.handle !== undefined && view.exists && s.handle.ino === view.ino) return s.handle.file
      yield* closeHandle(s)
      open.set(s.threadId, s)
      // Close the least recently used idle journals beyond the limit (a busy
      // one is skipped: its mutex is held by its own writer).
      for (const other of [...open.values()]) {
        if (open.size <= MAX_OPEN_JOURNALS) break
        if (other !== s) yield* other.mutex.withPermitsIfAvailable(1)(closeHandle(other))
      }
      const handleScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
      const file = yield* Scope.extend(fs.open(s.file, { flag: "a" }), handleScope).pipe(
        Effect.tapError(() => Scope.close(handleScope, Exit.void)),
        mapIo(s.file, "opening the journal")
      )
      const info = yield* Effect.option(file.stat)
      const ino = Option.isSome(info) ? Option.getOrUndefined(info.value.ino) : undefined
      s.handle = { file, scope: handleScope, ino }
      return file
    })

  /** Writes one batch (under the lock): returns the first seq given. */
  const writeBatch = (s: State, batch: ReadonlyArray<Pending>): Effect.Effect<number, JournalError> =>
    Effect.gen(function* () {
      let view = yield* refresh(s)
      if (view.corrupt !== undefined) return yield* view.corrupt
      if (view.tail > 0) {
        // A torn tail left by a writer that died mid-append: we hold the
        // lock, so nobody is writing it now.
        yield* fs.truncate(s.file, view.committedEnd).pipe(mapIo(s.file, "truncating a torn tail"))
        yield* Effect.scoped(Effect.flatMap(fs.open(s.file, { flag: "r+" }), (f) => f.sync)).pipe(
          mapIo(s.file, "fsync")
        )
        view = { ...view, tail: 0, size: view.committedEnd }
        s.view = view
      }
      const first = view.lastSeq + 1
      const payloads: Array<string> = []
      const commits = new Set<number>()
      for (const p of batch) {
        for (const body of p.bodies) payloads.push(withSeq(first + payloads.length, body))
        commits.add(payloads.length - 1)
      }
      if (view.lastSeq + payloads.length > Journal.MAX_SEQ) {
        return yield* new StorageError({ reason: "InvalidInput", key: s.file, detail: "journal is full (2^32 events)" })
      }
      const { bytes, offsets } = Journal.encodeFrames(payloads, first, SCHEMA_VERSION, (i) => commits.has(i))
      const created = !view.exists
      if (created) yield* files.ensureDir(path.dirname(s.file))
      const handle = yield* appendHandle(s, view)
      yield* Effect.zipRight(handle.writeAll(bytes), handle.sync).pipe(
        mapIo(s.file, "appending"),
        Effect.tapError(() =>
          // Drop the handle and roll back a partial write; if even that
          // fails, rescan on next use.
          Effect.zipRight(
            closeHandle(s),
            fs.truncate(s.file, view.committedEnd).pipe(
              Effect.catchAll(() =>
                Effect.sync(() => {
                  s.view = undefined
                })
              )
            )
          )
        )
      )
      if (created) yield* files.syncDir(path.dirname(s.file))
      const index = [...view.index]
      for (let i = 0; i < offsets.length; i++) {
        if ((first + i - 1) % Journal.STRIDE === 0) index.push(view.committedEnd + offsets[i]!)
      }
      s.view = {
        committedEnd: view.committedEnd + bytes.length,
        lastSeq: view.lastSeq + payloads.length,
        index,
        size: view.committedEnd + bytes.length,
        ino: s.handle?.ino,
        exists: true,
        tail: 0,
        corrupt: undefined
      }
      return first
    })

  // Group commit: appends queue up while a write is in flight and the next
  // write takes them all (one write, one fsync); each caller is released by
  // its own Deferred once the batch holding it is durable. Fenced appends are
  // checked against the lease in the same critical section. An append whose
  // caller is interrupted after it was queued may still be written.
  const drain = (s: State) => (all: Array<Pending>) =>
    Effect.gen(function* () {
      let batch = all
      const exit = yield* Effect.exit(
        s.mutex.withPermits(1)(
          withFileLock(
            s.threadId,
            Effect.gen(function* () {
              if (leases !== undefined && batch.some((p) => p.fence !== undefined)) {
                const lease = yield* leases.read(s.threadId)
                const refused = batch.filter((p) => p.fence !== undefined && !leases!.holds(lease, p.fence))
                for (const p of refused) yield* Deferred.fail(p.deferred, lostError(s.threadId, p.fence!))
                batch = batch.filter((p) => !refused.includes(p))
              }
              return batch.length === 0 ? 0 : yield* writeBatch(s, batch)
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

  const append = (threadId: string, bodies: ReadonlyArray<string>, fence: number | undefined) =>
    Effect.gen(function* () {
      const s = state(threadId)
      const deferred = yield* Deferred.make<number, JournalError | LeaseLost>()
      yield* s.submit({ bodies, fence, deferred })
      return yield* Deferred.await(deferred)
    })

  const remove = (threadId: string) => {
    const s = state(threadId)
    const dir = deps.threadDir(threadId)
    return underLock(
      threadId,
      Effect.gen(function* () {
        yield* closeHandle(s)
        const names = yield* files.listNames(dir)
        yield* Effect.forEach(
          names.filter((n) => n !== "lease" && n !== "lock"),
          (n) =>
            fs.remove(path.join(dir, n), { recursive: true }).pipe(
              Effect.catchIf(
                (e) => isReason(e, "NotFound"),
                () => Effect.void
              ),
              mapIo(dir, "removing the thread")
            ),
          { discard: true }
        )
        yield* files.syncDir(dir)
        files.forgetDirs(path.join(dir, "checkpoints"))
        s.view = EMPTY
      })
    )
  }

  return {
    append,
    read,
    lastSeq,
    underLock,
    remove,
    setLeases: (l) => {
      leases = l
    }
  }
}
