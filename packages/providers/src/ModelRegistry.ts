/**
 * `ModelRegistry`: the providers and models of the config, and the rule that
 * picks the model for a prompt: request > CLI overrides > config > provider
 * default.
 *
 * @since 0.1.0
 */
import type { Prompt, ProtocolError, Model as ProtocolModel } from "@strata/protocol"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as internal from "./internal/modelRegistry.js"
import type { Capabilities, Prices, ProviderKind, Timeouts } from "./ModelConfig.js"
import type { FallbackClass, ModelRegistryError, ResolutionSource } from "./ProviderError.js"

/**
 * A configured provider, with defaults applied (`base_url`, `api_key_env`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Provider {
  readonly id: string
  readonly kind: ProviderKind
  readonly base_url: string
  /** The name of the environment variable holding the key; `undefined` sends no key. */
  readonly api_key_env: string | undefined
  readonly default_model: string | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly timeouts: Timeouts
  readonly max_retries: number | undefined
  /** Retries of a model call whose stream broke off after output started (`undefined`: the runtime's default, 2). */
  readonly stream_retries: number | undefined
}

/**
 * A configured model, linked to its provider.
 *
 * @since 0.1.0
 * @category models
 */
export interface Model {
  readonly id: string
  /** The model name sent to the provider. */
  readonly name: string
  readonly provider: Provider
  readonly context_window: number
  readonly max_output_tokens: number
  readonly prices: Prices | undefined
  readonly capabilities: Capabilities
  readonly fallbacks: ReadonlyArray<string>
  readonly fallback_on: ReadonlyArray<FallbackClass>
}

/**
 * The model picked for a prompt and which step picked it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Resolution {
  readonly model: Model
  readonly source: ResolutionSource
}

/**
 * The service.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Providers in config order. */
  readonly providers: ReadonlyArray<Provider>
  /** Models in config order. */
  readonly models: ReadonlyArray<Model>
  /** A provider by id; `UnknownProvider` lists the known ones. */
  readonly provider: (id: string) => Effect.Effect<Provider, ModelRegistryError>
  /** A model by id; `UnknownModel` lists the known ones. */
  readonly model: (id: string) => Effect.Effect<Model, ModelRegistryError>
  /** The default provider (`provider_default`, or the only provider); `NoModel` when there is none. */
  readonly providerDefault: Effect.Effect<Provider, ModelRegistryError>
  /**
   * Picks the model for a prompt: `request.model`, then `overrides.model`,
   * then the default model of `overrides.provider`, then the config's
   * `model`, then the default model of the default provider.
   * `overrides.base_url` replaces the picked model's provider URL (not its
   * fallbacks').
   */
  readonly resolve: (
    request?: { readonly model?: string | undefined },
    overrides?: Prompt.CliRuntimeOverrides
  ) => Effect.Effect<Resolution, ModelRegistryError>
  /** The model followed by its fallbacks, in order (not transitive). */
  readonly fallbackChain: (model: Model) => ReadonlyArray<Model>
}

/**
 * The registry of providers and models.
 *
 * @since 0.1.0
 * @category tags
 */
export class ModelRegistry extends Context.Tag("@strata/providers/ModelRegistry")<ModelRegistry, Service>() {}

/**
 * Builds a registry from the model section of the config (its encoded form:
 * plain JSON / parsed TOML). Fails with a `DecodeError` naming the field when
 * the shape is wrong, and with `ModelRegistryError` (`InvalidConfig`,
 * `UnknownModel`, `UnknownProvider`, with `path`) when names do not resolve.
 * A literal `api_key` anywhere in a provider is rejected without echoing it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (config: unknown) => Effect.Effect<Service, ProtocolError.DecodeError | ModelRegistryError> =
  internal.make

/**
 * The registry as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: (config: unknown) => Layer.Layer<ModelRegistry, ProtocolError.DecodeError | ModelRegistryError> =
  internal.layer

/**
 * The cost in USD of a call's usage at the model's prices, or `undefined`
 * when the model has no prices. Cached input tokens (part of
 * `input_tokens`) are charged at `cached_input` (default: `input`).
 *
 * @since 0.1.0
 * @category utils
 */
export const cost: (model: Model, usage: ProtocolModel.Usage) => number | undefined = internal.cost
