// The store writes before a turn's first model call (issue 19): a started
// thread is created `running` in one write; a turn appends its prompt and
// `turn_started` in one write; the repair before a turn leaves the status to
// the turn, which still settles it however it ends. Counted on a real file
// store (fsync'd), through a wrapper that forwards every call to it.
import * as NFS from "node:fs"
import { tmpdir } from "node:os"
import * as NPath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { ThreadManager, Turn } from "@strata/core-runtime"
import { Hook, HookDispatcher, HookOutput } from "@strata/hooks"
import * as StateStore from "@strata/storage/StateStore"
import * as ScriptedModelServer from "@strata/testkit/node/ScriptedModelServer"
import type { Turn as ScriptedTurn } from "@strata/testkit/ScriptedModel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { fileStore, rulesPolicy, turnRuntime } from "./turnRuntime.js"

/** Every write to the store, by method, in order. */
type Writes = Array<string>

const counting = (dir: string, writes: Writes) =>
  Layer.effect(
    StateStore.StateStore,
    Effect.map(StateStore.StateStore, (store) => {
      const note =
        <A extends ReadonlyArray<unknown>, R>(name: string, f: (...args: A) => R) =>
        (...args: A): R => {
          writes.push(name)
          return f(...args)
        }
      return {
        ...store,
        createThread: note("createThread", store.createThread),
        updateThread: note("updateThread", store.updateThread),
        appendEvents: note("appendEvents", store.appendEvents)
      } as typeof store
    })
  ).pipe(Layer.provide(fileStore(dir)))

const withRuntime = <A, E>(
  turns: ReadonlyArray<ScriptedTurn>,
  f: (
    writes: Writes
  ) => Effect.Effect<
    A,
    E,
    ThreadManager.ThreadManager | Turn.TurnRunner | StateStore.StateStore | HookDispatcher.HookDispatcher | Scope.Scope
  >
) =>
  Effect.gen(function* () {
    const dir = NFS.mkdtempSync(NPath.join(tmpdir(), "strata-first-request-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => NFS.rmSync(dir, { recursive: true, force: true })))
    const server = yield* ScriptedModelServer.make({ turns, strict: true })
    const writes: Writes = []
    const layer = turnRuntime({
      baseUrl: server.baseUrl("openai-compatible"),
      turn: { systemPrompt: "test", maxTurns: 4 },
      workspace: dir,
      store: counting(dir, writes),
      policy: rulesPolicy('default = "ask"\n')
    })
    return yield* f(writes).pipe(Effect.provide(layer))
  }).pipe(Effect.scoped)

const statusOf = (threadId: string) =>
  Effect.map(
    Effect.flatMap(StateStore.StateStore, (store) => store.getThread(threadId)),
    (t) => Option.getOrThrow(t).status
  )

describe("the writes before a turn's first model call", () => {
  it.live("start creates the thread running (and ephemeral as asked) in one write, its data without a read", () =>
    withRuntime([], (writes) =>
      Effect.gen(function* () {
        const tm = yield* ThreadManager.ThreadManager
        const started = yield* tm.handle({ kind: "start", persist_extended_history: false })
        expect(writes).toStrictEqual(["createThread"])
        expect(started).toMatchObject({
          status: "started",
          thread: { status: "running", ephemeral: true, source: "interactive" },
          data: { history: [], checkpoint: null }
        })
        expect(yield* statusOf(started.thread_id)).toBe("running")
        const read = yield* tm.handle({ kind: "read", thread_id: started.thread!.id })
        expect(read.data).toStrictEqual(started.data)
      })
    )
  )

  it.live("a turn on a started thread: the prompt and turn_started in one append; the status settled at the end", () =>
    withRuntime([{ text: "hello" }], (writes) =>
      Effect.gen(function* () {
        const tm = yield* ThreadManager.ThreadManager
        const turns = yield* Turn.TurnRunner
        const started = yield* tm.handle({ kind: "start" })
        writes.length = 0
        const response = yield* turns.handlePrompt({ prompt: "hi", thread_id: started.thread!.id })
        expect(response.outcome).toBe("completed")
        // before: updateThread (the repair's settle), appendEvents, updateThread, appendEvents, appendEvents
        expect(writes.slice(0, 4)).toStrictEqual(["appendEvents", "updateThread", "appendEvents", "appendEvents"])
        const frames = Chunk.toReadonlyArray(yield* Stream.runCollect(tm.replay(started.thread_id)))
        expect(frames.slice(0, 3).map((f) => [f.seq, f.event])).toStrictEqual([
          [1, "message_appended"],
          [2, "turn_started"],
          [3, "response_start"]
        ])
        expect(frames.map((f) => f.seq)).toStrictEqual(frames.map((_, i) => i + 1))
        const thread = yield* tm.get(started.thread_id)
        expect(Option.getOrThrow(thread)).toMatchObject({ status: "idle", preview: "hi" })
      })
    )
  )

  it.live("a thread left running whose next prompt a hook blocks: the status is still settled", () =>
    withRuntime([], () =>
      Effect.gen(function* () {
        const tm = yield* ThreadManager.ThreadManager
        const turns = yield* Turn.TurnRunner
        const hooks = yield* HookDispatcher.HookDispatcher
        yield* hooks.register(
          Hook.define({ event: "UserPromptSubmit", run: () => Effect.succeed(HookOutput.deny("not today")) }),
          { owner: "test" }
        )
        // as a process that died mid-turn leaves it
        const started = yield* tm.handle({ kind: "start" })
        expect(yield* statusOf(started.thread_id)).toBe("running")
        const error = yield* Effect.flip(turns.handlePrompt({ prompt: "hi", thread_id: started.thread!.id }))
        expect(error).toMatchObject({ _tag: "TurnError", reason: "PromptBlocked" })
        expect(yield* statusOf(started.thread_id)).toBe("idle")
      })
    )
  )

  it.live("a continued turn whose model is gone: the repair's status is settled when the turn fails", () =>
    withRuntime([], () =>
      Effect.gen(function* () {
        const tm = yield* ThreadManager.ThreadManager
        const turns = yield* Turn.TurnRunner
        const store = yield* StateStore.StateStore
        const started = yield* tm.handle({ kind: "start" })
        // the last turn ran on a model the config no longer has
        yield* store.saveCheckpoint(started.thread_id, "latest", { model: "removed", usage_total: null })
        const error = yield* Effect.flip(turns.continueTurn(started.thread!.id))
        expect(error._tag).not.toBe("TurnError")
        expect(yield* statusOf(started.thread_id)).toBe("idle")
      })
    )
  )
})
