/**
 * The closed union of hook events. Every event is an `effect/Schema` whose
 * payload reuses `@strata/protocol` types, tagged by `hook_event_name`, with
 * the field names of Claude Code's hook input (`session_id`, `cwd`,
 * `tool_name`, `tool_input`, `tool_use_id`, ...), so the encoded event is
 * exactly the JSON a command hook reads on stdin.
 *
 * Two families:
 * - decision events (`SessionStart` ... `Notification`): hooks may decide,
 *   rewrite, add context or stop the turn, where the {@link catalog} says so;
 * - observer events (`ResponseStart` ... `JobLifecycle`): hooks and UIs watch
 *   them; whatever a hook returns for them is ignored.
 *
 * (Over 600 lines: the events' schemas and the catalog that derives the
 * union, the names and the dispatcher index are one declaration per event,
 * read best side by side; adding an event is one entry here.)
 *
 * @since 0.1.0
 */
import * as Common from "@strata/protocol/Common"
import * as Event from "@strata/protocol/Event"
import * as Ids from "@strata/protocol/Ids"
import * as Job from "@strata/protocol/Job"
import * as Mcp from "@strata/protocol/Mcp"
import * as Model from "@strata/protocol/Model"
import * as Tool from "@strata/protocol/Tool"
import * as Schema from "effect/Schema"
import * as HookCatalog from "./HookCatalog.js"

/**
 * Fields every event carries. `session_id` and `cwd` are filled in for command
 * hooks when absent (empty session id, the hook's working directory).
 *
 * @since 0.1.0
 * @category schemas
 */
export const commonFields = {
  session_id: Schema.optional(Schema.String),
  thread_id: Schema.optional(Ids.ThreadId),
  cwd: Schema.optional(Schema.String),
  transcript_path: Schema.optional(Schema.String),
  permission_mode: Schema.optional(Schema.String)
}

const hookEvent = <const Name extends string, Fields extends Schema.Struct.Fields>(name: Name, fields: Fields) =>
  Schema.Struct({ hook_event_name: Schema.tag(name), ...commonFields, ...fields }).annotations({
    identifier: name
  })

const toolFields = {
  tool_name: Schema.String,
  tool_input: Common.JsonValue,
  tool_use_id: Ids.ToolCallId
}

/**
 * A session (thread) started: fresh, resumed, after a clear or after a
 * compaction. Matcher target: `source`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SessionStart = hookEvent("SessionStart", {
  source: Schema.Literal("startup", "resume", "clear", "compact"),
  model: Schema.optional(Schema.String)
})
/** @since 0.1.0 @category models */
export type SessionStart = typeof SessionStart.Type

/**
 * A session ended. Matcher target: `reason`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SessionEnd = hookEvent("SessionEnd", {
  reason: Schema.Literal("clear", "logout", "prompt_input_exit", "other")
})
/** @since 0.1.0 @category models */
export type SessionEnd = typeof SessionEnd.Type

/**
 * A prompt is about to be handled. Hooks may block it (`deny`), rewrite it
 * (`updatedInput`: the new prompt string) or add context.
 *
 * @since 0.1.0
 * @category schemas
 */
export const UserPromptSubmit = hookEvent("UserPromptSubmit", { prompt: Schema.String })
/** @since 0.1.0 @category models */
export type UserPromptSubmit = typeof UserPromptSubmit.Type

/**
 * A tool call is about to run. Hooks may allow, ask, deny, rewrite
 * `tool_input` (re-validated against the tool's schema) or add context.
 * Matcher target: `tool_name`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PreToolUse = hookEvent("PreToolUse", toolFields)
/** @since 0.1.0 @category models */
export type PreToolUse = typeof PreToolUse.Type

/**
 * A tool call completed. `deny` means "give the reason to the model as
 * feedback" (the call already ran); `updatedInput` (a command hook's
 * `updatedToolOutput`) replaces the output the model reads (a string, or a
 * tool output object). Matcher target: `tool_name`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PostToolUse = hookEvent("PostToolUse", { ...toolFields, tool_response: Tool.ToolOutput })
/** @since 0.1.0 @category models */
export type PostToolUse = typeof PostToolUse.Type

/**
 * A tool call failed. Matcher target: `tool_name`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PostToolUseFailure = hookEvent("PostToolUseFailure", {
  ...toolFields,
  error: Schema.String,
  is_interrupt: Schema.optional(Schema.Boolean)
})
/** @since 0.1.0 @category models */
export type PostToolUseFailure = typeof PostToolUseFailure.Type

/**
 * The runtime is about to ask a person to approve a tool call. Hooks may
 * answer for the person (`allow` / `deny`) and rewrite `tool_input`.
 * Matcher target: `tool_name`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PermissionRequest = hookEvent("PermissionRequest", {
  tool_name: Schema.String,
  tool_input: Common.JsonValue,
  tool_use_id: Schema.optional(Ids.ToolCallId),
  approval_id: Schema.optional(Ids.ApprovalId),
  reason: Schema.optional(Schema.String),
  permission_suggestions: Schema.optional(Schema.Array(Common.JsonValue))
})
/** @since 0.1.0 @category models */
export type PermissionRequest = typeof PermissionRequest.Type

/**
 * The model wants to stop. `deny` means "do not stop yet": the reason is
 * given to the model as its next instruction. `stop_hook_active` is true when
 * the turn already continued because of a Stop hook (guard against loops).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Stop = hookEvent("Stop", {
  stop_hook_active: Schema.Boolean,
  last_assistant_message: Schema.optional(Schema.String)
})
/** @since 0.1.0 @category models */
export type Stop = typeof Stop.Type

/**
 * The history is about to be compacted. Matcher target: `trigger`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PreCompact = hookEvent("PreCompact", {
  trigger: Schema.Literal("manual", "auto"),
  custom_instructions: Schema.optional(Schema.String)
})
/** @since 0.1.0 @category models */
export type PreCompact = typeof PreCompact.Type

/**
 * The runtime notifies the user (waiting for approval, idle, ...). Matcher
 * target: `notification_type`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Notification = hookEvent("Notification", {
  message: Schema.String,
  title: Schema.optional(Schema.String),
  notification_type: Schema.optional(Schema.String)
})
/** @since 0.1.0 @category models */
export type Notification = typeof Notification.Type

/**
 * One message of a model request as hooks see it: its role and its text
 * (tool calls and non-text parts are left out, as gemini-cli's stable model
 * API does).
 *
 * @since 0.3.0
 * @category schemas
 */
export const LlmMessage = Schema.Struct({
  role: Schema.Literal("system", "user", "assistant", "tool"),
  content: Schema.String
})
/** @since 0.3.0 @category models */
export type LlmMessage = typeof LlmMessage.Type

/**
 * A model request as hooks see it: the model id, the messages in order, the
 * names of the tools offered.
 *
 * @since 0.3.0
 * @category schemas
 */
export const LlmRequest = Schema.Struct({
  model: Schema.String,
  messages: Schema.Array(LlmMessage),
  tools: Schema.Array(Schema.String)
})
/** @since 0.3.0 @category models */
export type LlmRequest = typeof LlmRequest.Type

/**
 * A whole model response as hooks see it: the text, the tool calls, why it
 * finished.
 *
 * @since 0.3.0
 * @category schemas
 */
export const LlmResponse = Schema.Struct({
  text: Schema.String,
  tool_calls: Schema.Array(Schema.Struct({ id: Schema.String, name: Schema.String, arguments: Common.JsonValue })),
  finish_reason: Schema.optional(Schema.String)
})
/** @since 0.3.0 @category models */
export type LlmResponse = typeof LlmResponse.Type

/**
 * A model call is about to be made. Hooks may block it (`deny`: the turn
 * ends with the reason), add context (a system message for this call) or
 * rewrite `llm_request` (`updatedInput`, a partial request: `messages` by
 * index, each keeping its role, replaces the text the model reads; `model`
 * switches to another configured model). Matcher target: `model`.
 *
 * @since 0.3.0
 * @category schemas
 */
export const BeforeModel = hookEvent("BeforeModel", { model: Schema.String, llm_request: LlmRequest })
/** @since 0.3.0 @category models */
export type BeforeModel = typeof BeforeModel.Type

/**
 * A model response is complete, before any of its tool calls runs. Hooks
 * may block it (`deny`: none of its tool calls runs, each is answered with
 * the reason, and the turn ends) or rewrite `llm_response.text` (the
 * assistant message kept in the history; streamed deltas already went out).
 * Matcher target: `model`.
 *
 * @since 0.3.0
 * @category schemas
 */
export const AfterModel = hookEvent("AfterModel", {
  model: Schema.String,
  llm_request: LlmRequest,
  llm_response: LlmResponse
})
/** @since 0.3.0 @category models */
export type AfterModel = typeof AfterModel.Type

/**
 * The tools about to be offered to the model. Hooks may narrow them
 * (`updatedInput`: a list of tool names; only names already offered count,
 * a hook cannot add a tool). Matcher target: `model`.
 *
 * @since 0.3.0
 * @category schemas
 */
export const BeforeToolSelection = hookEvent("BeforeToolSelection", {
  model: Schema.String,
  tools: Schema.Array(Schema.String)
})
/** @since 0.3.0 @category models */
export type BeforeToolSelection = typeof BeforeToolSelection.Type

/**
 * Observer: a model response started.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseStart = hookEvent("ResponseStart", {
  response_id: Ids.ResponseId,
  model: Schema.optional(Schema.String)
})
/** @since 0.1.0 @category models */
export type ResponseStart = typeof ResponseStart.Type

/**
 * Observer: a streamed piece of a response.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseDelta = hookEvent("ResponseDelta", {
  response_id: Ids.ResponseId,
  delta: Schema.String,
  channel: Schema.optional(Event.ResponseChannel)
})
/** @since 0.1.0 @category models */
export type ResponseDelta = typeof ResponseDelta.Type

/**
 * Observer: a model response ended.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseEnd = hookEvent("ResponseEnd", {
  response_id: Ids.ResponseId,
  message_id: Schema.optional(Ids.MessageId),
  finish_reason: Schema.optional(Model.FinishReason),
  usage: Schema.optional(Model.Usage)
})
/** @since 0.1.0 @category models */
export type ResponseEnd = typeof ResponseEnd.Type

/**
 * The phases of a tool call, as the seed's lifecycle: `precheck` (before
 * policy and hooks decide), `dispatching`, then `completed` or `failed`;
 * or, after `precheck`, `denied` (by the policy, a hook or the approval
 * mode: `error` says why), `awaiting_approval`, or `failed` (unknown tool,
 * bad input). Every call that reaches the invoker ends in exactly one of
 * `completed`, `failed`, `denied` or `awaiting_approval`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolPhase = Schema.Literal(...HookCatalog.toolPhases)
/** @since 0.1.0 @category models */
export type ToolPhase = typeof ToolPhase.Type

/**
 * Observer: a tool call moved to `phase`. `output` is set on `completed`,
 * `error` on `failed`. Matcher target: `tool_name`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolLifecycle = hookEvent("ToolLifecycle", {
  phase: ToolPhase,
  call_id: Ids.ToolCallId,
  tool_name: Schema.String,
  arguments: Schema.optional(Common.JsonValue),
  output: Schema.optional(Tool.ToolOutput),
  error: Schema.optional(Schema.String),
  duration_ms: Schema.optional(Schema.Number.pipe(Schema.nonNegative(), Schema.finite()))
})
/** @since 0.1.0 @category models */
export type ToolLifecycle = typeof ToolLifecycle.Type

/**
 * The phases of an approval: requested, then approved or denied.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ApprovalPhase = Schema.Literal(...HookCatalog.approvalPhases)
/** @since 0.1.0 @category models */
export type ApprovalPhase = typeof ApprovalPhase.Type

/**
 * Observer: an approval moved to `phase`. Matcher target: `tool_name`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ApprovalLifecycle = hookEvent("ApprovalLifecycle", {
  phase: ApprovalPhase,
  approval_id: Ids.ApprovalId,
  call_id: Ids.ToolCallId,
  tool_name: Schema.String,
  command: Schema.optional(Schema.String),
  reason: Schema.optional(Schema.String)
})
/** @since 0.1.0 @category models */
export type ApprovalLifecycle = typeof ApprovalLifecycle.Type

/**
 * Observer: one MCP server's startup progressed (the protocol's
 * `McpStartupUpdate` fields). Matcher target: `server_name`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const McpStartupUpdate = hookEvent("McpStartupUpdate", Mcp.McpStartupUpdate.fields)
/** @since 0.1.0 @category models */
export type McpStartupUpdate = typeof McpStartupUpdate.Type

/**
 * Observer: every MCP server's startup ended (the protocol's
 * `McpStartupCompleteEvent` fields).
 *
 * @since 0.1.0
 * @category schemas
 */
export const McpStartupComplete = hookEvent("McpStartupComplete", Mcp.McpStartupCompleteEvent.fields)
/** @since 0.1.0 @category models */
export type McpStartupComplete = typeof McpStartupComplete.Type

/**
 * Observer: a background job made a transition (`entry`, the history entry
 * just appended). Matcher target: `name` (the job's name).
 *
 * @since 0.1.0
 * @category schemas
 */
export const JobLifecycle = hookEvent("JobLifecycle", {
  job_id: Ids.JobId,
  name: Schema.String,
  status: Job.JobStatus,
  progress: Schema.NullOr(Job.JobProgress),
  entry: Job.JobHistoryEntry
})
/** @since 0.1.0 @category models */
export type JobLifecycle = typeof JobLifecycle.Type

/**
 * The package whose code path dispatches an event (`HookCatalog.Owner`).
 *
 * @since 0.1.0
 * @category models
 */
export type Owner = HookCatalog.Owner

/**
 * What the dispatcher does with an event (`HookCatalog.EventSpec`).
 *
 * @since 0.1.0
 * @category models
 */
export type EventSpec = HookCatalog.EventSpec

/**
 * Each event's schema, by name: exactly the events of `HookCatalog` (the
 * compiler checks that none is missing or extra and that each schema's tag
 * is its name).
 */
const schemas = {
  SessionStart,
  SessionEnd,
  UserPromptSubmit,
  PreToolUse,
  PostToolUse,
  PostToolUseFailure,
  PermissionRequest,
  Stop,
  PreCompact,
  Notification,
  BeforeModel,
  AfterModel,
  BeforeToolSelection,
  ResponseStart,
  ResponseDelta,
  ResponseEnd,
  ToolLifecycle,
  ApprovalLifecycle,
  McpStartupUpdate,
  McpStartupComplete,
  JobLifecycle
} satisfies {
  readonly [N in HookCatalog.HookEventName]: Schema.Schema.AnyNoContext & {
    readonly Type: { readonly hook_event_name: N }
  }
}

type Schemas = typeof schemas

/**
 * Every hook event.
 *
 * @since 0.1.0
 * @category models
 */
export type HookEvent = { [K in keyof Schemas]: Schema.Schema.Type<Schemas[K]> }[keyof Schemas]
/** @since 0.1.0 @category models */
export type HookEventEncoded = { [K in keyof Schemas]: Schema.Schema.Encoded<Schemas[K]> }[keyof Schemas]

/**
 * Every hook event (the union of the catalog's schemas, in catalog order).
 *
 * @since 0.1.0
 * @category schemas
 */
export const HookEvent: Schema.Schema<HookEvent, HookEventEncoded> = Schema.Union(
  ...HookCatalog.names.map((name) => schemas[name] as Schema.Schema<HookEvent, HookEventEncoded>)
).annotations({ identifier: "HookEvent" })

/**
 * The name of every hook event.
 *
 * @since 0.1.0
 * @category models
 */
export type HookEventName = HookCatalog.HookEventName

/**
 * The event named `N`.
 *
 * @since 0.1.0
 * @category models
 */
export type EventOf<N extends HookEventName> = Extract<HookEvent, { readonly hook_event_name: N }>

/**
 * Every event name, in declaration order.
 *
 * @since 0.1.0
 * @category utils
 */
export const names: ReadonlyArray<HookEventName> = HookCatalog.names

/**
 * Every event name, in declaration order.
 *
 * @since 0.1.0
 * @category schemas
 */
export const HookEventName: Schema.Schema<HookEventName> = HookCatalog.HookEventName

/**
 * How the dispatcher treats each event; see {@link EventSpec}. Each entry
 * also holds the event's `schema`.
 *
 * @since 0.1.0
 * @category utils
 */
export const catalog: { readonly [N in HookEventName]: EventSpec & { readonly name: N } } = Object.fromEntries(
  HookCatalog.names.map((name) => [name, { ...HookCatalog.catalog[name], schema: schemas[name] }])
) as { readonly [N in HookEventName]: EventSpec & { readonly name: N; readonly schema: Schemas[N] } }

/**
 * Whether `name` is a hook event name.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isHookEventName: (name: unknown) => name is HookEventName = HookCatalog.isHookEventName

/**
 * Every kind of event the conformance suite expects to see: the event name,
 * or `Name.phase` for events with phases (`ToolLifecycle.precheck`, ...).
 *
 * @since 0.1.0
 * @category utils
 */
export const kinds: ReadonlyArray<string> = HookCatalog.kinds

/**
 * The conformance kind of an event (see {@link kinds}).
 *
 * @since 0.1.0
 * @category utils
 */
export const kindOf: (event: HookEvent) => string = HookCatalog.kindOf

/**
 * The value a matcher is tested against for this event, or `undefined` when
 * the event has no matcher target or the field is absent.
 *
 * @since 0.1.0
 * @category utils
 */
export const matchTarget: (event: HookEvent) => string | undefined = HookCatalog.matchTarget
