/**
 * Event frames: everything that happens on a thread (or in the app), in the
 * order it happened. Events are discriminated by `event` (as the seed's
 * `#[serde(tag = "event")]`). An `Event` is what an emitter produces; an
 * `EventFrame` is an event with its envelope: the thread it belongs to
 * (null for app-level events such as MCP startup), the store-assigned,
 * gap-free sequence number and the timestamp.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { JsonValue, optional, Sequence, Timestamp } from "./Common.js"
import { ApprovalId, JobId, MessageId, ResponseId, ThreadId, ToolCallId } from "./Ids.js"
import { JobHistoryEntry, JobProgress, JobStatus } from "./Job.js"
import { McpStartupCompleteEvent, McpStartupUpdate } from "./Mcp.js"
import { Message } from "./Message.js"
import { FinishReason, TurnOutcome, Usage } from "./Model.js"
import { ToolResult } from "./Tool.js"

const event = <const Tag extends string, Fields extends Schema.Struct.Fields>(tag: Tag, fields: Fields) =>
  Schema.Struct({ event: Schema.Literal(tag), ...fields })

/**
 * The channel a response delta belongs to.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseChannel = Schema.Literal("text", "reasoning").annotations({ identifier: "ResponseChannel" })

/** @since 0.1.0 @category schemas */
export const MessageAppended = event("message_appended", { message: Message })
/** @since 0.1.0 @category schemas */
export const TurnStarted = event("turn_started", { turn_id: Schema.String, model: Schema.String })
/** @since 0.1.0 @category schemas */
export const TurnEnded = event("turn_ended", {
  turn_id: Schema.String,
  outcome: TurnOutcome,
  usage: optional(Usage),
  reason: optional(Schema.String)
})
/** @since 0.1.0 @category schemas */
export const ResponseStart = event("response_start", { response_id: ResponseId, model: optional(Schema.String) })
/** @since 0.1.0 @category schemas */
export const ResponseDelta = event("response_delta", {
  response_id: ResponseId,
  delta: Schema.String,
  channel: Schema.optionalWith(ResponseChannel, { default: () => "text" as const })
})
/** @since 0.1.0 @category schemas */
export const ResponseEnd = event("response_end", {
  response_id: ResponseId,
  message_id: optional(MessageId),
  finish_reason: optional(FinishReason),
  usage: optional(Usage)
})
/**
 * A model response broke off mid-stream (a dropped connection, a malformed
 * chunk, an in-stream error) before any of its tool calls ran: what it
 * streamed so far (`response_id`, already ended with `finish_reason: "error"`)
 * is discarded, never part of the history, and the model call is made again
 * after `delay_ms` as a new response. `attempt` is the attempt about to
 * start (2 for the first retry) of at most `max_attempts`; `reason` the
 * provider error's reason (`Disconnected`, `InvalidResponse`, ...).
 *
 * @since 0.2.0
 * @category schemas
 */
export const ResponseRetry = event("response_retry", {
  response_id: ResponseId,
  attempt: Schema.Number.pipe(Schema.int(), Schema.positive()),
  max_attempts: Schema.Number.pipe(Schema.int(), Schema.positive()),
  delay_ms: Schema.Number.pipe(Schema.nonNegative(), Schema.finite()),
  reason: Schema.String,
  message: Schema.String
})
/** @since 0.1.0 @category schemas */
export const ToolCallStart = event("tool_call_start", {
  response_id: optional(ResponseId),
  call_id: ToolCallId,
  tool_name: Schema.String,
  arguments: JsonValue
})
/** @since 0.1.0 @category schemas */
export const ToolCallResult = event("tool_call_result", {
  response_id: optional(ResponseId),
  call_id: ToolCallId,
  tool_name: Schema.String,
  result: ToolResult
})
/** @since 0.1.0 @category schemas */
export const ApprovalRequested = event("approval_requested", {
  approval_id: ApprovalId,
  call_id: ToolCallId,
  tool_name: Schema.String,
  command: optional(Schema.String),
  cwd: optional(Schema.String),
  reason: Schema.String
})
/** @since 0.1.0 @category schemas */
export const ApprovalDecided = event("approval_decided", {
  approval_id: ApprovalId,
  decision: Schema.Literal("approved", "denied"),
  reason: optional(Schema.String)
})
/** @since 0.1.0 @category schemas */
export const McpStartupUpdateFrame = event("mcp_startup_update", { update: McpStartupUpdate })
/** @since 0.1.0 @category schemas */
export const McpStartupCompleteFrame = event("mcp_startup_complete", { summary: McpStartupCompleteEvent })
/** @since 0.1.0 @category schemas */
export const JobUpdate = event("job_update", {
  job_id: JobId,
  name: Schema.String,
  status: JobStatus,
  progress: Schema.NullOr(JobProgress),
  entry: JobHistoryEntry
})
/** @since 0.1.0 @category schemas */
export const HookOutcome = event("hook_outcome", {
  hook_event: Schema.String,
  hook: Schema.String,
  decision: optional(Schema.Literal("allow", "deny", "ask")),
  reason: optional(Schema.String),
  error: optional(Schema.String),
  duration_ms: optional(Schema.Number.pipe(Schema.nonNegative(), Schema.finite()))
})
/** @since 0.1.0 @category schemas */
export const ModelFallback = event("model_fallback", {
  from: Schema.String,
  to: Schema.String,
  reason: Schema.String
})
/** @since 0.1.0 @category schemas */
export const Compaction = event("compaction", {
  summary: Schema.String,
  through_seq: Sequence,
  strategy: Schema.String
})
/** @since 0.1.0 @category schemas */
export const ErrorEvent = event("error", {
  response_id: optional(ResponseId),
  code: optional(Schema.String),
  message: Schema.String
})

/**
 * Every event, without its envelope.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Event = Schema.Union(
  MessageAppended,
  TurnStarted,
  TurnEnded,
  ResponseStart,
  ResponseDelta,
  ResponseEnd,
  ResponseRetry,
  ToolCallStart,
  ToolCallResult,
  ApprovalRequested,
  ApprovalDecided,
  McpStartupUpdateFrame,
  McpStartupCompleteFrame,
  JobUpdate,
  HookOutcome,
  ModelFallback,
  Compaction,
  ErrorEvent
).annotations({ identifier: "Event" })
/** @since 0.1.0 @category models */
export type Event = typeof Event.Type
/** @since 0.1.0 @category models */
export type EventEncoded = typeof Event.Encoded

/**
 * The names of every event.
 *
 * @since 0.1.0
 * @category models
 */
export type EventName = Event["event"]

/**
 * The envelope every persisted event carries.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EventEnvelope = Schema.Struct({
  thread_id: Schema.NullOr(ThreadId),
  seq: Sequence,
  timestamp: Timestamp
}).annotations({ identifier: "EventEnvelope" })

/**
 * An event in its envelope.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EventFrame = Schema.extend(EventEnvelope, Event).annotations({ identifier: "EventFrame" })
/** @since 0.1.0 @category models */
export type EventFrame = typeof EventFrame.Type
/** @since 0.1.0 @category models */
export type EventFrameEncoded = typeof EventFrame.Encoded
