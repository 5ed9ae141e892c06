import { describe, expect, it } from "@effect/vitest"
import { ModelRegistry, ProviderError } from "@strata/providers"
import * as Effect from "effect/Effect"

/** The shape smol-toml gives for the README's TOML example. */
const config = {
  provider_default: "deepseek",
  providers: {
    deepseek: { kind: "deepseek", default_model: "deepseek-chat" },
    anthropic: { kind: "anthropic", api_key_env: "MY_ANTHROPIC_KEY", default_model: "claude-sonnet" },
    local: { kind: "ollama", base_url: "http://gpu-box:11434/", timeouts: { first_token_ms: 600000 } },
    router: { kind: "openrouter", headers: { "X-Title": "Strata" } }
  },
  models: [
    {
      id: "deepseek-chat",
      provider: "deepseek",
      context_window: 65536,
      max_output_tokens: 8192,
      price_per_mtok: { input: 0.27, output: 1.1, cached_input: 0.07 },
      fallbacks: ["claude-sonnet", "qwen3"]
    },
    {
      id: "deepseek-reasoner",
      provider: "deepseek",
      context_window: 65536,
      max_output_tokens: 32768,
      capabilities: { reasoning: true }
    },
    {
      id: "claude-sonnet",
      provider: "anthropic",
      name: "claude-sonnet-4-5",
      context_window: 200000,
      max_output_tokens: 64000,
      capabilities: { reasoning: true, images: true },
      fallback_on: ["overloaded"]
    },
    { id: "qwen3", provider: "local", name: "qwen3:8b", context_window: 32768, max_output_tokens: 4096 }
  ]
}

const make = (input: unknown) => ModelRegistry.make(input)
const withConfig = (patch: (c: any) => void) => {
  const c = structuredClone(config) as any
  patch(c)
  return c
}

describe("ModelRegistry", () => {
  it.effect("applies per-kind defaults", () =>
    Effect.gen(function* () {
      const registry = yield* make(config)
      const deepseek = yield* registry.provider("deepseek")
      expect(deepseek).toMatchObject({
        kind: "deepseek",
        base_url: "https://api.deepseek.com",
        api_key_env: "DEEPSEEK_API_KEY"
      })
      expect((yield* registry.provider("local")).base_url).toBe("http://gpu-box:11434")
      expect((yield* registry.provider("local")).api_key_env).toBeUndefined()
      expect((yield* registry.provider("anthropic")).api_key_env).toBe("MY_ANTHROPIC_KEY")
      const chat = yield* registry.model("deepseek-chat")
      expect(chat.name).toBe("deepseek-chat")
      expect(chat.capabilities).toEqual({ tools: true, reasoning: false, images: false })
      expect(chat.fallback_on).toEqual(["rate_limit", "overloaded", "context_too_long"])
      expect((yield* registry.model("claude-sonnet")).name).toBe("claude-sonnet-4-5")
      expect(registry.fallbackChain(chat).map((m) => m.id)).toEqual(["deepseek-chat", "claude-sonnet", "qwen3"])
    })
  )

  it.effect("resolves request > CLI model > CLI provider > config model > provider default", () =>
    Effect.gen(function* () {
      const registry = yield* make({ ...config, model: "deepseek-reasoner" })
      const pick = (request: { model?: string }, overrides: { model?: string; provider?: string }) =>
        registry.resolve(request, overrides).pipe(Effect.map((r) => `${r.model.id}@${r.source}`))
      expect(yield* pick({ model: "qwen3" }, { model: "claude-sonnet", provider: "local" })).toBe("qwen3@request")
      expect(yield* pick({}, { model: "claude-sonnet", provider: "local" })).toBe("claude-sonnet@cli")
      expect(yield* pick({}, { provider: "anthropic" })).toBe("claude-sonnet@cli")
      expect(yield* pick({}, { provider: "local" })).toBe("qwen3@cli")
      expect(yield* pick({}, {})).toBe("deepseek-reasoner@config")
      const plain = yield* make(config)
      expect((yield* plain.resolve()).model.id).toBe("deepseek-chat")
      expect((yield* plain.resolve()).source).toBe("provider_default")
      expect((yield* plain.providerDefault).id).toBe("deepseek")
    })
  )

  it.effect("a CLI base_url override applies to the resolved model's provider only", () =>
    Effect.gen(function* () {
      const registry = yield* make(config)
      const { model } = yield* registry.resolve({}, { base_url: "http://127.0.0.1:9999/" })
      expect(model.provider.base_url).toBe("http://127.0.0.1:9999")
      expect((yield* registry.provider("deepseek")).base_url).toBe("https://api.deepseek.com")
      expect(registry.fallbackChain(model)[1]!.provider.base_url).toBe("https://api.anthropic.com")
      const error = yield* Effect.flip(registry.resolve({}, { base_url: "ftp://x" }))
      expect(error).toMatchObject({ reason: "InvalidConfig", path: "cli.base_url" })
    })
  )

  it.effect("an unknown model or provider is a typed error listing the known ones", () =>
    Effect.gen(function* () {
      const registry = yield* make(config)
      const model = yield* Effect.flip(registry.resolve({ model: "gpt-5" }))
      expect(model).toBeInstanceOf(ProviderError.ModelRegistryError)
      expect(model).toMatchObject({ reason: "UnknownModel", name: "gpt-5", source: "request" })
      expect(model.message).toBe(
        'Unknown model "gpt-5" (from request); known models: deepseek-chat, deepseek-reasoner, claude-sonnet, qwen3'
      )
      const provider = yield* Effect.flip(registry.resolve({}, { provider: "gemini" }))
      expect(provider.message).toBe(
        'Unknown provider "gemini" (from cli); known providers: deepseek, anthropic, local, router'
      )
      const noDefault = yield* Effect.flip(registry.resolve({}, { provider: "router" }))
      expect(noDefault).toMatchObject({ reason: "NoModel", source: "cli" })
      expect(noDefault.message).toContain('provider "router" has no default_model and no models')
    })
  )

  it.effect("without provider_default, a single provider is the default; several are an error", () =>
    Effect.gen(function* () {
      const single = yield* make({
        providers: { only: { kind: "ollama" } },
        models: [{ id: "llama", provider: "only", context_window: 8192, max_output_tokens: 1024 }]
      })
      expect((yield* single.resolve()).model.id).toBe("llama")
      const several = yield* make(withConfig((c) => delete c.provider_default))
      const error = yield* Effect.flip(several.resolve())
      expect(error).toMatchObject({ reason: "NoModel", source: "provider_default" })
    })
  )

  it.effect("shape errors name the field", () =>
    Effect.gen(function* () {
      const kind = yield* Effect.flip(make(withConfig((c) => (c.providers.local.kind = "gemini"))))
      expect(kind._tag).toBe("DecodeError")
      expect(kind.message).toContain("providers.local.kind")
      const window = yield* Effect.flip(make(withConfig((c) => (c.models[1].context_window = -5))))
      expect(window.message).toContain("models[1].context_window")
      const url = yield* Effect.flip(make(withConfig((c) => (c.providers.local.base_url = "gpu-box:11434"))))
      expect(url.message).toContain("providers.local.base_url")
      const typo = yield* Effect.flip(make(withConfig((c) => (c.models[0].context_windw = 1))))
      expect(typo.message).toContain("models[0].context_windw")
    })
  )

  it.effect("a key in config is refused without echoing it", () =>
    Effect.gen(function* () {
      const secret = "sk-live-0123456789abcdef"
      const error = yield* Effect.flip(make(withConfig((c) => (c.providers.deepseek.api_key = secret))))
      expect(error).toMatchObject({
        _tag: "ModelRegistryError",
        reason: "InvalidConfig",
        path: "providers.deepseek.api_key"
      })
      expect(error.message).toContain("api_key_env")
      expect(JSON.stringify(error)).not.toContain(secret)
      expect(error.message).not.toContain(secret)
      const env = yield* Effect.flip(make(withConfig((c) => (c.providers.deepseek.api_key_env = secret))))
      expect(env.message).toContain("providers.deepseek.api_key_env")
      expect(env.message).toContain("not hold a key")
    })
  )

  it.effect("names that do not resolve are errors with their path", () =>
    Effect.gen(function* () {
      const provider = yield* Effect.flip(make(withConfig((c) => (c.models[3].provider = "remote"))))
      expect(provider).toMatchObject({ reason: "UnknownProvider", name: "remote", path: "models[3].provider" })
      expect(provider.message).toContain("known providers: deepseek, anthropic, local, router")
      const fallback = yield* Effect.flip(make(withConfig((c) => (c.models[0].fallbacks = ["gpt-4o"]))))
      expect(fallback).toMatchObject({ reason: "UnknownModel", path: "models[0].fallbacks[0]" })
      const self = yield* Effect.flip(make(withConfig((c) => (c.models[0].fallbacks = ["deepseek-chat"]))))
      expect(self).toMatchObject({ reason: "InvalidConfig", path: "models[0].fallbacks[0]" })
      const dup = yield* Effect.flip(make(withConfig((c) => c.models.push(c.models[0]))))
      expect(dup).toMatchObject({ reason: "InvalidConfig", path: "models[4].id" })
      const foreign = yield* Effect.flip(make(withConfig((c) => (c.providers.local.default_model = "deepseek-chat"))))
      expect(foreign).toMatchObject({ reason: "InvalidConfig", path: "providers.local.default_model" })
      const pd = yield* Effect.flip(make(withConfig((c) => (c.provider_default = "openai"))))
      expect(pd).toMatchObject({ reason: "UnknownProvider", path: "provider_default" })
    })
  )

  it.effect("cost charges cached input at its own price", () =>
    Effect.gen(function* () {
      const registry = yield* make(config)
      const chat = yield* registry.model("deepseek-chat")
      const usd = ModelRegistry.cost(chat, { input_tokens: 1_000_000, cached_tokens: 400_000, output_tokens: 100_000 })
      expect(usd).toBeCloseTo(0.6 * 0.27 + 0.4 * 0.07 + 0.1 * 1.1, 9)
      expect(ModelRegistry.cost(yield* registry.model("qwen3"), { input_tokens: 5, output_tokens: 5 })).toBeUndefined()
    })
  )
})
