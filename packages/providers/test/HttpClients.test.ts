import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { Fault, Turn } from "@strata/testkit/ScriptedModel"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { collectParts, harness, text, withKey } from "./utils.js"

// FetchHttpClient's body is read through its web ReadableStream; any other HttpClient goes
// through the response's Effect stream. The same behaviour on node:http's client:
describe("with NodeHttpClient (the response.stream path)", () => {
  const httpClient = NodeHttpClient.layer
  const user = [{ role: "user" as const, content: "hi" }]

  it.scopedLive("streams reasoning, text and tool calls", () =>
    Effect.gen(function* () {
      const { lm } = yield* harness("anthropic", {
        httpClient,
        turns: [Turn.text("node:http works", { reasoning: "r", toolCalls: [{ name: "ls", arguments: { a: 1 } }] })]
      })
      const response = yield* lm.generate({ model: "primary", messages: user })
      expect(response.text).toBe("node:http works")
      expect(response.reasoning).toBe("r")
      expect(response.tool_calls.map((c) => c.arguments)).toEqual([{ a: 1 }])
    }).pipe(Effect.withConfigProvider(withKey))
  )

  it.scopedLive("times out an idle stream and aborts the request", () =>
    Effect.gen(function* () {
      const { lm, server } = yield* harness("deepseek", {
        httpClient,
        timeouts: { idle_ms: 200 },
        turns: [Turn.text("abcdefgh", { chunkSize: 4, fault: Fault.stall(1) })]
      })
      const { parts, error } = yield* collectParts(lm.stream({ model: "primary", messages: user }))
      expect(text(parts)).toBe("abcd")
      expect(error).toMatchObject({ reason: "Timeout", phase: "idle" })
      expect(yield* Effect.promise(() => server.outcome(0))).toBe("aborted")
    }).pipe(Effect.withConfigProvider(withKey))
  )

  it.scopedLive("a disconnect mid-stream fails Disconnected; ending early aborts", () =>
    Effect.gen(function* () {
      const { lm, server } = yield* harness("ollama", {
        httpClient,
        turns: [
          Turn.text("abcdefgh", { chunkSize: 4, fault: Fault.disconnect(1) }),
          Turn.text("z".repeat(100), { chunkSize: 1, delayMs: 5 })
        ]
      })
      const { error } = yield* collectParts(lm.stream({ model: "primary", messages: user }))
      expect(error).toMatchObject({ reason: "Disconnected" })
      yield* Stream.runDrain(lm.stream({ model: "primary", messages: user }).pipe(Stream.take(3)))
      expect(yield* Effect.promise(() => server.outcome(1))).toBe("aborted")
    }).pipe(Effect.withConfigProvider(withKey))
  )
})
