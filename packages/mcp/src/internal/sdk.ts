/**
 * The MCP SDK's runtime values the manager uses, in one module that the
 * manager imports on the first connection: a runtime with no MCP server
 * configured never loads the SDK (and its zod / ajv schemas).
 *
 * @internal
 */
export { Client } from "@modelcontextprotocol/sdk/client/index.js"
export { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js"
export { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
export {
  ElicitRequestSchema,
  ErrorCode,
  McpError as SdkMcpError,
  ToolListChangedNotificationSchema
} from "@modelcontextprotocol/sdk/types.js"
