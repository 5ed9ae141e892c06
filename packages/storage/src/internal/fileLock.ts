/**
 * Short-lived cross-process locks on the file system, held for the few
 * milliseconds of a write; a writer that finds a lock taken waits for it.
 *
 * A lock file is a hard link to its holder's file, which says who holds it
 * (pid, process start time, boot id, host, a random token): taking a lock is
 * one `link` (atomic, and it fails if the lock exists), so a lock is never
 * seen without its content; releasing it is one `unlink`.
 *
 * A lock left behind by a process that died (a crash, `SIGKILL`) is stale
 * and taken over: when its process is gone, which includes a pid reused by a
 * process that started at another time (see `processInfo.ts`), or when it has
 * no readable content and is older than two seconds (a lock file written by
 * hand or by an older version). Taking over renames it aside and checks that
 * the file moved is the one judged stale, so two processes racing for it
 * cannot both win.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { fromUnknown, StorageError } from "../StorageError.js"
import { describeProcess, isGone, type ProcessId } from "./processInfo.js"

/** What a lock file holds. */
export interface LockContent extends ProcessId {
  readonly token: string
  /** When it was taken (ms since the epoch). */
  readonly at: number
}

const encoder = new TextEncoder()

export const randomToken = (): string =>
  (globalThis as unknown as { crypto: { randomUUID(): string } }).crypto.randomUUID()

const isReason = (e: unknown, reason: string): boolean =>
  typeof e === "object" && e !== null && (e as { reason?: string }).reason === reason

/** Parses a lock file's content; `undefined` when it is not one. */
export const parseLock = (text: string): LockContent | undefined => {
  try {
    const v = JSON.parse(text) as Partial<LockContent>
    if (typeof v.pid !== "number" || typeof v.token !== "string") return undefined
    return {
      pid: v.pid,
      token: v.token,
      at: typeof v.at === "number" ? v.at : 0,
      ...(typeof v.start === "string" ? { start: v.start } : {}),
      ...(typeof v.boot === "string" ? { boot: v.boot } : {}),
      ...(typeof v.host === "string" ? { host: v.host } : {})
    }
  } catch {
    return undefined
  }
}

/** The tokens of the locks this process holds (shared by every store in the process). */
const heldTokens = (): Set<string> => {
  const g = globalThis as { [k: symbol]: Set<string> | undefined }
  const key = Symbol.for("@strata/storage/heldLockTokens")
  let s = g[key]
  if (s === undefined) g[key] = s = new Set()
  return s
}

/** What a caller learns about a lock it could not take. */
export interface Held {
  readonly holder: LockContent | undefined
}

export type Judgement = "held" | "stale" | "unknown"

/**
 * Judges the lock file whose content is `text` (and modification time
 * `mtime`): held by a live process, stale, or unknown (unreadable and young:
 * look again).
 */
export const judge = (
  fs: FileSystem.FileSystem,
  self: ProcessId,
  text: string,
  mtime: number | undefined,
  now: number
): Effect.Effect<Judgement> =>
  Effect.suspend(() => {
    const holder = parseLock(text)
    if (holder === undefined) {
      return Effect.succeed(mtime !== undefined && now - mtime > 2000 ? "stale" : "unknown")
    }
    if (heldTokens().has(holder.token)) return Effect.succeed("held")
    return Effect.map(isGone(fs, self, holder), (gone) => (gone ? "stale" : "held"))
  })

/**
 * Moves a stale lock aside and removes it, if it is still the file that was
 * judged (same content). True when the lock file is gone now (removed by us
 * or meanwhile by its holder); false when a fresh lock took its place.
 */
export const removeStale = (
  fs: FileSystem.FileSystem,
  file: string,
  judged: string
): Effect.Effect<boolean, StorageError> =>
  Effect.gen(function* () {
    const aside = `${file}.stale-${randomToken()}`
    const moved = yield* fs.rename(file, aside).pipe(
      Effect.as(true),
      Effect.catchIf(
        (e) => isReason(e, "NotFound"),
        () => Effect.succeed(false)
      ),
      Effect.mapError(fromUnknown(file, "moving a stale lock"))
    )
    if (!moved) return true
    const movedText = yield* fs.readFileString(aside).pipe(Effect.orElseSucceed(() => ""))
    if (movedText !== judged) {
      // A fresh lock another process just took: put it back.
      const back = yield* fs.link(aside, file).pipe(
        Effect.as(true),
        Effect.orElseSucceed(() => false)
      )
      yield* Effect.ignore(fs.remove(aside))
      return !back
    }
    yield* Effect.ignore(fs.remove(aside))
    return true
  })

/** Reads a lock file: its text and modification time, or undefined when it is gone. */
export const readLock = (
  fs: FileSystem.FileSystem,
  file: string
): Effect.Effect<{ readonly text: string; readonly mtime: number | undefined } | undefined, StorageError> =>
  Effect.gen(function* () {
    const text = yield* fs.readFileString(file).pipe(
      Effect.catchIf(
        (e) => isReason(e, "NotFound"),
        () => Effect.succeed(undefined)
      ),
      Effect.mapError(fromUnknown(file, "reading a lock file"))
    )
    if (text === undefined) return undefined
    const info = yield* Effect.option(fs.stat(file))
    const mtime =
      info._tag === "Some" && info.value.mtime._tag === "Some" ? info.value.mtime.value.getTime() : undefined
    return { text, mtime }
  })

/** Says who holds a lock, for messages. */
export const describeHolder = (holder: LockContent | undefined): string =>
  holder === undefined
    ? "a process that is still writing its lock"
    : `${describeProcess(holder)} (running since ${new Date(holder.at).toISOString()})`

export interface FileLocks {
  /**
   * Runs `effect` while holding the lock file `file`. Waits (up to the
   * configured time) while a live process holds it; then fails with
   * `StorageError` reason `Locked`, naming the holder.
   */
  readonly withLock: <A, E, R>(file: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | StorageError, R>
}

/**
 * Locks taken by this process, identified as `self`. A lock is a hard link
 * to this store's holder file (`<holders>/<pid>-<token>`, written once, with
 * who we are): taking it is one `link` (atomic, fails if it exists, and the
 * lock is never seen without its content), releasing it one `unlink`. The
 * holder file goes with the scope; those of processes that are gone are
 * swept when a store opens.
 */
export const make = (
  fs: FileSystem.FileSystem,
  self: ProcessId,
  options: { readonly waitMs?: number | undefined; readonly holders: string; readonly eager?: boolean | undefined }
): Effect.Effect<FileLocks, never, Scope.Scope> =>
  Effect.gen(function* () {
    const waitMs = options.waitMs ?? 10_000
    const held = heldTokens()
    const token = randomToken()
    const content: LockContent = { ...self, token, at: yield* Clock.currentTimeMillis }
    const holderFile = `${options.holders}/${self.pid}-${token}`

    // Holder files of processes that are gone (best effort).
    const sweep = Effect.gen(function* () {
      const names = yield* fs.readDirectory(options.holders)
      for (const name of names) {
        const file = `${options.holders}/${name}`
        const found = yield* readLock(fs, file)
        if (found === undefined) continue
        const verdict = yield* judge(fs, self, found.text, found.mtime, Date.now())
        if (verdict === "stale") yield* fs.remove(file)
      }
    }).pipe(Effect.ignore)

    const created = yield* Effect.cached(
      Effect.gen(function* () {
        yield* fs.makeDirectory(options.holders, { recursive: true })
        yield* sweep
        yield* fs.writeFile(holderFile, encoder.encode(JSON.stringify(content)))
        held.add(token)
      }).pipe(Effect.mapError(fromUnknown(holderFile, "writing the lock holder file")))
    )
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        held.delete(token)
        return Effect.ignore(fs.remove(holderFile))
      })
    )
    // Written in the background: the first lock waits for it, and a failure
    // is the locks' to report (`created` is cached, its failure too, as when
    // the first lock wrote it).
    if (options.eager === true) yield* Effect.forkScoped(Effect.ignore(created))

    const tryLink = (file: string) =>
      fs.link(holderFile, file).pipe(
        Effect.as(true),
        Effect.catchIf(
          (e) => isReason(e, "AlreadyExists"),
          () => Effect.succeed(false)
        ),
        Effect.mapError(fromUnknown(file, "taking a lock"))
      )

    const acquire = (file: string): Effect.Effect<void, StorageError> =>
      Effect.gen(function* () {
        yield* created
        const started = yield* Clock.currentTimeMillis
        let delay = 1
        for (;;) {
          if (yield* tryLink(file)) return
          const found = yield* readLock(fs, file)
          if (found === undefined) continue
          const now = yield* Clock.currentTimeMillis
          const verdict = yield* judge(fs, self, found.text, found.mtime, now)
          if (verdict === "stale") {
            yield* removeStale(fs, file, found.text)
            continue
          }
          if (now - started > waitMs) {
            return yield* new StorageError({
              reason: "Locked",
              key: file,
              detail:
                `held by ${describeHolder(parseLock(found.text))} for over ${waitMs} ms; ` +
                `if no Strata process is running there, remove ${file}`
            })
          }
          yield* Effect.sleep(delay)
          delay = Math.min(delay * 2, 50)
        }
      })

    return {
      withLock: (file, effect) =>
        Effect.acquireUseRelease(
          acquire(file),
          () => effect,
          () => Effect.ignore(fs.remove(file))
        )
    } satisfies FileLocks
  })
