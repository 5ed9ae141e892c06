/**
 * A stream's elements handed on in batches, without timers.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"

/** The timers and clock every supported runtime has (not in the ES lib). */
declare const performance: { now(): number }
declare const setTimeout: (callback: () => void, ms: number) => unknown
declare const clearTimeout: (timer: unknown) => void

/** The end of the stream (how it ended), queued after its last element. */
class End<E> {
  constructor(readonly exit: Exit.Exit<void, E>) {}
}

/**
 * Runs `f` on the elements of `stream` in batches of up to `max`: the
 * stream is read by its own fiber while `f` runs, and what it read meanwhile
 * makes the next batch. A slow `f` (a journal write and its fsync) thus runs
 * once for many elements, and never holds the stream back; the elements
 * keep their order, and `f` runs on one batch at a time, in the caller's
 * fiber. The stream reads ahead by a few batches at most (back-pressure:
 * a model streaming faster than its parts are written waits for them). A
 * stream that fails fails the run, dropping what `f` was not given yet; a
 * failure of `f`, or an interruption, stops the stream.
 *
 * With `gapMs`, a batch starts no sooner than `gapMs` after the previous
 * one was handled, unless the stream has ended or a whole batch is waiting:
 * a stream that delivers its elements one read at a time (a model's reply in
 * bursts of small chunks) is written in a few batches rather than one per
 * element, each element held at most `gapMs` more. The first batch is not
 * held. The wait is a timer of the runtime, not `Clock`'s (a bound on
 * latency, not a delay a test clock should control).
 *
 * (Cheaper than `Stream.groupedWithin`, whose schedule, handoff and fibers
 * cost more than a whole short reply.)
 *
 * @internal
 */
export const forEachBatch = <A, E, R, E2, R2>(
  stream: Stream.Stream<A, E, R>,
  max: number,
  f: (batch: ReadonlyArray<A>) => Effect.Effect<void, E2, R2>,
  options: { readonly gapMs?: number | undefined } = {}
): Effect.Effect<void, E | E2, R | R2> =>
  Effect.gen(function* () {
    const gapMs = options.gapMs ?? 0
    // Read ahead by a few batches at most: a stream faster than `f` waits for it.
    const queue = yield* Queue.bounded<A | End<E>>(max * 4)
    // What the reader queued and the writer has not taken (the end counts as one), and the
    // wake-up of a writer waiting out its gap: called when a batch is full or the stream ended.
    let pending = 0
    let wake: (() => void) | undefined
    const queued = (n: number) =>
      Effect.sync(() => {
        pending += n
        if (pending >= max) wake?.()
      })
    const reader = yield* Stream.runForEachChunk(stream, (chunk) =>
      Effect.zipRight(Queue.offerAll(queue, chunk), queued(chunk.length))
    ).pipe(
      Effect.exit,
      Effect.flatMap((exit) => Effect.zipRight(Queue.offer(queue, new End(exit)), queued(max))),
      Effect.fork
    )
    let handled = Number.NEGATIVE_INFINITY
    /** Waits out the rest of the gap since the last batch, unless a batch is full or the stream ended. */
    const gap = Effect.suspend(() => {
      const left = handled + gapMs - performance.now()
      if (left <= 0 || pending >= max) return Effect.void
      return Effect.async<void>((resume) => {
        const done = () => {
          clearTimeout(timer)
          wake = undefined
          resume(Effect.void)
        }
        const timer = setTimeout(done, left)
        wake = done
        return Effect.sync(() => {
          clearTimeout(timer)
          wake = undefined
        })
      })
    })
    const run: Effect.Effect<void, E | E2, R2> = Effect.gen(function* () {
      for (;;) {
        if (gapMs > 0) yield* gap
        const taken = yield* Queue.takeBetween(queue, 1, max)
        pending -= taken.length
        const batch: Array<A> = []
        for (const item of taken) {
          if (item instanceof End) {
            const exit = item.exit as Exit.Exit<void, E>
            if (Exit.isFailure(exit)) return yield* Effect.failCause(exit.cause)
            if (batch.length > 0) yield* f(batch)
            return
          }
          batch.push(item)
        }
        yield* f(batch)
        handled = performance.now()
      }
    })
    return yield* Effect.ensuring(run, Fiber.interrupt(reader))
  })
