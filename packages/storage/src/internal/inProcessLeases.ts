/**
 * Thread leases held in this process's memory, for the stores whose data is
 * not shared with other processes through Strata's own locking (memory, and
 * unstorage drivers, whose writes are serialized within one process only).
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { LeaseInfo } from "../StateStore.js"
import type { Leases } from "./backend.js"
import { ownPid } from "./processInfo.js"

interface Entry {
  readonly token: number
  readonly owner: string
  expiresAt: number
  released: boolean
}

/** In-process leases and the fence check a backend runs under its write lock. */
export const make = (): { readonly leases: Leases; readonly holds: (threadId: string, token: number) => boolean } => {
  // Entries are kept after release: their token is the thread's counter.
  const entries = new Map<string, Entry>()
  const pid = ownPid()
  const info = (e: Entry): LeaseInfo => ({ owner: e.owner, pid, expiresAt: e.expiresAt, token: e.token })
  const live = (e: Entry | undefined, now: number): boolean => e !== undefined && !e.released && e.expiresAt > now

  const leases: Leases = {
    acquire: (threadId, request) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const current = entries.get(threadId)
        if (current !== undefined && live(current, now)) return { ok: false, holder: info(current) } as const
        const entry: Entry = {
          token: (current?.token ?? 0) + 1,
          owner: request.owner,
          expiresAt: now + request.ttlMs,
          released: false
        }
        entries.set(threadId, entry)
        return { ok: true, token: entry.token, expiresAt: entry.expiresAt } as const
      }),
    renew: (threadId, token, ttlMs) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const e = entries.get(threadId)
        if (e === undefined || e.token !== token || e.released) return Option.none()
        e.expiresAt = now + ttlMs
        return Option.some(e.expiresAt)
      }),
    release: (threadId, token) =>
      Effect.sync(() => {
        const e = entries.get(threadId)
        if (e !== undefined && e.token === token) e.released = true
      }),
    current: (threadId) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const e = entries.get(threadId)
        return e !== undefined && live(e, now) ? Option.some(info(e)) : Option.none()
      })
  }
  const holds = (threadId: string, token: number): boolean => {
    const e = entries.get(threadId)
    return e !== undefined && e.token === token && !e.released
  }
  return { leases, holds }
}
