import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import type { ModelConfig, StreamPart } from "@strata/providers"
import { LanguageModel, ModelRegistry } from "@strata/providers"
import type { ScriptedModel } from "@strata/testkit"
import * as Server from "@strata/testkit/node/ScriptedModelServer"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/** A fake key: the redaction tests grep everything for it. */
export const KEY = "sk-strata-test-4f9c2b7e1d8a6053"
export const KEY_ENV = "STRATA_TEST_API_KEY"

export const withKey = ConfigProvider.fromMap(new Map([[KEY_ENV, KEY]]))

export type Kind = ModelConfig.ProviderKind

export const backupKindOf = (kind: Kind): Kind => (kind === "anthropic" ? "openai-compatible" : "anthropic")

export const PRICES = { input: 2, output: 8, cached_input: 0.5 }

export interface HarnessOptions {
  readonly turns?: ReadonlyArray<ScriptedModel.Turn>
  readonly serverKey?: string
  readonly maxRetries?: number
  readonly timeouts?: ModelConfig.Timeouts
  readonly layer?: LanguageModel.Options
  readonly apiKeyEnv?: string
  /** The HTTP client (default: FetchHttpClient). */
  readonly httpClient?: Layer.Layer<HttpClient.HttpClient>
}

export interface Harness {
  readonly server: Server.ScriptedModelServer
  readonly registry: ModelRegistry.Service
  readonly lm: LanguageModel.Service
}

/**
 * A scripted server and a LanguageModel whose model "primary" (upstream
 * name "model-a") sits on a provider of `kind`, falling back to "backup"
 * ("model-b") on a provider of another wire format, both on the same server.
 */
export const harness = (kind: Kind, options: HarnessOptions = {}): Effect.Effect<Harness, never, Scope.Scope> =>
  Effect.gen(function* () {
    const server = yield* Server.make({ turns: options.turns ?? [], apiKey: options.serverKey ?? KEY })
    const backupKind = backupKindOf(kind)
    const config = {
      provider_default: "main",
      providers: {
        main: {
          kind,
          base_url: server.baseUrl(kind),
          api_key_env: options.apiKeyEnv ?? KEY_ENV,
          max_retries: options.maxRetries ?? 2,
          ...(options.timeouts === undefined ? {} : { timeouts: options.timeouts })
        },
        spare: { kind: backupKind, base_url: server.baseUrl(backupKind), api_key_env: KEY_ENV, max_retries: 0 }
      },
      models: [
        {
          id: "primary",
          provider: "main",
          name: "model-a",
          context_window: 32768,
          max_output_tokens: 4096,
          price_per_mtok: PRICES,
          capabilities: { tools: true, reasoning: true },
          fallbacks: ["backup"]
        },
        { id: "backup", provider: "spare", name: "model-b", context_window: 200000, max_output_tokens: 8192 },
        {
          id: "plain",
          provider: "main",
          name: "model-plain",
          context_window: 4096,
          max_output_tokens: 512,
          capabilities: { tools: false }
        }
      ]
    }
    const registry = yield* ModelRegistry.make(config).pipe(Effect.orDie)
    const lm = yield* LanguageModel.make({
      retry: { initial_delay_ms: 5, max_delay_ms: 20, jitter: false },
      timeouts: { connect_ms: 10_000, first_token_ms: 10_000, idle_ms: 10_000 },
      ...options.layer
    }).pipe(
      Effect.provide(
        Layer.merge(Layer.succeed(ModelRegistry.ModelRegistry, registry), options.httpClient ?? FetchHttpClient.layer)
      )
    )
    return { server, registry, lm }
  })

/** Runs a stream to the end, keeping the parts emitted before a failure. */
export const collectParts = <E>(stream: Stream.Stream<StreamPart.StreamPart, E>) =>
  Effect.map(Stream.runCollect(Stream.either(stream)), (chunk) => {
    const parts: Array<StreamPart.StreamPart> = []
    let error: E | undefined
    for (const item of chunk) {
      if (Either.isRight(item)) parts.push(item.right)
      else error = item.left
    }
    return { parts, error }
  })

export const text = (parts: ReadonlyArray<StreamPart.StreamPart>) =>
  parts.flatMap((p) => (p.type === "text_delta" ? [p.text] : [])).join("")

export const types = (parts: ReadonlyArray<StreamPart.StreamPart>) => parts.map((p) => p.type)
