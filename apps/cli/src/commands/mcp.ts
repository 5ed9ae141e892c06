/**
 * `strata mcp list | status | restart <server>`: the configured MCP servers;
 * `status` starts them, showing each server's progress as it happens.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import { Runtime } from "@strata/core-runtime"
import { McpManager } from "@strata/mcp/McpManager"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { json, print, processOptions } from "../common.js"
import * as Distribution from "../Distribution.js"

const list = Command.make("list", { json }, (o) =>
  Effect.gen(function* () {
    const loaded = yield* Distribution.loadConfig(processOptions())
    const servers = Object.entries(loaded.value.mcp_servers).map(([name, server]) => ({ name, ...server }))
    yield* print(o.json, servers, (ss) =>
      ss.length === 0
        ? "no MCP servers configured ([mcp_servers.<name>] in .strata/config.toml)"
        : ss
            .map((s) =>
              "command" in s && s.command !== undefined
                ? `${s.name}  stdio  ${[s.command, ...(s.args ?? [])].join(" ")}`
                : `${s.name}  http   ${"url" in s ? s.url : ""}`
            )
            .join("\n")
    )
  })
).pipe(Command.withDescription("List the configured MCP servers"))

const status = Command.make("status", { json }, (o) =>
  Distribution.session(
    processOptions(),
    () =>
      Effect.gen(function* () {
        const rt = yield* Runtime.Runtime
        const manager = yield* McpManager
        const progress = yield* manager.events.pipe(
          Stream.runForEach((event) =>
            o.json || event._tag !== "StartupUpdate"
              ? Effect.void
              : Effect.sync(() =>
                  process.stderr.write(
                    `  ${event.update.server_name}: ${event.update.status}${event.update.error === undefined ? "" : ` (${event.update.error})`}\n`
                  )
                )
          ),
          Effect.fork
        )
        const summary = yield* Effect.scoped(rt.mcpStartup)
        yield* Effect.yieldNow()
        yield* Fiber.interrupt(progress)
        const servers = yield* manager.status
        yield* print(o.json, { summary, servers }, (v) =>
          v.servers.length === 0
            ? "no MCP servers configured"
            : v.servers
                .map(
                  (s) =>
                    `${s.server_name}  ${s.status.padEnd(9)} ${s.transport}  ${s.tools} tools${s.error === undefined ? "" : `  ${s.error}`}`
                )
                .join("\n")
        )
      }),
    { mcp: "manual" }
  )
).pipe(Command.withDescription("Start every MCP server and show its status"))

const restart = Command.make(
  "restart",
  { json, server: Args.text({ name: "server" }).pipe(Args.withDescription("The server name")) },
  (o) =>
    Distribution.session(
      processOptions(),
      () =>
        Effect.gen(function* () {
          const manager = yield* McpManager
          const result = yield* manager.restart(o.server)
          yield* print(o.json, result, (s) => `${s.server_name} ${s.status} (${s.tools} tools)`)
        }),
      { mcp: "manual" }
    )
).pipe(Command.withDescription("Restart one MCP server"))

/**
 * @since 0.1.0
 * @category commands
 */
export const mcp = Command.make("mcp").pipe(
  Command.withDescription("MCP servers: list, start and show status, restart"),
  Command.withSubcommands([list, status, restart])
)
