/**
 * Thread leases on the file-system store: `threads/<thread>/lease`, a small
 * JSON document read and changed only under the thread's lock file
 * (`threads/<thread>/lock`, see `fileLock.ts`):
 *
 * ```
 * {"token":7,"owner":"turn …","pid":123,"start":"884211","boot":"…","host":"…","expiresAt":1700000000000}
 * ```
 *
 * `token` is the thread's lease counter: the file is kept after release
 * (`"released":true`), so tokens keep increasing; a new token is written
 * with fsync before it is handed out. A lease is live while it is neither
 * released nor expired, and its process is not known to be gone (a crashed
 * holder is taken over at once, even before its lease expires).
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { LeaseInfo } from "../StateStore.js"
import { StorageError } from "../StorageError.js"
import type { Leases } from "./backend.js"
import { mapIo } from "./io.js"
import { isGone, type ProcessId } from "./processInfo.js"

/** The lease document. */
export interface LeaseDoc extends ProcessId {
  readonly token: number
  readonly owner: string
  readonly expiresAt: number
  readonly released?: boolean | undefined
}

const isReason = (e: unknown, reason: string): boolean =>
  typeof e === "object" && e !== null && (e as { reason?: string }).reason === reason

const parse = (file: string, text: string): LeaseDoc | StorageError => {
  try {
    const v = JSON.parse(text) as Partial<LeaseDoc>
    if (typeof v.token === "number" && typeof v.owner === "string" && typeof v.expiresAt === "number") {
      return v as LeaseDoc
    }
  } catch {}
  return new StorageError({ reason: "Corrupt", key: file, detail: "not a Strata lease file" })
}

export interface Deps {
  readonly fs: FileSystem.FileSystem
  readonly self: ProcessId
  readonly leaseFile: (threadId: string) => string
  /** Runs under the thread's lock (in-process mutex and lock file). */
  readonly underLock: <A, E>(threadId: string, effect: Effect.Effect<A, E>) => Effect.Effect<A, E | StorageError>
  /** Atomic replace; `durable` adds the fsyncs. */
  readonly writeFile: (file: string, text: string, durable: boolean) => Effect.Effect<void, StorageError>
}

export interface FsLeases extends Leases {
  /** The current lease document, read now (call under the thread's lock for a decision). */
  readonly read: (threadId: string) => Effect.Effect<LeaseDoc | undefined, StorageError>
  /** Whether `token` is the current, unreleased lease. */
  readonly holds: (doc: LeaseDoc | undefined, token: number) => boolean
}

export const make = (deps: Deps): FsLeases => {
  const { fs, self } = deps

  const read = (threadId: string): Effect.Effect<LeaseDoc | undefined, StorageError> => {
    const file = deps.leaseFile(threadId)
    return fs.readFileString(file).pipe(
      Effect.catchIf(
        (e) => isReason(e, "NotFound"),
        () => Effect.succeed(undefined)
      ),
      mapIo(file, "reading the lease"),
      Effect.flatMap((text) => {
        if (text === undefined) return Effect.succeed(undefined)
        const doc = parse(file, text)
        return doc instanceof StorageError ? Effect.fail(doc) : Effect.succeed(doc)
      })
    )
  }

  /** The holder, when the lease is live. */
  const live = (doc: LeaseDoc | undefined, now: number): Effect.Effect<Option.Option<LeaseInfo>> =>
    doc === undefined || doc.released === true || doc.expiresAt <= now
      ? Effect.succeed(Option.none())
      : Effect.map(isGone(fs, self, doc), (gone) =>
          gone
            ? Option.none()
            : Option.some({
                token: doc.token,
                owner: doc.owner,
                pid: doc.pid,
                ...(doc.host === undefined ? {} : { host: doc.host }),
                expiresAt: doc.expiresAt
              })
        )

  const write = (threadId: string, doc: LeaseDoc, durable: boolean) =>
    deps.writeFile(deps.leaseFile(threadId), JSON.stringify(doc), durable)

  return {
    read,
    holds: (doc, token) => doc !== undefined && doc.token === token && doc.released !== true,
    acquire: (threadId, request) =>
      deps.underLock(
        threadId,
        Effect.gen(function* () {
          const current = yield* read(threadId)
          const now = yield* Clock.currentTimeMillis
          const holder = yield* live(current, now)
          if (Option.isSome(holder)) return { ok: false, holder: holder.value } as const
          const doc: LeaseDoc = {
            ...self,
            token: (current?.token ?? 0) + 1,
            owner: request.owner,
            expiresAt: now + request.ttlMs
          }
          // Durable before it is handed out: tokens never go back after a crash.
          yield* write(threadId, doc, true)
          return { ok: true, token: doc.token, expiresAt: doc.expiresAt } as const
        })
      ),
    renew: (threadId, token, ttlMs) =>
      deps.underLock(
        threadId,
        Effect.gen(function* () {
          const current = yield* read(threadId)
          if (current === undefined || current.token !== token || current.released === true) return Option.none()
          const expiresAt = (yield* Clock.currentTimeMillis) + ttlMs
          yield* write(threadId, { ...current, expiresAt }, false)
          return Option.some(expiresAt)
        })
      ),
    release: (threadId, token) =>
      deps.underLock(
        threadId,
        Effect.gen(function* () {
          const current = yield* read(threadId)
          if (current !== undefined && current.token === token && current.released !== true) {
            yield* write(threadId, { ...current, released: true }, false)
          }
        })
      ),
    current: (threadId) =>
      Effect.flatMap(read(threadId), (doc) => Effect.flatMap(Clock.currentTimeMillis, (now) => live(doc, now)))
  }
}
