/**
 * `LanguageModel`: one streaming interface over every configured provider.
 *
 * `stream` looks the model up in the `ModelRegistry`, reads its key from the
 * environment variable the provider names (through Effect's
 * `ConfigProvider`, as a `Redacted`), speaks the provider's wire format over
 * `@effect/platform`'s `HttpClient`, and adds the reliability rules:
 *
 * - timeouts: until the response headers (`connect`), from the request until
 *   the first output (`first_token`), between two body chunks once output
 *   flows (`idle`);
 * - retries with exponential backoff on rate limits, overload, 5xx,
 *   connection failures and timeouts, honoring `retry-after` /
 *   `retry-after-ms`, and only while nothing has reached the caller;
 * - the model's fallback chain, on the error classes in its `fallback_on`,
 *   each switch emitted as a `model_fallback` part;
 * - interrupting the consuming fiber aborts the HTTP request.
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import type { Model as ProtocolModel } from "@strata/protocol"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Stream from "effect/Stream"
import type * as Chat from "./Chat.js"
import * as internal from "./internal/languageModel.js"
import type { Timeouts } from "./ModelConfig.js"
import type { Model, ModelRegistry } from "./ModelRegistry.js"
import type { ModelRegistryError, ProviderError } from "./ProviderError.js"
import type * as StreamPart from "./StreamPart.js"

/**
 * One call: the model (a registry id, or a `Model` from
 * `ModelRegistry.resolve`, which keeps a CLI `base_url` override), the
 * conversation, the tools and the options.
 *
 * @since 0.1.0
 * @category models
 */
export interface Request {
  readonly model: string | Model
  readonly messages: ReadonlyArray<Chat.Message>
  readonly tools?: ReadonlyArray<Chat.ToolDefinition> | undefined
  readonly options?: Chat.Options | undefined
}

/**
 * A whole answer, folded from the stream by {@link collect}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Response {
  /** The registry id of the model that answered (after fallbacks). */
  readonly model: string
  readonly text: string
  readonly reasoning: string
  readonly reasoning_signature: string | undefined
  readonly tool_calls: ReadonlyArray<StreamPart.ToolCall>
  readonly tool_call_errors: ReadonlyArray<StreamPart.ToolCallError>
  readonly finish_reason: ProtocolModel.FinishReason
  readonly usage: ProtocolModel.Usage
  readonly retries: ReadonlyArray<StreamPart.Retry>
  readonly fallbacks: ReadonlyArray<StreamPart.ModelFallback>
}

/**
 * The service.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Streams one model call. See `StreamPart` for the order of parts. Fails
   * with `ModelRegistryError` for an unknown model, and with
   * `ProviderError` when the call (and its retries and fallbacks) failed,
   * or when the stream broke after output was delivered.
   */
  readonly stream: (request: Request) => Stream.Stream<StreamPart.StreamPart, ProviderError | ModelRegistryError>
  /** `stream` folded with {@link collect}. */
  readonly generate: (request: Request) => Effect.Effect<Response, ProviderError | ModelRegistryError>
}

/**
 * The language model port.
 *
 * @since 0.1.0
 * @category tags
 */
export class LanguageModel extends Context.Tag("@strata/providers/LanguageModel")<LanguageModel, Service>() {}

/**
 * How retries back off. A `retry-after` longer than `max_retry_after_ms` is
 * not waited for: the call goes to its fallback (or fails) at once.
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryPolicy {
  readonly max_retries: number
  readonly initial_delay_ms: number
  readonly max_delay_ms: number
  readonly max_retry_after_ms: number
  readonly jitter: boolean
}

/**
 * Layer options: defaults for every provider. A provider's own `timeouts`
 * and `max_retries` in the config win over these.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly timeouts?: Timeouts | undefined
  readonly retry?: Partial<RetryPolicy> | undefined
}

/**
 * The built-in defaults: connect 30 s, first token 120 s, idle 60 s (Ollama:
 * connect and first token 300 s, since it loads the model on the first
 * request); 2 retries from 500 ms doubling to at most 8 s, with jitter; a
 * `retry-after` of up to 60 s is honored.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: {
  readonly timeouts: ResolvedTimeouts
  readonly ollamaTimeouts: ResolvedTimeouts
  readonly retry: RetryPolicy
} = internal.defaults

/**
 * Timeouts with every value set, in milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResolvedTimeouts {
  readonly connect_ms: number
  readonly first_token_ms: number
  readonly idle_ms: number
}

/**
 * Builds the service from the registry and an `HttpClient`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<Service, never, ModelRegistry | HttpClient.HttpClient> =
  internal.make

/**
 * The language model over the registry's providers. Requires the
 * `ModelRegistry` and an `HttpClient` (`FetchHttpClient.layer` works on
 * Node, Bun and Deno).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<LanguageModel, never, ModelRegistry | HttpClient.HttpClient> =>
  Layer.effect(LanguageModel, internal.make(options))

/**
 * {@link layer} with `FetchHttpClient.layer` provided.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFetch = (options?: Options): Layer.Layer<LanguageModel, never, ModelRegistry> =>
  layer(options).pipe(Layer.provide(FetchHttpClient.layer))

/**
 * Folds a part stream into a `Response`: text and reasoning concatenated,
 * tool calls and tool-call errors in order, the finish reason and usage of
 * the `finish` part, the retries and fallbacks on the way.
 *
 * @since 0.1.0
 * @category utils
 */
export const collect: <E, R>(stream: Stream.Stream<StreamPart.StreamPart, E, R>) => Effect.Effect<Response, E, R> =
  internal.collect
