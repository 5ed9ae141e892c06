/**
 * MCP server startup reporting, as the seed's `mcp_startup`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { optional } from "./Common.js"

/**
 * @since 0.1.0
 * @category schemas
 */
export const McpStartupStatus = Schema.Literal("starting", "ready", "failed", "cancelled").annotations({
  identifier: "McpStartupStatus"
})
/** @since 0.1.0 @category models */
export type McpStartupStatus = typeof McpStartupStatus.Type

/**
 * Progress of one server's startup; `error` is set when `status` is `failed`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const McpStartupUpdate = Schema.Struct({
  server_name: Schema.String,
  status: McpStartupStatus,
  error: optional(Schema.String)
}).annotations({ identifier: "McpStartupUpdate" })
/** @since 0.1.0 @category models */
export type McpStartupUpdate = typeof McpStartupUpdate.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const McpStartupFailure = Schema.Struct({
  server_name: Schema.String,
  error: Schema.String
}).annotations({ identifier: "McpStartupFailure" })
/** @since 0.1.0 @category models */
export type McpStartupFailure = typeof McpStartupFailure.Type

/**
 * The one summary emitted when every server's startup has ended.
 *
 * @since 0.1.0
 * @category schemas
 */
export const McpStartupCompleteEvent = Schema.Struct({
  ready: Schema.Array(Schema.String),
  failed: Schema.Array(McpStartupFailure),
  cancelled: Schema.Array(Schema.String)
}).annotations({ identifier: "McpStartupCompleteEvent" })
/** @since 0.1.0 @category models */
export type McpStartupCompleteEvent = typeof McpStartupCompleteEvent.Type

/**
 * The live status of one configured server, for `appStatus`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const McpServerStatus = Schema.Struct({
  server_name: Schema.String,
  status: Schema.Literal("disabled", "starting", "ready", "failed", "restarting", "stopped", "cancelled"),
  transport: Schema.Literal("stdio", "streamable-http", "sse"),
  error: optional(Schema.String),
  tools: Schema.Number.pipe(Schema.int(), Schema.nonNegative()),
  restarts: Schema.Number.pipe(Schema.int(), Schema.nonNegative())
}).annotations({ identifier: "McpServerStatus" })
/** @since 0.1.0 @category models */
export type McpServerStatus = typeof McpServerStatus.Type
