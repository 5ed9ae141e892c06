/**
 * Tool calls, their results, and the approval policy they run under.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { JsonValue, optional } from "./Common.js"
import { ApprovalId, ThreadId, ToolCallId } from "./Ids.js"

/**
 * When the runtime asks a person before running a tool call:
 * `untrusted` asks for everything not explicitly allowed, `on-request` (the
 * default) follows the policy's decision, `on-failure` currently behaves as
 * `on-request`, `never` turns every `ask` into `deny` (no one to ask).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AskForApproval = Schema.Literal("untrusted", "on-failure", "on-request", "never").annotations({
  identifier: "AskForApproval"
})
/** @since 0.1.0 @category models */
export type AskForApproval = typeof AskForApproval.Type

/**
 * A tool call, as the model (or a client) asks for it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolCall = Schema.Struct({
  id: ToolCallId,
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)),
  arguments: JsonValue,
  thread_id: optional(ThreadId)
}).annotations({ identifier: "ToolCall" })
/** @since 0.1.0 @category models */
export type ToolCall = typeof ToolCall.Type

/**
 * A part of a tool's output: text, an image, or an (embedded) resource.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContentPart = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text"), text: Schema.String }),
  Schema.Struct({ type: Schema.Literal("image"), data: Schema.String, mime_type: Schema.String }),
  Schema.Struct({ type: Schema.Literal("audio"), data: Schema.String, mime_type: Schema.String }),
  Schema.Struct({
    type: Schema.Literal("resource"),
    uri: Schema.String,
    mime_type: optional(Schema.String),
    text: optional(Schema.String),
    blob: optional(Schema.String)
  })
).annotations({ identifier: "ContentPart" })
/** @since 0.1.0 @category models */
export type ContentPart = typeof ContentPart.Type

/**
 * What a tool produced: content for the model, optional structured output,
 * and whether the tool itself reported an error.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolOutput = Schema.Struct({
  content: Schema.Array(ContentPart),
  structured: optional(JsonValue),
  is_error: optional(Schema.Boolean),
  truncated: optional(Schema.Boolean)
}).annotations({ identifier: "ToolOutput" })
/** @since 0.1.0 @category models */
export type ToolOutput = typeof ToolOutput.Type

const ResultBase = {
  call_id: ToolCallId,
  tool_name: Schema.String
}

/**
 * The outcome of `invokeTool`, as the seed's: `completed`, `failed`,
 * `denied` (policy or hook said no), or `approval_required` (a pending
 * approval was persisted under `approval_id`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolResult = Schema.Union(
  Schema.Struct({ ok: Schema.Literal(true), status: Schema.Literal("completed"), ...ResultBase, output: ToolOutput }),
  Schema.Struct({ ok: Schema.Literal(false), status: Schema.Literal("failed"), ...ResultBase, error: Schema.String }),
  Schema.Struct({ ok: Schema.Literal(false), status: Schema.Literal("denied"), ...ResultBase, reason: Schema.String }),
  Schema.Struct({
    ok: Schema.Literal(false),
    status: Schema.Literal("approval_required"),
    ...ResultBase,
    approval_id: ApprovalId,
    reason: Schema.String
  })
).annotations({ identifier: "ToolResult" })
/** @since 0.1.0 @category models */
export type ToolResult = typeof ToolResult.Type

/**
 * A person's answer to an approval request.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ApprovalDecision = Schema.Literal("approve", "deny").annotations({ identifier: "ApprovalDecision" })
/** @since 0.1.0 @category models */
export type ApprovalDecision = typeof ApprovalDecision.Type
