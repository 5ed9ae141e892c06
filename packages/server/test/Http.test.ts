// The HTTP wire against a real server on 127.0.0.1, driven by the typed
// client and by raw fetch: turns, SSE with resume, approvals seen by two
// clients, and hostile requests answered with typed JSON-RPC errors.
import { describe, expect, it } from "@effect/vitest"
import * as StrataClient from "@strata/client/StrataClient"
import { Fault } from "@strata/testkit/ScriptedModel"
import * as Effect from "effect/Effect"
import { ran, runtimeLayer, serve } from "./fixtures.js"

const collect = async (
  items: AsyncIterable<StrataClient.StreamItem>,
  until: (item: StrataClient.StreamItem) => boolean
) => {
  const seen: Array<StrataClient.StreamItem> = []
  for await (const item of items) {
    seen.push(item)
    if (process.env.DEBUG_SSE) console.log(JSON.stringify(item).slice(0, 150))
    if (until(item)) break
  }
  return seen
}

describe("HTTP", () => {
  it.scopedLive(
    "a turn with an approval: both clients get the exact call, one answers, both see it decided, the turn completes",
    () =>
      Effect.gen(function* () {
        const url = yield* serve()
        const a = StrataClient.make({ url })
        const b = StrataClient.make({ url })
        const started = yield* Effect.promise(() => a.call("turn/start", { prompt: "make the file" }))
        expect(started).toMatchObject({ status: "running", after_seq: 0 })
        const threadId = started.thread_id
        const ended = (i: StrataClient.StreamItem) =>
          i.type === "frame" && i.frame.event === "turn_ended" && i.frame.outcome === "completed"
        const first = yield* Effect.promise(() => collect(a.threadEvents(threadId), (i) => i.type === "approval"))
        const approval = first.at(-1)!
        if (approval.type !== "approval") throw new Error("no approval")
        expect(approval.approval.call).toMatchObject({ name: "shell__exec", arguments: { command: "touch made.txt" } })
        expect(approval.approval.command).toBe("touch made.txt")
        const watchB = Effect.runPromise(Effect.promise(() => collect(b.threadEvents(threadId), ended)))
        const resolved = yield* Effect.promise(() =>
          a.call("approval/resolve", { approval_id: approval.approval.id, decision: "approve" })
        )
        expect(resolved.approval.status).toBe("approved")
        const seenB = yield* Effect.promise(() => watchB)
        const frames = seenB.flatMap((i) => (i.type === "frame" ? [i.frame] : []))
        expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i + 1))
        expect(frames.some((f) => f.event === "approval_decided" && f.approval_id === approval.approval.id)).toBe(true)
        expect(ran).toContain("touch made.txt")
        const again = yield* Effect.promise(() =>
          a.call("approval/resolve", { approval_id: approval.approval.id, decision: "deny" }).catch((e) => e)
        )
        expect(again).toMatchObject({ type: "Conflict" })
      }).pipe(
        Effect.provide(
          runtimeLayer([
            { text: "Making it.", toolCalls: [{ name: "shell__exec", arguments: { command: "touch made.txt" } }] },
            { text: "Done." }
          ])
        )
      ),
    30_000
  )

  // covers: issue 16 part 5
  it.scopedLive(
    "a model stream that drops mid-answer: the client sees response_retry naming the discarded response, then the whole answer",
    () =>
      Effect.gen(function* () {
        const url = yield* serve()
        const client = StrataClient.make({ url })
        const started = yield* Effect.promise(() => client.call("turn/start", { prompt: "answer" }))
        const items = yield* Effect.promise(() =>
          collect(client.threadEvents(started.thread_id), (i) => i.type === "frame" && i.frame.event === "turn_ended")
        )
        const frames = items.flatMap((i) => (i.type === "frame" ? [i.frame] : []))
        const responses = frames.flatMap((f) => (f.event === "response_start" ? [f.response_id] : []))
        expect(responses).toHaveLength(2)
        expect(frames.find((f) => f.event === "response_retry")).toMatchObject({
          response_id: responses[0],
          attempt: 2,
          reason: "Disconnected"
        })
        expect(frames.at(-1)).toMatchObject({ event: "turn_ended", outcome: "completed" })
        const text = frames
          .flatMap((f) => (f.event === "message_appended" && f.message.role === "assistant" ? [f.message.content] : []))
          .join("")
        expect(text).toBe("the whole answer")
      }).pipe(
        Effect.provide(
          runtimeLayer([
            { text: "PARTIAL answer that drops", chunkSize: 4, delayMs: 30, fault: Fault.disconnect(2) },
            { text: "the whole answer" }
          ])
        )
      ),
    30_000
  )
})
