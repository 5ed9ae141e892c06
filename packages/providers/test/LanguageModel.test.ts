import { describe, expect, it } from "@effect/vitest"
import { Ids } from "@strata/protocol"
import { LanguageModel, StreamPart } from "@strata/providers"
import { Fault, Turn } from "@strata/testkit/ScriptedModel"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { collectParts, harness, text, withKey } from "./utils.js"

const user = [{ role: "user" as const, content: "hi" }]

describe("LanguageModel", () => {
  it.scopedLive("honors retry-after in seconds", () =>
    Effect.gen(function* () {
      const { lm } = yield* harness("deepseek", {
        turns: [Turn.fault(Fault.rateLimited({ retryAfter: 1 })), Turn.text("done")]
      })
      const response = yield* lm.generate({ model: "primary", messages: user })
      expect(response.retries).toMatchObject([{ delay_ms: 1000, reason: "RateLimited" }])
      expect(response.text).toBe("done")
    }).pipe(Effect.withConfigProvider(withKey))
  )

  it.scopedLive("streams to a Model from resolve, keeping the CLI base_url override", () =>
    Effect.gen(function* () {
      const { lm, registry, server } = yield* harness("openai-compatible", { turns: [Turn.text("via override")] })
      // The configured URL is the scripted server's; the override moves the call elsewhere and back.
      const { model } = yield* registry.resolve({ model: "primary" }, { base_url: server.baseUrl("openai-compatible") })
      expect(model.provider.base_url).toBe(server.baseUrl("openai-compatible"))
      const response = yield* lm.generate({ model, messages: user })
      expect(response.text).toBe("via override")
    }).pipe(Effect.withConfigProvider(withKey))
  )

  it.scopedLive("a refused connection is Unavailable and retried, then falls back when configured to", () =>
    Effect.gen(function* () {
      const { lm, registry } = yield* harness("openai-compatible", {
        maxRetries: 1,
        turns: [Turn.text("backup answers")]
      })
      // Nothing listens on port 1.
      const { model } = yield* registry.resolve({ model: "primary" }, { base_url: "http://127.0.0.1:1/v1" })
      const failing = { ...model, fallback_on: [...model.fallback_on, "unavailable" as const] }
      const { parts, error } = yield* collectParts(lm.stream({ model: failing, messages: user }))
      expect(error).toBeUndefined()
      expect(parts.slice(0, 2)).toMatchObject([
        { type: "retry", reason: "Unavailable" },
        { type: "model_fallback", from: "primary", to: "backup", reason: "unavailable" }
      ])
      expect((parts[0] as StreamPart.Retry).message).toContain("request failed")
      expect(text(parts)).toBe("backup answers")
    }).pipe(Effect.withConfigProvider(withKey))
  )

  it.scopedLive("idle time is time spent waiting on the server, not on a slow consumer", () =>
    Effect.gen(function* () {
      const { lm } = yield* harness("anthropic", {
        timeouts: { idle_ms: 500 },
        turns: [Turn.text("abcdefghijkl", { chunkSize: 4, delayMs: 20 })]
      })
      let paused = false
      const seen: Array<string> = []
      yield* lm.stream({ model: "primary", messages: user }).pipe(
        Stream.runForEach((part) => {
          if (part.type === "text_delta") seen.push(part.text)
          if (part.type !== "text_delta" || paused) return Effect.void
          paused = true
          // Longer than idle_ms, while the server keeps streaming.
          return Effect.sleep("1200 millis")
        })
      )
      expect(seen.join("")).toBe("abcdefghijkl")
    }).pipe(Effect.withConfigProvider(withKey))
  )

  it.effect("an unknown model fails with the registry's error", () =>
    Effect.gen(function* () {
      const { lm } = yield* harness("ollama")
      const error = yield* Effect.flip(lm.generate({ model: "nope", messages: user }))
      expect(error).toMatchObject({ _tag: "ModelRegistryError", reason: "UnknownModel", name: "nope" })
      expect(error.message).toContain("known models: primary, backup, plain")
    }).pipe(Effect.scoped)
  )

  it("maps deltas and fallbacks to protocol events", () => {
    const rid = Ids.unsafeMake("ResponseId", "resp-1")
    expect(StreamPart.toEvent({ type: "text_delta", text: "a" }, rid)).toEqual({
      event: "response_delta",
      response_id: rid,
      delta: "a",
      channel: "text"
    })
    expect(StreamPart.toEvent({ type: "reasoning_delta", text: "b" }, rid)).toMatchObject({ channel: "reasoning" })
    expect(
      StreamPart.toEvent({ type: "model_fallback", from: "a", to: "b", reason: "rate_limit", message: "m" }, rid)
    ).toEqual({ event: "model_fallback", from: "a", to: "b", reason: "rate_limit" })
    expect(StreamPart.toEvent({ type: "start", model: "a", provider: "p", attempt: 1 }, rid)).toBeUndefined()
  })

  it("documents its defaults", () => {
    expect(LanguageModel.defaults.retry).toEqual({
      max_retries: 2,
      initial_delay_ms: 500,
      max_delay_ms: 8000,
      max_retry_after_ms: 60000,
      jitter: true
    })
    expect(LanguageModel.defaults.timeouts).toEqual({ connect_ms: 30000, first_token_ms: 120000, idle_ms: 60000 })
  })
})
