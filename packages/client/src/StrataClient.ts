/**
 * A typed client of `strata serve`: every method of `@strata/protocol/Rpc`
 * as a typed call (params checked by the types, results decoded with the
 * method's schema), and a thread's events as an async iterable that
 * reconnects with `Last-Event-ID` when the connection drops, so a consumer
 * sees every frame once, in order.
 *
 * Only `fetch`, `TextDecoder` and `AbortController`: runs on Node, Bun,
 * Deno and in browsers.
 *
 * ```ts
 * const client = StrataClient.make({ url: "http://127.0.0.1:7077", token })
 * const { thread_id } = await client.call("turn/start", { prompt: "list the files" })
 * for await (const item of client.threadEvents(thread_id)) {
 *   if (item.type === "approval") await client.call("approval/resolve", { approval_id: item.approval.id, decision: "approve" })
 *   if (item.type === "frame" && item.frame.event === "turn_ended") break
 * }
 * ```
 *
 * @since 0.2.0
 */
import { EventFrame } from "@strata/protocol/Event"
import * as Rpc from "@strata/protocol/Rpc"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/**
 * A call that failed: the server's JSON-RPC error (or a transport failure,
 * `type: "Transport"`), with the HTTP status when there was one.
 *
 * @since 0.2.0
 * @category errors
 */
export class StrataRpcError extends Error {
  override readonly name = "StrataRpcError"
  constructor(
    readonly type: Rpc.ErrorType | "Transport" | "InvalidResult",
    message: string,
    readonly code: number,
    readonly status?: number | undefined,
    readonly path?: string | undefined
  ) {
    super(message)
  }
}

/**
 * What a thread's event stream yields: a frame, or a pending approval with
 * the exact call it asks about.
 *
 * @since 0.2.0
 * @category models
 */
export type StreamItem =
  | { readonly type: "frame"; readonly frame: EventFrame }
  | { readonly type: "approval"; readonly approval: Rpc.Approval }

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** The server's base URL (`http://127.0.0.1:7077`). */
  readonly url: string
  /** A bearer token, when the server needs one. */
  readonly token?: string | undefined
  /** `fetch` to use (default: the global one). */
  readonly fetch?: typeof fetch | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface EventsOptions {
  /** Start after this sequence number (default 0: the whole thread). */
  readonly after?: number | undefined
  readonly signal?: AbortSignal | undefined
  /** Reconnect (with `Last-Event-ID`) when the connection drops (default true). */
  readonly reconnect?: boolean | undefined
  /** Delay before reconnecting (default 250 ms). */
  readonly retryMs?: number | undefined
  /** Give up after this many reconnections in a row that deliver nothing (default 40). */
  readonly maxRetries?: number | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface StrataClient {
  readonly call: <M extends Rpc.MethodName>(method: M, params: Rpc.ParamsOf<M>) => Promise<Rpc.ResultOf<M>>
  /** A thread's frames (after `after`), then live ones; yields `approval` items after each request for one. */
  readonly threadEvents: (threadId: string, options?: EventsOptions) => AsyncIterable<StreamItem>
  /** The server's description (`GET /v1`), no token needed. */
  readonly info: () => Promise<{ name: string; rpc_version: number; auth: string; methods: Array<string> }>
}

const decodeFrame = Schema.decodeUnknownEither(Schema.parseJson(EventFrame))
const decodeApproval = Schema.decodeUnknownEither(Schema.parseJson(Rpc.Approval))

/**
 * Parses an SSE byte stream into messages (`id`, `event`, `data`).
 *
 * @since 0.2.0
 * @category utils
 */
export async function* parseSse(
  body: ReadableStream<Uint8Array>
): AsyncGenerator<{ id?: string | undefined; event: string; data: string }> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ""
  let id: string | undefined
  let event = "message"
  let data: Array<string> = []
  try {
    while (true) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += decoder.decode(value, { stream: true })
      let newline = buffer.indexOf("\n")
      while (newline >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, "")
        buffer = buffer.slice(newline + 1)
        newline = buffer.indexOf("\n")
        if (line === "") {
          if (data.length > 0) yield { id, event, data: data.join("\n") }
          id = undefined
          event = "message"
          data = []
          continue
        }
        if (line.startsWith(":")) continue
        const colon = line.indexOf(":")
        const field = colon < 0 ? line : line.slice(0, colon)
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "")
        if (field === "id") id = text
        else if (field === "event") event = text
        else if (field === "data") data.push(text)
      }
    }
  } finally {
    reader.releaseLock()
    await body.cancel().catch(() => {})
  }
}

/**
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: Options): StrataClient => {
  const base = options.url.replace(/\/+$/, "")
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis)
  const auth: Record<string, string> = options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }
  let next = 1

  const call: StrataClient["call"] = async (method, params) => {
    const id = next++
    let response: Response
    try {
      response = await doFetch(`${base}/v1/rpc`, {
        method: "POST",
        headers: { "content-type": "application/json", ...auth },
        body: JSON.stringify({ jsonrpc: "2.0", id, method, params })
      })
    } catch (e) {
      const cause = (e as { cause?: { message?: string } }).cause?.message
      throw new StrataRpcError(
        "Transport",
        `cannot reach ${base}: ${(e as Error).message}${cause ? ` (${cause})` : ""}`,
        -1
      )
    }
    const text = await response.text()
    let body: { result?: unknown; error?: Rpc.ErrorObject } | undefined
    try {
      body = JSON.parse(text)
    } catch {
      throw new StrataRpcError(
        "Transport",
        `${method}: the answer is not JSON (HTTP ${response.status})`,
        -1,
        response.status
      )
    }
    if (body?.error !== undefined) {
      const e = body.error
      throw new StrataRpcError(
        (e.data?.type as Rpc.ErrorType | undefined) ?? "InternalError",
        e.message,
        e.code,
        response.status,
        e.data?.path
      )
    }
    const decoded = Schema.decodeUnknownEither(Rpc.Methods[method].result as Schema.Schema<unknown, unknown>)(
      body?.result
    )
    if (Either.isLeft(decoded)) {
      throw new StrataRpcError(
        "InvalidResult",
        `${method}: the result does not match the wire schema: ${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}`,
        -1,
        response.status
      )
    }
    return decoded.right as never
  }

  async function* threadEvents(threadId: string, opts: EventsOptions = {}): AsyncGenerator<StreamItem> {
    let last = opts.after ?? 0
    let idle = 0
    const aborted = () => opts.signal?.aborted === true
    while (!aborted()) {
      let delivered = false
      try {
        const response = await doFetch(`${base}/v1/threads/${encodeURIComponent(threadId)}/events`, {
          headers: { accept: "text/event-stream", "last-event-id": String(last), ...auth },
          ...(opts.signal === undefined ? {} : { signal: opts.signal })
        })
        if (!response.ok || response.body === null) {
          const text = await response.text()
          let error: Rpc.ErrorObject | undefined
          try {
            error = JSON.parse(text).error
          } catch {}
          throw new StrataRpcError(
            (error?.data?.type as Rpc.ErrorType | undefined) ?? "Transport",
            error?.message ?? `HTTP ${response.status}`,
            error?.code ?? -1,
            response.status
          )
        }
        for await (const message of parseSse(response.body)) {
          if (message.event === "approval") {
            const approval = decodeApproval(message.data)
            if (Either.isRight(approval)) yield { type: "approval", approval: approval.right }
            continue
          }
          const frame = decodeFrame(message.data)
          if (Either.isLeft(frame)) continue
          if (frame.right.seq <= last) continue
          last = frame.right.seq
          delivered = true
          yield { type: "frame", frame: frame.right }
        }
      } catch (e) {
        if (e instanceof StrataRpcError && e.status !== undefined && e.status < 500) throw e
        if (aborted()) return
      }
      if (opts.reconnect === false) return
      idle = delivered ? 0 : idle + 1
      if (idle > (opts.maxRetries ?? 40)) {
        throw new StrataRpcError("Transport", `the event stream of ${threadId} keeps failing`, -1)
      }
      await new Promise((resolve) => setTimeout(resolve, opts.retryMs ?? 250))
    }
  }

  const info: StrataClient["info"] = async () => {
    const response = await doFetch(`${base}/v1`)
    return (await response.json()) as Awaited<ReturnType<StrataClient["info"]>>
  }

  return { call, threadEvents, info }
}
