/**
 * The provider conformance suite: streaming, tool calls and faults, against
 * the scripted wire server through the real HTTP client. Run once per
 * provider kind (see providers.test.ts).
 */
import { describe, expect, it } from "@effect/vitest"
import type { StreamPart } from "@strata/providers"
import { ProviderError } from "@strata/providers"
import { Fault, forModel, lastMessageIs, Turn } from "@strata/testkit/ScriptedModel"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { collectParts, harness, KEY, type Kind, PRICES, text, types, withKey } from "./utils.js"

export interface Capabilities {
  /** The wire carries tool arguments as text, so the model can get the JSON wrong. */
  readonly rawToolArguments: boolean
  /** The wire reports prompt-cache hits. */
  readonly cachedTokens: boolean
}

const user = (content: string) => [{ role: "user" as const, content }]

const weatherTool = {
  name: "get_weather",
  description: "The weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
}
const timeTool = {
  name: "get_time",
  description: "The time in a zone",
  parameters: { type: "object", properties: { zone: { type: "string" } } }
}

const test = (name: string, self: () => Effect.Effect<void, unknown, any>) =>
  it.scopedLive(name, () => self().pipe(Effect.withConfigProvider(withKey)))

export const run = (kind: Kind, caps: Capabilities) =>
  describe(`provider suite: ${kind}`, () => {
    test("streams reasoning and text, then finish with usage and cost", () =>
      Effect.gen(function* () {
        const { lm, server } = yield* harness(kind, {
          turns: [
            Turn.text("The answer is 42, as always.", {
              reasoning: "Let me think about this carefully.",
              usage: { input_tokens: 1000, output_tokens: 200, cached_tokens: 400 }
            })
          ]
        })
        const { parts, error } = yield* collectParts(
          lm.stream({ model: "primary", messages: user("What is the answer?"), options: { reasoning: true } })
        )
        expect(error).toBeUndefined()
        expect(parts[0]).toEqual({ type: "start", model: "primary", provider: "main", attempt: 1 })
        expect(parts.at(-1)?.type).toBe("finish")
        expect(text(parts)).toBe("The answer is 42, as always.")
        expect(parts.filter((p) => p.type === "text_delta").length).toBeGreaterThan(1)
        const reasoning = parts.flatMap((p) => (p.type === "reasoning_delta" ? [p.text] : [])).join("")
        expect(reasoning).toBe("Let me think about this carefully.")
        // Reasoning comes before text.
        expect(types(parts).indexOf("reasoning_delta")).toBeLessThan(types(parts).indexOf("text_delta"))
        const finish = parts.at(-1) as StreamPart.Finish
        expect(finish.reason).toBe("stop")
        expect(finish.model).toBe("primary")
        const cached = caps.cachedTokens ? 400 : 0
        expect(finish.usage.input_tokens).toBe(1000)
        expect(finish.usage.output_tokens).toBe(200)
        expect(finish.usage.cached_tokens ?? 0).toBe(cached)
        const expected = ((1000 - cached) * PRICES.input + cached * PRICES.cached_input + 200 * PRICES.output) / 1e6
        expect(finish.usage.cost_usd).toBeCloseTo(expected, 12)
        // The request named the upstream model and streamed.
        expect(server.requests).toHaveLength(1)
        expect(server.requests[0]!.model).toBe("model-a")
        expect(server.requests[0]!.body.stream).toBe(true)
      }))

    test("assembles parallel tool calls from deltas with parsed arguments", () =>
      Effect.gen(function* () {
        const { lm, server } = yield* harness(kind, {
          turns: [
            Turn.toolCalls(
              [
                { name: "get_weather", arguments: { city: "Paris", unit: "celsius" } },
                { name: "get_time", arguments: { zone: "Europe/Paris" } }
              ],
              { text: "Checking both.", chunkSize: 3, usage: { input_tokens: 50, output_tokens: 30 } }
            )
          ]
        })
        const response = yield* lm.generate({
          model: "primary",
          messages: user("Weather and time in Paris?"),
          tools: [weatherTool, timeTool]
        })
        expect(response.text).toBe("Checking both.")
        expect(response.finish_reason).toBe("tool_calls")
        expect(response.tool_calls.map((c) => [c.name, c.arguments])).toEqual([
          ["get_weather", { city: "Paris", unit: "celsius" }],
          ["get_time", { zone: "Europe/Paris" }]
        ])
        expect(new Set(response.tool_calls.map((c) => c.id)).size).toBe(2)
        expect(response.tool_call_errors).toEqual([])
        expect(server.requests[0]!.tools).toEqual(["get_weather", "get_time"])
      }))

    test("sends tool calls and results back; the server picks the follow-up turn", () =>
      Effect.gen(function* () {
        const { lm, server } = yield* harness(kind, {
          turns: [
            Turn.text("It is 21 degrees in Paris.", { match: lastMessageIs("tool") }),
            Turn.toolCalls([{ name: "get_weather", arguments: { city: "Paris" } }])
          ]
        })
        const messages = user("Weather in Paris?")
        const first = yield* lm.generate({ model: "primary", messages, tools: [weatherTool] })
        const call = first.tool_calls[0]!
        const second = yield* lm.generate({
          model: "primary",
          tools: [weatherTool],
          messages: [
            { role: "system", content: "You are terse." },
            ...messages,
            {
              role: "assistant",
              content: "",
              tool_calls: [{ id: call.id, name: call.name, arguments: call.arguments }]
            },
            { role: "tool", tool_call_id: call.id, name: call.name, content: '{"temp_c":21}' }
          ]
        })
        expect(second.text).toBe("It is 21 degrees in Paris.")
        expect(second.finish_reason).toBe("stop")
        const sent = server.requests[1]!.messages
        expect(sent[0]).toMatchObject({ role: "system", content: "You are terse." })
        const assistant = sent.find((m) => m.role === "assistant")!
        expect(assistant.tool_calls?.[0]).toMatchObject({ name: "get_weather", arguments: { city: "Paris" } })
        const result = sent.at(-1)!
        expect(result).toMatchObject({ role: "tool", content: '{"temp_c":21}' })
        if (kind === "ollama") expect(result.name).toBe("get_weather")
        else {
          expect(result.tool_call_id).toBe(call.id)
          expect(assistant.tool_calls?.[0]?.id).toBe(call.id)
        }
      }))

    if (caps.rawToolArguments) {
      test("invalid tool-call JSON becomes a tool_call_error the turn can report", () =>
        Effect.gen(function* () {
          const { lm } = yield* harness(kind, {
            turns: [
              Turn.toolCalls([
                { name: "get_weather", rawArguments: '{"city": "Par' },
                { name: "get_time", arguments: { zone: "UTC" } }
              ])
            ]
          })
          const response = yield* lm.generate({ model: "primary", messages: user("?"), tools: [weatherTool, timeTool] })
          expect(response.tool_call_errors).toHaveLength(1)
          const bad = response.tool_call_errors[0]!
          expect(bad).toMatchObject({ name: "get_weather", reason: "InvalidJson", raw_arguments: '{"city": "Par' })
          expect(bad.message).toContain("not valid JSON")
          expect(response.tool_calls.map((c) => c.name)).toEqual(["get_time"])
        }))
    }

    test("retries a 429 honoring retry-after-ms, then streams", () =>
      Effect.gen(function* () {
        const { lm, server } = yield* harness(kind, {
          turns: [Turn.fault(Fault.rateLimited({ retryAfterMs: 40 })), Turn.text("ok after retry")]
        })
        const { parts, error } = yield* collectParts(lm.stream({ model: "primary", messages: user("hi") }))
        expect(error).toBeUndefined()
        expect(types(parts).slice(0, 2)).toEqual(["retry", "start"])
        expect(parts[0]).toMatchObject({
          type: "retry",
          model: "primary",
          attempt: 2,
          delay_ms: 40,
          reason: "RateLimited"
        })
        expect(parts[1]).toMatchObject({ type: "start", model: "primary", attempt: 2 })
        expect(text(parts)).toBe("ok after retry")
        expect(server.requests).toHaveLength(2)
      }))

    test("retries 5xx with backoff and fails with the last error when retries run out", () =>
      Effect.gen(function* () {
        const { lm, server } = yield* harness(kind, {
          maxRetries: 2,
          turns: [
            Turn.fault(Fault.serverError(500)),
            Turn.fault(Fault.serverError(502)),
            Turn.fault(Fault.serverError(500))
          ]
        })
        // "unavailable" is not in the default fallback_on: no fallback.
        const { parts, error } = yield* collectParts(lm.stream({ model: "primary", messages: user("hi") }))
        expect(types(parts)).toEqual(["retry", "retry"])
        expect(parts.map((p) => (p.type === "retry" ? p.delay_ms : 0))).toEqual([5, 10])
        expect(error).toBeInstanceOf(ProviderError.ProviderError)
        expect(error).toMatchObject({ reason: "Unavailable", status: 500, model: "primary", provider: "main" })
        expect(server.requests).toHaveLength(3)
      }))

    test("never retries once output reached the caller (disconnect mid-stream)", () =>
      Effect.gen(function* () {
        const { lm, server } = yield* harness(kind, {
          turns: [Turn.text("abcdefghijklmnop", { chunkSize: 4, fault: Fault.disconnect(2) }), Turn.text("unused")]
        })
        const { parts, error } = yield* collectParts(lm.stream({ model: "primary", messages: user("hi") }))
        expect(types(parts)).toEqual(["start", "text_delta", "text_delta"])
        expect(text(parts)).toBe("abcdefgh")
        expect(error).toMatchObject({ _tag: "ProviderError", reason: "Disconnected" })
        expect(server.requests).toHaveLength(1)
        expect(server.remaining()).toBe(1)
      }))

    test("a body that ends without the terminal event fails Disconnected", () =>
      Effect.gen(function* () {
        const { lm } = yield* harness(kind, {
          turns: [Turn.text("abcdefgh", { chunkSize: 4, fault: Fault.truncate(1) })]
        })
        const { parts, error } = yield* collectParts(lm.stream({ model: "primary", messages: user("hi") }))
        expect(text(parts)).toBe("abcd")
        expect(error).toMatchObject({ reason: "Disconnected" })
      }))

    test("a disconnect before any output is retried", () =>
      Effect.gen(function* () {
        const { lm, server } = yield* harness(kind, {
          turns: [Turn.text("lost", { fault: Fault.disconnect(0) }), Turn.text("second try")]
        })
        const response = yield* lm.generate({ model: "primary", messages: user("hi") })
        expect(response.text).toBe("second try")
        expect(response.retries.map((r) => r.reason)).toEqual(["Disconnected"])
        expect(server.requests).toHaveLength(2)
      }))

    test("a malformed chunk fails InvalidResponse and is not retried", () =>
      Effect.gen(function* () {
        const { lm, server } = yield* harness(kind, {
          turns: [Turn.text("abcdefgh", { chunkSize: 4, fault: Fault.malformed(1) }), Turn.text("unused")]
        })
        const { parts, error } = yield* collectParts(lm.stream({ model: "primary", messages: user("hi") }))
        expect(text(parts)).toBe("abcd")
        expect(error).toMatchObject({ reason: "InvalidResponse" })
        expect((error as ProviderError.ProviderError).message).toContain("malformed")
        const before = yield* collectParts(lm.stream({ model: "primary", messages: user("hi") }))
        expect(before.error).toBeUndefined()
        server.push(Turn.text("x", { fault: Fault.malformed(0) }))
        const first = yield* collectParts(lm.stream({ model: "primary", messages: user("hi") }))
        expect(first.parts).toEqual([])
        expect(first.error).toMatchObject({ reason: "InvalidResponse" })
        expect(server.requests).toHaveLength(3)
      }))

    test("a server that never answers hits the connect timeout, and the attempt is retried", () =>
      Effect.gen(function* () {
        const { lm, server } = yield* harness(kind, {
          maxRetries: 1,
          timeouts: { connect_ms: 200 },
          turns: [Turn.fault(Fault.hang()), Turn.text("second attempt")]
        })
        const response = yield* lm.generate({ model: "primary", messages: user("hi") })
        expect(response.retries).toMatchObject([{ reason: "Timeout" }])
        expect(response.retries[0]!.message).toContain("timed out (connect)")
        expect(response.text).toBe("second attempt")
        expect(yield* Effect.promise(() => server.outcome(0))).toBe("aborted")
      }))

    test("a slow first token times out (keep-alives do not count as output)", () =>
      Effect.gen(function* () {
        const { lm, server } = yield* harness(kind, {
          maxRetries: 0,
          timeouts: { first_token_ms: 300 },
          turns: [Turn.text("late", { fault: Fault.slowFirstToken(5_000) })]
        })
        const { parts, error } = yield* collectParts(lm.stream({ model: "plain", messages: user("hi") }))
        expect(parts).toEqual([])
        expect(error).toMatchObject({ reason: "Timeout", phase: "first_token" })
        expect(yield* Effect.promise(() => server.outcome(0))).toBe("aborted")
      }))

    test("a stalled stream hits the idle timeout after output", () =>
      Effect.gen(function* () {
        const { lm, server } = yield* harness(kind, {
          timeouts: { idle_ms: 300 },
          turns: [Turn.text("abcdefgh", { chunkSize: 4, fault: Fault.stall(1) })]
        })
        const { parts, error } = yield* collectParts(lm.stream({ model: "primary", messages: user("hi") }))
        expect(text(parts)).toBe("abcd")
        expect(error).toMatchObject({ reason: "Timeout", phase: "idle" })
        expect(yield* Effect.promise(() => server.outcome(0))).toBe("aborted")
        expect(server.requests).toHaveLength(1)
      }))

    test("an in-stream overload error before output is retried", () =>
      Effect.gen(function* () {
        const { lm, server } = yield* harness(kind, {
          turns: [Turn.text("x", { fault: Fault.streamError(0, "overloaded") }), Turn.text("recovered")]
        })
        const response = yield* lm.generate({ model: "primary", messages: user("hi") })
        expect(response.text).toBe("recovered")
        expect(response.retries.map((r) => r.reason)).toEqual(["Overloaded"])
        expect(server.requests).toHaveLength(2)
      }))

    test("falls back on rate limit once retries run out and says which model answered", () =>
      Effect.gen(function* () {
        const { lm, server } = yield* harness(kind, {
          maxRetries: 1,
          turns: [
            Turn.fault(Fault.rateLimited({ retryAfterMs: 10 }), { match: forModel("model-a"), repeat: true }),
            Turn.text("from the backup", { match: forModel("model-b") })
          ]
        })
        const { parts, error } = yield* collectParts(lm.stream({ model: "primary", messages: user("hi") }))
        expect(error).toBeUndefined()
        expect(types(parts).slice(0, 3)).toEqual(["retry", "model_fallback", "start"])
        expect(parts[1]).toMatchObject({ type: "model_fallback", from: "primary", to: "backup", reason: "rate_limit" })
        expect(parts[2]).toMatchObject({ type: "start", model: "backup", provider: "spare" })
        expect(text(parts)).toBe("from the backup")
        expect((parts.at(-1) as StreamPart.Finish).model).toBe("backup")
        expect(server.requests.map((r) => r.model)).toEqual(["model-a", "model-a", "model-b"])
      }))

    test("context too long falls back at once, without retrying", () =>
      Effect.gen(function* () {
        const { lm, server } = yield* harness(kind, {
          turns: [
            Turn.fault(Fault.contextTooLong(), { match: forModel("model-a") }),
            Turn.text("I have a bigger window", { match: forModel("model-b") })
          ]
        })
        const response = yield* lm.generate({ model: "primary", messages: user("a very long prompt") })
        expect(response.model).toBe("backup")
        expect(response.retries).toEqual([])
        expect(response.fallbacks).toMatchObject([{ from: "primary", to: "backup", reason: "context_too_long" }])
        expect(server.requests).toHaveLength(2)
      }))

    test("a retry-after beyond the cap is not waited for: it falls back at once", () =>
      Effect.gen(function* () {
        const { lm } = yield* harness(kind, {
          turns: [
            Turn.fault(Fault.rateLimited({ retryAfter: 3600 }), { match: forModel("model-a") }),
            Turn.text("backup", { match: forModel("model-b") })
          ]
        })
        const response = yield* lm.generate({ model: "primary", messages: user("hi") })
        expect(response.retries).toEqual([])
        expect(response.fallbacks.map((f) => f.reason)).toEqual(["rate_limit"])
      }))

    test("an auth error neither retries nor falls back, and the key never shows", () =>
      Effect.gen(function* () {
        const { lm, server } = yield* harness(kind, { serverKey: "sk-the-server-wants-another-key" })
        const error = yield* Effect.flip(lm.generate({ model: "primary", messages: user("hi") }))
        expect(error).toMatchObject({ _tag: "ProviderError", reason: "Unauthorized", status: 401 })
        expect(server.requests).toHaveLength(1)
        // The server echoed the presented key in its error body; it is scrubbed.
        expect(error.message).toContain("[redacted]")
        expect(JSON.stringify(error)).not.toContain(KEY)
        expect(error.message).not.toContain(KEY)
      }))

    test("interrupting the consumer aborts the HTTP request", () =>
      Effect.gen(function* () {
        const { lm, server } = yield* harness(kind, {
          turns: [Turn.text("x".repeat(200), { chunkSize: 1, delayMs: 10 })]
        })
        const firstDelta = yield* Deferred.make<void>()
        const fiber = yield* lm.stream({ model: "primary", messages: user("hi") }).pipe(
          Stream.runForEach((p) => (p.type === "text_delta" ? Deferred.succeed(firstDelta, undefined) : Effect.void)),
          Effect.fork
        )
        yield* Deferred.await(firstDelta)
        yield* Fiber.interrupt(fiber)
        expect(yield* Effect.promise(() => server.outcome(0))).toBe("aborted")
      }))

    test("taking part of the stream closes the request too", () =>
      Effect.gen(function* () {
        const { lm, server } = yield* harness(kind, {
          turns: [Turn.text("y".repeat(200), { chunkSize: 1, delayMs: 10 })]
        })
        const parts = yield* Stream.runCollect(
          lm.stream({ model: "primary", messages: user("hi") }).pipe(Stream.take(3))
        )
        expect(parts.length).toBe(3)
        expect(yield* Effect.promise(() => server.outcome(0))).toBe("aborted")
      }))

    test("a request the model cannot serve fails Unsupported without a call", () =>
      Effect.gen(function* () {
        const { lm, server } = yield* harness(kind)
        const error = yield* Effect.flip(lm.generate({ model: "plain", messages: user("hi"), tools: [weatherTool] }))
        expect(error).toMatchObject({ reason: "Unsupported" })
        expect(error.message).toContain("does not support tools")
        expect(server.requests).toHaveLength(0)
      }))

    test("a missing key fails MissingApiKey naming the variable, without a call", () =>
      Effect.gen(function* () {
        const { lm, server } = yield* harness(kind, { apiKeyEnv: "STRATA_TEST_UNSET_KEY" })
        const error = yield* Effect.flip(lm.generate({ model: "primary", messages: user("hi") }))
        expect(error).toMatchObject({ reason: "MissingApiKey" })
        expect(error.message).toContain("STRATA_TEST_UNSET_KEY")
        expect(server.requests).toHaveLength(0)
      }))
  })
