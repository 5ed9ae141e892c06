import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type { Model as ProtocolModel } from "@strata/protocol"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Chat from "../Chat.js"
import type { Options, Request, ResolvedTimeouts, Response, RetryPolicy, Service } from "../LanguageModel.js"
import type { Model } from "../ModelRegistry.js"
import { ModelRegistry } from "../ModelRegistry.js"
import { fallbackClass, isRetryable, type ModelRegistryError, type ProviderError } from "../ProviderError.js"
import type * as StreamPart from "../StreamPart.js"
import type { Call, Decoder } from "../WireFormat.js"
import { forKind } from "../WireFormat.js"
import { classifyStatus, type ErrorContext, providerError } from "./http.js"

export const defaults = {
  timeouts: { connect_ms: 30_000, first_token_ms: 120_000, idle_ms: 60_000 },
  ollamaTimeouts: { connect_ms: 300_000, first_token_ms: 300_000, idle_ms: 60_000 },
  retry: { max_retries: 2, initial_delay_ms: 500, max_delay_ms: 8_000, max_retry_after_ms: 60_000, jitter: true }
} as const

type Part = StreamPart.StreamPart

type Pull = Effect.Effect<Chunk.Chunk<Part>, Option.Option<ProviderError>>

interface Opened {
  readonly first: Chunk.Chunk<Part>
  readonly pull: Pull
}

const needsImages = (messages: ReadonlyArray<Chat.Message>): boolean =>
  messages.some((m) => m.role === "user" && typeof m.content !== "string" && m.content.some((p) => p.type === "image"))

const unsupported = (model: Model, messages: ReadonlyArray<Chat.Message>, tools: number): string | undefined => {
  if (tools > 0 && !model.capabilities.tools) return `model "${model.id}" does not support tools`
  if (!model.capabilities.images && needsImages(messages)) return `model "${model.id}" does not support images`
  return undefined
}

const retryDelay = (error: ProviderError, attempt: number, policy: RetryPolicy): number | undefined => {
  if (error.retry_after_ms !== undefined) {
    return error.retry_after_ms > policy.max_retry_after_ms ? undefined : error.retry_after_ms
  }
  const base = Math.min(policy.max_delay_ms, policy.initial_delay_ms * 2 ** attempt)
  return policy.jitter ? Math.round(base / 2 + (Math.random() * base) / 2) : base
}

const fromHttpError = (ctx: ErrorContext, error: HttpClientError.HttpClientError): ProviderError => {
  const cause = error.cause as { message?: unknown; cause?: { code?: unknown; message?: unknown } } | undefined
  const inner = cause?.cause
  const text = [
    error.reason,
    typeof cause?.message === "string" ? cause.message : undefined,
    typeof inner?.code === "string" ? inner.code : typeof inner?.message === "string" ? inner.message : undefined
  ]
    .filter((s) => s !== undefined)
    .join(": ")
  return error._tag === "RequestError"
    ? providerError(ctx, "Unavailable", { detail: `request failed: ${text}` })
    : providerError(ctx, "Disconnected", { detail: `response body failed: ${text}` })
}

export const make = (options?: Options) =>
  Effect.gen(function* () {
    const registry = yield* ModelRegistry
    const client = HttpClient.withScope(yield* HttpClient.HttpClient)
    const policy: RetryPolicy = { ...defaults.retry, ...options?.retry }

    const timeoutsFor = (model: Model): ResolvedTimeouts => {
      const base = model.provider.kind === "ollama" ? defaults.ollamaTimeouts : defaults.timeouts
      const own = model.provider.timeouts
      const layer = options?.timeouts ?? {}
      return {
        connect_ms: own.connect_ms ?? layer.connect_ms ?? base.connect_ms,
        first_token_ms: own.first_token_ms ?? layer.first_token_ms ?? base.first_token_ms,
        idle_ms: own.idle_ms ?? layer.idle_ms ?? base.idle_ms
      }
    }

    const readKey = (model: Model): Effect.Effect<Redacted.Redacted<string> | undefined, ProviderError> => {
      const env = model.provider.api_key_env
      if (env === undefined) return Effect.succeed(undefined)
      return Config.redacted(env).pipe(
        Effect.mapError(() =>
          providerError({ model, secret: undefined }, "MissingApiKey", {
            detail: `environment variable ${env} is not set`
          })
        )
      )
    }

    /** Reads the body into parts; idle timeout only once output flows (the first-token timeout covers the start). */
    const makePull = (
      bytes: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<HttpClientError.ResponseError>>,
      decoder: Decoder,
      ctx: ErrorContext,
      idleMs: number
    ) => {
      const text = new TextDecoder()
      let ended = false
      let flowing = false
      // An error found after some parts of the same network chunk: those parts go out first.
      let pending: ProviderError | undefined
      const idleError = Option.some(providerError(ctx, "Timeout", { phase: "idle" }))
      const timedBytes = Effect.timeoutFail(bytes, { duration: idleMs, onTimeout: () => idleError })
      const fail = (error: ProviderError, out: Array<Part> = []): Pull => {
        ended = true
        if (out.length === 0) return Effect.fail(Option.some(error))
        pending = error
        flowing = true
        return Effect.succeed(Chunk.unsafeFromArray(out))
      }
      const emit = (out: Array<Part>): Pull => {
        if (out.length === 0) return ended ? Effect.fail(Option.none()) : pull
        flowing = true
        return Effect.succeed(Chunk.unsafeFromArray(out))
      }
      const onEnd = (): Pull => {
        const out: Array<Part> = []
        const tail = text.decode()
        const error = (tail === "" ? undefined : decoder.push(tail, out)) ?? decoder.end(out)
        ended = true
        return error !== undefined ? fail(error, out) : emit(out)
      }
      const onChunk = (chunk: Chunk.Chunk<Uint8Array>): Pull => {
        const out: Array<Part> = []
        for (const bytes of chunk) {
          const error = decoder.push(text.decode(bytes, { stream: true }), out)
          if (error !== undefined) return fail(error, out)
          if (decoder.done()) {
            ended = true
            break
          }
        }
        return emit(out)
      }
      const onFailure = (error: Option.Option<HttpClientError.ResponseError | ProviderError>): Pull => {
        if (Option.isNone(error)) return onEnd()
        const e = error.value
        return fail(e._tag === "ProviderError" ? e : fromHttpError(ctx, e))
      }
      const pull: Pull = Effect.suspend(() => {
        if (pending !== undefined) {
          const error = pending
          pending = undefined
          return Effect.fail(Option.some(error))
        }
        return ended
          ? Effect.fail(Option.none())
          : Effect.matchEffect(flowing ? timedBytes : bytes, { onFailure, onSuccess: onChunk })
      })
      return pull
    }

    const open = (request: Request, model: Model, attempt: number): Effect.Effect<Opened, ProviderError, Scope.Scope> =>
      Effect.gen(function* () {
        const tools = request.tools ?? []
        const why = unsupported(model, request.messages, tools.length)
        if (why !== undefined) return yield* providerError({ model, secret: undefined }, "Unsupported", { detail: why })
        const apiKey = yield* readKey(model)
        const ctx: ErrorContext = { model, secret: apiKey === undefined ? undefined : Redacted.value(apiKey) }
        const call: Call = { model, messages: request.messages, tools, options: request.options ?? {}, apiKey }
        const wire = forKind(model.provider.kind)
        const timeouts = timeoutsFor(model)
        const startedAt = Date.now()
        const response = yield* client.execute(wire.request(call)).pipe(
          Effect.mapError((e) => fromHttpError(ctx, e)),
          Effect.timeoutFail({
            duration: timeouts.connect_ms,
            onTimeout: () => providerError(ctx, "Timeout", { phase: "connect" })
          })
        )
        if (response.status < 200 || response.status >= 300) {
          const body = yield* response.text.pipe(
            Effect.timeout(timeouts.idle_ms),
            Effect.orElseSucceed(() => "")
          )
          return yield* classifyStatus(ctx, response.status, response.headers, body)
        }
        const bytes = yield* Stream.toPull(response.stream)
        const pull = makePull(bytes, wire.decoder(call), ctx, timeouts.idle_ms)
        const firstTokenError = providerError(ctx, "Timeout", { phase: "first_token" })
        const first = yield* pull.pipe(
          Effect.mapError(Option.getOrElse(() => providerError(ctx, "Disconnected", { detail: "empty response" }))),
          Effect.timeoutFail({
            duration: Math.max(1, timeouts.first_token_ms - (Date.now() - startedAt)),
            onTimeout: () => firstTokenError
          })
        )
        const start: Part = { type: "start", model: model.id, provider: model.provider.id, attempt: attempt + 1 }
        return { first: Chunk.prepend(first, start), pull }
      })

    const run = (
      request: Request,
      chain: ReadonlyArray<Model>,
      index: number,
      attempt: number
    ): Stream.Stream<Part, ProviderError> =>
      Stream.unwrapScoped(
        Effect.gen(function* () {
          const model = chain[index]!
          const scope = yield* Scope.make()
          const exit = yield* Effect.exit(Scope.extend(open(request, model, attempt), scope))
          if (Exit.isSuccess(exit)) {
            yield* Effect.addFinalizer((outer) => Scope.close(scope, outer))
            return Stream.concat(Stream.fromChunk(exit.value.first), Stream.repeatEffectChunkOption(exit.value.pull))
          }
          yield* Scope.close(scope, Exit.void)
          const failure = Cause.failureOption(exit.cause)
          if (Option.isNone(failure)) return Stream.failCause(exit.cause)
          const error = failure.value
          const maxRetries = model.provider.max_retries ?? policy.max_retries
          if (isRetryable(error) && attempt < maxRetries) {
            const delay = retryDelay(error, attempt, policy)
            if (delay !== undefined) {
              yield* Effect.logWarning("model call failed, retrying").pipe(
                Effect.annotateLogs({ model: model.id, attempt: attempt + 1, delay_ms: delay, error: error.message })
              )
              const part: Part = {
                type: "retry",
                model: model.id,
                attempt: attempt + 2,
                delay_ms: delay,
                reason: error.reason,
                message: error.message
              }
              return Stream.concat(
                Stream.make(part),
                Stream.unwrap(Effect.as(Effect.sleep(delay), run(request, chain, index, attempt + 1)))
              )
            }
          }
          const cls = fallbackClass(error)
          const next = chain[index + 1]
          if (cls !== undefined && next !== undefined && chain[0]!.fallback_on.includes(cls)) {
            yield* Effect.logWarning("model call failed, falling back").pipe(
              Effect.annotateLogs({ from: model.id, to: next.id, reason: cls, error: error.message })
            )
            const part: Part = {
              type: "model_fallback",
              from: model.id,
              to: next.id,
              reason: cls,
              message: error.message
            }
            return Stream.concat(Stream.make(part), run(request, chain, index + 1, 0))
          }
          return Stream.fail(error)
        })
      )

    const stream = (request: Request): Stream.Stream<Part, ProviderError | ModelRegistryError> =>
      Stream.unwrap(
        Effect.gen(function* () {
          const model = typeof request.model === "string" ? yield* registry.model(request.model) : request.model
          const tools = request.tools?.length ?? 0
          // Fallbacks that cannot serve the request (no tools, no images) are skipped.
          const chain = registry
            .fallbackChain(model)
            .filter((m, i) => i === 0 || unsupported(m, request.messages, tools) === undefined)
          return run(request, chain, 0, 0).pipe(
            Stream.withSpan("LanguageModel.stream", {
              attributes: { "strata.model": model.id, "strata.provider": model.provider.id }
            })
          )
        })
      )

    const service: Service = {
      stream,
      generate: (request) => collect(stream(request))
    }
    return service
  })

export const collect = <E, R>(stream: Stream.Stream<Part, E, R>): Effect.Effect<Response, E, R> =>
  Effect.map(
    Stream.runFold(
      stream,
      {
        model: "",
        text: [] as Array<string>,
        reasoning: [] as Array<string>,
        reasoning_signature: undefined as string | undefined,
        tool_calls: [] as Array<StreamPart.ToolCall>,
        tool_call_errors: [] as Array<StreamPart.ToolCallError>,
        finish_reason: "unknown" as ProtocolModel.FinishReason,
        usage: { input_tokens: 0, output_tokens: 0 } as ProtocolModel.Usage,
        retries: [] as Array<StreamPart.Retry>,
        fallbacks: [] as Array<StreamPart.ModelFallback>
      },
      (acc, part) => {
        switch (part.type) {
          case "start":
            acc.model = part.model
            break
          case "text_delta":
            acc.text.push(part.text)
            break
          case "reasoning_delta":
            acc.reasoning.push(part.text)
            break
          case "reasoning_signature":
            acc.reasoning_signature = part.signature
            break
          case "tool_call":
            acc.tool_calls.push(part)
            break
          case "tool_call_error":
            acc.tool_call_errors.push(part)
            break
          case "retry":
            acc.retries.push(part)
            break
          case "model_fallback":
            acc.fallbacks.push(part)
            break
          case "finish":
            acc.finish_reason = part.reason
            acc.usage = part.usage
            break
        }
        return acc
      }
    ),
    (acc): Response => ({ ...acc, text: acc.text.join(""), reasoning: acc.reasoning.join("") })
  )
