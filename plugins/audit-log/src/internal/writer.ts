/**
 * @internal
 *
 * The audit log's writer, over the file operations it needs (`Files`): the
 * portable ones (`@effect/platform`'s `FileSystem`, `AuditLog.layer`) or
 * Node's synchronous calls (`@strata/plugin-audit-log/node`). The protocol
 * is the same whatever does the I/O: a lock file around each line, the
 * chain's tip read back from the file, the line appended through a handle
 * kept on the file's inode, the head file replaced atomically.
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as AuditChain from "../AuditChain.js"

/** The log's directory is gone (found when taking the lock, before anything is written). */
export class LogDirGone extends Data.TaggedError("LogDirGone") {
  override get message() {
    return "the audit log's directory is gone"
  }
}

/** The file operations of the writer. Failures are anything with a `message` (logged, never thrown further). */
export interface Files {
  readonly makeDirectory: (dir: string) => Effect.Effect<void, { readonly message: string }>
  /** Creates `file` with `text` unless it exists: `true` when made, `false` when it existed; `LogDirGone` when its directory is missing. */
  readonly createExclusive: (
    file: string,
    text: string
  ) => Effect.Effect<boolean, LogDirGone | { readonly message: string }>
  /** The file's mtime (ms), `undefined` when unknown or gone. */
  readonly mtime: (file: string) => Effect.Effect<number | undefined>
  /** Removes a file; errors ignored. */
  readonly remove: (file: string) => Effect.Effect<void>
  /** Size and inode of the log, `undefined` when it does not exist; fails when it is a symbolic link. */
  readonly inspect: (
    file: string
  ) => Effect.Effect<
    { readonly size: number; readonly ino: number | undefined } | undefined,
    { readonly message: string }
  >
  /** Up to `length` bytes of the file from `position` (fewer at its end). */
  readonly read: (
    file: string,
    position: number,
    length: number
  ) => Effect.Effect<Uint8Array, { readonly message: string }>
  /** Appends `bytes` through a handle kept on the file at `ino` (opened again when the file at the path changed). */
  readonly append: (
    file: string,
    ino: number | undefined,
    bytes: Uint8Array
  ) => Effect.Effect<void, { readonly message: string }>
  /** Forgets the handle kept on `file`. */
  readonly dropHandle: (file: string) => Effect.Effect<void>
  /** Writes `text` to `temp`, then renames it to `file`. */
  readonly replace: (temp: string, file: string, text: string) => Effect.Effect<void, { readonly message: string }>
  /** The SHA-256 (hex) of a line (see `AuditChain.hash`). */
  readonly hash: (line: string) => Effect.Effect<string>
}

const LOCK_STALE_MS = 30_000
const LOCK_WAIT_MS = 10_000

/** The last line of a log and how the chain goes on after it. */
interface Tip {
  readonly size: number
  readonly seq: number
  readonly hash: string
  /** The file ends without a newline (a torn write): the next line must start one. */
  readonly torn: boolean
}

/** The head file beside a log. */
export const headFile = (file: string): string => `${file}.head`

/** The writer's append (one line, in order, chained), over `files`. */
export const make = (files: Files, dirname: (file: string) => string) => {
  const tips = new Map<string, Tip>()
  const readyDirs = new Set<string>()

  /** Another process's lock is waited for; one older than 30 s (a crashed writer) is broken. */
  const withFileLock = <A, E, R>(file: string, body: Effect.Effect<A, E, R>) => {
    const lockFile = `${file}.lock`
    const take = Effect.gen(function* () {
      const started = Date.now()
      for (;;) {
        if (yield* files.createExclusive(lockFile, `${new Date().toISOString()}\n`)) return
        const mtime = yield* files.mtime(lockFile)
        if (mtime !== undefined && Date.now() - mtime > LOCK_STALE_MS) {
          yield* files.remove(lockFile)
          continue
        }
        if (Date.now() - started > LOCK_WAIT_MS) {
          return yield* Effect.fail(new Error(`${lockFile} is held by another writer`))
        }
        yield* Effect.sleep(5 + Math.floor(Math.random() * 15))
      }
    })
    return Effect.acquireUseRelease(
      take,
      () => body,
      () => files.remove(lockFile)
    )
  }

  /** Reads the chain's tip from the end of the file (growing the window until a whole line fits). */
  const readTip = (file: string, size: number) =>
    Effect.gen(function* () {
      const cached = tips.get(file)
      if (cached !== undefined && cached.size === size) return cached
      if (size === 0) return { size: 0, seq: 0, hash: AuditChain.GENESIS, torn: false } satisfies Tip
      let window = Math.min(size, 65536)
      for (;;) {
        const bytes = yield* files.read(file, size - window, window)
        const got = bytes.length
        const torn = bytes[got - 1] !== 0x0a
        const end = torn ? got : got - 1
        const start = bytes.lastIndexOf(0x0a, end - 1)
        if (start === -1 && window < size) {
          window = Math.min(size, window * 4)
          continue
        }
        const line = new TextDecoder().decode(bytes.subarray(start + 1, end))
        let seq = 0
        try {
          const parsed = JSON.parse(line) as { seq?: unknown }
          if (typeof parsed.seq === "number" && !torn) seq = parsed.seq
        } catch {}
        return { size, seq, hash: yield* files.hash(line), torn } satisfies Tip
      }
    })

  const encoder = new TextEncoder()
  const appendLine = (file: string, entry: Record<string, unknown>) =>
    Effect.gen(function* () {
      const found = yield* files.inspect(file)
      const tip: Tip =
        found === undefined
          ? { size: 0, seq: 0, hash: AuditChain.GENESIS, torn: false }
          : yield* readTip(file, found.size)
      const { seq: _s, prev: _p, ...rest } = entry
      const line = JSON.stringify({
        seq: tip.seq + 1,
        prev: tip.hash,
        time: new Date().toISOString(),
        ...rest
      })
      const bytes = encoder.encode(`${tip.torn ? "\n" : ""}${line}\n`)
      yield* files.append(file, found?.ino, bytes)
      const next: Tip = {
        size: tip.size + bytes.length,
        seq: tip.seq + 1,
        hash: yield* files.hash(line),
        torn: false
      }
      const head = headFile(file)
      yield* files.replace(`${head}.${next.seq}.tmp`, head, `${JSON.stringify({ seq: next.seq, hash: next.hash })}\n`)
      tips.set(file, next)
    })

  /** One append: the directory made once, the file lock held around the line. */
  const appendOnce = (file: string, entry: Record<string, unknown>) =>
    Effect.gen(function* () {
      const dir = dirname(file)
      if (!readyDirs.has(dir)) {
        yield* files.makeDirectory(dir)
        readyDirs.add(dir)
      }
      yield* withFileLock(file, appendLine(file, entry))
    })

  return (file: string, entry: Record<string, unknown>) =>
    appendOnce(file, entry).pipe(
      // A directory removed since it was made here: made again, once.
      Effect.catchIf(
        (e) => e instanceof LogDirGone,
        () =>
          Effect.suspend(() => {
            readyDirs.delete(dirname(file))
            return Effect.zipRight(files.dropHandle(file), appendOnce(file, entry))
          })
      )
    )
}
