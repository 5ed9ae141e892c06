/**
 * `strata serve` over HTTP: an `HttpApp` of `@effect/platform`, served by
 * whatever platform server the app provides (`NodeHttpServer`, Bun's).
 *
 * | route | what |
 * | --- | --- |
 * | `GET /v1` | the server's name, wire version, methods (no token needed) |
 * | `GET /v1/openapi.json` | the OpenAPI document of the wire (no token needed) |
 * | `POST /v1/rpc` | JSON-RPC 2.0: one request or a batch |
 * | `GET /v1/threads/{id}/events` | SSE: the thread's frames, resumable (`Last-Event-ID` or `?after=`) |
 * | `GET /v1/events` | SSE: every thread's frames from now on |
 *
 * Every other request is refused with a JSON-RPC error body. Before a
 * method runs: the bearer token (401), the per-token rate limit (429), the
 * body size limit (413, read no further than the limit), and for `/rpc` a
 * JSON content type. CORS headers only for the configured origins. Every
 * refusal is logged (never the token).
 *
 * SSE frames carry `id: <seq>` and `data: <EventFrame JSON>`; after an
 * `approval_requested` frame comes an `event: approval` message with the
 * `Approval` (the exact call the person is asked about). A comment line is
 * sent every 15 s so proxies keep the stream open.
 *
 * @since 0.2.0
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { EventFrame } from "@strata/protocol/Event"
import { isValidId } from "@strata/protocol/Ids"
import * as Rpc from "@strata/protocol/Rpc"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type * as Auth from "./Auth.js"
import * as OpenApi from "./OpenApi.js"
import { RpcError } from "./RpcError.js"
import { type Principal, RpcServer } from "./RpcServer.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  readonly auth: Auth.Auth
  readonly maxBodyBytes: number
  readonly corsOrigins?: ReadonlyArray<string> | undefined
  /** Interval of SSE keep-alive comments (default 15 s). */
  readonly keepAliveMs?: number | undefined
}

const encoder = new TextEncoder()

const errorBody = (error: RpcError) => ({ jsonrpc: "2.0" as const, id: null, error: error.toObject() })

const statusOf: Partial<Record<Rpc.ErrorType, number>> = {
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  PayloadTooLarge: 413,
  RateLimited: 429,
  ParseError: 400,
  InvalidRequest: 400,
  MethodNotFound: 404
}

/**
 * The SSE text of a frame (and of its approval, when it asks for one).
 *
 * @since 0.2.0
 * @category utils
 */
export const sseFrame = (frame: EventFrame, approval?: Rpc.Approval): string =>
  `id: ${frame.seq}\ndata: ${JSON.stringify(frame)}\n\n` +
  (approval === undefined ? "" : `event: approval\ndata: ${JSON.stringify(approval)}\n\n`)

/**
 * The HTTP app. Needs `RpcServer`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: Options) => {
  const cors = new Set(options.corsOrigins ?? [])
  const keepAlive = options.keepAliveMs ?? 15_000

  const corsHeaders = (request: HttpServerRequest.HttpServerRequest): Record<string, string> => {
    const origin = request.headers.origin
    if (origin === undefined || !cors.has(origin)) return {}
    return {
      "access-control-allow-origin": origin,
      "access-control-allow-headers": "authorization, content-type, last-event-id",
      "access-control-allow-methods": "GET, POST, OPTIONS",
      vary: "origin"
    }
  }

  const refuse = (
    request: HttpServerRequest.HttpServerRequest,
    error: RpcError,
    headers: Record<string, string> = {}
  ) =>
    Effect.as(
      Effect.logWarning(`refused ${request.method} ${request.url.split("?")[0]}: ${error.type}: ${error.detail}`),
      HttpServerResponse.unsafeJson(errorBody(error), {
        status: statusOf[error.type] ?? 400,
        headers: { ...corsHeaders(request), ...headers }
      })
    )

  /** Reads the body, refusing past `maxBodyBytes` without reading further. */
  const readBody = (request: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function* () {
      const declared = Number(request.headers["content-length"] ?? "0")
      if (Number.isFinite(declared) && declared > options.maxBodyBytes) {
        return yield* new RpcError({
          type: "PayloadTooLarge",
          detail: `the body is ${declared} bytes; the limit is ${options.maxBodyBytes}`
        })
      }
      // The platform stops reading past the limit (a chunked body declares no length).
      const bytes = yield* request.arrayBuffer.pipe(
        HttpServerRequest.withMaxBodySize(Option.some(options.maxBodyBytes)),
        Effect.mapError((e) =>
          /size|large|limit/i.test(`${e.message} ${String(e.cause)}`)
            ? new RpcError({
                type: "PayloadTooLarge",
                detail: `the body is over the limit of ${options.maxBodyBytes} bytes`
              })
            : new RpcError({ type: "InvalidRequest", detail: "the body could not be read" })
        )
      )
      const all = new Uint8Array(bytes)
      // A platform whose reader does not apply the limit (a web handler) still gets the 413.
      if (all.byteLength > options.maxBodyBytes) {
        return yield* new RpcError({
          type: "PayloadTooLarge",
          detail: `the body is ${all.byteLength} bytes; the limit is ${options.maxBodyBytes}`
        })
      }
      return new TextDecoder("utf-8", { fatal: false }).decode(all)
    })

  const authenticate = (request: HttpServerRequest.HttpServerRequest) =>
    options.auth.authenticate(request.headers.authorization).pipe(
      Effect.mapError((refusal) =>
        refusal._tag === "Unauthorized"
          ? {
              error: new RpcError({ type: "Unauthorized", detail: refusal.detail }),
              headers: { "www-authenticate": "Bearer" }
            }
          : {
              error: new RpcError({ type: "RateLimited", detail: refusal.detail }),
              headers: { "retry-after": String(refusal.retryAfterSeconds) }
            }
      )
    )

  const sse = (request: HttpServerRequest.HttpServerRequest, frames: Stream.Stream<EventFrame>) =>
    Effect.gen(function* () {
      const server = yield* RpcServer
      const body = frames.pipe(
        Stream.mapEffect((frame) =>
          frame.event === "approval_requested"
            ? Effect.map(server.approval(frame.approval_id), (a) => sseFrame(frame, a))
            : Effect.succeed(sseFrame(frame))
        ),
        Stream.merge(Stream.schedule(Stream.repeatValue(": keep-alive\n\n"), Schedule.spaced(keepAlive)), {
          haltStrategy: "left"
        }),
        (s) => Stream.concat(Stream.make(": strata events\n\n"), s),
        Stream.map((text) => encoder.encode(text))
      )
      return HttpServerResponse.stream(body, {
        contentType: "text/event-stream",
        headers: { ...corsHeaders(request), "cache-control": "no-store", "x-accel-buffering": "no" }
      })
    })

  const route = (
    request: HttpServerRequest.HttpServerRequest,
    principal: Principal
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, RpcError, RpcServer> =>
    Effect.gen(function* () {
      const server = yield* RpcServer
      const url = new URL(request.url, "http://strata.invalid")
      const path = url.pathname
      if (path === "/v1/rpc") {
        if (request.method !== "POST") {
          return yield* new RpcError({ type: "InvalidRequest", detail: "POST a JSON-RPC request to /v1/rpc" })
        }
        const type = request.headers["content-type"] ?? ""
        if (!/^application\/json\b/i.test(type)) {
          return yield* new RpcError({
            type: "InvalidRequest",
            detail: `the content type must be application/json, not ${JSON.stringify(type)}`
          })
        }
        const body = yield* readBody(request)
        const answer = yield* server.handleText(body, principal)
        if (answer === null) return HttpServerResponse.empty({ status: 204, headers: corsHeaders(request) })
        return HttpServerResponse.unsafeJson(answer, { headers: corsHeaders(request) })
      }
      if (request.method !== "GET") {
        return yield* new RpcError({ type: "MethodNotFound", detail: `no route ${request.method} ${path}` })
      }
      if (path === "/v1/events") {
        if (!principal.scopes.includes("admin") && !principal.scopes.includes("read")) {
          return yield* new RpcError({ type: "Forbidden", detail: `events need the read scope` })
        }
        return yield* sse(request, server.allEvents)
      }
      const match = /^\/v1\/threads\/([^/]+)\/events$/.exec(path)
      if (match !== null) {
        if (!principal.scopes.includes("admin") && !principal.scopes.includes("read")) {
          return yield* new RpcError({ type: "Forbidden", detail: `events need the read scope` })
        }
        const threadId = decodeURIComponent(match[1]!)
        if (!isValidId(threadId)) {
          return yield* new RpcError({
            type: "InvalidParams",
            detail: `not a thread id: ${JSON.stringify(threadId)}`,
            path: "thread_id"
          })
        }
        const from = request.headers["last-event-id"] ?? url.searchParams.get("after") ?? "0"
        const after = Number(from)
        if (!/^\d{1,15}$/.test(from.trim()) || !Number.isSafeInteger(after)) {
          return yield* new RpcError({
            type: "InvalidParams",
            detail: `Last-Event-ID / after must be a sequence number, not ${JSON.stringify(from.slice(0, 40))}`,
            path: "after"
          })
        }
        return yield* sse(request, yield* server.threadEvents(threadId, after))
      }
      return yield* new RpcError({ type: "MethodNotFound", detail: `no route GET ${path}` })
    })

  return Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const path = request.url.split("?")[0]
    if (request.method === "OPTIONS") {
      return HttpServerResponse.empty({ status: 204, headers: corsHeaders(request) })
    }
    if (request.method === "GET" && (path === "/v1" || path === "/v1/")) {
      return HttpServerResponse.unsafeJson(
        {
          name: "strata",
          rpc_version: Rpc.RPC_VERSION,
          auth: options.auth.open ? "none" : "bearer",
          methods: Object.keys(Rpc.Methods)
        },
        { headers: corsHeaders(request) }
      )
    }
    if (request.method === "GET" && path === "/v1/openapi.json") {
      return HttpServerResponse.unsafeJson(OpenApi.document(), { headers: corsHeaders(request) })
    }
    const principal = yield* Effect.either(authenticate(request))
    if (principal._tag === "Left") return yield* refuse(request, principal.left.error, principal.left.headers)
    return yield* route(request, principal.right).pipe(Effect.catchAll((error) => refuse(request, error)))
  })
}
