/**
 * The platform port for stdio servers. Spawning a process is the one thing
 * the manager cannot do portably, so it asks the {@link StdioTransport}
 * service for an SDK transport. `@strata/mcp/stdio` provides it on Node,
 * Bun and Deno (the SDK's `StdioClientTransport`, `node:child_process`
 * inside); {@link layerUnsupported} is for platforms without processes.
 *
 * HTTP servers need no port: the SDK's streamable HTTP and SSE transports
 * use `fetch`.
 *
 * @since 0.1.0
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { StdioServerConfig } from "./McpConfig.js"
import { McpError } from "./McpError.js"

/**
 * A not-yet-started SDK transport for one stdio server. `pid` is known once
 * the client has started the transport; `stderr` returns the last lines the
 * process wrote to stderr (for error messages).
 *
 * @since 0.1.0
 * @category models
 */
export interface StdioHandle {
  readonly transport: Transport
  readonly pid: () => number | undefined
  readonly stderr: () => string
}

/**
 * @since 0.1.0
 * @category tags
 */
export class StdioTransport extends Context.Tag("@strata/mcp/StdioTransport")<
  StdioTransport,
  { readonly make: (config: StdioServerConfig) => Effect.Effect<StdioHandle, McpError> }
>() {}

/**
 * A {@link StdioTransport} for platforms that cannot spawn processes: every
 * stdio server fails to start with an `Unsupported` error; HTTP servers work.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerUnsupported: Layer.Layer<StdioTransport> = Layer.succeed(StdioTransport, {
  make: (config) =>
    Effect.fail(
      new McpError({
        reason: "Unsupported",
        server: config.name,
        operation: "initialize",
        detail: "stdio servers need a process-spawning platform: provide the layer from @strata/mcp/stdio"
      })
    )
})
