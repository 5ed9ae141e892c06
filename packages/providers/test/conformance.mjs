// Cross-runtime conformance for @strata/providers: runs unchanged under Node, Bun and Deno on dist.
// The scripted model server (node:http, which all three provide) runs in-process; calls go
// through FetchHttpClient.
import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { LanguageModel, ModelRegistry, WireFormat } from "@strata/providers"
import * as Server from "@strata/testkit/node/ScriptedModelServer"
import { Fault, Turn } from "@strata/testkit/ScriptedModel"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { run, test } from "../../../scripts/conformance.mjs"

const KEY = "sk-conformance-7d1e"
const keys = ConfigProvider.fromMap(new Map([["CONFORMANCE_KEY", KEY]]))

const registryConfig = (server) => ({
  provider_default: "ds",
  providers: {
    ds: {
      kind: "deepseek",
      base_url: server?.baseUrl("deepseek") ?? "http://127.0.0.1:1",
      api_key_env: "CONFORMANCE_KEY"
    },
    claude: {
      kind: "anthropic",
      base_url: server?.baseUrl("anthropic") ?? "http://127.0.0.1:1",
      api_key_env: "CONFORMANCE_KEY"
    },
    local: {
      kind: "ollama",
      base_url: server?.baseUrl("ollama") ?? "http://127.0.0.1:1",
      api_key_env: "CONFORMANCE_KEY",
      default_model: "qwen"
    }
  },
  models: [
    {
      id: "chat",
      provider: "ds",
      name: "deepseek-chat",
      context_window: 65536,
      max_output_tokens: 8192,
      price_per_mtok: { input: 1, output: 2 },
      fallbacks: ["sonnet"]
    },
    { id: "sonnet", provider: "claude", context_window: 200000, max_output_tokens: 8192 },
    { id: "qwen", provider: "local", name: "qwen3:8b", context_window: 32768, max_output_tokens: 4096 }
  ]
})

const withServer = async (turns, body) => {
  const server = await Server.start({ turns, apiKey: KEY })
  try {
    const layer = LanguageModel.layerFetch({ retry: { initial_delay_ms: 5, jitter: false } }).pipe(
      Layer.provideMerge(ModelRegistry.layer(registryConfig(server)))
    )
    return await Effect.runPromise(
      Effect.gen(function* () {
        const lm = yield* LanguageModel.LanguageModel
        return yield* body(lm, server)
      }).pipe(Effect.provide(layer), Effect.withConfigProvider(keys))
    )
  } finally {
    await server.close()
  }
}

test("registry resolves request > CLI > config > provider default", async () => {
  const registry = await Effect.runPromise(ModelRegistry.make(registryConfig()))
  const pick = (request, overrides) =>
    Effect.runPromise(registry.resolve(request, overrides)).then((r) => `${r.model.id}@${r.source}`)
  assert.equal(await pick({ model: "qwen" }, { model: "sonnet" }), "qwen@request")
  assert.equal(await pick({}, { model: "sonnet" }), "sonnet@cli")
  assert.equal(await pick({}, { provider: "local" }), "qwen@cli")
  assert.equal(await pick({}, {}), "chat@provider_default")
  const error = await Effect.runPromise(Effect.flip(registry.resolve({ model: "gpt" })))
  assert.equal(error.reason, "UnknownModel")
  assert.match(error.message, /known models: chat, sonnet, qwen/)
})

test("a recorded Anthropic transcript decodes (SSE parsing)", () => {
  const registry = Effect.runSync(ModelRegistry.make(registryConfig()))
  const model = registry.models.find((m) => m.id === "sonnet")
  const call = { model, messages: [], tools: [], options: {}, apiKey: undefined }
  const decoder = WireFormat.anthropicMessages.decoder(call)
  const parts = []
  const text = readFileSync(new URL("./fixtures/anthropic-thinking-tool-use.sse", import.meta.url), "utf8")
  for (let i = 0; i < text.length; i += 7) assert.equal(decoder.push(text.slice(i, i + 7), parts), undefined)
  assert.equal(decoder.done(), true)
  assert.deepEqual(
    parts.map((p) => p.type),
    ["reasoning_delta", "reasoning_delta", "reasoning_signature", "text_delta", "text_delta", "tool_call", "finish"]
  )
  assert.deepEqual(parts[5].arguments, { location: "San Francisco, CA", unit: "fahrenheit" })
})

for (const model of ["chat", "sonnet", "qwen"]) {
  test(`a streamed turn with tool calls and usage (${model})`, () =>
    withServer(
      [
        Turn.text("Hello from the scripted model.", {
          reasoning: "thinking",
          toolCalls: [{ name: "read_file", arguments: { path: "a.txt" } }],
          usage: { input_tokens: 1000, output_tokens: 500 }
        })
      ],
      (lm, server) =>
        Effect.gen(function* () {
          const response = yield* lm.generate({
            model,
            messages: [{ role: "user", content: "hi" }],
            tools: [{ name: "read_file", description: "Reads a file", parameters: { type: "object" } }]
          })
          assert.equal(response.text, "Hello from the scripted model.")
          assert.equal(response.reasoning, "thinking")
          assert.deepEqual(
            response.tool_calls.map((c) => [c.name, c.arguments]),
            [["read_file", { path: "a.txt" }]]
          )
          assert.equal(response.finish_reason, "tool_calls")
          assert.equal(response.usage.input_tokens, 1000)
          if (model === "chat") assert.equal(response.usage.cost_usd, 0.002)
          assert.equal(server.requests.length, 1)
        })
    ))
}

test("a 429 is retried, then a rate-limited model falls back", () =>
  withServer(
    [
      Turn.fault(Fault.rateLimited({ retryAfterMs: 5 }), { match: (r) => r.model === "deepseek-chat", repeat: true }),
      Turn.text("answered by the fallback", { match: (r) => r.model === "sonnet" })
    ],
    (lm) =>
      Effect.gen(function* () {
        const parts = yield* Stream.runCollect(
          lm.stream({ model: "chat", messages: [{ role: "user", content: "hi" }] })
        )
        const types = [...parts].map((p) => p.type)
        assert.deepEqual(types.slice(0, 4), ["retry", "retry", "model_fallback", "start"])
        const fallback = [...parts].find((p) => p.type === "model_fallback")
        assert.deepEqual([fallback.from, fallback.to, fallback.reason], ["chat", "sonnet", "rate_limit"])
      })
  ))

test("ending the stream early aborts the HTTP request", () =>
  withServer([Turn.text("z".repeat(100), { chunkSize: 1, delayMs: 5 })], (lm, server) =>
    Effect.gen(function* () {
      const parts = yield* Stream.runCollect(
        lm.stream({ model: "chat", messages: [{ role: "user", content: "hi" }] }).pipe(Stream.take(2))
      )
      assert.equal(parts.length, 2)
      assert.equal(yield* Effect.promise(() => server.outcome(0)), "aborted")
    })
  ))

await run("@strata/providers")
