/**
 * What the MCP manager reports while it runs: the seed's startup updates and
 * summary, every server status change, tool list changes and failed calls.
 * Every event goes to `McpManager.events` (a stream) and, when the
 * application provides one, to the {@link McpEvents} sink, which the core
 * runtime uses to forward them to its `HookDispatcher`.
 *
 * @since 0.1.0
 */

import { McpServerStatus, McpStartupCompleteEvent, McpStartupUpdate } from "@strata/protocol/Mcp"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { McpErrorReason } from "./McpError.js"

/**
 * One server's startup progress (`starting`, then `ready`, `failed` with
 * `error`, or `cancelled`), from `startAll` only.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StartupUpdate = Schema.TaggedStruct("StartupUpdate", { update: McpStartupUpdate })

/**
 * The one summary of a `startAll`, emitted after every server's last update,
 * also when `startAll` is interrupted.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StartupComplete = Schema.TaggedStruct("StartupComplete", { summary: McpStartupCompleteEvent })

/**
 * A server's status changed (status, error, tool count or restart count).
 *
 * @since 0.1.0
 * @category schemas
 */
export const StatusChanged = Schema.TaggedStruct("StatusChanged", { status: McpServerStatus })

/**
 * A server's bridged tools changed (connected, refreshed after
 * `notifications/tools/list_changed`, restarted, stopped): `tools` are the
 * qualified names (`mcp__server__tool`) it now provides.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolsChanged = Schema.TaggedStruct("ToolsChanged", {
  server_name: Schema.String,
  tools: Schema.Array(Schema.String)
})

/**
 * A call failed (timeout, connection closed, garbage output, server error).
 * The caller also gets the typed `McpError`; this is for observers.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CallFailed = Schema.TaggedStruct("CallFailed", {
  server_name: Schema.String,
  operation: Schema.String,
  tool: Schema.optionalWith(Schema.String, { exact: true }),
  reason: McpErrorReason,
  error: Schema.String
})

/**
 * Every event the manager emits.
 *
 * @since 0.1.0
 * @category schemas
 */
export const McpEvent = Schema.Union(
  StartupUpdate,
  StartupComplete,
  StatusChanged,
  ToolsChanged,
  CallFailed
).annotations({ identifier: "McpEvent" })
/** @since 0.1.0 @category models */
export type McpEvent = typeof McpEvent.Type

/**
 * A sink for manager events, passed to `McpManager.make` / `McpManager.layer`
 * as `events` (the manager does not look it up in the context): every event
 * is passed to `emit` in the fiber that produced it (so one server's events
 * stay in order and a slow sink delays only that server); failures and
 * defects of `emit` are logged and ignored. The tag carries a sink across
 * layers (`McpManager.layer(config, { events: yield* McpEvents })`).
 *
 * @since 0.1.0
 * @category tags
 */
export class McpEvents extends Context.Tag("@strata/mcp/McpEvents")<
  McpEvents,
  { readonly emit: (event: McpEvent) => Effect.Effect<void> }
>() {}

/**
 * A layer for {@link McpEvents} from an `emit` function.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (emit: (event: McpEvent) => Effect.Effect<void>): Layer.Layer<McpEvents> =>
  Layer.succeed(McpEvents, { emit })
