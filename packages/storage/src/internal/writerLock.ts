/**
 * One writer process per unstorage store. unstorage's API has no
 * compare-and-set, so two processes appending to one journal would give the
 * same sequence number twice; instead the store records its writer under
 * the `writer` key (process id, start time, boot, host, a random token and
 * an expiry renewed every third of the ttl) and a second process that opens
 * the store for writing is refused with `Locked`, naming the holder. A
 * holder that crashed is taken over once its record expires, or at once
 * when its process is certainly gone (same host, `/proc` tells).
 *
 * Without compare-and-set the take-over itself is best effort: the record is
 * written, then read back after a short pause, and a process that finds
 * another token there backs off. Two processes starting within the write
 * latency of each other could both pass; a holder that finds another token
 * at a renewal stops writing (`Locked` on every write).
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { Storage } from "unstorage"
import { StorageError } from "../StorageError.js"
import { tryPromise as use } from "./io.js"
import type { ProcessId } from "./processInfo.js"
import { describeProcess } from "./processInfo.js"

export const KEY = "writer"
export const DEFAULT_TTL_MS = 15_000
const SETTLE_MS = 30

/** Who this process is, and how to tell that another one is gone. */
export interface Identity {
  readonly self: ProcessId
  readonly isGone: (holder: ProcessId) => Effect.Effect<boolean>
}

interface Holder extends ProcessId {
  readonly token: string
  readonly driver: string
  readonly expiresAt: number
}

const parse = (value: unknown): Holder | undefined => {
  const v = typeof value === "string" ? safeJson(value) : value
  if (typeof v !== "object" || v === null) return undefined
  const h = v as Partial<Holder>
  return typeof h.token === "string" && typeof h.pid === "number" && typeof h.expiresAt === "number"
    ? (h as Holder)
    : undefined
}

const safeJson = (s: string): unknown => {
  try {
    return JSON.parse(s)
  } catch {
    return undefined
  }
}

const sameProcess = (a: ProcessId, b: ProcessId) =>
  a.pid === b.pid && a.start === b.start && a.boot === b.boot && a.host === b.host

export interface WriterLock {
  /** Fails with `Locked` once another process has taken the store over. */
  readonly check: Effect.Effect<void, StorageError>
}

/** Takes the store's writer record for the scope's lifetime. */
export const acquire = (
  storage: Storage,
  options: { readonly identity: Identity; readonly driver: string; readonly ttlMs: number }
): Effect.Effect<WriterLock, StorageError, Scope.Scope> =>
  Effect.gen(function* () {
    const { identity, driver, ttlMs } = options
    const token = `${identity.self.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`
    const read = Effect.map(
      use(KEY, "read", () => storage.getItem(KEY)),
      parse
    )
    const write = (now: number) =>
      use(KEY, "write", () =>
        storage.setItem(KEY, JSON.stringify({ ...identity.self, token, driver, expiresAt: now + ttlMs }))
      )
    const locked = (holder: Holder, now: number) =>
      new StorageError({
        reason: "Locked",
        key: KEY,
        detail:
          `${describeProcess(holder)} is this store's writer (until ${new Date(holder.expiresAt).toISOString()}, ` +
          `${Math.max(0, Math.ceil((holder.expiresAt - now) / 1000))} s unless renewed): the unstorage driver ` +
          `"${driver}" has no cross-process lock, so one process writes at a time; stop it, or open this store read-only`
      })
    /** Whether `holder` keeps another process out now. */
    const blocks = (holder: Holder | undefined, now: number) =>
      holder === undefined || holder.token === token || sameProcess(holder, identity.self) || holder.expiresAt <= now
        ? Effect.succeed(false)
        : Effect.map(identity.isGone(holder), (gone) => !gone)

    const now = yield* Clock.currentTimeMillis
    const before = yield* read
    if (yield* blocks(before, now)) return yield* locked(before!, now)
    yield* write(now)
    yield* Effect.sleep(SETTLE_MS)
    const after = yield* read
    const checked = yield* Clock.currentTimeMillis
    if (after !== undefined && after.token !== token && (yield* blocks(after, checked))) {
      return yield* locked(after, checked)
    }

    let lost: StorageError | undefined
    const renew = Effect.gen(function* () {
      if (lost !== undefined) return
      const t = yield* Clock.currentTimeMillis
      const current = yield* read
      if (current !== undefined && current.token !== token && !sameProcess(current, identity.self)) {
        lost = locked(current, t)
        return
      }
      yield* write(t)
    }).pipe(Effect.ignore)
    yield* Effect.forkScoped(Effect.repeat(renew, Schedule.spaced(Math.max(50, Math.floor(ttlMs / 3)))))
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        const current = yield* read
        if (current?.token === token) yield* use(KEY, "release", () => storage.removeItem(KEY))
      }).pipe(Effect.ignore)
    )
    return {
      check: Effect.suspend(() => (lost === undefined ? Effect.void : Effect.fail(lost)))
    }
  })
