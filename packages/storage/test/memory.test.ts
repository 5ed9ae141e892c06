import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as StateStore from "../src/StateStore.js"
import * as StateStoreSuite from "./StateStoreSuite.js"

StateStoreSuite.run("memory", StateStore.layerMemory)

describe("memory store", () => {
  // Regression: layerMemory once built every store on one shared unstorage
  // instance (the storage was created when the module loaded).
  it.effect("every build of layerMemory is a fresh, empty store", () =>
    Effect.gen(function* () {
      const a = Context.get(yield* Layer.build(StateStore.layerMemory), StateStore.StateStore)
      const b = Context.get(yield* Layer.build(StateStore.layerMemory), StateStore.StateStore)
      yield* a.appendEvents("shared-id", [{ event: "turn_started", turn_id: "t", model: "m" }])
      assert.strictEqual(yield* a.lastSeq("shared-id"), 1)
      assert.strictEqual(yield* b.lastSeq("shared-id"), 0)
    }).pipe(Effect.scoped)
  )

  it.effect("durability: the memory store says it is volatile, and strict refuses it", () =>
    Effect.gen(function* () {
      const store = yield* StateStore.makeMemory()
      assert.strictEqual(store.durability.level, "volatile")
      const strict = yield* Effect.flip(StateStore.makeMemory({ durability: "strict" }))
      assert.strictEqual(strict.reason, "NotDurable")
      assert.include(strict.message, "keeps nothing")
    })
  )

  it.effect("readOnly refuses every write before it happens", () =>
    Effect.gen(function* () {
      const store = yield* StateStore.makeMemory({ readOnly: true })
      for (const attempt of [
        store.appendEvents("t", [{ event: "turn_started", turn_id: "t", model: "m" }]),
        store.saveCheckpoint("t", "c", {}),
        store.deleteThread("t"),
        store.resolveApproval("a", "approve")
      ] as ReadonlyArray<Effect.Effect<unknown, { readonly _tag: string; readonly reason?: string }>>) {
        const err = yield* Effect.flip(attempt)
        assert.strictEqual(err.reason, "ReadOnly")
      }
      assert.strictEqual(yield* store.lastSeq("t"), 0)
    })
  )
})
