// Group commit (`makeBatcher`): an uncontended request is drained by its
// caller; requests that arrive while a drain is in flight share the next one.
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import { makeBatcher } from "../src/internal/locks.js"

interface Req {
  readonly n: number
  readonly done: Deferred.Deferred<void>
}

describe("makeBatcher", () => {
  it.scoped("an uncontended request is drained in the caller's fiber; later ones share one batch, in order", () =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const batches: Array<Array<number>> = []
      const drainedBy: Array<string> = []
      const gate = yield* Deferred.make<void>()
      const submit = makeBatcher(scope, (batch: Array<Req>) =>
        Effect.gen(function* () {
          batches.push(batch.map((r) => r.n))
          drainedBy.push(FiberId.threadName(yield* Effect.fiberId))
          // The first batch waits until the others are queued.
          if (batch[0]!.n === 1) yield* Deferred.await(gate)
          for (const r of batch) yield* Deferred.succeed(r.done, undefined)
        })
      )
      const request = (n: number) =>
        Effect.gen(function* () {
          const done = yield* Deferred.make<void>()
          yield* submit({ n, done })
          yield* Deferred.await(done)
          return FiberId.threadName(yield* Effect.fiberId)
        })
      const first = yield* Effect.fork(request(1))
      yield* Effect.yieldNow()
      const others = yield* Effect.fork(Effect.all([request(2), request(3), request(4)], { concurrency: "unbounded" }))
      // Let the three queue up behind the first batch.
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      yield* Deferred.succeed(gate, undefined)
      const firstFiber = yield* Fiber.join(first)
      yield* Fiber.join(others)
      assert.deepStrictEqual(batches, [[1], [2, 3, 4]])
      // The first batch ran in its caller's fiber; the queued ones in a worker, not in any caller.
      assert.strictEqual(drainedBy[0], firstFiber)
      // A request after everything is drained again runs in its caller.
      const alone = yield* request(5)
      assert.deepStrictEqual(batches.at(-1), [5])
      assert.strictEqual(drainedBy.at(-1), alone)
    })
  )
})
