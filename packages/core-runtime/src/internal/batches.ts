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
 * (Cheaper than `Stream.groupedWithin`, whose schedule, handoff and fibers
 * cost more than a whole short reply.)
 *
 * @internal
 */
export const forEachBatch = <A, E, R, E2, R2>(
  stream: Stream.Stream<A, E, R>,
  max: number,
  f: (batch: ReadonlyArray<A>) => Effect.Effect<void, E2, R2>
): Effect.Effect<void, E | E2, R | R2> =>
  Effect.gen(function* () {
    // Read ahead by a few batches at most: a stream faster than `f` waits for it.
    const queue = yield* Queue.bounded<A | End<E>>(max * 4)
    const reader = yield* Stream.runForEachChunk(stream, (chunk) => Queue.offerAll(queue, chunk)).pipe(
      Effect.exit,
      Effect.flatMap((exit) => Queue.offer(queue, new End(exit))),
      Effect.fork
    )
    const run: Effect.Effect<void, E | E2, R2> = Effect.gen(function* () {
      for (;;) {
        const taken = yield* Queue.takeBetween(queue, 1, max)
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
      }
    })
    return yield* Effect.ensuring(run, Fiber.interrupt(reader))
  })
