/**
 * The errors of `@strata/providers`: `ModelRegistryError` for configuration
 * and model resolution, `ProviderError` for a model call.
 *
 * Both are `Schema.TaggedError`s: they cross the wire (JSON-RPC, event log)
 * and never carry an API key, a request object or its headers. Text that
 * comes back from a provider is scrubbed of the key before it is stored in
 * `detail`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Why the registry could not answer.
 *
 * - `UnknownModel` / `UnknownProvider`: a name that is not configured; `known`
 *   lists the configured ones.
 * - `NoModel`: nothing selects a model (no request, override, config model,
 *   or the default provider has no model).
 * - `InvalidConfig`: the config decodes but does not hold together (a model
 *   names an unknown provider, a fallback names an unknown model, ...);
 *   `path` names the field.
 *
 * @since 0.1.0
 * @category errors
 */
export const ModelRegistryErrorReason = Schema.Literal("UnknownModel", "UnknownProvider", "NoModel", "InvalidConfig")
/** @since 0.1.0 @category errors */
export type ModelRegistryErrorReason = typeof ModelRegistryErrorReason.Type

/**
 * Where a model name came from during resolution.
 *
 * @since 0.1.0
 * @category models
 */
export const ResolutionSource = Schema.Literal("request", "cli", "config", "provider_default")
/** @since 0.1.0 @category models */
export type ResolutionSource = typeof ResolutionSource.Type

/**
 * The model registry could not resolve a name, or its config is inconsistent.
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelRegistryError extends Schema.TaggedError<ModelRegistryError>("@strata/providers/ModelRegistryError")(
  "ModelRegistryError",
  {
    reason: ModelRegistryErrorReason,
    name: Schema.optional(Schema.String),
    source: Schema.optional(ResolutionSource),
    path: Schema.optional(Schema.String),
    known: Schema.Array(Schema.String),
    detail: Schema.optional(Schema.String)
  }
) {
  override get message(): string {
    const from = this.source === undefined ? "" : ` (from ${this.source})`
    const known = this.known.length === 0 ? "none configured" : this.known.join(", ")
    const at = this.path === undefined ? "" : `${this.path}: `
    switch (this.reason) {
      case "UnknownModel":
        return `${at}Unknown model "${this.name}"${from}; known models: ${known}`
      case "UnknownProvider":
        return `${at}Unknown provider "${this.name}"${from}; known providers: ${known}`
      case "NoModel":
        return `No model selected: ${this.detail ?? "nothing names a model"}; known models: ${known}`
      default:
        return `Invalid model config at ${this.path ?? "(root)"}: ${this.detail ?? "invalid"}`
    }
  }
}

/**
 * Why a model call failed.
 *
 * - `RateLimited` (HTTP 429), `QuotaExceeded` (billing: OpenAI
 *   `insufficient_quota`, DeepSeek 402), `Overloaded` (503, Anthropic 529 or
 *   an `overloaded_error` event), `Unavailable` (other 5xx, connection
 *   refused/reset before any output).
 * - `ContextTooLong`: the prompt does not fit the model's window.
 * - `Timeout`: `phase` says which (`connect`, `first_token`, `idle`).
 * - `Disconnected`: the body ended or broke before the provider said it was
 *   done.
 * - `InvalidResponse`: a chunk that is not the wire format (malformed JSON,
 *   unexpected shape).
 * - `Unauthorized` (401/403), `BadRequest` (other 4xx), `NotFound` (404, e.g.
 *   an Ollama model that is not pulled).
 * - `MissingApiKey`: the environment variable named by `api_key_env` is not
 *   set; `detail` names the variable, never a value.
 * - `Unsupported`: the request needs a capability the model lacks (tools,
 *   images).
 *
 * @since 0.1.0
 * @category errors
 */
export const ProviderErrorReason = Schema.Literal(
  "RateLimited",
  "QuotaExceeded",
  "Overloaded",
  "Unavailable",
  "ContextTooLong",
  "Timeout",
  "Disconnected",
  "InvalidResponse",
  "Unauthorized",
  "BadRequest",
  "NotFound",
  "MissingApiKey",
  "Unsupported"
)
/** @since 0.1.0 @category errors */
export type ProviderErrorReason = typeof ProviderErrorReason.Type

/**
 * Which timeout fired.
 *
 * @since 0.1.0
 * @category errors
 */
export const TimeoutPhase = Schema.Literal("connect", "first_token", "idle")
/** @since 0.1.0 @category errors */
export type TimeoutPhase = typeof TimeoutPhase.Type

/**
 * The error classes a fallback chain is keyed on (`fallback_on` in the model
 * config).
 *
 * @since 0.1.0
 * @category models
 */
export const FallbackClass = Schema.Literal("rate_limit", "overloaded", "context_too_long", "unavailable", "timeout")
/** @since 0.1.0 @category models */
export type FallbackClass = typeof FallbackClass.Type

/**
 * A model call failed. `provider` and `model` are registry ids; `status` the
 * HTTP status when there was one; `retry_after_ms` what the provider asked
 * for; `detail` the provider's own message, scrubbed of the API key and cut
 * to 500 characters.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProviderError extends Schema.TaggedError<ProviderError>("@strata/providers/ProviderError")(
  "ProviderError",
  {
    reason: ProviderErrorReason,
    provider: Schema.String,
    model: Schema.String,
    status: Schema.optional(Schema.Number),
    retry_after_ms: Schema.optional(Schema.Number),
    phase: Schema.optional(TimeoutPhase),
    detail: Schema.optional(Schema.String)
  }
) {
  override get message(): string {
    const what = describe[this.reason]
    const phase = this.phase === undefined ? "" : ` (${this.phase.replace("_", " ")})`
    const status = this.status === undefined ? "" : ` (HTTP ${this.status})`
    const retry = this.retry_after_ms === undefined ? "" : ` (retry after ${this.retry_after_ms} ms)`
    const detail = this.detail === undefined || this.detail === "" ? "" : `: ${this.detail}`
    return `Model "${this.model}" on provider "${this.provider}": ${what}${phase}${status}${retry}${detail}`
  }
}

const describe: Record<ProviderErrorReason, string> = {
  RateLimited: "rate limited",
  QuotaExceeded: "quota exceeded",
  Overloaded: "overloaded",
  Unavailable: "unavailable",
  ContextTooLong: "context too long",
  Timeout: "timed out",
  Disconnected: "stream disconnected",
  InvalidResponse: "invalid response",
  Unauthorized: "unauthorized",
  BadRequest: "bad request",
  NotFound: "not found",
  MissingApiKey: "missing API key",
  Unsupported: "unsupported request"
}

/**
 * The fallback class of an error, if it has one.
 *
 * @since 0.1.0
 * @category utils
 */
export const fallbackClass = (error: ProviderError): FallbackClass | undefined => {
  switch (error.reason) {
    case "RateLimited":
    case "QuotaExceeded":
      return "rate_limit"
    case "Overloaded":
      return "overloaded"
    case "ContextTooLong":
      return "context_too_long"
    case "Unavailable":
    case "Disconnected":
      return "unavailable"
    case "Timeout":
      return "timeout"
    default:
      return undefined
  }
}

/**
 * Whether the same request may be sent again: rate limits (not quota),
 * overload, 5xx, connection failures and timeouts. Only ever applied before
 * any output reached the caller.
 *
 * @since 0.1.0
 * @category utils
 */
export const isRetryable = (error: ProviderError): boolean => {
  switch (error.reason) {
    case "RateLimited":
    case "Overloaded":
    case "Unavailable":
    case "Disconnected":
    case "Timeout":
      return true
    default:
      return false
  }
}

/**
 * Whether a model call whose stream failed may be made again from the start
 * by the turn (`stream_retries`), discarding what it streamed: a malformed
 * chunk (`InvalidResponse`) whenever it comes; once output has started
 * (`started`: the stream's `start` part was seen, so the provider's own
 * pre-output retries no longer apply) also a dropped connection, a stalled
 * stream and an in-stream overload, rate limit or server error. Errors that
 * the same request would meet again (bad request, auth, quota, context
 * length) are never retried.
 *
 * @since 0.2.0
 * @category utils
 */
export const isStreamRetryable = (error: ProviderError, started: boolean): boolean =>
  error.reason === "InvalidResponse" || (started && isRetryable(error))
