/**
 * In-process mutual exclusion: striped semaphores for records, so that the
 * number of semaphores stays bounded however many keys a store sees.
 */
import * as Effect from "effect/Effect"

const hash = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/** A mutex per key, from a fixed set of `stripes` semaphores. */
export const makeStripedLock = (stripes = 64) => {
  const semaphores = Array.from({ length: stripes }, () => Effect.unsafeMakeSemaphore(1))
  return <A, E, R>(key: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    semaphores[hash(key) % stripes]!.withPermits(1)(effect)
}
