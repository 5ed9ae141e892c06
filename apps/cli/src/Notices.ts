/**
 * What a session tells the person besides the turn itself: MCP servers
 * starting (`mcp: everything starting`, `mcp: everything ready (13 tools)`,
 * `mcp: broken failed: ...`) and hooks that failed without blocking (a Claude
 * Code hook that exits 1). As text on stderr (`run`) or in the chat's
 * output; with `--json`, hook failures are `{"event":"warning",...}` lines on
 * stdout and MCP progress goes to stderr as JSON lines.
 *
 * @since 0.1.0
 */
import { HookDispatcher } from "@strata/hooks/HookDispatcher"
import { McpManager } from "@strata/mcp/McpManager"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Render from "./Render.js"

/**
 * Where notices go: `text` lines to `write` (stderr for `run`, the screen
 * for the chat), or JSON lines.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly sink: Render.Sink
  readonly json: boolean
  /** Text lines go here (default: the sink's stderr). */
  readonly write?: ((text: string) => void) | undefined
}

/**
 * A `warning` line of `strata run --json` (not a thread event: no `seq`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Warning {
  readonly event: "warning"
  readonly source: "hook" | "mcp" | "config"
  readonly message: string
}

/**
 * Writes a warning: a JSON line on stdout with `--json`, else a text line.
 *
 * @since 0.1.0
 * @category utils
 */
export const warn = (options: Options, warning: Omit<Warning, "event">): void => {
  if (options.json) options.sink.out(`${JSON.stringify({ event: "warning", ...warning } satisfies Warning)}\n`)
  else (options.write ?? options.sink.err)(`${Render.dim(options.sink, `warning: ${warning.message}`)}\n`)
}

/**
 * Shows MCP startup progress and hook failures for the rest of the scope.
 * MCP servers already past `starting` when this begins (a session that
 * started them with the runtime) are shown from their status.
 *
 * @since 0.1.0
 * @category constructors
 */
export const watch = (options: Options) =>
  Effect.gen(function* () {
    const manager = yield* McpManager
    const hooks = yield* HookDispatcher
    const write = options.write ?? options.sink.err
    const shown = new Map<string, string>()
    const tools = (server: string) =>
      Effect.map(manager.status, (all) => all.find((s) => s.server_name === server)?.tools)
    const show = (server: string, status: string, error: string | undefined) =>
      Effect.gen(function* () {
        if (shown.get(server) === status) return
        shown.set(server, status)
        const count = status === "ready" ? yield* tools(server) : undefined
        if (options.json) {
          write(`${JSON.stringify({ event: "mcp_startup_update", update: { server_name: server, status, error } })}\n`)
          return
        }
        const detail = count === undefined ? "" : ` (${count} tool${count === 1 ? "" : "s"})`
        write(
          `${Render.dim(options.sink, `mcp: ${server} ${status}${detail}${error === undefined ? "" : `: ${error}`}`)}\n`
        )
      })
    const mcpEvents = yield* manager.subscribe
    // the failed hooks alone: the other activity (an event per response delta) is not published for it
    const hookEvents = yield* hooks.subscribeErrors
    for (const s of yield* manager.status) {
      if (s.status === "ready" || s.status === "failed" || s.status === "starting") {
        yield* show(s.server_name, s.status, s.error)
      }
    }
    // Plain take loops rather than streams: a stream run is a scope, a fiber and a channel
    // executor to set up and tear down, for queues that are mostly never written.
    yield* Queue.take(mcpEvents).pipe(
      Effect.flatMap((event) =>
        event._tag === "StartupUpdate"
          ? show(event.update.server_name, event.update.status, event.update.error)
          : Effect.void
      ),
      Effect.forever,
      Effect.forkScoped
    )
    yield* Queue.take(hookEvents).pipe(
      Effect.flatMap((activity) =>
        activity._tag === "HookError" && activity.on_error === "allow"
          ? Effect.sync(() =>
              warn(options, {
                source: "hook",
                message: `${activity.hook_event_name} hook ${activity.hook} failed (${activity.reason}): ${activity.message}`
              })
            )
          : Effect.void
      ),
      Effect.forever,
      Effect.forkScoped
    )
  })
