import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { forEachBatch } from "../src/internal/batches.js"

describe("forEachBatch", () => {
  it.effect("hands on every element once, in order, in batches of at most max", () =>
    Effect.gen(function* () {
      const batches: Array<ReadonlyArray<number>> = []
      const stream = Stream.range(1, 1000).pipe(Stream.rechunk(7))
      yield* forEachBatch(stream, 16, (batch) => Effect.sync(() => batches.push(batch)))
      expect(batches.flat()).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1))
      for (const b of batches) expect(b.length).toBeGreaterThan(0)
      for (const b of batches) expect(b.length).toBeLessThanOrEqual(16)
    })
  )

  it.effect("what the stream reads while a batch is handled makes the next batch", () =>
    Effect.gen(function* () {
      // The first element is handled alone; the others are all read while it is.
      const release = yield* Deferred.make<void>()
      const read = yield* Deferred.make<void>()
      const stream = Stream.concat(
        Stream.make(0),
        Stream.fromIterable([1, 2, 3, 4, 5]).pipe(Stream.ensuring(Deferred.succeed(read, undefined)))
      )
      const batches: Array<ReadonlyArray<number>> = []
      const run = yield* forEachBatch(stream, 128, (batch) =>
        Effect.gen(function* () {
          batches.push(batch)
          if (batches.length === 1) {
            yield* Deferred.await(read)
            yield* Deferred.await(release)
          }
        })
      ).pipe(Effect.fork)
      yield* Deferred.await(read)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(run)
      expect(batches).toEqual([[0], [1, 2, 3, 4, 5]])
    })
  )

  it.effect("a stream that fails fails the run; what was handed on stays handed on", () =>
    Effect.gen(function* () {
      const seen: Array<number> = []
      const stream = Stream.concat(Stream.make(1, 2), Stream.fail("broke" as const))
      const exit = yield* Effect.exit(forEachBatch(stream, 1, (batch) => Effect.sync(() => seen.push(...batch))))
      expect(exit).toEqual(Exit.fail("broke"))
      expect(seen.every((n) => n === 1 || n === 2)).toBe(true)
    })
  )

  it.effect("a failure of the handler stops the stream (its finalizer runs)", () =>
    Effect.gen(function* () {
      const stopped = yield* Deferred.make<void>()
      const stream = Stream.iterate(0, (n) => n + 1).pipe(Stream.ensuring(Deferred.succeed(stopped, undefined)))
      const exit = yield* Effect.exit(
        forEachBatch(stream, 8, (batch) => (batch.some((n) => n >= 20) ? Effect.fail("full" as const) : Effect.void))
      )
      expect(exit).toEqual(Exit.fail("full"))
      expect(yield* Deferred.isDone(stopped)).toBe(true)
    })
  )

  it.effect("an interrupted run stops the stream", () =>
    Effect.gen(function* () {
      const stopped = yield* Deferred.make<void>()
      const started = yield* Deferred.make<void>()
      const stream = Stream.iterate(0, (n) => n + 1).pipe(Stream.ensuring(Deferred.succeed(stopped, undefined)))
      const fiber = yield* Effect.fork(
        forEachBatch(stream, 8, () => Effect.zipRight(Deferred.succeed(started, undefined), Effect.never))
      )
      yield* Deferred.await(started)
      yield* Fiber.interrupt(fiber)
      expect(yield* Deferred.isDone(stopped)).toBe(true)
    })
  )
})
