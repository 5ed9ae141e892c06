/**
 * The registry of every top-level wire schema, by name. The JSON Schema
 * generator (`scripts/generate-json-schema`) writes one file per entry, and
 * the staleness test compares the committed files against it.
 *
 * @since 0.1.0
 */
import type * as Schema from "effect/Schema"
import * as App from "./App.js"
import * as Common from "./Common.js"
import * as Event from "./Event.js"
import * as Ids from "./Ids.js"
import * as Job from "./Job.js"
import * as Mcp from "./Mcp.js"
import * as Message from "./Message.js"
import * as Model from "./Model.js"
import * as Prompt from "./Prompt.js"
import * as Thread from "./Thread.js"
import * as Tool from "./Tool.js"

/**
 * Every wire type, by the name its JSON Schema file takes.
 *
 * @since 0.1.0
 * @category schemas
 */
export const all: Readonly<Record<string, Schema.Schema.AnyNoContext>> = {
  ThreadId: Ids.ThreadId,
  MessageId: Ids.MessageId,
  CheckpointId: Ids.CheckpointId,
  JobId: Ids.JobId,
  ToolCallId: Ids.ToolCallId,
  ApprovalId: Ids.ApprovalId,
  ResponseId: Ids.ResponseId,
  JsonValue: Common.JsonValue,
  Thread: Thread.Thread,
  Message: Message.Message,
  ThreadRequest: Thread.ThreadRequest,
  ThreadResponse: Thread.ThreadResponse,
  PromptRequest: Prompt.PromptRequest,
  PromptResponse: Prompt.PromptResponse,
  CliRuntimeOverrides: Prompt.CliRuntimeOverrides,
  Usage: Model.Usage,
  AskForApproval: Tool.AskForApproval,
  ToolCall: Tool.ToolCall,
  ToolResult: Tool.ToolResult,
  ToolOutput: Tool.ToolOutput,
  Event: Event.Event,
  EventFrame: Event.EventFrame,
  JobStatus: Job.JobStatus,
  JobRecord: Job.JobRecord,
  JobHistoryEntry: Job.JobHistoryEntry,
  McpStartupUpdate: Mcp.McpStartupUpdate,
  McpStartupCompleteEvent: Mcp.McpStartupCompleteEvent,
  McpServerStatus: Mcp.McpServerStatus,
  AppStatus: App.AppStatus
}
