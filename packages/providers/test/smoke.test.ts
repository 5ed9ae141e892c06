import { it, expect } from "@effect/vitest"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { LanguageModel, ModelRegistry } from "@strata/providers"
import * as Server from "@strata/testkit/node/ScriptedModelServer"
import { Turn } from "@strata/testkit/ScriptedModel"
import * as Effect from "effect/Effect"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

for (const kind of ["openai-compatible", "deepseek", "openrouter", "anthropic", "ollama"] as const) {
  it.scoped(`smoke ${kind}`, () =>
    Effect.gen(function* () {
      const server = yield* Server.make({
        turns: [
          Turn.text("Hello there, world!", {
            reasoning: "thinking hard",
            toolCalls: [
              { name: "get_weather", arguments: { city: "Paris" } },
              { name: "t2", arguments: { a: 1 } }
            ],
            usage: { input_tokens: 100, output_tokens: 20, cached_tokens: 40 }
          })
        ]
      })
      const registry = ModelRegistry.layer({
        providers: { p: { kind, base_url: server.baseUrl(kind), api_key_env: "K" } },
        models: [
          {
            id: "m",
            provider: "p",
            context_window: 1000,
            max_output_tokens: 100,
            price_per_mtok: { input: 1, output: 2, cached_input: 0.5 },
            capabilities: { reasoning: true }
          }
        ]
      })
      const lm = yield* LanguageModel.make().pipe(Effect.provide(Layer.merge(registry, FetchHttpClient.layer)))
      yield* Effect.void
      const parts = yield* Stream.runCollect(
        lm.stream({
          model: "m",
          messages: [{ role: "user", content: "hi" }],
          tools: [{ name: "get_weather", description: "w", parameters: { type: "object" } }]
        })
      ).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["K", "sk-secret"]]))))
      console.log(kind, JSON.stringify([...parts]))
      console.log(JSON.stringify(server.requests[0]!.body))
      expect(parts.length).toBeGreaterThan(3)
    })
  )
}
