/**
 * The errors of `@strata/mcp`. Each carries a `reason`, the server (and
 * field or tool) it is about, and a one-line `message`.
 *
 * @since 0.1.0
 */

import { McpStartupCompleteEvent } from "@strata/protocol/Mcp"
import * as Schema from "effect/Schema"

/**
 * Why a server configuration was rejected:
 * - `InvalidField`: a field has the wrong type or value
 * - `MissingField`: a required field is absent (`command` or `url`)
 * - `UnknownField`: a key that no server config has (a typo)
 * - `Conflict`: two settings that cannot go together (`command` and `url`,
 *   or two server names that sanitize to the same tool prefix)
 *
 * @since 0.1.0
 * @category errors
 */
export const McpConfigErrorReason = Schema.Literal("InvalidField", "MissingField", "UnknownField", "Conflict")

/**
 * A server configuration that does not decode. `server` is the server's
 * name (absent for errors about the whole config), `field` the field path
 * inside it (`startup_timeout`, `args[1]`, `restart.max_attempts`).
 *
 * @since 0.1.0
 * @category errors
 */
export class McpConfigError extends Schema.TaggedError<McpConfigError>("@strata/mcp/McpConfigError")("McpConfigError", {
  reason: McpConfigErrorReason,
  server: Schema.optional(Schema.String),
  field: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    const where = this.server === undefined ? "" : `server "${this.server}": `
    const field = this.field === "" ? "" : `${this.field}: `
    return `Invalid MCP config: ${where}${field}${this.detail}`
  }
}

/**
 * Why an MCP operation failed:
 * - `UnknownServer` / `UnknownTool`: no such configured server / bridged tool
 * - `InvalidArguments`: tool arguments that are not a JSON object
 * - `NotReady`: the server is not connected (stopped, failed, restarting)
 * - `Disabled`: the server is disabled in the config
 * - `Unsupported`: the server did not advertise the capability, or the
 *   platform has no stdio transport
 * - `Timeout`: the call (or startup) exceeded its timeout; the server was sent
 *   `notifications/cancelled`
 * - `ConnectionClosed`: the server exited or the connection dropped mid-call
 * - `Protocol`: the server broke the protocol (garbage on stdout, an invalid
 *   result)
 * - `ServerError`: the server answered with a JSON-RPC error
 * - `Transport`: spawning or reaching the server failed (ENOENT, ECONNREFUSED,
 *   an HTTP error status)
 *
 * @since 0.1.0
 * @category errors
 */
export const McpErrorReason = Schema.Literal(
  "UnknownServer",
  "UnknownTool",
  "InvalidArguments",
  "NotReady",
  "Disabled",
  "Unsupported",
  "Timeout",
  "ConnectionClosed",
  "Protocol",
  "ServerError",
  "Transport"
)
/** @since 0.1.0 @category errors */
export type McpErrorReason = typeof McpErrorReason.Type

/**
 * A failed MCP operation on one server. `operation` is the MCP method
 * (`initialize`, `tools/call`, `resources/read`, ...), `tool` the server's
 * own tool name for `tools/call`, `code` the JSON-RPC or HTTP status code
 * when there is one.
 *
 * @since 0.1.0
 * @category errors
 */
export class McpError extends Schema.TaggedError<McpError>("@strata/mcp/McpError")("McpError", {
  reason: McpErrorReason,
  server: Schema.String,
  operation: Schema.String,
  tool: Schema.optional(Schema.String),
  code: Schema.optional(Schema.Number),
  detail: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    const server = this.server === "" ? "" : `server "${this.server}" `
    const tool = this.tool === undefined ? "" : ` ${this.tool}`
    return `MCP ${this.reason}: ${server}${this.operation}${tool}: ${this.detail}`
  }
}

/**
 * `startAll` ended with at least one `required` server not ready. The
 * startup events and the summary were emitted before this error.
 *
 * @since 0.1.0
 * @category errors
 */
export class McpStartupError extends Schema.TaggedError<McpStartupError>("@strata/mcp/McpStartupError")(
  "McpStartupError",
  {
    servers: Schema.Array(Schema.String),
    summary: McpStartupCompleteEvent
  }
) {
  override get message(): string {
    const details = this.servers.map((name) => {
      const failure = this.summary.failed.find((f) => f.server_name === name)
      return failure === undefined ? `${name} (cancelled)` : `${name} (${failure.error})`
    })
    return `Required MCP server(s) did not start: ${details.join("; ")}`
  }
}
