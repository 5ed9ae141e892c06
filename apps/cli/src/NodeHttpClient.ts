/**
 * An `HttpClient` on `node:http` / `node:https`, for the model calls of a
 * session on Node (see `HttpClient.ts` for why). `@effect/platform-node`'s
 * own `NodeHttpClient` module also carries its undici client, and with it
 * the whole `undici` package (540 kB, evaluated when the module loads): this
 * is its `node:http` half, and nothing else.
 *
 * It behaves as `FetchHttpClient` does where a provider can tell: the body
 * streams chunk by chunk as it arrives; an interrupt aborts the request,
 * which destroys its connection; transport failures are `RequestError`s,
 * body failures `ResponseError`s; redirects are followed by the rule in
 * `Redirects.ts` (as `fetch` follows them, the providers' key headers
 * dropped on a change of origin too);
 * `accept` and `user-agent` default to what Node's `fetch` sends.
 * `node:https` (and with it `node:tls` and all of `node:crypto`) loads with
 * the first `https:` request: a model on a local `http:` server never loads it.
 *
 * @since 0.2.0
 */
import * as Http from "node:http"
import type * as Https from "node:https"
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import * as NodeSink from "@effect/platform-node/NodeSink"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Redirects from "./Redirects.js"

/**
 * The agents of a client: `https` is an agent, or where to get one (called
 * on the first `https:` request, with `node:https` then).
 */
interface Agents {
  readonly http: Http.Agent
  readonly https: Https.Agent | (() => Promise<Https.Agent>)
}

/** `node:https`, once a request needs it. */
let httpsModule: typeof Https | undefined
const loadHttps = (): Promise<typeof Https> =>
  httpsModule !== undefined ? Promise.resolve(httpsModule) : import("node:https").then((m) => (httpsModule = m))

class Response extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    readonly source: Http.IncomingMessage
  ) {
    super()
  }
  private readonly onError = (cause: unknown): HttpClientError.ResponseError =>
    new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  get status() {
    return this.source.statusCode ?? 0
  }
  get headers() {
    return Headers.fromInput(this.source.headers)
  }
  get cookies() {
    const header = this.source.headers["set-cookie"]
    return header === undefined ? Cookies.empty : Cookies.fromSetCookie(header)
  }
  get remoteAddress() {
    return Option.fromNullable(this.source.socket?.remoteAddress)
  }
  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return NodeStream.fromReadable<HttpClientError.ResponseError>(() => this.source, this.onError)
  }
  private textBody: Effect.Effect<string, HttpClientError.ResponseError> | undefined
  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    this.textBody ??= Effect.runSync(Effect.cached(NodeStream.toString(() => this.source, { onFailure: this.onError })))
    return this.textBody
  }
  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.tryMap(this.text, { try: (text) => (text === "" ? null : JSON.parse(text)), catch: this.onError })
  }
  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({ try: () => UrlParams.fromInput(new URLSearchParams(text)), catch: this.onError })
    )
  }
  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.map(
      NodeStream.toUint8Array(() => this.source, { onFailure: this.onError }),
      (bytes) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
    )
  }
  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.flatMap(this.arrayBuffer, (body) =>
      Effect.tryPromise({
        try: () =>
          new globalThis.Response(body, {
            headers: this.source.headers as Record<string, string>,
            status: this.status
          }).formData(),
        catch: this.onError
      })
    )
  }
  toJSON() {
    return HttpIncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
}

const transport = (request: HttpClientRequest.HttpClientRequest, cause: unknown) =>
  new HttpClientError.RequestError({ request, reason: "Transport", cause })

/** What a request sends: bytes (or nothing), or the request's stream (sent once, never resent). */
type Body = Uint8Array | string | undefined | { readonly stream: Stream.Stream<Uint8Array, unknown> }

/** Writes the body and ends the request. */
const sendBody = (node: Http.ClientRequest, request: HttpClientRequest.HttpClientRequest, body: Body) =>
  Effect.suspend((): Effect.Effect<void, HttpClientError.RequestError> => {
    if (typeof body !== "object" || body instanceof Uint8Array) {
      node.end(body)
      return Effect.void
    }
    return Stream.run(
      Stream.mapError(body.stream, (cause) => new HttpClientError.RequestError({ request, reason: "Encode", cause })),
      NodeSink.fromWritable(
        () => node,
        (cause) => transport(request, cause)
      )
    )
  })

/** One request (`method` to `url`), its response once its head arrived. */
const send = (
  agents: Agents,
  request: HttpClientRequest.HttpClientRequest,
  target: { readonly method: string; readonly url: URL; readonly headers: Record<string, string>; readonly body: Body },
  signal: AbortSignal
): Effect.Effect<Response, HttpClientError.RequestError> =>
  Effect.suspend(() => {
    if (target.url.protocol === "https:" && (httpsModule === undefined || typeof agents.https === "function")) {
      const { https } = agents
      return Effect.flatMap(
        Effect.tryPromise({
          try: () => Promise.all([loadHttps(), typeof https === "function" ? https() : https]),
          catch: (cause) => transport(request, cause)
        }),
        ([, agent]) => send({ http: agents.http, https: agent }, request, target, signal)
      )
    }
    const options = { method: target.method, headers: target.headers, signal }
    let node: Http.ClientRequest
    try {
      // throws on what `fetch` rejects too: another protocol, a header value with a line break
      if (target.url.protocol !== "http:" && target.url.protocol !== "https:") {
        throw new TypeError(`unsupported protocol ${target.url.protocol}`)
      }
      node =
        target.url.protocol === "https:"
          ? httpsModule!.request(target.url, { ...options, agent: agents.https as Https.Agent })
          : Http.request(target.url, { ...options, agent: agents.http })
    } catch (cause) {
      return Effect.fail(transport(request, cause))
    }
    const response = Effect.async<Http.IncomingMessage, HttpClientError.RequestError>((resume) => {
      const onError = (cause: unknown) => resume(Effect.fail(transport(request, cause)))
      const onResponse = (res: Http.IncomingMessage) => {
        node.off("error", onError)
        resume(Effect.succeed(res))
      }
      node.on("error", onError)
      node.on("response", onResponse)
      return Effect.sync(() => {
        node.off("error", onError)
        node.off("response", onResponse)
      })
    })
    return Effect.map(
      Effect.zipRight(sendBody(node, request, target.body), response, { concurrent: true }),
      (res) => new Response(request, res)
    )
  })

/** The request's body and the headers it adds (a form's multipart content type, as `fetch` makes it). */
const encodeBody = (
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<{ readonly body: Body; readonly contentType?: string }, HttpClientError.RequestError> => {
  const b = request.body
  switch (b._tag) {
    case "Uint8Array":
      return Effect.succeed({ body: b.body })
    case "Raw":
      return typeof b.body === "string" || b.body instanceof Uint8Array
        ? Effect.succeed({ body: b.body })
        : Effect.fail(
            new HttpClientError.RequestError({
              request,
              reason: "Encode",
              description: "a raw body must be a string or bytes"
            })
          )
    case "FormData": {
      const encoded = new globalThis.Response(b.formData)
      return Effect.tryPromise({
        try: async () => ({
          body: new Uint8Array(await encoded.arrayBuffer()),
          contentType: encoded.headers.get("content-type") ?? "multipart/form-data"
        }),
        catch: (cause) => new HttpClientError.RequestError({ request, reason: "Encode", cause })
      })
    }
    case "Stream":
      return Effect.succeed({ body: { stream: b.stream } })
    case "Empty":
      return Effect.succeed({ body: undefined })
  }
}

/**
 * A client over these agents.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromAgents = (agents: Agents): HttpClient.HttpClient =>
  HttpClient.make((request, url, signal) =>
    Effect.gen(function* () {
      const encoded = yield* encodeBody(request)
      let target = {
        method: request.method as string,
        url,
        headers: {
          accept: "*/*",
          "user-agent": "node",
          ...request.headers,
          ...(encoded.contentType === undefined ? {} : { "content-type": encoded.contentType })
        } as Record<string, string>,
        body: encoded.body
      }
      for (let hops = 0; ; hops++) {
        const response = yield* send(agents, request, target, signal)
        const resendable = typeof target.body !== "object" || target.body instanceof Uint8Array
        const next = resendable
          ? Redirects.nextHop(target, response.status, response.source.headers.location, hops)
          : undefined
        if (next === undefined) return response
        // not read: skipped, so that its connection goes back to the agent
        response.source.resume()
        target = {
          method: next.method,
          url: next.url,
          headers: { ...next.headers },
          body: next.dropBody ? undefined : target.body
        }
      }
    })
  )

/**
 * The client with an HTTP and an HTTPS agent that keep idle connections
 * alive between calls (Node's agents honour the server's `Keep-Alive:
 * timeout` hint); both are destroyed with the layer's scope. The HTTPS agent
 * (and `node:https`) is made on the first `https:` request.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<HttpClient.HttpClient> = Layer.scoped(
  HttpClient.HttpClient,
  Effect.map(
    Effect.all([
      Effect.acquireRelease(
        Effect.sync(() => new Http.Agent({ keepAlive: true })),
        (agent) => Effect.sync(() => agent.destroy())
      ),
      Effect.acquireRelease(
        Effect.sync(() => {
          let made: Promise<Https.Agent> | undefined
          let agent: Https.Agent | undefined
          return {
            get: () => (made ??= loadHttps().then((https) => (agent = new https.Agent({ keepAlive: true })))),
            destroy: () => agent?.destroy()
          }
        }),
        (lazy) => Effect.sync(() => lazy.destroy())
      )
    ]),
    ([http, https]) => fromAgents({ http, https: https.get })
  )
)
