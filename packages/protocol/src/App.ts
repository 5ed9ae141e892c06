/**
 * The application status returned by `appStatus`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { optional, Record as SafeRecord } from "./Common.js"
import { JobRecord } from "./Job.js"
import { McpServerStatus } from "./Mcp.js"

/**
 * What `appStatus` reports: every job with its history, the status of every
 * MCP server, how many threads exist, and the versions of the packages and of
 * the JavaScript runtime.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AppStatus = Schema.Struct({
  ok: Schema.Boolean,
  versions: SafeRecord({ key: Schema.String, value: Schema.String }),
  runtime: Schema.Struct({ name: Schema.Literal("node", "bun", "deno", "unknown"), version: Schema.String }),
  provider_default: optional(Schema.String),
  jobs: Schema.Array(JobRecord),
  mcp_servers: Schema.Array(McpServerStatus),
  threads: Schema.Struct({
    total: Schema.Number.pipe(Schema.int(), Schema.nonNegative()),
    archived: Schema.Number.pipe(Schema.int(), Schema.nonNegative())
  })
}).annotations({ identifier: "AppStatus" })
/** @since 0.1.0 @category models */
export type AppStatus = typeof AppStatus.Type
