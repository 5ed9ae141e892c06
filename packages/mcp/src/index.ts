/**
 * `@strata/mcp`: the MCP client manager. Stdio and streamable HTTP servers
 * on the official SDK, parallel startup with the seed's status events,
 * supervision, and tool bridging. The stdio transport lives in the
 * `@strata/mcp/stdio` subpath.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as McpConfig from "./McpConfig.js"
/** @since 0.1.0 */
export * as McpError from "./McpError.js"
/** @since 0.1.0 */
export * as McpEvents from "./McpEvents.js"
/** @since 0.1.0 */
export * as McpManager from "./McpManager.js"
/** @since 0.1.0 */
export * as McpToolName from "./McpToolName.js"
/** @since 0.1.0 */
export * as McpTransport from "./McpTransport.js"
