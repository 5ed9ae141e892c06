/**
 * The `LOCK` file of a file-system store: one process owns a directory.
 *
 * The lock is created with `O_EXCL` and holds `{ pid, token, acquired_at }`.
 * A second process fails fast with `Locked`, naming the holder. A lock whose
 * process is gone (a crash, `SIGKILL`) is taken over: renamed away, checked to
 * be the one that was read (so two processes racing for a stale lock cannot
 * both win), then removed and created afresh.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { StorageError } from "../StorageError.js"

interface LockContent {
  readonly pid: number
  readonly token: string
  readonly acquired_at: number
}

// `process` is a global on Node, Bun and Deno; read it defensively so that
// the store still builds where it is missing (the lock then never looks stale).
const proc = (): { pid?: number; kill?: (pid: number, signal: number) => void } | undefined =>
  (globalThis as { process?: { pid?: number; kill?: (pid: number, signal: number) => void } }).process

const ownPid = (): number => proc()?.pid ?? -1

const isAlive = (pid: number): boolean => {
  const p = proc()
  if (p?.kill === undefined || !Number.isSafeInteger(pid) || pid <= 0) return true
  try {
    p.kill(pid, 0)
    return true
  } catch (e) {
    return (e as { code?: string }).code === "EPERM"
  }
}

const registry = (): Set<string> => {
  const g = globalThis as { [k: symbol]: Set<string> | undefined }
  const key = Symbol.for("@strata/storage/fsLocks")
  let s = g[key]
  if (s === undefined) g[key] = s = new Set()
  return s
}

const randomToken = (): string => (globalThis as unknown as { crypto: { randomUUID(): string } }).crypto.randomUUID()

const parse = (text: string): LockContent | undefined => {
  try {
    const v = JSON.parse(text) as Partial<LockContent>
    return typeof v.pid === "number" && typeof v.token === "string"
      ? { pid: v.pid, token: v.token, acquired_at: typeof v.acquired_at === "number" ? v.acquired_at : 0 }
      : undefined
  } catch {
    return undefined
  }
}

const isReason = (e: unknown, reason: string): boolean =>
  typeof e === "object" && e !== null && (e as { reason?: string }).reason === reason

/** Takes the lock of `directory` (its absolute path) for the life of the scope. */
export const acquire = (
  directory: string,
  lockPath: string
): Effect.Effect<void, StorageError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const held = registry()
    const token = randomToken()
    const content: LockContent = { pid: ownPid(), token, acquired_at: yield* Clock.currentTimeMillis }
    const io = (action: string) => (cause: unknown) =>
      new StorageError({ reason: "Unavailable", key: lockPath, detail: `${action} failed: ${String(cause)}`, cause })
    const locked = (holder: LockContent | undefined, why: string) =>
      new StorageError({
        reason: "Locked",
        key: directory,
        detail:
          holder === undefined
            ? `the store is in use (${why}); if no Strata process uses it, remove ${lockPath}`
            : `the store is in use by process ${holder.pid} since ${new Date(holder.acquired_at).toISOString()} (${why}); ` +
              `stop that process, or remove ${lockPath} if it is gone`
      })

    if (held.has(directory)) {
      return yield* locked({ ...content }, "opened twice in this process")
    }

    for (let attempt = 0; attempt < 4; attempt++) {
      const created = yield* Effect.scoped(
        Effect.gen(function* () {
          const file = yield* fs.open(lockPath, { flag: "wx" })
          yield* file.writeAll(new TextEncoder().encode(JSON.stringify(content)))
          yield* file.sync
          return true
        })
      ).pipe(
        Effect.catchIf(
          (e) => isReason(e, "AlreadyExists"),
          () => Effect.succeed(false)
        ),
        Effect.mapError(io("creating the lock"))
      )
      if (created) {
        held.add(directory)
        yield* Effect.addFinalizer(() =>
          Effect.gen(function* () {
            held.delete(directory)
            const text = yield* fs.readFileString(lockPath)
            if (parse(text)?.token === token) yield* fs.remove(lockPath)
          }).pipe(Effect.ignore)
        )
        return
      }
      const text = yield* fs.readFileString(lockPath).pipe(
        Effect.catchIf(
          (e) => isReason(e, "NotFound"),
          () => Effect.succeed(undefined)
        ),
        Effect.mapError(io("reading the lock"))
      )
      if (text === undefined) continue // released meanwhile: try again
      const holder = parse(text)
      if (holder !== undefined && isAlive(holder.pid) && holder.pid !== ownPid()) {
        return yield* locked(holder, "lock held by a live process")
      }
      if (holder === undefined && attempt === 0) {
        // Possibly a lock being written right now: look again once.
        yield* Effect.sleep("50 millis")
        continue
      }
      // Stale: its process is gone (or it is our pid but not held in this
      // process, i.e. left by a previous process that had our pid).
      const aside = `${lockPath}.stale-${token}`
      const moved = yield* fs.rename(lockPath, aside).pipe(
        Effect.as(true),
        Effect.catchIf(
          (e) => isReason(e, "NotFound"),
          () => Effect.succeed(false)
        ),
        Effect.mapError(io("moving a stale lock"))
      )
      if (!moved) continue
      const movedText = yield* fs.readFileString(aside).pipe(Effect.orElseSucceed(() => ""))
      if (movedText !== text) {
        // We moved a fresh lock another process just took: put it back.
        yield* fs.link(aside, lockPath).pipe(Effect.ignore)
        yield* fs.remove(aside).pipe(Effect.ignore)
        return yield* locked(parse(movedText), "lock taken over by another process")
      }
      yield* fs.remove(aside).pipe(Effect.ignore)
    }
    return yield* locked(undefined, "could not take the lock")
  })
