/**
 * @internal
 *
 * The MCP manager: per-server connection lifecycle (connect, supervise and
 * restart, stop), the bridged tool index and tool calls. One connection's
 * records and requests live in `./connection.ts`, resources and prompts in
 * `./catalog.ts`, `startAll` in `./startup.ts`, lifecycle tasks in
 * `./tasks.ts`, the bridged tool index in `./toolIndex.ts`.
 *
 * (Somewhat over 600 lines: connecting, supervising, re-initializing and
 * calling all read and write the same per-server handle under its lock, and
 * closing over it here keeps those transitions in one place.)
 */
import type { RequestOptions } from "@modelcontextprotocol/sdk/shared/protocol.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import type { Tool as SdkTool } from "@modelcontextprotocol/sdk/types.js"
import type * as Mcp from "@strata/protocol/Mcp"
import type { ToolOutput } from "@strata/protocol/Tool"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { McpConfig } from "../McpConfig.js"
import { McpError } from "../McpError.js"
import type { McpEvent } from "../McpEvents.js"
import type { CallOptions, Collaborators, Service } from "../McpManager.js"
import { StdioTransport } from "../McpTransport.js"
import { makeCatalog } from "./catalog.js"
import {
  CLIENT_INFO,
  type Conn,
  describe,
  fmtMillis,
  type Handle,
  isParseError,
  isRecord,
  type Kind,
  listTools,
  loadedSdk,
  loadSdk,
  notReady,
  request,
  type Status,
  tail
} from "./connection.js"
import { toolOutput } from "./content.js"
import { makeStartAll } from "./startup.js"
import { makeTasks } from "./tasks.js"
import { makeToolIndex } from "./toolIndex.js"

/** @internal */
export const make = (
  config: McpConfig,
  collaborators: Collaborators = {}
): Effect.Effect<Service, never, Scope.Scope | StdioTransport> =>
  Effect.gen(function* () {
    const stdio = yield* StdioTransport
    const sink = Option.fromNullable(collaborators.events)
    const elicitation = Option.fromNullable(collaborators.elicitation)
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

    const toolIndex = makeToolIndex(handles)
    const reindex = toolIndex.reindex

    const emitTools = (h: Handle): Effect.Effect<void> =>
      Effect.suspend(() =>
        emit({
          _tag: "ToolsChanged",
          server_name: h.config.name,
          tools: toolIndex
            .list()
            .filter((t) => t.server === h.config.name)
            .map((t) => t.name)
        })
      )

    // ---- connections --------------------------------------------------------------------------

    const closeConn = (conn: Conn, terminate: boolean): Effect.Effect<void> =>
      Effect.uninterruptible(
        Effect.gen(function* () {
          conn.closing = true
          conn.ready = false
          const t = conn.transport
          const sdk = loadedSdk()
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
      const { Client, ElicitRequestSchema, ToolListChangedNotificationSchema } = loadedSdk()!
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
          const params = req.params as {
            message: string
            requestedSchema?: Record<string, unknown>
          }
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
              (e) =>
                new McpError({
                  ...e,
                  detail: `${e.detail} (streamable HTTP failed first: ${first.detail})`
                })
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

    const { startTaskLocked, runTask } = makeTasks(runFork)

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
              detail: `no configured server named "${server}" (configured: ${
                handles.map((x) => x.config.name).join(", ") || "none"
              })`
            })
          )
        : Effect.succeed(h)
    }

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
      const entry = toolIndex.get(name)
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

    const { listResources, listResourceTemplates, readResource, listPrompts, getPrompt } = makeCatalog({
      handles,
      lookup,
      run,
      timeoutOf
    })

    // ---- lifecycle ----------------------------------------------------------------------------

    const startAll = makeStartAll({
      handles,
      emit,
      setStatus,
      runTask,
      connectAndInstall
    })

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
      tools: Effect.sync(() => toolIndex.list()),
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
