/** @internal */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import type { RequestOptions } from "@modelcontextprotocol/sdk/shared/protocol.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import type { Tool as SdkTool } from "@modelcontextprotocol/sdk/types.js"
import type * as Mcp from "@strata/protocol/Mcp"
import type { ContentPart, ToolOutput } from "@strata/protocol/Tool"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { McpConfig, ServerConfig } from "../McpConfig.js"
import { McpError, type McpErrorReason, McpStartupError } from "../McpError.js"
import { type McpEvent, McpEvents } from "../McpEvents.js"
import type {
  CallOptions,
  McpPrompt,
  McpPromptResult,
  McpResource,
  McpResourceTemplate,
  McpTool,
  Service
} from "../McpManager.js"
import { McpElicitation } from "../McpManager.js"
import { assign } from "../McpToolName.js"
import { StdioTransport } from "../McpTransport.js"
import { contentPart, resourceContents, toolOutput } from "./content.js"

type Status = Mcp.McpServerStatus["status"]
type Kind = Mcp.McpServerStatus["transport"]

/** The SDK, once the first connection loaded it (see `./sdk.ts`). */
let sdk: typeof import("./sdk.js") | undefined
const loadSdk: Effect.Effect<typeof import("./sdk.js")> = Effect.suspend(() =>
  sdk !== undefined
    ? Effect.succeed(sdk)
    : Effect.promise(() => import("./sdk.js")).pipe(
        Effect.tap((m) => {
          sdk = m
        })
      )
)

/** One live (or starting) client connection to a server. */
interface Conn {
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

interface Task {
  readonly key: string
  fiber: Fiber.RuntimeFiber<any, any> | undefined
}

interface Handle {
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

interface Bridged {
  readonly handle: Handle
  readonly tool: SdkTool
  readonly bridged: McpTool
}

type StartupResult =
  | { readonly status: "ready" }
  | { readonly status: "failed"; readonly error: string }
  | {
      readonly status: "cancelled"
    }

const CLIENT_INFO = { name: "strata", version: "0.1.0" }

/**
 * The part of `AbortSignal` the SDK's `Protocol.request` uses (`aborted`,
 * `reason`, `throwIfAborted`, one `abort` listener). A real `AbortController`
 * plus the SDK's `addEventListener` costs about 8 µs per call on Node 20
 * (EventTarget), a fifth of a whole stdio round trip; this costs nothing.
 * The SDK never hands the request signal to `fetch` or a transport (checked
 * for the pinned 1.32.2); the cancellation tests fail if that changes.
 */
class CancelSignal {
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
const MAX_PAGES = 1000

const fmtMillis = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`)

const tail = (stderr: string): string => {
  const lines = stderr.trim().split("\n").slice(-5).join(" | ")
  return lines === "" ? "" : `; stderr: ${lines.length > 600 ? lines.slice(-600) : lines}`
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const isParseError = (error: unknown): boolean =>
  error instanceof SyntaxError ||
  (error instanceof Error && error.name === "ZodError") ||
  (isRecord(error) && "issues" in error)

const allowed = (config: ServerConfig, name: string): boolean =>
  !config.disabled_tools.includes(name) && (config.enabled_tools === undefined || config.enabled_tools.includes(name))

const describe = (cause: unknown): string => {
  if (cause instanceof Error) {
    const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : ""
    return `${cause.message}${inner}`
  }
  return String(cause)
}

/** Converts whatever the SDK rejected with into a typed error, at the border. */
const toMcpError = (
  server: string,
  conn: Conn | undefined,
  operation: string,
  tool: string | undefined,
  timeoutMs: number,
  cause: unknown
): McpError => {
  if (cause instanceof McpError) return cause
  const base = { server, operation, ...(tool === undefined ? {} : { tool }), cause }
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
    return new McpError({ ...base, reason: "ServerError", code: cause.code, detail: cause.message })
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
    return new McpError({ ...base, reason: "Protocol", detail: `invalid message: ${describe(cause)}` })
  return new McpError({
    ...base,
    reason: "Transport",
    detail: `${describe(cause)}${conn === undefined ? "" : tail(conn.stderr())}`
  })
}

/** @internal */
export const make = (config: McpConfig): Effect.Effect<Service, never, Scope.Scope | StdioTransport> =>
  Effect.gen(function* () {
    const stdio = yield* StdioTransport
    const sink = yield* Effect.serviceOption(McpEvents)
    const elicitation = yield* Effect.serviceOption(McpElicitation)
    const pubsub = yield* Effect.acquireRelease(PubSub.unbounded<McpEvent>(), PubSub.shutdown)
    const runFork = yield* FiberSet.makeRuntime<never>()
    const runPromise = yield* FiberSet.makeRuntimePromise<never>()
    const policy = config.restart
    let shuttingDown = false
    let generations = 0

    const handles: ReadonlyArray<Handle> = yield* Effect.forEach(config.servers, (server) =>
      Effect.map(
        Effect.makeSemaphore(1),
        (lock): Handle => ({
          config: server,
          lock,
          status: server.enabled ? "stopped" : "disabled",
          error: undefined,
          restarts: 0,
          attempts: 0,
          kind: server.transport === "stdio" ? "stdio" : server.transport === "sse" ? "sse" : "streamable-http",
          conn: undefined,
          task: undefined
        })
      )
    )
    const byName = new Map(handles.map((h) => [h.config.name, h]))

    // ---- events -------------------------------------------------------------------------------

    const sinkEmit: (event: McpEvent) => Effect.Effect<void> = Option.match(sink, {
      onNone: () => () => Effect.void,
      onSome: (s) => (event: McpEvent) =>
        Effect.suspend(() => s.emit(event)).pipe(
          Effect.catchAllCause((cause) => Effect.logWarning("McpEvents.emit failed", cause))
        )
    })
    const emit = (event: McpEvent): Effect.Effect<void> =>
      Effect.zipRight(PubSub.publish(pubsub, event), sinkEmit(event))

    const statusOf = (h: Handle): Mcp.McpServerStatus => ({
      server_name: h.config.name,
      status: h.status,
      transport: h.kind,
      ...(h.error === undefined ? {} : { error: h.error }),
      tools: h.conn?.ready === true ? h.conn.tools.length : 0,
      restarts: h.restarts
    })

    const setStatus = (h: Handle, status: Status, error?: string): Effect.Effect<void> =>
      Effect.suspend(() => {
        h.status = status
        h.error = error
        return emit({ _tag: "StatusChanged", status: statusOf(h) })
      })

    // ---- tool index ---------------------------------------------------------------------------

    let index = new Map<string, Bridged>()
    let bridged: ReadonlyArray<McpTool> = []

    const reindex = (): void => {
      const refs: Array<{ handle: Handle; tool: SdkTool }> = []
      for (const handle of handles) {
        if (handle.conn?.ready === true) for (const tool of handle.conn.tools) refs.push({ handle, tool })
      }
      const names = assign(refs.map((r) => ({ server: r.handle.config.name, tool: r.tool.name })))
      const next = new Map<string, Bridged>()
      const list: Array<McpTool> = []
      refs.forEach(({ handle, tool }, i) => {
        const t: McpTool = {
          name: names[i]!,
          server: handle.config.name,
          tool: tool.name,
          ...(tool.title === undefined ? {} : { title: tool.title }),
          ...(tool.description === undefined ? {} : { description: tool.description }),
          input_schema: tool.inputSchema,
          ...(tool.outputSchema === undefined ? {} : { output_schema: tool.outputSchema }),
          ...(tool.annotations === undefined ? {} : { annotations: tool.annotations })
        }
        next.set(t.name, { handle, tool, bridged: t })
        list.push(t)
      })
      index = next
      bridged = list
    }

    const emitTools = (h: Handle): Effect.Effect<void> =>
      Effect.suspend(() =>
        emit({
          _tag: "ToolsChanged",
          server_name: h.config.name,
          tools: bridged.filter((t) => t.server === h.config.name).map((t) => t.name)
        })
      )

    // ---- requests -----------------------------------------------------------------------------

    /**
     * One SDK request as an Effect. The SDK's own timer bounds it (and sends
     * notifications/cancelled when it fires); interrupting the fiber aborts the
     * request, which makes the SDK send notifications/cancelled too.
     */
    const request = <A>(
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
          promise = f({ signal: signal as unknown as AbortSignal, timeout: timeoutMs })
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

    const listTools = (h: Handle, conn: Conn, timeoutMs: number): Effect.Effect<ReadonlyArray<SdkTool>, McpError> =>
      request(h, conn, "tools/list", undefined, timeoutMs, async (options) => {
        const all: Array<SdkTool> = []
        let cursor: string | undefined
        let pages = 0
        do {
          const page = await conn.client.listTools(cursor === undefined ? undefined : { cursor }, options)
          all.push(...page.tools)
          cursor = page.nextCursor
        } while (cursor !== undefined && ++pages < MAX_PAGES)
        return all.filter((t) => allowed(h.config, t.name))
      })

    // ---- connections --------------------------------------------------------------------------

    const closeConn = (conn: Conn, terminate: boolean): Effect.Effect<void> =>
      Effect.uninterruptible(
        Effect.gen(function* () {
          conn.closing = true
          conn.ready = false
          const t = conn.transport
          if (
            terminate &&
            sdk !== undefined &&
            t instanceof sdk.StreamableHTTPClientTransport &&
            t.sessionId !== undefined
          ) {
            yield* Effect.tryPromise(() => t.terminateSession()).pipe(Effect.timeout("1 second"), Effect.ignore)
          }
          yield* Effect.tryPromise(() => conn.client.close()).pipe(Effect.ignore)
        })
      )

    const onGarbage = (h: Handle, conn: Conn, error: unknown): Effect.Effect<void> =>
      Effect.suspend(() => {
        const detail = `server wrote invalid JSON-RPC to stdout: ${describe(error)}`
        if (!conn.ready || h.conn !== conn) return Effect.logDebug(`MCP ${h.config.name}: ${detail}`)
        for (const fail of [...conn.inflight]) fail("Protocol", detail)
        return setStatus(h, h.status, detail)
      })

    const refresh = (h: Handle, conn: Conn): Effect.Effect<void> =>
      Effect.gen(function* () {
        if (!conn.ready) {
          conn.dirty = true
          return
        }
        if (conn.refreshing) {
          conn.refreshAgain = true
          return
        }
        conn.refreshing = true
        try {
          do {
            conn.refreshAgain = false
            const tools = yield* Effect.either(listTools(h, conn, Duration.toMillis(h.config.tool_timeout)))
            if (h.conn !== conn || !conn.ready) return
            if (tools._tag === "Left") {
              yield* Effect.logWarning(`MCP ${h.config.name}: refreshing tools failed: ${tools.left.message}`)
              return
            }
            conn.tools = tools.right
            reindex()
            yield* emitTools(h)
            yield* setStatus(h, h.status, h.error)
          } while (conn.refreshAgain)
        } finally {
          conn.refreshing = false
        }
      })

    /** Marks a live connection dead (exit, drop), then supervises the restart. */
    const markDropped = (h: Handle, conn: Conn, reason: string): Effect.Effect<void> =>
      h.lock.withPermits(1)(
        Effect.gen(function* () {
          if (shuttingDown || h.conn !== conn) return
          h.conn = undefined
          if (Date.now() - conn.connectedAt >= Duration.toMillis(policy.reset_after)) h.attempts = 0
          reindex()
          runFork(closeConn(conn, false))
          yield* setStatus(h, "failed", reason)
          yield* emitTools(h)
          yield* startTaskLocked(h, "supervise", supervise(h))
        })
      )

    const makeConn = (
      h: Handle,
      kind: Kind,
      transport: Transport,
      pid: () => number | undefined,
      stderr: () => string
    ): Conn => {
      const { Client, ElicitRequestSchema, ToolListChangedNotificationSchema } = sdk!
      const client = new Client(CLIENT_INFO, {
        capabilities: Option.isSome(elicitation) ? { elicitation: { form: { applyDefaults: true } } } : {}
      })
      const conn: Conn = {
        client,
        transport,
        kind,
        generation: ++generations,
        pid,
        stderr,
        tools: [],
        ready: false,
        closing: false,
        closed: false,
        dirty: false,
        refreshing: false,
        refreshAgain: false,
        connectedAt: 0,
        inflight: new Set()
      }
      client.onclose = () => {
        conn.closed = true
        if (!conn.closing && conn.ready) {
          const why = kind === "stdio" ? `server exited${tail(stderr())}` : "connection closed"
          runFork(markDropped(h, conn, why))
        }
      }
      client.onerror = (error) => {
        if (kind === "stdio" && isParseError(error)) runFork(onGarbage(h, conn, error))
      }
      client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
        runFork(refresh(h, conn))
      })
      if (Option.isSome(elicitation)) {
        const handler = elicitation.value
        client.setRequestHandler(ElicitRequestSchema, (req) => {
          const params = req.params as { message: string; requestedSchema?: Record<string, unknown> }
          return runPromise(
            Effect.map(
              handler.elicit({
                server: h.config.name,
                message: params.message,
                requested_schema: params.requestedSchema ?? {}
              }),
              (r) => ({
                action: r.action,
                ...(r.content === undefined ? {} : { content: { ...r.content } as Record<string, string> })
              })
            )
          )
        })
      }
      return conn
    }

    /** Connects one transport: initialize, then tools/list. Closes the client unless it succeeds. */
    const connectWith = (
      h: Handle,
      kind: Kind,
      transport: Transport,
      pid: () => number | undefined = () => undefined,
      stderr: () => string = () => ""
    ): Effect.Effect<Conn, McpError> =>
      Effect.suspend(() => {
        const conn = makeConn(h, kind, transport, pid, stderr)
        const startupMs = Duration.toMillis(h.config.startup_timeout)
        // The SDK's own timer is a backstop; connectAndInstall's timeout is the one that fires.
        return request(h, conn, "initialize", undefined, startupMs + 1000, (options) =>
          conn.client.connect(transport, options)
        ).pipe(
          Effect.zipRight(
            Effect.suspend(() =>
              conn.client.getServerCapabilities()?.tools === undefined
                ? Effect.succeed<ReadonlyArray<SdkTool>>([])
                : listTools(h, conn, startupMs + 1000)
            )
          ),
          Effect.map((tools) => {
            conn.tools = tools
            return conn
          }),
          Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : closeConn(conn, false)))
        )
      })

    const open = (h: Handle): Effect.Effect<Conn, McpError> =>
      Effect.flatMap(loadSdk, ({ SSEClientTransport, StreamableHTTPClientTransport }) => {
        const cfg = h.config
        if (cfg.transport === "stdio") {
          return Effect.flatMap(stdio.make(cfg), (s) => connectWith(h, "stdio", s.transport, s.pid, s.stderr))
        }
        const url = new URL(cfg.url)
        const requestInit = { headers: { ...cfg.headers } }
        const sse = () => connectWith(h, "sse", new SSEClientTransport(url, { requestInit }))
        if (cfg.transport === "sse") return sse()
        const streamable = connectWith(h, "streamable-http", new StreamableHTTPClientTransport(url, { requestInit }))
        if (cfg.transport === "streamable-http") return streamable
        // The fallback the spec describes for servers that predate streamable HTTP:
        // a 4xx to the initialize POST means "try the legacy SSE transport".
        return Effect.catchIf(
          streamable,
          (e) => e.reason === "Transport" && e.code !== undefined && e.code >= 400 && e.code < 500,
          (first) =>
            Effect.mapError(
              sse(),
              (e) => new McpError({ ...e, detail: `${e.detail} (streamable HTTP failed first: ${first.detail})` })
            )
        )
      })

    const install = (h: Handle, conn: Conn): Effect.Effect<Conn, McpError> =>
      Effect.suspend(() => {
        if (conn.closed) {
          return Effect.zipRight(
            closeConn(conn, false),
            Effect.fail(
              new McpError({
                reason: "ConnectionClosed",
                server: h.config.name,
                operation: "initialize",
                detail: `server exited right after initialize${tail(conn.stderr())}`
              })
            )
          )
        }
        conn.ready = true
        conn.connectedAt = Date.now()
        h.conn = conn
        h.kind = conn.kind
        reindex()
        if (conn.dirty) runFork(refresh(h, conn))
        return Effect.as(Effect.zipRight(emitTools(h), setStatus(h, "ready")), conn)
      })

    /** Opens and installs a connection within the startup timeout; atomic with respect to interruption. */
    const connectAndInstall = (h: Handle): Effect.Effect<Conn, McpError> =>
      Effect.uninterruptibleMask((restore) =>
        restore(
          open(h).pipe(
            Effect.timeoutFail({
              duration: h.config.startup_timeout,
              onTimeout: () =>
                new McpError({
                  reason: "Timeout",
                  server: h.config.name,
                  operation: "initialize",
                  detail: `not ready within ${fmtMillis(Duration.toMillis(h.config.startup_timeout))}`
                })
            })
          )
        ).pipe(Effect.flatMap((conn) => install(h, conn)))
      )

    // ---- tasks: at most one lifecycle fiber per server ----------------------------------------

    const startTaskLocked = <A, E>(h: Handle, key: string, effect: Effect.Effect<A, E>): Effect.Effect<Task> =>
      Effect.gen(function* () {
        const previous = h.task
        if (previous?.fiber !== undefined) yield* Fiber.interrupt(previous.fiber)
        const task: Task = { key, fiber: undefined }
        h.task = task
        task.fiber = runFork(
          Effect.ensuring(
            effect,
            Effect.sync(() => {
              if (h.task === task) h.task = undefined
            })
          )
        )
        return task
      })

    /**
     * Runs `effect` as the server's lifecycle task (interrupting the previous one, unless
     * `share` and a task with the same key is running: then it is joined) and awaits its exit.
     * With `propagateInterrupt`, interrupting the caller interrupts the task. A `guard` that
     * is false under the lock (the server was stopped meanwhile) starts nothing: interrupted.
     */
    const runTask = <A>(
      h: Handle,
      key: string,
      effect: Effect.Effect<A, McpError>,
      options: {
        readonly share: boolean
        readonly propagateInterrupt: boolean
        readonly guard?: () => boolean
      }
    ): Effect.Effect<Exit.Exit<A, McpError>> =>
      Effect.gen(function* () {
        const task = yield* h.lock.withPermits(1)(
          Effect.suspend(() =>
            options.share && h.task?.key === key && h.task.fiber !== undefined
              ? Effect.succeed(h.task)
              : options.guard === undefined || options.guard()
                ? startTaskLocked(h, key, effect)
                : Effect.succeed(undefined)
          )
        )
        if (task === undefined) return Exit.interrupt(FiberId.none)
        const fiber = task.fiber as Fiber.RuntimeFiber<A, McpError>
        return yield* options.propagateInterrupt
          ? Effect.onInterrupt(Fiber.await(fiber), () => Fiber.interrupt(fiber))
          : Fiber.await(fiber)
      })

    const supervise = (h: Handle): Effect.Effect<void> =>
      Effect.gen(function* () {
        while (true) {
          if (h.attempts >= policy.max_attempts) {
            yield* setStatus(h, "failed", `gave up after ${policy.max_attempts} restart attempt(s): ${h.error ?? ""}`)
            return
          }
          const delay = Math.min(
            Duration.toMillis(policy.initial_delay) * policy.factor ** h.attempts,
            Duration.toMillis(policy.max_delay)
          )
          yield* Effect.sleep(Duration.millis(delay))
          h.attempts++
          h.restarts++
          yield* setStatus(h, "restarting", h.error)
          const exit = yield* Effect.exit(connectAndInstall(h))
          if (Exit.isSuccess(exit)) return
          yield* setStatus(
            h,
            "failed",
            Cause.squash(exit.cause) instanceof McpError
              ? (Cause.squash(exit.cause) as McpError).message
              : Cause.pretty(exit.cause)
          )
        }
      })

    /** Replaces a streamable HTTP connection whose session the server no longer knows. */
    const reinitialize = (h: Handle, conn: Conn): Effect.Effect<Conn, McpError> =>
      Effect.flatten(
        runTask(
          h,
          `reinit:${conn.generation}`,
          Effect.gen(function* () {
            if (h.conn !== conn) {
              const current = h.conn
              if (current?.ready === true) return current
              return yield* notReady(h, "initialize", undefined)
            }
            h.conn = undefined
            reindex()
            yield* closeConn(conn, false)
            h.restarts++
            yield* setStatus(h, "restarting", "session not found: re-initializing")
            return yield* connectAndInstall(h).pipe(Effect.tapError((e) => setStatus(h, "failed", e.message)))
          }),
          { share: true, propagateInterrupt: false }
        )
      )

    // ---- calls --------------------------------------------------------------------------------

    const lookup = (server: string, operation: string): Effect.Effect<Handle, McpError> => {
      const h = byName.get(server)
      return h === undefined
        ? Effect.fail(
            new McpError({
              reason: "UnknownServer",
              server,
              operation,
              detail: `no configured server named "${server}" (configured: ${handles.map((x) => x.config.name).join(", ") || "none"})`
            })
          )
        : Effect.succeed(h)
    }

    const notReady = (h: Handle, operation: string, tool: string | undefined): Effect.Effect<never, McpError> =>
      Effect.fail(
        new McpError({
          reason: h.status === "disabled" ? "Disabled" : "NotReady",
          server: h.config.name,
          operation,
          ...(tool === undefined ? {} : { tool }),
          detail: `server is ${h.status}${h.error === undefined ? "" : ` (${h.error})`}`
        })
      )

    const onCallFailed = (h: Handle, conn: Conn, e: McpError): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (conn.kind !== "stdio" && e.reason === "Transport" && e.code === undefined && conn.ready) {
          runFork(markDropped(h, conn, e.detail))
        }
        return emit({
          _tag: "CallFailed",
          server_name: h.config.name,
          operation: e.operation,
          ...(e.tool === undefined ? {} : { tool: e.tool }),
          reason: e.reason,
          error: e.message
        })
      })

    const run = <A>(
      h: Handle,
      operation: string,
      tool: string | undefined,
      timeoutMs: number,
      f: (conn: Conn, options: RequestOptions) => Promise<A>
    ): Effect.Effect<A, McpError> =>
      Effect.suspend(() => {
        const conn = h.conn
        if (conn === undefined || !conn.ready) return notReady(h, operation, tool)
        return request(h, conn, operation, tool, timeoutMs, (options) => f(conn, options)).pipe(
          Effect.catchIf(
            (e) => conn.kind === "streamable-http" && e.reason === "Transport" && e.code === 404,
            () =>
              Effect.flatMap(reinitialize(h, conn), (fresh) =>
                request(h, fresh, operation, tool, timeoutMs, (options) => f(fresh, options))
              )
          ),
          Effect.tapError((e) => onCallFailed(h, conn, e))
        )
      })

    const timeoutOf = (h: Handle, options: CallOptions | undefined): number =>
      options?.timeout === undefined
        ? Duration.toMillis(h.config.tool_timeout)
        : Duration.toMillis(Duration.decode(options.timeout))

    const callOn = (h: Handle, tool: string, args: unknown, options: CallOptions | undefined) => {
      if (args !== undefined && !isRecord(args)) {
        return Effect.fail(
          new McpError({
            reason: "InvalidArguments",
            server: h.config.name,
            operation: "tools/call",
            tool,
            detail: `arguments must be a JSON object, got ${Array.isArray(args) ? "an array" : typeof args}`
          })
        )
      }
      return Effect.map(
        run(h, "tools/call", tool, timeoutOf(h, options), (conn, opts) =>
          conn.client.callTool({ name: tool, arguments: (args ?? {}) as Record<string, unknown> }, undefined, opts)
        ),
        (result): ToolOutput => toolOutput(result as Record<string, unknown>)
      )
    }

    // The two call methods are not traced: the runtime wraps every tool call in its own span, and
    // a second one here would cost about 5 µs per call (an eighth of a stdio round trip).
    const callTool = (name: string, args?: unknown, options?: CallOptions): Effect.Effect<ToolOutput, McpError> => {
      const entry = index.get(name)
      if (entry === undefined) {
        return Effect.fail(
          new McpError({
            reason: "UnknownTool",
            server: "",
            operation: "tools/call",
            tool: name,
            detail: `no bridged tool named "${name}"`
          })
        )
      }
      return callOn(entry.handle, entry.tool.name, args, options)
    }

    const callServerTool = (
      server: string,
      tool: string,
      args?: unknown,
      options?: CallOptions
    ): Effect.Effect<ToolOutput, McpError> =>
      Effect.flatMap(lookup(server, "tools/call"), (h) => callOn(h, tool, args, options))

    /** Servers to list from: the named one (which must have the capability) or every ready one that has it. */
    const targets = (
      server: string | undefined,
      operation: string,
      capability: "resources" | "prompts"
    ): Effect.Effect<ReadonlyArray<Handle>, McpError> => {
      const has = (h: Handle) => h.conn?.client.getServerCapabilities()?.[capability] !== undefined
      if (server === undefined) return Effect.succeed(handles.filter((h) => h.conn?.ready === true && has(h)))
      return Effect.flatMap(lookup(server, operation), (h) => {
        if (h.conn?.ready !== true) return notReady(h, operation, undefined)
        if (!has(h)) {
          return Effect.fail(
            new McpError({ reason: "Unsupported", server, operation, detail: `the server has no ${capability}` })
          )
        }
        return Effect.succeed([h])
      })
    }

    const listEach = <A>(
      server: string | undefined,
      operation: string,
      capability: "resources" | "prompts",
      one: (h: Handle) => Effect.Effect<ReadonlyArray<A>, McpError>
    ): Effect.Effect<ReadonlyArray<A>, McpError> =>
      Effect.flatMap(targets(server, operation, capability), (hs) =>
        Effect.map(
          Effect.forEach(
            hs,
            (h) =>
              server === undefined
                ? Effect.catchAll(one(h), (e) =>
                    Effect.as(Effect.logWarning(`MCP ${h.config.name}: ${e.message}`), [] as ReadonlyArray<A>)
                  )
                : one(h),
            { concurrency: "unbounded" }
          ),
          (lists) => lists.flat()
        )
      )

    const paged = async <T>(
      fetchPage: (
        cursor: string | undefined
      ) => Promise<{ readonly nextCursor?: string | undefined; readonly items: ReadonlyArray<T> }>
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

    const opt = <K extends string>(key: K, value: unknown): { [P in K]?: string } =>
      (typeof value === "string" ? { [key]: value } : {}) as { [P in K]?: string }

    const listResources = Effect.fn("McpManager.listResources")((server?: string) =>
      listEach(server, "resources/list", "resources", (h) =>
        run(h, "resources/list", undefined, timeoutOf(h, undefined), (conn, options) =>
          paged(async (cursor) => {
            const r = await conn.client.listResources(cursor === undefined ? undefined : { cursor }, options)
            return { nextCursor: r.nextCursor, items: r.resources }
          })
        ).pipe(
          Effect.map((items) =>
            items.map(
              (r): McpResource => ({
                server: h.config.name,
                uri: r.uri,
                name: r.name,
                ...opt("title", r.title),
                ...opt("description", r.description),
                ...opt("mime_type", r.mimeType)
              })
            )
          )
        )
      )
    )

    const listResourceTemplates = Effect.fn("McpManager.listResourceTemplates")((server?: string) =>
      listEach(server, "resources/templates/list", "resources", (h) =>
        run(h, "resources/templates/list", undefined, timeoutOf(h, undefined), (conn, options) =>
          paged(async (cursor) => {
            const r = await conn.client.listResourceTemplates(cursor === undefined ? undefined : { cursor }, options)
            return { nextCursor: r.nextCursor, items: r.resourceTemplates }
          })
        ).pipe(
          Effect.map((items) =>
            items.map(
              (r): McpResourceTemplate => ({
                server: h.config.name,
                uri_template: r.uriTemplate,
                name: r.name,
                ...opt("title", r.title),
                ...opt("description", r.description),
                ...opt("mime_type", r.mimeType)
              })
            )
          )
        )
      )
    )

    const readResource = Effect.fn("McpManager.readResource")((server: string, uri: string) =>
      Effect.flatMap(targets(server, "resources/read", "resources"), ([h]) =>
        run(h!, "resources/read", undefined, timeoutOf(h!, undefined), (conn, options) =>
          conn.client.readResource({ uri }, options)
        ).pipe(
          Effect.map(
            (r): ReadonlyArray<ContentPart> =>
              r.contents.map((c) => resourceContents(c as unknown as Record<string, unknown>))
          )
        )
      )
    )

    const listPrompts = Effect.fn("McpManager.listPrompts")((server?: string) =>
      listEach(server, "prompts/list", "prompts", (h) =>
        run(h, "prompts/list", undefined, timeoutOf(h, undefined), (conn, options) =>
          paged(async (cursor) => {
            const r = await conn.client.listPrompts(cursor === undefined ? undefined : { cursor }, options)
            return { nextCursor: r.nextCursor, items: r.prompts }
          })
        ).pipe(
          Effect.map((items) =>
            items.map(
              (p): McpPrompt => ({
                server: h.config.name,
                name: p.name,
                ...opt("title", p.title),
                ...opt("description", p.description),
                arguments: (p.arguments ?? []).map((a) => ({
                  name: a.name,
                  ...opt("description", a.description),
                  ...(a.required === undefined ? {} : { required: a.required })
                }))
              })
            )
          )
        )
      )
    )

    const getPrompt = Effect.fn("McpManager.getPrompt")(
      (server: string, name: string, args?: { readonly [key: string]: string }) =>
        Effect.flatMap(targets(server, "prompts/get", "prompts"), ([h]) =>
          run(h!, "prompts/get", undefined, timeoutOf(h!, undefined), (conn, options) =>
            conn.client.getPrompt({ name, ...(args === undefined ? {} : { arguments: { ...args } }) }, options)
          ).pipe(
            Effect.map(
              (r): McpPromptResult => ({
                ...opt("description", r.description),
                messages: r.messages.map((m) => ({ role: m.role, content: contentPart(m.content) }))
              })
            )
          )
        )
    )

    // ---- lifecycle ----------------------------------------------------------------------------

    const startAll: Effect.Effect<Mcp.McpStartupCompleteEvent, McpStartupError> = Effect.gen(function* () {
      const results = new Map<string, StartupResult>()
      const update = (h: Handle, status: Mcp.McpStartupStatus, error?: string) =>
        emit({
          _tag: "StartupUpdate",
          update: { server_name: h.config.name, status, ...(error === undefined ? {} : { error }) }
        })
      const summarize = (): Mcp.McpStartupCompleteEvent => {
        const ready: Array<string> = []
        const failed: Array<Mcp.McpStartupFailure> = []
        const cancelled: Array<string> = []
        for (const h of handles) {
          const r = results.get(h.config.name)
          if (r?.status === "ready") ready.push(h.config.name)
          else if (r?.status === "failed") failed.push({ server_name: h.config.name, error: r.error })
          else cancelled.push(h.config.name)
        }
        return { ready, failed, cancelled }
      }
      const startOne = (h: Handle): Effect.Effect<void> => {
        const name = h.config.name
        if (!h.config.enabled) {
          return Effect.suspend(() => {
            results.set(name, { status: "cancelled" })
            return update(h, "cancelled")
          })
        }
        if (h.conn?.ready === true) {
          return Effect.suspend(() => {
            results.set(name, { status: "ready" })
            return update(h, "ready")
          })
        }
        return Effect.gen(function* () {
          yield* update(h, "starting")
          yield* setStatus(h, "starting")
          const exit = yield* runTask(
            h,
            "start",
            connectAndInstall(h).pipe(Effect.tapError((e) => setStatus(h, "failed", e.message))),
            // Two concurrent startAll calls share one startup per server.
            { share: true, propagateInterrupt: true, guard: () => h.status === "starting" }
          )
          if (Exit.isSuccess(exit)) {
            results.set(name, { status: "ready" })
            yield* update(h, "ready")
          } else if (Cause.isInterruptedOnly(exit.cause)) {
            results.set(name, { status: "cancelled" })
            yield* update(h, "cancelled")
          } else {
            const error = Cause.squash(exit.cause)
            const message = error instanceof McpError ? error.message : Cause.pretty(exit.cause)
            results.set(name, { status: "failed", error: message })
            yield* update(h, "failed", message)
          }
        }).pipe(
          Effect.onInterrupt(() =>
            Effect.suspend(() => {
              if (results.has(name)) return Effect.void
              results.set(name, { status: "cancelled" })
              return Effect.zipRight(setStatus(h, "cancelled"), update(h, "cancelled"))
            })
          )
        )
      }
      const summary = yield* Effect.forEach(handles, startOne, { concurrency: "unbounded", discard: true }).pipe(
        Effect.onInterrupt(() => emit({ _tag: "StartupComplete", summary: summarize() })),
        Effect.map(summarize)
      )
      yield* emit({ _tag: "StartupComplete", summary })
      const missing = handles
        .filter((h) => h.config.enabled && h.config.required && !summary.ready.includes(h.config.name))
        .map((h) => h.config.name)
      if (missing.length > 0) return yield* new McpStartupError({ servers: missing, summary })
      return summary
    }).pipe(Effect.withSpan("McpManager.startAll"))

    const restart = Effect.fn("McpManager.restart")(function* (server: string) {
      const h = yield* lookup(server, "restart")
      if (!h.config.enabled) return yield* notReady(h, "restart", undefined)
      const exit = yield* runTask(
        h,
        "restart",
        Effect.gen(function* () {
          const old = h.conn
          if (old !== undefined) {
            h.conn = undefined
            reindex()
            yield* closeConn(old, true)
          }
          h.attempts = 0
          h.restarts++
          yield* setStatus(h, "restarting")
          return yield* connectAndInstall(h).pipe(Effect.tapError((e) => setStatus(h, "failed", e.message)))
        }),
        { share: false, propagateInterrupt: true }
      )
      if (Exit.isFailure(exit)) {
        const error = Cause.squash(exit.cause)
        if (error instanceof McpError) return yield* error
        return yield* notReady(h, "restart", undefined)
      }
      return statusOf(h)
    })

    const stop = Effect.fn("McpManager.stop")(function* (server: string) {
      const h = yield* lookup(server, "stop")
      yield* h.lock.withPermits(1)(
        Effect.gen(function* () {
          const task = h.task
          if (task?.fiber !== undefined) yield* Fiber.interrupt(task.fiber)
          const old = h.conn
          h.conn = undefined
          reindex()
          if (old !== undefined) yield* closeConn(old, true)
          if (h.config.enabled) yield* setStatus(h, "stopped")
          yield* emitTools(h)
        })
      )
      return statusOf(h)
    })

    const pid = Effect.fn("McpManager.pid")(function* (server: string) {
      const h = yield* lookup(server, "pid")
      return Option.fromNullable(h.conn?.pid())
    })

    yield* Effect.addFinalizer(() =>
      Effect.forEach(
        handles,
        (h) =>
          Effect.gen(function* () {
            shuttingDown = true
            const task = h.task
            if (task?.fiber !== undefined) yield* Fiber.interrupt(task.fiber)
            const conn = h.conn
            h.conn = undefined
            if (conn !== undefined) yield* closeConn(conn, true)
          }),
        { concurrency: "unbounded", discard: true }
      )
    )

    return {
      config,
      startAll,
      restart,
      stop,
      status: Effect.sync(() => handles.map(statusOf)),
      events: Stream.fromPubSub(pubsub),
      subscribe: PubSub.subscribe(pubsub),
      tools: Effect.sync(() => bridged),
      callTool,
      callServerTool,
      listResources,
      listResourceTemplates,
      readResource,
      listPrompts,
      getPrompt,
      pid
    } satisfies Service
  })
