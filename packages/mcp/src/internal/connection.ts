/**
 * @internal
 *
 * The pieces of the MCP manager that work on one connection and need none of
 * the manager's state: the records it keeps per server, the SDK loaded on
 * first use, the conversion of SDK rejections into `McpError`, and one SDK
 * request as an interruptible Effect.
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import type { RequestOptions } from "@modelcontextprotocol/sdk/shared/protocol.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import type { Tool as SdkTool } from "@modelcontextprotocol/sdk/types.js"
import type * as Mcp from "@strata/protocol/Mcp"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type { ServerConfig } from "../McpConfig.js"
import { McpError, type McpErrorReason } from "../McpError.js"
import type { McpTool } from "../McpManager.js"

export type Status = Mcp.McpServerStatus["status"]
export type Kind = Mcp.McpServerStatus["transport"]

/** The SDK, once the first connection loaded it (see `./sdk.ts`). */
let sdk: typeof import("./sdk.js") | undefined

/** The SDK if a connection has loaded it already; nothing needs it before then. */
export const loadedSdk = (): typeof import("./sdk.js") | undefined => sdk
export const loadSdk: Effect.Effect<typeof import("./sdk.js")> = Effect.suspend(() =>
  sdk !== undefined
    ? Effect.succeed(sdk)
    : Effect.promise(() => import("./sdk.js")).pipe(
        Effect.tap((m) => {
          sdk = m
        })
      )
)

/** One live (or starting) client connection to a server. */
export interface Conn {
  readonly client: Client
  readonly transport: Transport
  readonly kind: Kind
  readonly generation: number
  readonly pid: () => number | undefined
  readonly stderr: () => string
  /** The server's tools after the config's allow/deny filter. */
  tools: ReadonlyArray<SdkTool>
  ready: boolean
  /** Set before we close it on purpose, so its `onclose` is not a crash. */
  closing: boolean
  closed: boolean
  /** A list_changed arrived before the connection was installed. */
  dirty: boolean
  refreshing: boolean
  refreshAgain: boolean
  connectedAt: number
  /** Fails the calls in flight on this connection (garbage output). */
  readonly inflight: Set<(reason: McpErrorReason, detail: string) => void>
}

export interface Task {
  readonly key: string
  fiber: Fiber.RuntimeFiber<any, any> | undefined
}

export interface Handle {
  readonly config: ServerConfig
  readonly lock: Effect.Semaphore
  status: Status
  error: string | undefined
  restarts: number
  /** Consecutive automatic restart attempts. */
  attempts: number
  kind: Kind
  conn: Conn | undefined
  task: Task | undefined
}

export interface Bridged {
  readonly handle: Handle
  readonly tool: SdkTool
  readonly bridged: McpTool
}

export type StartupResult =
  | { readonly status: "ready" }
  | { readonly status: "failed"; readonly error: string }
  | {
      readonly status: "cancelled"
    }

export const CLIENT_INFO = { name: "strata", version: "0.1.0" }

/**
 * The part of `AbortSignal` the SDK's `Protocol.request` uses (`aborted`,
 * `reason`, `throwIfAborted`, one `abort` listener). A real `AbortController`
 * plus the SDK's `addEventListener` costs about 8 µs per call on Node 20
 * (EventTarget), a fifth of a whole stdio round trip; this costs nothing.
 * The SDK never hands the request signal to `fetch` or a transport (checked
 * for the pinned 1.32.2); the cancellation tests fail if that changes.
 */
export class CancelSignal {
  aborted = false
  reason: unknown = undefined
  private listener: (() => void) | undefined
  addEventListener(_type: string, listener: () => void): void {
    this.listener = listener
  }
  removeEventListener(): void {
    this.listener = undefined
  }
  throwIfAborted(): void {
    if (this.aborted) throw this.reason
  }
  abort(reason: unknown): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = reason
    this.listener?.()
  }
}
export const MAX_PAGES = 1000

export const fmtMillis = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`)

export const tail = (stderr: string): string => {
  const lines = stderr.trim().split("\n").slice(-5).join(" | ")
  return lines === "" ? "" : `; stderr: ${lines.length > 600 ? lines.slice(-600) : lines}`
}

export const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

export const isParseError = (error: unknown): boolean =>
  error instanceof SyntaxError ||
  (error instanceof Error && error.name === "ZodError") ||
  (isRecord(error) && "issues" in error)

export const allowed = (config: ServerConfig, name: string): boolean =>
  !config.disabled_tools.includes(name) && (config.enabled_tools === undefined || config.enabled_tools.includes(name))

export const describe = (cause: unknown): string => {
  if (cause instanceof Error) {
    const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : ""
    return `${cause.message}${inner}`
  }
  return String(cause)
}

/** Converts whatever the SDK rejected with into a typed error, at the border. */
export const toMcpError = (
  server: string,
  conn: Conn | undefined,
  operation: string,
  tool: string | undefined,
  timeoutMs: number,
  cause: unknown
): McpError => {
  if (cause instanceof McpError) return cause
  const base = {
    server,
    operation,
    ...(tool === undefined ? {} : { tool }),
    cause
  }
  if (sdk !== undefined && cause instanceof sdk.SdkMcpError) {
    const { ErrorCode } = sdk
    if (cause.code === ErrorCode.RequestTimeout) {
      return new McpError({
        ...base,
        reason: "Timeout",
        code: cause.code,
        detail: `no answer within ${fmtMillis(timeoutMs)}; sent notifications/cancelled`
      })
    }
    if (cause.code === ErrorCode.ConnectionClosed) {
      return new McpError({
        ...base,
        reason: "ConnectionClosed",
        code: cause.code,
        detail: `connection closed${conn === undefined ? "" : tail(conn.stderr())}`
      })
    }
    return new McpError({
      ...base,
      reason: "ServerError",
      code: cause.code,
      detail: cause.message
    })
  }
  if (sdk !== undefined && cause instanceof sdk.StreamableHTTPError) {
    return new McpError({
      ...base,
      reason: "Transport",
      ...(cause.code === undefined || cause.code < 0 ? {} : { code: cause.code }),
      detail: cause.message
    })
  }
  if (isParseError(cause))
    return new McpError({
      ...base,
      reason: "Protocol",
      detail: `invalid message: ${describe(cause)}`
    })
  return new McpError({
    ...base,
    reason: "Transport",
    detail: `${describe(cause)}${conn === undefined ? "" : tail(conn.stderr())}`
  })
}

/**
 * One SDK request as an Effect. The SDK's own timer bounds it (and sends
 * notifications/cancelled when it fires); interrupting the fiber aborts the
 * request, which makes the SDK send notifications/cancelled too.
 */
export const request = <A>(
  h: Handle,
  conn: Conn,
  operation: string,
  tool: string | undefined,
  timeoutMs: number,
  f: (options: RequestOptions) => Promise<A>
): Effect.Effect<A, McpError> =>
  Effect.async<A, McpError>((resume) => {
    const signal = new CancelSignal()
    let done = false
    const fail = (reason: McpErrorReason, detail: string) => {
      if (done) return
      done = true
      conn.inflight.delete(fail)
      signal.abort(detail)
      resume(
        Effect.fail(
          new McpError({
            reason,
            server: h.config.name,
            operation,
            ...(tool === undefined ? {} : { tool }),
            detail
          })
        )
      )
    }
    conn.inflight.add(fail)
    let promise: Promise<A>
    try {
      promise = f({
        signal: signal as unknown as AbortSignal,
        timeout: timeoutMs
      })
    } catch (cause) {
      promise = Promise.reject(cause)
    }
    promise.then(
      (value) => {
        if (done) return
        done = true
        conn.inflight.delete(fail)
        resume(Effect.succeed(value))
      },
      (cause) => {
        if (done) return
        done = true
        conn.inflight.delete(fail)
        resume(Effect.fail(toMcpError(h.config.name, conn, operation, tool, timeoutMs, cause)))
      }
    )
    return Effect.sync(() => {
      if (done) return
      done = true
      conn.inflight.delete(fail)
      signal.abort("interrupted")
    })
  })

export const paged = async <T>(
  fetchPage: (cursor: string | undefined) => Promise<{
    readonly nextCursor?: string | undefined
    readonly items: ReadonlyArray<T>
  }>
): Promise<ReadonlyArray<T>> => {
  const all: Array<T> = []
  let cursor: string | undefined
  let pages = 0
  do {
    const page = await fetchPage(cursor)
    all.push(...page.items)
    cursor = page.nextCursor
  } while (cursor !== undefined && ++pages < MAX_PAGES)
  return all
}

export const listTools = (h: Handle, conn: Conn, timeoutMs: number): Effect.Effect<ReadonlyArray<SdkTool>, McpError> =>
  request(h, conn, "tools/list", undefined, timeoutMs, async (options) => {
    const all = await paged(async (cursor) => {
      const page = await conn.client.listTools(cursor === undefined ? undefined : { cursor }, options)
      return { nextCursor: page.nextCursor, items: page.tools }
    })
    return all.filter((t) => allowed(h.config, t.name))
  })

export const notReady = (h: Handle, operation: string, tool: string | undefined): Effect.Effect<never, McpError> =>
  Effect.fail(
    new McpError({
      reason: h.status === "disabled" ? "Disabled" : "NotReady",
      server: h.config.name,
      operation,
      ...(tool === undefined ? {} : { tool }),
      detail: `server is ${h.status}${h.error === undefined ? "" : ` (${h.error})`}`
    })
  )
