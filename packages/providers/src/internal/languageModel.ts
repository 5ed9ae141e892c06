import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type { Model as ProtocolModel } from "@strata/protocol"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Chat from "../Chat.js"
import type { Options, Request, ResolvedTimeouts, Response, RetryPolicy, Service } from "../LanguageModel.js"
import type { Model } from "../ModelRegistry.js"
import { ModelRegistry } from "../ModelRegistry.js"
import {
  fallbackClass,
  isRetryable,
  type ModelRegistryError,
  type ProviderError,
  type TimeoutPhase
} from "../ProviderError.js"
import type * as StreamPart from "../StreamPart.js"
import type { Call, Decoder } from "../WireFormat.js"
import { classifyStatus, type ErrorContext, providerError } from "./http.js"
import * as Wire from "./wire.js"

// A web platform global on Node, Bun and Deno; declared here because the build has no DOM lib.
declare const TextDecoder: new () => {
  decode(input?: Uint8Array, options?: { readonly stream?: boolean }): string
}

export const defaults = {
  timeouts: { connect_ms: 30_000, first_token_ms: 120_000, idle_ms: 60_000 },
  ollamaTimeouts: { connect_ms: 300_000, first_token_ms: 300_000, idle_ms: 60_000 },
  retry: { max_retries: 2, initial_delay_ms: 500, max_delay_ms: 8_000, max_retry_after_ms: 60_000, jitter: true }
} as const

type Part = StreamPart.StreamPart

type Pull = Effect.Effect<Chunk.Chunk<Part>, Option.Option<ProviderError>>

/**
 * The timeouts of one attempt, kept by one sleeping fiber (the watchdog)
 * instead of a timer per read: `phase` moves from `connect` (until the
 * headers) to `first_token` (until the first part) to `idle`. Idle time is
 * time spent waiting on a body read (`reading`, since `last`): a consumer
 * that stops pulling for a while does not time the stream out.
 */
interface Watch {
  phase: TimeoutPhase
  last: number
  reading: boolean
  /** Settles a pending web-body read at once when the watchdog fires. */
  wake: (() => void) | undefined
  timedOut: TimeoutPhase | undefined
  readonly startedAt: number
  readonly timeouts: ResolvedTimeouts
}

const deadline = (watch: Watch): number => {
  switch (watch.phase) {
    case "connect":
      return watch.startedAt + Math.min(watch.timeouts.connect_ms, watch.timeouts.first_token_ms)
    case "first_token":
      return watch.startedAt + watch.timeouts.first_token_ms
    case "idle":
      return watch.reading ? watch.last + watch.timeouts.idle_ms : Number.POSITIVE_INFINITY
  }
}

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

interface ReadResult {
  readonly done: boolean
  readonly value?: Uint8Array | undefined
}
interface WebReader {
  read(): Promise<ReadResult>
}

const NOT_READY_VALUE: unique symbol = Symbol("NotReady")
const NOT_READY = Promise.resolve(NOT_READY_VALUE)
interface WebBody {
  getReader(): WebReader
}

type BodySource =
  | {
      readonly _tag: "Reader"
      readonly reader: WebReader
      readonly response: HttpClientResponse.HttpClientResponse
    }
  | {
      readonly _tag: "Stream"
      readonly pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<HttpClientError.ResponseError>>
    }

/**
 * The web `ReadableStream` body of a fetch-based response, when there is one.
 * `@effect/platform` exposes a body only as an Effect `Stream`; pulling it
 * through `Stream.toPull` costs several microseconds per chunk, a direct
 * `reader.read()` one promise. Feature-detected on the response of
 * `FetchHttpClient` (its `source` is the web `Response`); any other client,
 * or a later platform version without it, falls back to `response.stream`.
 */
const webBody = (response: HttpClientResponse.HttpClientResponse): WebBody | undefined => {
  const body = (response as unknown as { readonly source?: { readonly body?: unknown } }).source?.body
  return typeof body === "object" && body !== null && typeof (body as WebBody).getReader === "function"
    ? (body as WebBody)
    : undefined
}

const fromBodyError = (ctx: ErrorContext, cause: unknown): ProviderError => {
  if (typeof cause === "object" && cause !== null && "_tag" in cause && cause._tag === "ResponseError") {
    return fromHttpError(ctx, cause as HttpClientError.ResponseError)
  }
  const message = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)
  return providerError(ctx, "Disconnected", { detail: `response body failed: ${message}` })
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

    /**
     * Reads the body into parts. `watch.last` is stamped when a read starts
     * and the watchdog reads it, so a read costs a clock read, not a timer. A web
     * body is read in a plain promise loop that resumes the fiber only once
     * there are parts (keep-alives and partial events cost no Effect step);
     * any other body through the response's Effect stream.
     */
    const makePull = (source: BodySource, decoder: Decoder, ctx: ErrorContext, watch: Watch): Pull => {
      const text = new TextDecoder()
      let ended = false
      // An error found after some parts of the same network chunk: those parts go out first.
      let pending: ProviderError | undefined
      const fail = (error: ProviderError, out: Array<Part> = []): Pull => {
        ended = true
        if (out.length === 0) return Effect.fail(Option.some(error))
        pending = error
        return Effect.succeed(Chunk.unsafeFromArray(out))
      }
      const emit = (out: Array<Part>): Pull => {
        if (out.length === 0) return ended ? Effect.fail(Option.none()) : pull
        return Effect.succeed(Chunk.unsafeFromArray(out))
      }
      const timeout = (phase: TimeoutPhase) => providerError(ctx, "Timeout", { phase })
      /** The body ended: flushes the decoder into `out`. */
      const endInto = (out: Array<Part>): ProviderError | undefined => {
        const tail = text.decode()
        const error = (tail === "" ? undefined : decoder.push(tail, out)) ?? decoder.end(out)
        ended = true
        return error
      }
      const onEnd = (): Pull => {
        if (watch.timedOut !== undefined) return fail(timeout(watch.timedOut))
        const out: Array<Part> = []
        const error = endInto(out)
        return error !== undefined ? fail(error, out) : emit(out)
      }
      const onFailure = (error: Option.Option<unknown>): Pull => {
        if (watch.timedOut !== undefined) return fail(timeout(watch.timedOut))
        return Option.isNone(error) ? onEnd() : fail(fromBodyError(ctx, error.value))
      }
      /** Decodes one body chunk into `out`; sets `ended` at the terminal event. */
      const decode = (bytes: Uint8Array, out: Array<Part>): ProviderError | undefined => {
        watch.reading = false
        const error = decoder.push(text.decode(bytes, { stream: true }), out)
        if (decoder.done()) ended = true
        return error
      }

      let read: Pull
      if (source._tag === "Reader") {
        const { reader, response } = source
        // A read started while delivering, kept for the next pull (see `greedy`).
        let inflight: Promise<ReadResult> | undefined
        read = Effect.async<Chunk.Chunk<Part>, Option.Option<ProviderError>>((resume) => {
          // Held so the response (and the abort controller registered with it) lives while its body is read.
          void response
          const out: Array<Part> = []
          let settled = false
          const settle = (pull: Pull): void => {
            if (settled) return
            settled = true
            watch.wake = undefined
            resume(pull)
          }
          const failWith = (error: ProviderError) => settle(fail(error, out))
          // Node 20's fetch can leave a read pending forever when it is aborted after the
          // server finished sending: the watchdog settles the read itself.
          watch.wake = () => failWith(timeout(watch.timedOut ?? "idle"))
          const onRejected = (cause: unknown) =>
            failWith(watch.timedOut !== undefined ? timeout(watch.timedOut) : fromBodyError(ctx, cause))
          const onResult = (r: ReadResult): void => {
            if (settled) return
            if (r.done || r.value === undefined) {
              const error = watch.timedOut !== undefined ? timeout(watch.timedOut) : endInto(out)
              settle(error !== undefined ? fail(error, out) : emit(out))
              return
            }
            const error = decode(r.value, out)
            if (error !== undefined) failWith(error)
            else if (ended) settle(emit(out))
            else if (out.length === 0) step()
            else greedy()
          }
          const step = (): void => {
            watch.last = Date.now()
            watch.reading = true
            const next = inflight ?? reader.read()
            inflight = undefined
            next.then(onResult, onRejected)
          }
          // Chunks the body has already queued are taken now, so a burst costs one fiber
          // resume, not one per chunk. Racing an already-resolved promise tells whether the
          // read settled at once; if not, it is kept for the next pull and what we have goes out.
          const greedy = (): void => {
            const next = reader.read()
            Promise.race([next, NOT_READY]).then((r) => {
              if (r === NOT_READY_VALUE) {
                // The rejection, if any, is handled by the next pull.
                next.catch(() => {})
                inflight = next
                settle(emit(out))
              } else {
                onResult(r as ReadResult)
              }
            }, onRejected)
          }
          step()
        })
      } else {
        const onChunk = (chunk: Chunk.Chunk<Uint8Array>): Pull => {
          const out: Array<Part> = []
          for (const bytes of chunk) {
            const error = decode(bytes, out)
            if (error !== undefined) return fail(error, out)
            if (ended) break
          }
          return emit(out)
        }
        const bytes = Effect.suspend(() => {
          watch.last = Date.now()
          watch.reading = true
          return source.pull
        })
        read = Effect.matchEffect(bytes, { onFailure, onSuccess: onChunk })
      }
      const pull: Pull = Effect.suspend(() => {
        if (pending !== undefined) {
          const error = pending
          pending = undefined
          return Effect.fail(Option.some(error))
        }
        if (ended) return Effect.fail(Option.none())
        // After the watchdog aborted the request, a read might never settle: fail at once.
        return watch.timedOut !== undefined ? fail(timeout(watch.timedOut)) : read
      })
      return pull
    }

    /**
     * Sleeps until the current phase's deadline could have passed; when it
     * has, aborts the request by closing its scope. The pending operation
     * (the fetch, or a body read) then fails and is reported as `Timeout` of
     * that phase. A phase change can bring the deadline closer, so no sleep
     * is longer than a quarter of the shortest timeout: a deadline is noticed
     * at most that late.
     */
    const watchdog = (watch: Watch, request: Scope.CloseableScope): Effect.Effect<void> => {
      const t = watch.timeouts
      const quantum = Math.max(5, Math.min(t.connect_ms, t.first_token_ms, t.idle_ms) / 4)
      const loop: Effect.Effect<void> = Effect.suspend(() => {
        const wait = deadline(watch) - Date.now()
        if (wait > 0) return Effect.zipRight(Effect.sleep(Math.min(wait, quantum)), loop)
        // Before the headers, the shorter budget ran out: first_token_ms counts from the request too.
        watch.timedOut = watch.phase === "connect" && t.first_token_ms < t.connect_ms ? "first_token" : watch.phase
        return Effect.zipRight(
          Scope.close(request, Exit.void),
          Effect.sync(() => watch.wake?.())
        )
      })
      return loop
    }

    const open = (request: Request, model: Model, attempt: number): Effect.Effect<Opened, ProviderError, Scope.Scope> =>
      Effect.gen(function* () {
        const tools = request.tools ?? []
        const why = unsupported(model, request.messages, tools.length)
        if (why !== undefined) return yield* providerError({ model, secret: undefined }, "Unsupported", { detail: why })
        const apiKey = yield* readKey(model)
        const ctx: ErrorContext = { model, secret: apiKey === undefined ? undefined : Redacted.value(apiKey) }
        const call: Call = { model, messages: request.messages, tools, options: request.options ?? {}, apiKey }
        const wire = yield* Wire.load(model.provider.kind)
        const timeouts = timeoutsFor(model)
        // The request lives in its own scope: closing it aborts the fetch (the watchdog does).
        const requestScope = yield* Scope.make()
        yield* Effect.addFinalizer(() => Scope.close(requestScope, Exit.void))
        const now = Date.now()
        const watch: Watch = {
          phase: "connect",
          last: now,
          reading: false,
          wake: undefined,
          timedOut: undefined,
          startedAt: now,
          timeouts
        }
        yield* Effect.forkScoped(watchdog(watch, requestScope))
        const timedOut = (e: ProviderError) =>
          watch.timedOut === undefined ? e : providerError(ctx, "Timeout", { phase: watch.timedOut })
        const response = yield* client.execute(wire.request(call)).pipe(
          Scope.extend(requestScope),
          Effect.mapError((e) => timedOut(fromHttpError(ctx, e)))
        )
        if (response.status < 200 || response.status >= 300) {
          watch.phase = "idle"
          watch.last = Date.now()
          watch.reading = true
          const text = yield* Effect.orElseSucceed(response.text, () => "")
          return yield* classifyStatus(ctx, response.status, response.headers, text)
        }
        watch.phase = "first_token"
        const body = webBody(response)
        const source: BodySource =
          body === undefined
            ? { _tag: "Stream", pull: yield* Stream.toPull(response.stream) }
            : { _tag: "Reader", reader: body.getReader(), response }
        const pull = makePull(source, wire.decoder(call), ctx, watch)
        const first = yield* Effect.mapError(
          pull,
          Option.getOrElse(() => timedOut(providerError(ctx, "Disconnected", { detail: "empty response" })))
        )
        // Output flows from here: the idle timeout takes over.
        watch.phase = "idle"
        const start: Part = { type: "start", model: model.id, provider: model.provider.id, attempt: attempt + 1 }
        return { first: Chunk.prepend(first, start), pull }
      })

    /**
     * One call with its retries and fallbacks, as a single pull: while no
     * attempt is open, a pull opens the next one (emitting `retry` /
     * `model_fallback` parts on the way); once one is open, pulls read its
     * body. One stream layer in total keeps the per-chunk cost low.
     */
    const stream = (request: Request): Stream.Stream<Part, ProviderError | ModelRegistryError> =>
      Stream.unwrapScoped(
        Effect.gen(function* () {
          // A plain lookup on the hot path; the traced `registry.model` only to report an unknown id.
          const model =
            typeof request.model !== "string"
              ? request.model
              : (registry.models.find((m) => m.id === request.model) ?? (yield* registry.model(request.model)))
          const tools = request.tools?.length ?? 0
          // Fallbacks that cannot serve the request (no tools, no images) are skipped.
          const chain = registry
            .fallbackChain(model)
            .filter((m, i) => i === 0 || unsupported(m, request.messages, tools) === undefined)
          const fallbackOn = model.fallback_on
          const span = yield* Effect.makeSpanScoped("LanguageModel.stream", {
            attributes: { "strata.model": model.id, "strata.provider": model.provider.id },
            captureStackTrace: false
          })
          const outer = yield* Effect.scope
          let index = 0
          let attempt = 0
          let delay = 0
          let body: Pull | undefined

          const failed = (candidate: Model, error: ProviderError): Pull => {
            const maxRetries = candidate.provider.max_retries ?? policy.max_retries
            if (isRetryable(error) && attempt < maxRetries) {
              const ms = retryDelay(error, attempt, policy)
              if (ms !== undefined) {
                attempt++
                delay = ms
                const part: Part = {
                  type: "retry",
                  model: candidate.id,
                  attempt: attempt + 1,
                  delay_ms: ms,
                  reason: error.reason,
                  message: error.message
                }
                return Effect.logWarning("model call failed, retrying").pipe(
                  Effect.annotateLogs({ model: candidate.id, attempt, delay_ms: ms, error: error.message }),
                  Effect.as(Chunk.of(part))
                )
              }
            }
            const cls = fallbackClass(error)
            const next = chain[index + 1]
            if (cls !== undefined && next !== undefined && fallbackOn.includes(cls)) {
              index++
              attempt = 0
              delay = 0
              const part: Part = {
                type: "model_fallback",
                from: candidate.id,
                to: next.id,
                reason: cls,
                message: error.message
              }
              return Effect.logWarning("model call failed, falling back").pipe(
                Effect.annotateLogs({ from: candidate.id, to: next.id, reason: cls, error: error.message }),
                Effect.as(Chunk.of(part))
              )
            }
            return Effect.fail(Option.some(error))
          }

          const openNext: Pull = Effect.suspend(() => {
            const candidate = chain[index]!
            return Effect.flatMap(Scope.fork(outer, ExecutionStrategy.sequential), (scope) =>
              Effect.flatMap(
                Effect.exit(Effect.withParentSpan(Scope.extend(open(request, candidate, attempt), scope), span)),
                (exit): Pull => {
                  if (Exit.isSuccess(exit)) {
                    body = exit.value.pull
                    return Effect.succeed(exit.value.first)
                  }
                  return Effect.zipRight(
                    Scope.close(scope, Exit.void),
                    Option.match(Cause.failureOption(exit.cause), {
                      onNone: () => Effect.failCause(Cause.map(exit.cause, Option.some)),
                      onSome: (error) => failed(candidate, error)
                    })
                  )
                }
              )
            )
          })

          const pull: Pull = Effect.suspend(() => {
            if (body !== undefined) return body
            if (delay > 0) {
              const ms = delay
              delay = 0
              return Effect.zipRight(Effect.sleep(ms), openNext)
            }
            return openNext
          })
          return Stream.repeatEffectChunkOption(pull)
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
