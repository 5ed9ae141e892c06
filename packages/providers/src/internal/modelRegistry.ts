import type { Prompt, Model as ProtocolModel } from "@strata/protocol"
import * as ProtocolError from "@strata/protocol/ProtocolError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import {
  defaultApiKeyEnv,
  defaultBaseUrl,
  HttpUrl,
  type RegistryConfig,
  RegistryConfig as RegistryConfigSchema
} from "../ModelConfig.js"
import type { Model, Provider, Resolution, Service } from "../ModelRegistry.js"
import { ModelRegistry } from "../ModelRegistry.js"
import { ModelRegistryError, type ResolutionSource } from "../ProviderError.js"

const decodeConfig = Schema.decodeUnknownEither(RegistryConfigSchema, { errors: "all", onExcessProperty: "error" })

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** A key in config is refused before decoding, so no error message can ever echo it. */
const rejectLiteralKeys = (input: unknown): ModelRegistryError | undefined => {
  if (!isRecord(input) || !isRecord(input.providers)) return undefined
  for (const [id, provider] of Object.entries(input.providers)) {
    if (!isRecord(provider)) continue
    for (const field of ["api_key", "apiKey", "key", "token"]) {
      if (field in provider) {
        return new ModelRegistryError({
          reason: "InvalidConfig",
          path: `providers.${id}.${field}`,
          known: [],
          detail: "API keys never go in config; set api_key_env to the name of the environment variable that holds it"
        })
      }
    }
  }
  return undefined
}

const invalid = (path: string, detail: string) =>
  new ModelRegistryError({ reason: "InvalidConfig", path, known: [], detail })

/** Validates the decoded config and links models to providers. */
export const fromConfig = (config: RegistryConfig): Either.Either<Service, ModelRegistryError> => {
  const providerIds = Object.keys(config.providers)
  const providers = new Map<string, Provider>()
  for (const id of providerIds) {
    const p = config.providers[id]!
    providers.set(id, {
      id,
      kind: p.kind,
      base_url: (p.base_url ?? defaultBaseUrl[p.kind]).replace(/\/+$/, ""),
      api_key_env: p.api_key_env ?? defaultApiKeyEnv[p.kind],
      default_model: p.default_model,
      headers: p.headers ?? {},
      timeouts: p.timeouts ?? {},
      max_retries: p.max_retries,
      stream_retries: p.stream_retries
    })
  }
  const models = new Map<string, Model>()
  const modelIds = config.models.map((m) => m.id)
  for (const [i, m] of config.models.entries()) {
    if (models.has(m.id)) return Either.left(invalid(`models[${i}].id`, `duplicate model id "${m.id}"`))
    const provider = providers.get(m.provider)
    if (provider === undefined) {
      return Either.left(
        new ModelRegistryError({
          reason: "UnknownProvider",
          name: m.provider,
          path: `models[${i}].provider`,
          known: providerIds
        })
      )
    }
    for (const [j, f] of m.fallbacks.entries()) {
      if (f === m.id)
        return Either.left(invalid(`models[${i}].fallbacks[${j}]`, `model "${m.id}" falls back to itself`))
      if (!modelIds.includes(f)) {
        return Either.left(
          new ModelRegistryError({
            reason: "UnknownModel",
            name: f,
            path: `models[${i}].fallbacks[${j}]`,
            known: modelIds
          })
        )
      }
    }
    models.set(m.id, {
      id: m.id,
      name: m.name ?? m.id,
      provider,
      context_window: m.context_window,
      max_output_tokens: m.max_output_tokens,
      prices: m.price_per_mtok,
      capabilities: m.capabilities,
      fallbacks: [...new Set(m.fallbacks)],
      fallback_on: m.fallback_on
    })
  }
  for (const provider of providers.values()) {
    const dm = provider.default_model
    if (dm === undefined) continue
    const model = models.get(dm)
    if (model === undefined) {
      return Either.left(
        new ModelRegistryError({
          reason: "UnknownModel",
          name: dm,
          path: `providers.${provider.id}.default_model`,
          known: modelIds
        })
      )
    }
    if (model.provider.id !== provider.id) {
      return Either.left(
        invalid(
          `providers.${provider.id}.default_model`,
          `model "${dm}" belongs to provider "${model.provider.id}", not "${provider.id}"`
        )
      )
    }
  }
  if (config.provider_default !== undefined && !providers.has(config.provider_default)) {
    return Either.left(
      new ModelRegistryError({
        reason: "UnknownProvider",
        name: config.provider_default,
        path: "provider_default",
        known: providerIds
      })
    )
  }
  if (config.model !== undefined && !models.has(config.model)) {
    return Either.left(
      new ModelRegistryError({ reason: "UnknownModel", name: config.model, path: "model", known: modelIds })
    )
  }

  const providerList = [...providers.values()]
  const modelList = [...models.values()]

  const lookupModel = (id: string, source?: ResolutionSource): Effect.Effect<Model, ModelRegistryError> => {
    const model = models.get(id)
    return model !== undefined
      ? Effect.succeed(model)
      : Effect.fail(
          new ModelRegistryError({
            reason: "UnknownModel",
            name: id,
            known: modelIds,
            ...(source === undefined ? {} : { source })
          })
        )
  }
  const lookupProvider = (id: string, source?: ResolutionSource): Effect.Effect<Provider, ModelRegistryError> => {
    const provider = providers.get(id)
    return provider !== undefined
      ? Effect.succeed(provider)
      : Effect.fail(
          new ModelRegistryError({
            reason: "UnknownProvider",
            name: id,
            known: providerIds,
            ...(source === undefined ? {} : { source })
          })
        )
  }

  const defaultModelOf = (provider: Provider, source: ResolutionSource): Effect.Effect<Model, ModelRegistryError> => {
    const id = provider.default_model ?? modelList.find((m) => m.provider.id === provider.id)?.id
    return id === undefined
      ? Effect.fail(
          new ModelRegistryError({
            reason: "NoModel",
            source,
            known: modelIds,
            detail: `provider "${provider.id}" has no default_model and no models`
          })
        )
      : lookupModel(id, source)
  }

  const providerDefault: Effect.Effect<Provider, ModelRegistryError> =
    config.provider_default !== undefined
      ? lookupProvider(config.provider_default, "provider_default")
      : providerList.length === 1
        ? Effect.succeed(providerList[0]!)
        : Effect.fail(
            new ModelRegistryError({
              reason: "NoModel",
              source: "provider_default",
              known: modelIds,
              detail: "no provider_default is configured"
            })
          )

  const pick = (
    request: { readonly model?: string | undefined } | undefined,
    overrides: Prompt.CliRuntimeOverrides | undefined
  ): Effect.Effect<Resolution, ModelRegistryError> => {
    const tag = (source: ResolutionSource) => (model: Model) => ({ model, source })
    if (request?.model !== undefined) return Effect.map(lookupModel(request.model, "request"), tag("request"))
    if (overrides?.model !== undefined) return Effect.map(lookupModel(overrides.model, "cli"), tag("cli"))
    if (overrides?.provider !== undefined) {
      return lookupProvider(overrides.provider, "cli").pipe(
        Effect.flatMap((p) => defaultModelOf(p, "cli")),
        Effect.map(tag("cli"))
      )
    }
    if (config.model !== undefined) return Effect.map(lookupModel(config.model, "config"), tag("config"))
    return providerDefault.pipe(
      Effect.flatMap((p) => defaultModelOf(p, "provider_default")),
      Effect.map(tag("provider_default"))
    )
  }

  const resolve = Effect.fn("ModelRegistry.resolve")(function* (
    request?: { readonly model?: string | undefined },
    overrides?: Prompt.CliRuntimeOverrides
  ) {
    const resolution = yield* pick(request, overrides)
    const baseUrl = overrides?.base_url
    if (baseUrl === undefined) return resolution
    if (Either.isLeft(Schema.decodeUnknownEither(HttpUrl)(baseUrl))) {
      return yield* invalid("cli.base_url", "must be an absolute http(s) URL")
    }
    const provider: Provider = { ...resolution.model.provider, base_url: baseUrl.replace(/\/+$/, "") }
    return { ...resolution, model: { ...resolution.model, provider } }
  })

  return Either.right({
    providers: providerList,
    models: modelList,
    provider: Effect.fn("ModelRegistry.provider")((id: string) => lookupProvider(id)),
    model: Effect.fn("ModelRegistry.model")((id: string) => lookupModel(id)),
    providerDefault: providerDefault.pipe(Effect.withSpan("ModelRegistry.providerDefault")),
    resolve,
    fallbackChain: (model) => [model, ...model.fallbacks.flatMap((id) => models.get(id) ?? [])]
  })
}

export const make = (config: unknown): Effect.Effect<Service, ProtocolError.DecodeError | ModelRegistryError> =>
  Effect.suspend((): Effect.Effect<Service, ProtocolError.DecodeError | ModelRegistryError> => {
    const literal = rejectLiteralKeys(config)
    if (literal !== undefined) return Effect.fail(literal)
    const decoded = decodeConfig(config)
    if (Either.isLeft(decoded)) return Effect.fail(ProtocolError.fromParseError(RegistryConfigSchema, decoded.left))
    return Either.match(fromConfig(decoded.right), { onLeft: Effect.fail, onRight: Effect.succeed })
  })

export const layer = (config: unknown) => Layer.effect(ModelRegistry, make(config))

export const cost = (model: Model, usage: ProtocolModel.Usage): number | undefined => {
  const prices = model.prices
  if (prices === undefined) return undefined
  const cached = Math.min(usage.cached_tokens ?? 0, usage.input_tokens)
  const fresh = usage.input_tokens - cached
  const usd =
    (fresh * prices.input + cached * (prices.cached_input ?? prices.input) + usage.output_tokens * prices.output) /
    1_000_000
  // Rounded to a nano-dollar so sums of many calls stay readable.
  return Math.round(usd * 1e9) / 1e9
}
