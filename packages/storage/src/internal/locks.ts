/**
 * In-process mutual exclusion: striped semaphores for records, so that the
 * number of semaphores stays bounded however many keys a store sees.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

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

/**
 * Group commit. `submit` queues a request; when no drain runs, the caller
 * drains the queue itself (its own request, and whatever joined it), in
 * its own fiber, uninterruptibly: an uncontended request pays no fiber
 * fork. Requests that arrive while a drain is in flight queue up, and one
 * worker fiber (forked in `scope`) hands them to `drain` together, again
 * and again until the queue is empty. Callers wait on their own completion
 * signal (a Deferred inside the request), never on a lock, so a request
 * that a batch already covered is released at once.
 */
export const makeBatcher = <Req>(
  scope: Scope.Scope,
  drain: (batch: Array<Req>) => Effect.Effect<void>
): ((request: Req) => Effect.Effect<void>) => {
  const queue: Array<Req> = []
  let running = false
  const loop: Effect.Effect<void> = Effect.suspend(() => {
    if (queue.length === 0) {
      running = false
      return Effect.void
    }
    return Effect.zipRight(drain(queue.splice(0)), loop)
  })
  const worker = Effect.uninterruptible(loop).pipe(
    Effect.onExit(() =>
      Effect.sync(() => {
        running = false
      })
    )
  )
  // The caller's own drain: one batch, then what queued meanwhile goes to the worker.
  const inline = Effect.uninterruptible(
    Effect.suspend(() => drain(queue.splice(0))).pipe(
      Effect.onExit(() =>
        Effect.suspend(() => {
          if (queue.length === 0) {
            running = false
            return Effect.void
          }
          return Effect.asVoid(Effect.forkIn(worker, scope))
        })
      )
    )
  )
  return (request) =>
    Effect.suspend(() => {
      queue.push(request)
      if (running) return Effect.void
      running = true
      return inline
    })
}
