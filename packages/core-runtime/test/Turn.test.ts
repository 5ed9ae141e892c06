import * as NFS from "node:fs"
import { tmpdir } from "node:os"
import * as NPath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { ThreadManager, ToolInvoker, ToolRegistry, Turn, TurnMachine } from "@strata/core-runtime"
import { Hook, HookDispatcher, HookOutput } from "@strata/hooks"
import type { Event } from "@strata/protocol/Event"
import type { Thread } from "@strata/protocol/Thread"
import * as StateStore from "@strata/storage/StateStore"
import * as ScriptedModelServer from "@strata/testkit/node/ScriptedModelServer"
import { Fault, type Turn as ScriptedTurn } from "@strata/testkit/ScriptedModel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { askedApprovals } from "../src/internal/turnThread.js"
import { Add, makeExec, Sleep } from "./tools.js"
import { fileStore, rulesPolicy, type TurnServices, turnRuntime } from "./turnRuntime.js"

const rules = `default = "ask"\n[[rule]]\nprefix = [["ls", "echo"]]\ndecision = "allow"\n[[rule]]\nprefix = ["rm"]\ndecision = "deny"\n`

interface Setup {
  /** The provider's `stream_retries` (unset: the default). */
  readonly streamRetries?: number | undefined
  /** A store on disk, in this directory (unset: in memory). */
  readonly dir?: string | undefined
  /** Another store layer (unset: in memory, or on disk in `dir`). */
  readonly store?: Layer.Layer<StateStore.StateStore> | undefined
}

const withRuntime = <A, E>(
  turns: ReadonlyArray<ScriptedTurn>,
  f: (
    server: ScriptedModelServer.ScriptedModelServer,
    exec: ReturnType<typeof makeExec>
  ) => Effect.Effect<A, E, TurnServices>,
  setup: Setup = {}
) =>
  Effect.gen(function* () {
    // strict: a request with an unanswered or misplaced tool result is an HTTP 400, as the real APIs do
    const server = yield* ScriptedModelServer.make({ turns, strict: true })
    return yield* Effect.gen(function* () {
      const registry = yield* ToolRegistry.ToolRegistry
      const exec = makeExec()
      yield* registry.register([
        ToolRegistry.fromPlugin("math", Add),
        exec.runtimeTool,
        ToolRegistry.fromPlugin("time", Sleep)
      ])
      return yield* f(server, exec)
    }).pipe(
      Effect.provide(
        turnRuntime({
          baseUrl: server.baseUrl("openai-compatible"),
          turn: {
            systemPrompt: "You are a test agent.",
            maxTurns: 6,
            streamRetry: { initialDelayMs: 20, maxDelayMs: 80 }
          },
          provider: setup.streamRetries === undefined ? undefined : { stream_retries: setup.streamRetries },
          model: { price_per_mtok: { input: 1, output: 2 } },
          store: setup.store ?? (setup.dir === undefined ? StateStore.layerMemory : fileStore(setup.dir)),
          policy: rulesPolicy(rules)
        })
      )
    )
  }).pipe(Effect.scoped)

const kinds = (frames: ReadonlyArray<{ event: string }>) => frames.map((f) => f.event)

describe("Turn", () => {
  it.live("a multi-tool turn: parallel calls, results fed back, usage and cost summed", () =>
    withRuntime(
      [
        {
          text: "Let me compute.",
          toolCalls: [
            { name: "math__add", arguments: { a: 2, b: 3 } },
            { name: "shell__exec", arguments: { command: "ls -la" } }
          ],
          usage: { input_tokens: 100, output_tokens: 20 }
        },
        { text: "2 + 3 = 5 and the listing is fine.", usage: { input_tokens: 150, output_tokens: 10 } }
      ],
      (server) =>
        Effect.gen(function* () {
          const turns = yield* Turn.TurnRunner
          const response = yield* turns.handlePrompt({ prompt: "add 2 and 3, then list files" })
          expect(response).toMatchObject({
            outcome: "completed",
            output: "2 + 3 = 5 and the listing is fine.",
            model: "scripted"
          })
          expect(response.usage).toMatchObject({ input_tokens: 250, output_tokens: 30 })
          expect(response.usage?.cost_usd).toBeCloseTo((250 * 1 + 30 * 2) / 1e6, 12)
          // the second request carried both tool results back to the model
          const second = server.requests[1]!
          const toolMessages = second.messages.filter((m) => m.role === "tool")
          expect(toolMessages.map((m) => m.content).sort()).toStrictEqual(["ran: ls -la", '{"sum":5}'].sort())
          expect(second.messages[0]).toMatchObject({ role: "system", content: "You are a test agent." })
          const tm = yield* ThreadManager.ThreadManager
          const history = yield* tm.history(response.thread_id)
          expect(history.map((m) => m.role)).toStrictEqual(["user", "assistant", "tool", "tool", "assistant"])
          const all = Chunk.toReadonlyArray(yield* Stream.runCollect(tm.replay(response.thread_id)))
          expect(all.map((f) => f.seq)).toStrictEqual(all.map((_, i) => i + 1))
          expect(kinds(all)).toContain("tool_call_start")
          expect(kinds(all).filter((k) => k === "tool_call_result")).toHaveLength(2)
          expect(kinds(all).at(-1)).toBe("turn_ended")
          const store = yield* StateStore.StateStore
          const latest = yield* store.loadCheckpoint(response.thread_id, "latest")
          expect(latest._tag === "Some" && latest.value.state).toMatchObject({
            outcome: "completed",
            model: "scripted"
          })
        })
    )
  )

  it.live("a denied command goes back to the model as an error; the turn goes on", () =>
    withRuntime(
      [
        { toolCalls: [{ name: "shell__exec", arguments: { command: "rm -rf /" } }] },
        { text: "I was not allowed to do that." }
      ],
      (server) =>
        Effect.gen(function* () {
          const turns = yield* Turn.TurnRunner
          const response = yield* turns.handlePrompt({ prompt: "wipe it" })
          expect(response.outcome).toBe("completed")
          const tool = server.requests[1]!.messages.find((m) => m.role === "tool")!
          expect(tool.content).toMatch(/^Denied: /)
        })
    )
  )

  it.live("an approval pauses the turn; resolving it and continuing finishes the turn", () =>
    withRuntime(
      [
        { toolCalls: [{ name: "shell__exec", arguments: { command: "touch notes.txt" } }] },
        { text: "Created the file." }
      ],
      (server) =>
        Effect.gen(function* () {
          const turns = yield* Turn.TurnRunner
          const paused = yield* turns.handlePrompt({ prompt: "create notes.txt" })
          expect(paused.outcome).toBe("awaiting_approval")
          const store = yield* StateStore.StateStore
          const [approval] = yield* store.listApprovals({ status: "pending", threadId: paused.thread_id })
          expect(approval?.command).toBe("touch notes.txt")
          const blocked = yield* Effect.flip(turns.continueTurn(paused.thread_id))
          expect(blocked).toMatchObject({ _tag: "TurnError", reason: "NothingToContinue" })
          const invoker = yield* ToolInvoker.ToolInvoker
          const result = yield* invoker.resolveApproval(approval!.id, "approve")
          expect(result.status).toBe("completed")
          const tm = yield* ThreadManager.ThreadManager
          yield* tm.append(paused.thread_id, [
            {
              event: "message_appended",
              message: {
                id: "msg-tool-1" as never,
                role: "tool",
                tool_call_id: result.call_id,
                content: "$ touch notes.txt\nok",
                created_at: Date.now()
              }
            }
          ])
          const done = yield* turns.continueTurn(paused.thread_id)
          expect(done).toMatchObject({ outcome: "completed", output: "Created the file." })
          expect(server.requests).toHaveLength(2)
        })
    )
  )

  it.live(
    "under the lease, a thread's pending approvals are read by the ids its journal names, not listed from the project's",
    () => {
      let listed = 0
      // the memory store, counting the listings of every approval
      const counting = Layer.effect(
        StateStore.StateStore,
        Effect.map(StateStore.StateStore, (store) => ({
          ...store,
          listApprovals: (opts?: StateStore.ListApprovalsOptions) => {
            listed++
            return store.listApprovals(opts)
          }
        }))
      ).pipe(Layer.provide(StateStore.layerMemory))
      return withRuntime(
        [
          { toolCalls: [{ name: "shell__exec", arguments: { command: "touch notes.txt" } }] },
          { text: "Created the file." },
          { toolCalls: [{ name: "shell__exec", arguments: { command: "touch more.txt" } }] },
          { text: "Moved on." }
        ],
        () =>
          Effect.gen(function* () {
            const turns = yield* Turn.TurnRunner
            const tm = yield* ThreadManager.ThreadManager
            const store = yield* StateStore.StateStore
            // the project's history: another thread's pending approvals
            const other = yield* tm.createThread({})
            for (let i = 0; i < 30; i++) {
              yield* store.putApproval({
                id: `approval-other-${i}` as never,
                thread_id: other.id,
                call: { id: `call-other-${i}` as never, name: "shell__exec", arguments: { command: "ls" } },
                reason: "asked",
                command: "ls",
                cwd: "/w"
              })
            }
            const thread = yield* tm.createThread({})
            const first = yield* turns.withThread(
              thread.id,
              Effect.gen(function* () {
                const paused = yield* turns.handlePrompt({ prompt: "create notes.txt", thread_id: thread.id })
                expect(paused.outcome).toBe("awaiting_approval")
                const pending = (yield* store.getApproval(`approval-other-0`)).pipe((o) => o._tag === "Some")
                expect(pending).toBe(true)
                const [approval] = (yield* store.listApprovals({ status: "pending", threadId: thread.id })).filter(
                  (a) => a.command === "touch notes.txt"
                )
                listed = 0
                const { turn } = yield* turns.resolveApproval(approval!.id, "approve")
                return turn
              })
            )
            expect(first).toMatchObject({ outcome: "completed", output: "Created the file." })
            expect(listed).toBe(0)
            // a new prompt while an approval is pending supersedes it: found by its id too
            const second = yield* turns.withThread(
              thread.id,
              Effect.gen(function* () {
                const paused = yield* turns.handlePrompt({ prompt: "create more.txt", thread_id: thread.id })
                expect(paused.outcome).toBe("awaiting_approval")
                listed = 0
                return yield* turns.handlePrompt({ prompt: "never mind", thread_id: thread.id })
              })
            )
            expect(second).toMatchObject({ outcome: "completed", output: "Moved on." })
            expect(listed).toBe(0)
            const mine = yield* store.listApprovals({ threadId: thread.id })
            expect(mine.map((a) => [a.command, a.status])).toStrictEqual([
              ["touch notes.txt", "approved"],
              ["touch more.txt", "denied"]
            ])
            // the other thread's approvals are untouched
            expect(yield* store.listApprovals({ status: "pending", threadId: other.id })).toHaveLength(30)
          }),
        { store: counting }
      )
    }
  )

  it("askedApprovals: none, the undecided ones a call waits on, or ask the store when a call waits on none", () => {
    const call = (id: string) => ({ id: id as never, name: "shell__exec", arguments: {} })
    const assistant = (...ids: Array<string>): Event =>
      ({
        event: "message_appended",
        message: { id: "msg-a" as never, role: "assistant", content: "", tool_calls: ids.map(call), created_at: 0 }
      }) as Event
    const tool = (id: string): Event =>
      ({
        event: "message_appended",
        message: { id: "msg-t" as never, role: "tool", tool_call_id: id as never, content: "ok", created_at: 0 }
      }) as Event
    const asked = (approval: string, callId: string): Event =>
      ({
        event: "approval_requested",
        approval_id: approval as never,
        call_id: callId as never,
        tool_name: "shell__exec",
        reason: "asked"
      }) as Event
    const decided = (approval: string, decision: "approved" | "denied"): Event =>
      ({
        event: "approval_decided",
        approval_id: approval as never,
        decision
      }) as Event
    expect(askedApprovals([])).toStrictEqual([])
    expect(askedApprovals([assistant("c1"), tool("c1")])).toStrictEqual([])
    // waiting on its approval: that one only
    expect(askedApprovals([assistant("c1", "c2"), tool("c2"), asked("a1", "c1")])).toStrictEqual(["a1"])
    // a call that waits on no approval the journal names (stopped between storing and journaling it): the store
    expect(askedApprovals([assistant("c1")])).toBeUndefined()
    expect(askedApprovals([assistant("c1", "c2"), asked("a1", "c1")])).toBeUndefined()
    // approved, not yet run: it may have been asked again
    expect(askedApprovals([assistant("c1"), asked("a1", "c1"), decided("a1", "approved")])).toBeUndefined()
    // decided and answered; an undecided one whose call was answered is still looked up
    expect(askedApprovals([assistant("c1"), asked("a1", "c1"), decided("a1", "denied"), tool("c1")])).toStrictEqual([])
    expect(askedApprovals([assistant("c1"), asked("a1", "c1"), tool("c1")])).toStrictEqual(["a1"])
  })

  it.live("withThread: a prompt, its approval and the continued turn under one lease, the journal as without it", () =>
    withRuntime(
      [
        { toolCalls: [{ name: "shell__exec", arguments: { command: "touch notes.txt" } }] },
        { text: "Created the file." },
        { toolCalls: [{ name: "shell__exec", arguments: { command: "touch notes.txt" } }] },
        { text: "Created the file." }
      ],
      (server) =>
        Effect.gen(function* () {
          const turns = yield* Turn.TurnRunner
          const tm = yield* ThreadManager.ThreadManager
          const store = yield* StateStore.StateStore
          const approveAll = (threadId: Thread["id"]) =>
            Effect.gen(function* () {
              const paused = yield* turns.handlePrompt({ prompt: "create notes.txt", thread_id: threadId })
              expect(paused.outcome).toBe("awaiting_approval")
              const [approval] = yield* store.listApprovals({ status: "pending", threadId })
              const { turn } = yield* turns.resolveApproval(approval!.id, "approve")
              return turn
            })
          const plain = yield* tm.createThread({})
          const unheld = yield* approveAll(plain.id)
          const held = yield* tm.createThread({})
          expect(yield* store.threadLease(held.id)).toMatchObject({ _tag: "None" })
          const within = yield* turns.withThread(
            held.id,
            Effect.gen(function* () {
              const before = yield* store.threadLease(held.id)
              const turn = yield* approveAll(held.id)
              // the same lease throughout: nothing inside took it again
              expect(yield* store.threadLease(held.id)).toStrictEqual(before)
              return turn
            })
          )
          expect(within).toMatchObject({ outcome: "completed", output: "Created the file." })
          expect(unheld).toMatchObject({ outcome: "completed", output: "Created the file." })
          const journal = (id: string) => Effect.map(Stream.runCollect(store.readEvents(id)), Chunk.toReadonlyArray)
          expect(kinds(yield* journal(held.id))).toStrictEqual(kinds(yield* journal(plain.id)))
          // the continued turn's events are the journal's, from its start
          const all = yield* journal(held.id)
          expect(within!.events).toStrictEqual(all.filter((f) => f.seq >= within!.events[0]!.seq))
          expect(yield* tm.get(held.id)).toMatchObject({ _tag: "Some", value: { status: "idle" } })
          expect(yield* store.threadLease(held.id)).toMatchObject({ _tag: "None" })
          expect(server.requests).toHaveLength(4)
          const missing = yield* Effect.flip(turns.withThread("thread-nope", Effect.void))
          expect(missing).toMatchObject({ _tag: "TurnError", reason: "ThreadNotFound" })
        })
    )
  )

  it.live("invalid JSON arguments from the model are reported back as a tool error", () =>
    withRuntime(
      [{ toolCalls: [{ name: "math__add", rawArguments: '{"a": 1, "b":' }] }, { text: "Sorry, fixed." }],
      (server) =>
        Effect.gen(function* () {
          const turns = yield* Turn.TurnRunner
          const response = yield* turns.handlePrompt({ prompt: "add" })
          expect(response.outcome).toBe("completed")
          const tool = server.requests[1]!.messages.find((m) => m.role === "tool")!
          expect(tool.content).toMatch(/valid JSON/)
        })
    )
  )

  it.live("interrupting a turn cancels running tools and leaves a consistent thread", () =>
    withRuntime([{ toolCalls: [{ name: "time__sleep", arguments: {} }] }, { text: "after interrupt" }], () =>
      Effect.gen(function* () {
        const turns = yield* Turn.TurnRunner
        const tm = yield* ThreadManager.ThreadManager
        const thread = yield* tm.createThread({})
        const fiber = yield* Effect.fork(turns.handlePrompt({ prompt: "sleep", thread_id: thread.id }))
        // wait until the tool is running
        yield* tm.live.pipe(
          Stream.filter((f) => f.event === "tool_call_start"),
          Stream.take(1),
          Stream.runDrain
        )
        yield* Fiber.interrupt(fiber)
        const frames = Chunk.toReadonlyArray(yield* Stream.runCollect(tm.replay(thread.id)))
        expect(frames.at(-1)).toMatchObject({ event: "turn_ended", outcome: "interrupted" })
        const history = yield* tm.history(thread.id)
        expect(history.map((m) => m.role)).toStrictEqual(["user", "assistant", "tool"])
        expect(history[2]!.content).toMatch(/interrupted/)
        // the thread goes on: the next prompt sees a valid conversation
        const next = yield* turns.handlePrompt({ prompt: "continue", thread_id: thread.id })
        expect(next.output).toBe("after interrupt")
      })
    )
  )

  it.live("max_turns stops a model that keeps calling tools", () =>
    withRuntime(
      Array.from({ length: 4 }, () => ({ toolCalls: [{ name: "math__add", arguments: { a: 1, b: 1 } }] })),
      () =>
        Effect.gen(function* () {
          const turns = yield* Turn.TurnRunner
          const response = yield* turns.handlePrompt({ prompt: "loop", max_turns: 3 })
          expect(response.outcome).toBe("max_turns")
        })
    )
  )

  it.live("a new prompt while an approval is pending answers it as not approved, before the new message", () =>
    withRuntime(
      [{ toolCalls: [{ name: "shell__exec", arguments: { command: "touch notes.txt" } }] }, { text: "Moved on." }],
      (server) =>
        Effect.gen(function* () {
          const turns = yield* Turn.TurnRunner
          const store = yield* StateStore.StateStore
          const paused = yield* turns.handlePrompt({ prompt: "create notes.txt" })
          expect(paused.outcome).toBe("awaiting_approval")
          const [approval] = yield* store.listApprovals({ status: "pending", threadId: paused.thread_id })
          const next = yield* turns.handlePrompt({ prompt: "never mind", thread_id: paused.thread_id })
          expect(next).toMatchObject({ outcome: "completed", output: "Moved on." })
          // the strict server accepted the history: the pending call was answered first
          const sent = server.requests[1]!.messages.filter((m) => m.role !== "system")
          expect(sent.map((m) => m.role)).toStrictEqual(["user", "assistant", "tool", "user"])
          expect(sent[2]!.content).toMatch(/not approved: the user sent a new prompt instead/)
          // the record is resolved (denied): approving it later runs nothing
          const record = yield* store.getApproval(approval!.id)
          expect(record._tag === "Some" && record.value.status).toBe("denied")
          const late = yield* Effect.flip(turns.resolveApproval(approval!.id, "approve"))
          expect(late).toMatchObject({ _tag: "StorageError", reason: "Conflict" })
          const tm = yield* ThreadManager.ThreadManager
          const frames = Chunk.toReadonlyArray(yield* Stream.runCollect(tm.replay(paused.thread_id)))
          expect(TurnMachine.violations(frames, { closed: true })).toStrictEqual([])
          expect((yield* tm.get(paused.thread_id)).pipe((t) => t._tag === "Some" && t.value.status)).toBe("idle")
        })
    )
  )

  it.live("an interrupt while an approved call runs answers it; the thread stays valid", () =>
    withRuntime([{ toolCalls: [{ name: "time__sleep", arguments: {} }] }, { text: "after" }], (server) =>
      Effect.gen(function* () {
        const hooks = yield* HookDispatcher.HookDispatcher
        yield* hooks.register(
          Hook.define({
            event: "PreToolUse",
            matcher: "time__sleep",
            run: () => Effect.succeed(HookOutput.ask("slow"))
          }),
          { owner: "test" }
        )
        const turns = yield* Turn.TurnRunner
        const store = yield* StateStore.StateStore
        const tm = yield* ThreadManager.ThreadManager
        const paused = yield* turns.handlePrompt({ prompt: "sleep" })
        expect(paused.outcome).toBe("awaiting_approval")
        const [approval] = yield* store.listApprovals({ status: "pending", threadId: paused.thread_id })
        const fiber = yield* Effect.fork(turns.resolveApproval(approval!.id, "approve"))
        yield* tm.live.pipe(
          Stream.filter((f) => f.event === "tool_call_start"),
          Stream.take(1),
          Stream.runDrain
        )
        yield* Fiber.interrupt(fiber)
        const history = yield* tm.history(paused.thread_id)
        expect(history.map((m) => m.role)).toStrictEqual(["user", "assistant", "tool"])
        expect(history[2]!.content).toMatch(/interrupted/)
        expect((yield* tm.get(paused.thread_id)).pipe((t) => t._tag === "Some" && t.value.status)).toBe("idle")
        const next = yield* turns.handlePrompt({ prompt: "go on", thread_id: paused.thread_id })
        expect(next.output).toBe("after")
        expect(server.problems).toStrictEqual([])
      }).pipe(Effect.scoped)
    )
  )

  it.live("a second writer on a thread gets ThreadBusy and writes nothing", () =>
    withRuntime([{ text: "one" }], () =>
      Effect.gen(function* () {
        const turns = yield* Turn.TurnRunner
        const store = yield* StateStore.StateStore
        const tm = yield* ThreadManager.ThreadManager
        const thread = yield* tm.createThread({})
        const busy = yield* Effect.scoped(
          Effect.gen(function* () {
            yield* store.acquireThreadLease(thread.id, { owner: "the other runner" })
            return yield* Effect.flip(turns.handlePrompt({ prompt: "hi", thread_id: thread.id }))
          })
        )
        expect(busy).toMatchObject({ _tag: "ThreadBusy", threadId: thread.id })
        expect(busy.message).toContain("the other runner")
        expect(yield* store.lastSeq(thread.id)).toBe(0)
        // once released, the turn runs
        const done = yield* turns.handlePrompt({ prompt: "hi", thread_id: thread.id })
        expect(done.output).toBe("one")
      })
    )
  )

  it.live("repair closes a turn a dead writer left in any phase, an approved call's included", () =>
    withRuntime([{ text: "fine" }], () =>
      Effect.gen(function* () {
        const turns = yield* Turn.TurnRunner
        const tm = yield* ThreadManager.ThreadManager
        const thread = yield* tm.createThread({})
        // as a writer killed while an approved call ran: the turn had ended awaiting approval
        yield* tm.append(thread.id, [
          { event: "message_appended", message: { id: "m1" as never, role: "user", content: "x", created_at: 0 } },
          { event: "turn_started", turn_id: "t1", model: "scripted" },
          { event: "response_start", response_id: "r1" as never, model: "scripted" },
          {
            event: "message_appended",
            message: {
              id: "m2" as never,
              role: "assistant",
              content: "",
              created_at: 0,
              tool_calls: [{ id: "c1" as never, name: "shell__exec", arguments: { command: "touch a" } }]
            }
          },
          { event: "response_end", response_id: "r1" as never },
          {
            event: "approval_requested",
            approval_id: "ap1" as never,
            call_id: "c1" as never,
            tool_name: "shell__exec",
            reason: "ask"
          },
          { event: "turn_ended", turn_id: "t1", outcome: "awaiting_approval" },
          { event: "approval_decided", approval_id: "ap1" as never, decision: "approved" },
          { event: "tool_call_start", call_id: "c1" as never, tool_name: "shell__exec", arguments: {} }
        ])
        yield* tm.touch(thread.id, (t) => ({ ...t, status: "paused" }))
        expect(yield* turns.repair(thread.id)).toBe(true)
        expect(yield* turns.repair(thread.id)).toBe(false)
        const frames = Chunk.toReadonlyArray(yield* Stream.runCollect(tm.replay(thread.id)))
        expect(TurnMachine.violations(frames, { closed: true })).toStrictEqual([])
        const next = yield* turns.handlePrompt({ prompt: "and now?", thread_id: thread.id })
        expect(next.output).toBe("fine")
      })
    )
  )
})

// covers: issue 16 part 5
describe("Turn: stream recovery", () => {
  const eventsOf = (threadId: string) =>
    Effect.flatMap(ThreadManager.ThreadManager, (tm) =>
      Effect.map(Stream.runCollect(tm.replay(threadId)), Chunk.toReadonlyArray)
    )

  it.live("a dropped connection mid-stream: the call is made again, the partial output is discarded", () =>
    withRuntime(
      [
        // paced, so the partial output reaches the journal before the drop
        { text: "PARTIAL output that never finishes", chunkSize: 4, delayMs: 40, fault: Fault.disconnect(3) },
        { text: "the whole answer" }
      ],
      (server) =>
        Effect.gen(function* () {
          const turns = yield* Turn.TurnRunner
          const response = yield* turns.handlePrompt({ prompt: "answer" })
          expect(response).toMatchObject({ outcome: "completed", output: "the whole answer" })
          expect(server.requests).toHaveLength(2)
          const all = yield* eventsOf(response.thread_id)
          const started = all.flatMap((e) => (e.event === "response_start" ? [e.response_id] : []))
          expect(started).toHaveLength(2)
          // the broken attempt streamed (clients saw it), then ended `error` and was named as discarded
          const partial = all.filter((e) => e.event === "response_delta" && e.response_id === started[0])
          expect(partial.length).toBeGreaterThan(0)
          expect(all.find((e) => e.event === "response_end" && e.response_id === started[0])).toMatchObject({
            finish_reason: "error"
          })
          expect(all.find((e) => e.event === "response_retry")).toMatchObject({
            response_id: started[0],
            attempt: 2,
            max_attempts: 3,
            reason: "Disconnected"
          })
          const history = yield* (yield* ThreadManager.ThreadManager).history(response.thread_id)
          expect(history.map((m) => [m.role, m.content])).toStrictEqual([
            ["user", "answer"],
            ["assistant", "the whole answer"]
          ])
          // the second request carried no trace of the broken one
          expect(JSON.stringify(server.requests[1]!.messages)).not.toContain("PARTIAL")
          expect(TurnMachine.violations(all, { closed: true })).toStrictEqual([])
          // a discarded attempt is not a model call: max_turns counts answers
          expect(TurnMachine.fromJournal(all).model_calls).toBe(1)
          expect(response.events.some((e) => e.event === "response_retry")).toBe(true)
        })
    )
  )

  it.live("a malformed chunk inside a tool call: the call is never run, the model call is made again", () =>
    withRuntime(
      [
        {
          text: "Run",
          chunkSize: 3,
          toolCalls: [{ name: "shell__exec", arguments: { command: "echo from-the-broken-attempt" } }],
          fault: Fault.malformed(3)
        },
        { text: "answered without tools" }
      ],
      (server, exec) =>
        Effect.gen(function* () {
          const turns = yield* Turn.TurnRunner
          const response = yield* turns.handlePrompt({ prompt: "go" })
          expect(response).toMatchObject({ outcome: "completed", output: "answered without tools" })
          expect(exec.ran).toStrictEqual([])
          expect(server.requests).toHaveLength(2)
          const all = yield* eventsOf(response.thread_id)
          expect(all.filter((e) => e.event === "response_retry")).toMatchObject([{ reason: "InvalidResponse" }])
          expect(all.some((e) => e.event === "tool_call_start")).toBe(false)
          expect(TurnMachine.violations(all, { closed: true })).toStrictEqual([])
        })
    )
  )

  it.live("stream_retries = 0: the turn fails with the provider's error, closed, after one attempt", () =>
    withRuntime(
      [{ text: "PARTIAL output", chunkSize: 4, fault: Fault.disconnect(2) }, { text: "never asked" }],
      (server) =>
        Effect.gen(function* () {
          const turns = yield* Turn.TurnRunner
          const tm = yield* ThreadManager.ThreadManager
          const thread = yield* tm.createThread({})
          const error = yield* Effect.flip(turns.handlePrompt({ prompt: "answer", thread_id: thread.id }))
          expect(error).toMatchObject({ _tag: "ProviderError", reason: "Disconnected" })
          expect(server.requests).toHaveLength(1)
          const all = yield* eventsOf(thread.id)
          expect(all.some((e) => e.event === "response_retry")).toBe(false)
          expect(all.find((e) => e.event === "response_end")).toMatchObject({ finish_reason: "error" })
          expect(all.at(-1)).toMatchObject({ event: "turn_ended", outcome: "failed" })
          expect(TurnMachine.violations(all, { closed: true })).toStrictEqual([])
          const history = yield* tm.history(thread.id)
          expect(history.map((m) => m.role)).toStrictEqual(["user"])
          expect((yield* tm.get(thread.id)).pipe((t) => t._tag === "Some" && t.value.status)).not.toBe("running")
        }),
      { streamRetries: 0 }
    )
  )

  it.live("a server that always drops: the turn fails after stream_retries + 1 attempts", () =>
    withRuntime(
      [{ text: "PARTIAL again and again", chunkSize: 4, fault: Fault.disconnect(1), repeat: true }],
      (server) =>
        Effect.gen(function* () {
          const turns = yield* Turn.TurnRunner
          const tm = yield* ThreadManager.ThreadManager
          const thread = yield* tm.createThread({})
          const error = yield* Effect.flip(turns.handlePrompt({ prompt: "answer", thread_id: thread.id }))
          expect(error).toMatchObject({ _tag: "ProviderError", reason: "Disconnected" })
          expect(server.requests).toHaveLength(3)
          const all = yield* eventsOf(thread.id)
          expect(
            all.filter((e) => e.event === "response_retry").map((e) => e.event === "response_retry" && e.attempt)
          ).toStrictEqual([2, 3])
          expect(TurnMachine.violations(all, { closed: true })).toStrictEqual([])
          expect((yield* tm.history(thread.id)).map((m) => m.role)).toStrictEqual(["user"])
        }),
      { streamRetries: 2 }
    )
  )

  it.live("a request the provider refuses (HTTP 400) is not retried by the turn", () =>
    withRuntime([{ fault: Fault.contextTooLong() }, { text: "never asked" }], (server) =>
      Effect.gen(function* () {
        const turns = yield* Turn.TurnRunner
        const error = yield* Effect.flip(turns.handlePrompt({ prompt: "answer" }))
        expect(error).toMatchObject({ _tag: "ProviderError", reason: "ContextTooLong" })
        expect(server.requests).toHaveLength(1)
      })
    )
  )
})

// covers: issue 16 part 5
describe("Turn: damage is found before a turn starts anything", () => {
  const journals = (dir: string) =>
    NFS.readdirSync(NPath.join(dir, "threads")).map((name) => NPath.join(dir, "threads", name, "journal"))

  it.live("a corrupt journal record under a pending approval: approving it (in a new process) runs nothing", () =>
    Effect.gen(function* () {
      const dir = NFS.mkdtempSync(NPath.join(tmpdir(), "strata-turn-corrupt-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => NFS.rmSync(dir, { recursive: true, force: true })))
      const paused = yield* withRuntime(
        [{ toolCalls: [{ name: "shell__exec", arguments: { command: "touch approved.txt" } }] }, { text: "done" }],
        () =>
          Effect.gen(function* () {
            const turns = yield* Turn.TurnRunner
            const response = yield* turns.handlePrompt({ prompt: "make it" })
            expect(response.outcome).toBe("awaiting_approval")
            const store = yield* StateStore.StateStore
            const [approval] = yield* store.listApprovals({ status: "pending", threadId: response.thread_id })
            return { threadId: response.thread_id, approvalId: approval!.id }
          }),
        { dir }
      )
      const [file] = journals(dir)
      const damaged = Buffer.from(NFS.readFileSync(file!))
      const at = Math.floor(damaged.length / 2)
      damaged[at] = damaged[at]! ^ 0x01
      NFS.writeFileSync(file!, damaged)
      // a new runtime on the same directory, as `strata approvals approve` is a new process
      yield* withRuntime(
        [{ text: "never asked" }],
        (server, exec) =>
          Effect.gen(function* () {
            const turns = yield* Turn.TurnRunner
            const error = yield* Effect.flip(turns.resolveApproval(paused.approvalId, "approve"))
            expect(error._tag).toBe("CorruptJournal")
            expect(exec.ran).toStrictEqual([])
            expect(server.requests).toHaveLength(0)
            expect(NFS.readFileSync(file!).equals(damaged)).toBe(true)
            // nothing was decided: the approval is still pending
            const store = yield* StateStore.StateStore
            const still = yield* store.listApprovals({ status: "pending", threadId: paused.threadId })
            expect(still.map((a) => a.id)).toStrictEqual([paused.approvalId])
          }),
        { dir }
      )
    }).pipe(Effect.scoped)
  )

  it.live("a corrupt journal record: a typed error naming it, no model call, no tool run, nothing written", () =>
    Effect.gen(function* () {
      const dir = NFS.mkdtempSync(NPath.join(tmpdir(), "strata-turn-corrupt-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => NFS.rmSync(dir, { recursive: true, force: true })))
      yield* withRuntime(
        [{ text: "first" }, { toolCalls: [{ name: "shell__exec", arguments: { command: "echo should-not-run" } }] }],
        (server, exec) =>
          Effect.gen(function* () {
            const turns = yield* Turn.TurnRunner
            const first = yield* turns.handlePrompt({ prompt: "first" })
            expect(first.outcome).toBe("completed")
            const [file] = journals(dir)
            const original = NFS.readFileSync(file!)
            // a flipped byte in the middle of a committed record
            const damaged = Buffer.from(original)
            const at = Math.floor(original.length / 2)
            damaged[at] = damaged[at]! ^ 0x01
            NFS.writeFileSync(file!, damaged)
            const error = yield* Effect.flip(turns.handlePrompt({ prompt: "second", thread_id: first.thread_id }))
            expect(error._tag).toBe("CorruptJournal")
            expect(error.message).toContain(first.thread_id)
            expect(server.requests).toHaveLength(1)
            expect(exec.ran).toStrictEqual([])
            expect(NFS.readFileSync(file!).equals(damaged)).toBe(true)
          }),
        { dir }
      )
    }).pipe(Effect.scoped)
  )
})
