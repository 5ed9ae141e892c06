/// <reference types="node" />
/**
 * A real HTTP server on 127.0.0.1 (random port) that speaks the providers'
 * wire formats and replays scripted turns (see `ScriptedModel`), with
 * faults on demand. Built on `node:http`, which Node, Bun and Deno all
 * provide; used by the tests (through `@strata/testkit`) and by the CLI's
 * built-in demo model.
 *
 * Routes (`baseUrl(kind)` gives the provider `base_url` for each):
 *
 * | route | wire |
 * | --- | --- |
 * | `POST /v1/chat/completions`, `/chat/completions` | OpenAI |
 * | `POST /deepseek/chat/completions` | DeepSeek dialect |
 * | `POST /openrouter/api/v1/chat/completions` | OpenRouter dialect |
 * | `POST /v1/messages` | Anthropic |
 * | `POST /api/chat` | Ollama native (NDJSON) |
 *
 * @since 0.1.0
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import {
  type Chunk,
  kindOfStatus,
  normalize,
  type RecordedRequest,
  render,
  renderErrorBody,
  renderMalformed,
  renderStreamError,
  type Turn,
  toolPairingProblems,
  type Wire
} from "../ScriptedModel.js"

/**
 * Server options.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The script: each request takes the first remaining turn whose `match` accepts it. */
  readonly turns?: ReadonlyArray<Turn> | undefined
  /** Answers requests no scripted turn matches (default: HTTP 500 naming the problem). */
  readonly respond?: ((request: RecordedRequest) => Turn) | undefined
  /** When set, requests must present it (`Authorization: Bearer`, or `x-api-key` for Anthropic). */
  readonly apiKey?: string | undefined
  readonly host?: string | undefined
  readonly port?: number | undefined
  /**
   * Reject, as the real APIs do (HTTP 400), a request whose messages hold a
   * tool call without exactly one result placed before the next user or
   * assistant message, or a stray result (`toolPairingProblems`).
   */
  readonly strict?: boolean | undefined
}

/**
 * How a request ended on the server side: `completed` (the whole body was
 * written), `aborted` (the client went away first), `faulted` (a scripted
 * fault ended it).
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = "completed" | "aborted" | "faulted"

/**
 * A running server.
 *
 * @since 0.1.0
 * @category models
 */
export interface ScriptedModelServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** The `base_url` a provider of this kind should use. */
  readonly baseUrl: (kind: "openai-compatible" | "deepseek" | "openrouter" | "anthropic" | "ollama") => string
  /** Every request received, in order. */
  readonly requests: ReadonlyArray<RecordedRequest>
  /** Resolves when request `index` has ended, with how it ended. */
  readonly outcome: (index: number) => Promise<Outcome>
  /** Appends turns to the script. */
  readonly push: (...turns: ReadonlyArray<Turn>) => void
  /** Turns not yet used. */
  readonly remaining: () => number
  /** Problems the server saw (unknown route, no turn left, bad JSON). */
  readonly problems: ReadonlyArray<string>
  readonly close: () => Promise<void>
}

const routes: ReadonlyArray<readonly [string, Wire]> = [
  ["/v1/chat/completions", "openai"],
  ["/chat/completions", "openai"],
  ["/deepseek/chat/completions", "deepseek"],
  ["/deepseek/v1/chat/completions", "deepseek"],
  ["/openrouter/api/v1/chat/completions", "openrouter"],
  ["/v1/messages", "anthropic"],
  ["/api/chat", "ollama"]
]

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const presentedKey = (
  wire: Wire,
  headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
): string | undefined => {
  if (wire === "anthropic") {
    const key = headers["x-api-key"]
    return typeof key === "string" ? key : undefined
  }
  const auth = headers.authorization
  return typeof auth === "string" && auth.startsWith("Bearer ") ? auth.slice("Bearer ".length) : undefined
}

/**
 * Starts a server on 127.0.0.1 and a random port.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = async (options: Options = {}): Promise<ScriptedModelServer> => {
  const script: Array<Turn> = [...(options.turns ?? [])]
  const requests: Array<RecordedRequest> = []
  const outcomes: Array<{ promise: Promise<Outcome>; resolve: (o: Outcome) => void }> = []
  const problems: Array<string> = []

  const outcomeSlot = (index: number) => {
    let slot = outcomes[index]
    if (slot === undefined) {
      let resolve!: (o: Outcome) => void
      const promise = new Promise<Outcome>((r) => (resolve = r))
      slot = { promise, resolve }
      outcomes[index] = slot
    }
    return slot
  }

  const take = (request: RecordedRequest): Turn | undefined => {
    const i = script.findIndex((t) => t.match === undefined || t.match(request))
    if (i !== -1) {
      const turn = script[i]!
      if (turn.repeat !== true) script.splice(i, 1)
      return turn
    }
    return options.respond?.(request)
  }

  const serve = async (wire: Wire, turn: Turn, request: RecordedRequest, res: http.ServerResponse) => {
    if (turn.waitFor !== undefined) await turn.waitFor()
    const fault = turn.fault
    let settled = false
    let clientGone = false
    const finish = (outcome: Outcome) => {
      if (settled) return
      settled = true
      outcomeSlot(request.index).resolve(outcome)
    }
    res.on("close", () => {
      if (!res.writableFinished) {
        clientGone = true
        finish("aborted")
      }
    })

    if (fault?.type === "hang") {
      await new Promise<void>((resolve) => res.on("close", () => resolve()))
      return
    }

    if (fault?.type === "status") {
      const headers: Record<string, string> = { "content-type": "application/json" }
      if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter)
      if (fault.retryAfterMs !== undefined) headers["retry-after-ms"] = String(fault.retryAfterMs)
      res.writeHead(fault.status, headers)
      res.end(renderErrorBody(wire, fault.kind ?? kindOfStatus(fault.status), presentedKey(wire, request.headers)))
      finish("faulted")
      return
    }

    const chunks: ReadonlyArray<Chunk> = render(wire, turn, request)
    res.writeHead(200, {
      "content-type": wire === "ollama" ? "application/x-ndjson" : "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive"
    })
    res.flushHeaders()
    const delay = turn.delayMs ?? 0
    let deltas = 0
    const afterDeltas = fault !== undefined && "afterDeltas" in fault ? fault.afterDeltas : undefined
    for (const chunk of chunks) {
      if (clientGone) break
      if (chunk.content && fault?.type === "slowFirstToken" && deltas === 0) {
        const until = Date.now() + fault.delayMs
        while (Date.now() < until && !clientGone) {
          await sleep(Math.min(100, Math.max(1, until - Date.now())))
          if (!clientGone && Date.now() < until) {
            // Keep-alives as the real providers send them: they are not output.
            if (wire === "anthropic") res.write('event: ping\ndata: {"type": "ping"}\n\n')
            else if (wire !== "ollama") res.write(": keep-alive\n\n")
          }
        }
      }
      if (chunk.content && afterDeltas !== undefined && deltas === afterDeltas && fault !== undefined) {
        // What was written before the fault reaches the client first.
        await new Promise<void>((resolve) => res.write("", () => resolve()))
        switch (fault.type) {
          case "disconnect":
            finish("faulted")
            res.socket?.destroy()
            return
          case "truncate":
            res.end()
            finish("faulted")
            return
          case "malformed":
            res.end(renderMalformed(wire))
            finish("faulted")
            return
          case "stall":
            // Nothing more is written; the client's idle timeout must end it.
            await new Promise<void>((resolve) => res.on("close", () => resolve()))
            return
          case "streamError":
            res.end(renderStreamError(wire, fault.kind))
            finish("faulted")
            return
        }
      }
      if (chunk.content) deltas++
      if (turn.paced === true) {
        await new Promise<void>((resolve) => res.write(chunk.data, () => setImmediate(resolve)))
      } else {
        res.write(chunk.data)
      }
      if (delay > 0) await sleep(delay)
    }
    if (clientGone) return
    res.end()
    finish("completed")
  }

  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!
    const route = routes.find(([p]) => p === path)
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      if (req.method !== "POST" || route === undefined) {
        problems.push(`no route for ${req.method} ${path}`)
        res.writeHead(404, { "content-type": "application/json" })
        res.end(JSON.stringify({ error: { message: `no route for ${req.method} ${path}` } }))
        return
      }
      const wire = route[1]
      let body: any
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"))
      } catch {
        problems.push(`request body of ${path} is not JSON`)
        res.writeHead(400, { "content-type": "application/json" })
        res.end(renderErrorBody(wire, "bad_request"))
        return
      }
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v
      const index = requests.length
      const record: RecordedRequest = { index, wire, path, headers, body, ...normalize(wire, body) }
      requests.push(record)
      outcomeSlot(index)
      if (options.apiKey !== undefined) {
        const presented = presentedKey(wire, req.headers)
        if (presented !== options.apiKey) {
          res.writeHead(401, { "content-type": "application/json" })
          res.end(renderErrorBody(wire, "unauthorized", presented))
          outcomeSlot(index).resolve("faulted")
          return
        }
      }
      if (options.strict === true) {
        const wrong = toolPairingProblems(record.messages)
        if (wrong.length > 0) {
          problems.push(`request #${index} rejected (strict): ${wrong.join("; ")}`)
          res.writeHead(400, { "content-type": "application/json" })
          res.end(
            JSON.stringify({
              error: { message: `invalid tool call history: ${wrong.join("; ")}`, type: "invalid_request_error" }
            })
          )
          outcomeSlot(index).resolve("faulted")
          return
        }
      }
      const turn = take(record)
      if (turn === undefined) {
        const message = `no scripted turn left for request #${index} (${wire} ${record.model})`
        problems.push(message)
        res.writeHead(500, { "content-type": "application/json" })
        res.end(JSON.stringify({ error: { message, type: "testkit_error" } }))
        outcomeSlot(index).resolve("faulted")
        return
      }
      serve(wire, turn, record, res).catch((error) => {
        problems.push(`serving request #${index} failed: ${String(error)}`)
        res.destroy()
      })
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve())
  })
  const address = server.address() as AddressInfo
  const url = `http://${options.host ?? "127.0.0.1"}:${address.port}`

  return {
    url,
    baseUrl: (kind) => {
      switch (kind) {
        case "openai-compatible":
          return `${url}/v1`
        case "deepseek":
          return `${url}/deepseek`
        case "openrouter":
          return `${url}/openrouter/api/v1`
        case "anthropic":
        case "ollama":
          return url
      }
    },
    requests,
    outcome: (index) => outcomeSlot(index).promise,
    push: (...turns) => {
      script.push(...turns)
    },
    remaining: () => script.length,
    problems,
    close: () =>
      new Promise<void>((resolve) => {
        const s = server as http.Server & { closeAllConnections?: () => void }
        server.close(() => resolve())
        s.closeAllConnections?.()
      })
  }
}

/**
 * {@link start} as a scoped Effect: the server closes with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<ScriptedModelServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => start(options)),
    (server) => Effect.promise(() => server.close())
  )
