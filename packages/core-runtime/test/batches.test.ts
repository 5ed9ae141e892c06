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

  /** Elements one macrotask apart (one network read each, as a model's small chunks arrive). */
  const trickle = (n: number) =>
    Stream.range(0, n - 1).pipe(
      Stream.rechunk(1),
      Stream.tap(() => Effect.async<void>((resume) => void setImmediate(() => resume(Effect.void))))
    )

  it.live("with a gap, elements arriving one read at a time go in a few batches; the first is not held", () =>
    Effect.gen(function* () {
      const apart: Array<ReadonlyArray<number>> = []
      yield* forEachBatch(trickle(200), 128, (batch) => Effect.sync(() => apart.push(batch)))
      const gapped: Array<ReadonlyArray<number>> = []
      yield* forEachBatch(trickle(200), 128, (batch) => Effect.sync(() => gapped.push(batch)), { gapMs: 20 })
      expect(gapped.flat()).toEqual(apart.flat())
      expect(gapped.flat()).toEqual(Array.from({ length: 200 }, (_, i) => i))
      expect(gapped[0]).toEqual([0])
      // without a gap a batch per element or so; with it, a handful
      expect(apart.length).toBeGreaterThan(100)
      expect(gapped.length).toBeLessThan(apart.length / 4)
    })
  )

  it.live("the end of the stream and a full batch are not held for the gap", () =>
    Effect.gen(function* () {
      // a gap of a minute: waiting it out would time the test out
      const batches: Array<ReadonlyArray<number>> = []
      yield* forEachBatch(trickle(10), 4, (batch) => Effect.sync(() => batches.push(batch)), { gapMs: 60_000 })
      expect(batches.flat()).toEqual(Array.from({ length: 10 }, (_, i) => i))
      expect(batches[0]).toEqual([0])
      // after the first: full batches of 4 as they fill, then the rest at the end
      expect(batches.slice(1)).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9]])
    })
  )

  it.live("a run interrupted while it waits out its gap stops the stream", () =>
    Effect.gen(function* () {
      const stopped = yield* Deferred.make<void>()
      const first = yield* Deferred.make<void>()
      const stream = trickle(1_000_000).pipe(Stream.ensuring(Deferred.succeed(stopped, undefined)))
      const fiber = yield* Effect.fork(
        forEachBatch(stream, 1_000_000, () => Deferred.succeed(first, undefined), { gapMs: 60_000 })
      )
      yield* Deferred.await(first)
      yield* Fiber.interrupt(fiber)
      expect(yield* Deferred.isDone(stopped)).toBe(true)
    })
  )
})
