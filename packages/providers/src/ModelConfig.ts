/**
 * The model section of the Strata config, as `effect/Schema`s. Field names are
 * snake_case so the same shape reads straight from TOML:
 *
 * ```toml
 * provider_default = "deepseek"
 *
 * [providers.deepseek]
 * kind = "deepseek"
 * api_key_env = "DEEPSEEK_API_KEY"   # the NAME of the variable, never the key
 * default_model = "deepseek-chat"
 *
 * [[models]]
 * id = "deepseek-chat"
 * provider = "deepseek"
 * context_window = 65536
 * max_output_tokens = 8192
 * price_per_mtok = { input = 0.27, output = 1.10, cached_input = 0.07 }
 * capabilities = { tools = true }
 * fallbacks = ["claude-sonnet"]
 * ```
 *
 * @since 0.1.0
 */
import * as Common from "@strata/protocol/Common"
import * as Schema from "effect/Schema"
import { FallbackClass } from "./ProviderError.js"

/**
 * The kinds of provider Strata speaks to. `openai-compatible`, `deepseek`
 * and `openrouter` use the OpenAI chat-completions wire format, `anthropic`
 * the Anthropic messages format, `ollama` Ollama's native `/api/chat`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ProviderKind = Schema.Literal(
  "openai-compatible",
  "deepseek",
  "anthropic",
  "ollama",
  "openrouter"
).annotations({ identifier: "ProviderKind" })
/** @since 0.1.0 @category models */
export type ProviderKind = typeof ProviderKind.Type

/**
 * A provider id: `[A-Za-z0-9._-]`, 1 to 64 characters.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ProviderId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9._-]{1,64}$/, {
    message: () => "provider id must be 1..64 characters of [A-Za-z0-9._-]"
  })
).annotations({ identifier: "ProviderId" })

/**
 * The name of an environment variable (`[A-Za-z_][A-Za-z0-9_]*`). A value
 * that looks like a key (`sk-...`) is rejected: config holds names only.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EnvName = Schema.String.pipe(
  Schema.filter((s) =>
    /^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(s)
      ? true
      : "api_key_env must name an environment variable ([A-Za-z_][A-Za-z0-9_]*), not hold a key"
  )
).annotations({ identifier: "EnvName" })

// A web platform global on Node, Bun and Deno; declared here because the build has no DOM lib.
declare const URL: new (input: string) => { readonly protocol: string }

/**
 * An absolute http(s) URL.
 *
 * @since 0.1.0
 * @category schemas
 */
export const HttpUrl = Schema.String.pipe(
  Schema.filter((s) => {
    try {
      const url = new URL(s)
      return url.protocol === "http:" || url.protocol === "https:" ? true : "must be an http(s) URL"
    } catch {
      return "must be an absolute URL"
    }
  })
).annotations({ identifier: "HttpUrl" })

const PositiveInt = Schema.Number.pipe(Schema.int(), Schema.positive())
const NonEmpty = Schema.String.pipe(Schema.minLength(1))

/**
 * Timeouts of one provider, in milliseconds: until the response headers
 * (`connect_ms`), from sending the request until the first output
 * (`first_token_ms`), and between two body chunks (`idle_ms`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Timeouts = Schema.Struct({
  connect_ms: Schema.optional(PositiveInt),
  first_token_ms: Schema.optional(PositiveInt),
  idle_ms: Schema.optional(PositiveInt)
}).annotations({ identifier: "Timeouts" })
/** @since 0.1.0 @category models */
export type Timeouts = typeof Timeouts.Type

/**
 * One provider: its wire kind, where it lives, and which environment
 * variable holds its key. `base_url` and `api_key_env` default per kind (see
 * the README); `headers` are extra, non-secret headers (OpenRouter's
 * `HTTP-Referer`, ...). `max_retries` retries a call that failed before any
 * output; `stream_retries` (0 to 10, default 2; 0 disables) makes a model
 * call again when its stream broke off after output had started (a dropped
 * connection, a malformed chunk, an in-stream error), before any of its tool
 * calls ran.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ProviderConfig = Schema.Struct({
  kind: ProviderKind,
  base_url: Schema.optional(HttpUrl),
  api_key_env: Schema.optional(EnvName),
  default_model: Schema.optional(NonEmpty),
  headers: Schema.optional(Common.Record({ key: Schema.String, value: Schema.String })),
  timeouts: Schema.optional(Timeouts),
  max_retries: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(0, 10))),
  stream_retries: Schema.optional(
    Schema.Number.pipe(
      Schema.int({ message: () => "stream_retries must be a whole number of retries (0 to 10; 0 disables)" }),
      Schema.between(0, 10, { message: () => "stream_retries must be between 0 and 10 (0 disables)" })
    )
  )
}).annotations({ identifier: "ProviderConfig" })
/** @since 0.1.0 @category models */
export type ProviderConfig = typeof ProviderConfig.Type

/**
 * Prices in USD per million tokens. `cached_input` applies to input tokens
 * served from the provider's prompt cache (defaults to `input`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Prices = Schema.Struct({
  input: Schema.Number.pipe(Schema.nonNegative()),
  output: Schema.Number.pipe(Schema.nonNegative()),
  cached_input: Schema.optional(Schema.Number.pipe(Schema.nonNegative()))
}).annotations({ identifier: "Prices" })
/** @since 0.1.0 @category models */
export type Prices = typeof Prices.Type

/**
 * What a model can do. A request that needs a missing capability fails with
 * `ProviderError` `Unsupported` before any HTTP call.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Capabilities = Schema.Struct({
  tools: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  reasoning: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  images: Schema.optionalWith(Schema.Boolean, { default: () => false })
}).annotations({ identifier: "Capabilities" })
/** @since 0.1.0 @category models */
export type Capabilities = typeof Capabilities.Type

/**
 * One model. `id` is the name used in requests and config; `name` the model
 * name sent to the provider (defaults to `id`). `fallbacks` are model ids
 * tried in order when a call fails with an error whose class is in
 * `fallback_on` (default: rate_limit, overloaded, context_too_long).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ModelConfig = Schema.Struct({
  id: NonEmpty,
  provider: ProviderId,
  name: Schema.optional(NonEmpty),
  context_window: PositiveInt,
  max_output_tokens: PositiveInt,
  price_per_mtok: Schema.optional(Prices),
  capabilities: Schema.optionalWith(Capabilities, {
    default: () => ({ tools: true, reasoning: false, images: false })
  }),
  fallbacks: Schema.optionalWith(Schema.Array(NonEmpty), { default: () => [] }),
  fallback_on: Schema.optionalWith(Schema.Array(FallbackClass), {
    default: () => ["rate_limit", "overloaded", "context_too_long"] as const
  })
}).annotations({ identifier: "ModelConfig" })
/** @since 0.1.0 @category models */
export type ModelConfig = typeof ModelConfig.Type

/**
 * The whole model section: providers by id, models, the config's model
 * (`model`) and the default provider (`provider_default`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const RegistryConfig = Schema.Struct({
  provider_default: Schema.optional(ProviderId),
  model: Schema.optional(NonEmpty),
  providers: Common.Record({ key: ProviderId, value: ProviderConfig }),
  models: Schema.optionalWith(Schema.Array(ModelConfig), { default: () => [] })
}).annotations({ identifier: "RegistryConfig" })
/** @since 0.1.0 @category models */
export type RegistryConfig = typeof RegistryConfig.Type
/** @since 0.1.0 @category models */
export type RegistryConfigEncoded = typeof RegistryConfig.Encoded

/**
 * Where each kind lives when `base_url` is not set.
 *
 * @since 0.1.0
 * @category utils
 */
export const defaultBaseUrl: Readonly<Record<ProviderKind, string>> = {
  "openai-compatible": "https://api.openai.com/v1",
  deepseek: "https://api.deepseek.com",
  openrouter: "https://openrouter.ai/api/v1",
  anthropic: "https://api.anthropic.com",
  ollama: "http://127.0.0.1:11434"
}

/**
 * The environment variable each kind reads its key from when `api_key_env`
 * is not set (`undefined`: no key is sent).
 *
 * @since 0.1.0
 * @category utils
 */
export const defaultApiKeyEnv: Readonly<Record<ProviderKind, string | undefined>> = {
  "openai-compatible": undefined,
  deepseek: "DEEPSEEK_API_KEY",
  openrouter: "OPENROUTER_API_KEY",
  anthropic: "ANTHROPIC_API_KEY",
  ollama: undefined
}
