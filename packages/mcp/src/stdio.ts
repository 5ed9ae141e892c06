/**
 * `@strata/mcp/stdio`: the {@link StdioTransport} for Node, Bun and Deno,
 * on the SDK's `StdioClientTransport` (which spawns the server with
 * `node:child_process`). The only module of the package that touches a
 * process API; the manager core stays portable.
 *
 * ```ts
 * import { McpManager } from "@strata/mcp"
 * import * as McpStdio from "@strata/mcp/stdio"
 * const live = McpManager.layer(config).pipe(Layer.provide(McpStdio.layer))
 * ```
 *
 * On shutdown the SDK closes the child's stdin, then sends SIGTERM after 2 s
 * and SIGKILL after 2 s more, so no child outlives the manager's scope.
 *
 * @since 0.1.0
 */
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { McpError } from "./McpError.js"
import { type StdioHandle, StdioTransport } from "./McpTransport.js"

const STDERR_TAIL = 4096

/**
 * The stdio transport: spawns `command` with `args`, `cwd` and `env` (added
 * to the SDK's minimal inherited environment), pipes stderr into a 4 KiB
 * tail used in error messages.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<StdioTransport> = Layer.succeed(StdioTransport, {
  make: (config) =>
    Effect.try({
      try: (): StdioHandle => {
        const transport = new StdioClientTransport({
          command: config.command,
          args: [...config.args],
          env: { ...config.env },
          ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
          stderr: "pipe"
        })
        let tail = ""
        transport.stderr?.on("data", (chunk: Uint8Array | string) => {
          tail += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk)
          if (tail.length > STDERR_TAIL) tail = tail.slice(tail.length - STDERR_TAIL)
        })
        return { transport, pid: () => transport.pid ?? undefined, stderr: () => tail }
      },
      catch: (cause) =>
        new McpError({
          reason: "Transport",
          server: config.name,
          operation: "initialize",
          detail: `cannot create the stdio transport: ${String(cause)}`,
          cause
        })
    })
})
