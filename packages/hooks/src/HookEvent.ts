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
export const ToolPhase = Schema.Literal("precheck", "dispatching", "completed", "failed", "denied", "awaiting_approval")
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
export const ApprovalPhase = Schema.Literal("requested", "approved", "denied")
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
 * The package whose code path dispatches an event. The hook conformance suite
 * is rerun by each owner with its real code path.
 *
 * @since 0.1.0
 * @category models
 */
export type Owner = "core-runtime" | "jobs" | "mcp"

/**
 * What the dispatcher does with an event:
 * - `observer`: outputs are ignored (no decision, rewrite, context or stop);
 * - `decides`: decisions count (`PreToolUse`, `PermissionRequest`,
 *   `UserPromptSubmit`, `Stop`, `PostToolUse`); elsewhere they are dropped,
 *   as Claude Code does, and `on_error = "deny"` has no effect;
 * - `matchOn`: the field a hook's matcher is tested against (absent: the
 *   matcher is ignored and every hook on the event runs);
 * - `rewrites`: the field `updatedInput` replaces (absent: rewrites ignored;
 *   the dispatcher's caller validates and completes it, `validateInput`);
 * - `defaultOnError`: what a failing hook means when it sets no `onError`
 *   (`deny` for `PreToolUse`, `allow` elsewhere);
 * - `phases`: the values of `phase`, each a separate conformance kind;
 * - `owner`: the package that dispatches the event.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventSpec {
  readonly name: string
  readonly observer: boolean
  readonly decides: boolean
  readonly matchOn?: string
  readonly rewrites?: "tool_input" | "prompt" | "tool_response" | "llm_request" | "llm_response" | "tools"
  readonly defaultOnError: "allow" | "deny"
  readonly phases?: ReadonlyArray<string>
  readonly owner: Owner
}

/** An event's entry: its schema (whose tag must be `name`) and how the dispatcher treats it. */
const spec = <const N extends string, S extends Schema.Schema.AnyNoContext>(
  name: N,
  schema: S & (Schema.Schema.Type<S> extends { readonly hook_event_name: N } ? unknown : never),
  owner: Owner,
  options: Omit<EventSpec, "name" | "owner" | "defaultOnError" | "observer" | "decides"> & {
    readonly observer?: boolean
    readonly decides?: boolean
    readonly defaultOnError?: "allow" | "deny"
  } = {}
): EventSpec & { readonly name: N; readonly schema: S } => ({
  name,
  schema,
  owner,
  observer: false,
  decides: false,
  defaultOnError: "allow",
  ...options
})

/**
 * THE list of hook events: adding an event is one entry here (its schema
 * above); the union schema, the name list and the dispatcher's catalog are
 * derived from it. The key must be the event's name (checked at load).
 */
const events = {
  SessionStart: spec("SessionStart", SessionStart, "core-runtime", { matchOn: "source" }),
  SessionEnd: spec("SessionEnd", SessionEnd, "core-runtime", { matchOn: "reason" }),
  UserPromptSubmit: spec("UserPromptSubmit", UserPromptSubmit, "core-runtime", { rewrites: "prompt", decides: true }),
  PreToolUse: spec("PreToolUse", PreToolUse, "core-runtime", {
    matchOn: "tool_name",
    decides: true,
    rewrites: "tool_input",
    defaultOnError: "deny"
  }),
  PostToolUse: spec("PostToolUse", PostToolUse, "core-runtime", {
    matchOn: "tool_name",
    decides: true,
    rewrites: "tool_response"
  }),
  PostToolUseFailure: spec("PostToolUseFailure", PostToolUseFailure, "core-runtime", { matchOn: "tool_name" }),
  PermissionRequest: spec("PermissionRequest", PermissionRequest, "core-runtime", {
    matchOn: "tool_name",
    rewrites: "tool_input",
    decides: true
  }),
  Stop: spec("Stop", Stop, "core-runtime", { decides: true }),
  PreCompact: spec("PreCompact", PreCompact, "core-runtime", { matchOn: "trigger" }),
  Notification: spec("Notification", Notification, "core-runtime", { matchOn: "notification_type" }),
  BeforeModel: spec("BeforeModel", BeforeModel, "core-runtime", {
    matchOn: "model",
    decides: true,
    rewrites: "llm_request"
  }),
  AfterModel: spec("AfterModel", AfterModel, "core-runtime", {
    matchOn: "model",
    decides: true,
    rewrites: "llm_response"
  }),
  BeforeToolSelection: spec("BeforeToolSelection", BeforeToolSelection, "core-runtime", {
    matchOn: "model",
    rewrites: "tools"
  }),
  ResponseStart: spec("ResponseStart", ResponseStart, "core-runtime", { observer: true }),
  ResponseDelta: spec("ResponseDelta", ResponseDelta, "core-runtime", { observer: true }),
  ResponseEnd: spec("ResponseEnd", ResponseEnd, "core-runtime", { observer: true }),
  ToolLifecycle: spec("ToolLifecycle", ToolLifecycle, "core-runtime", {
    observer: true,
    matchOn: "tool_name",
    phases: ToolPhase.literals
  }),
  ApprovalLifecycle: spec("ApprovalLifecycle", ApprovalLifecycle, "core-runtime", {
    observer: true,
    matchOn: "tool_name",
    phases: ApprovalPhase.literals
  }),
  McpStartupUpdate: spec("McpStartupUpdate", McpStartupUpdate, "mcp", { observer: true, matchOn: "server_name" }),
  McpStartupComplete: spec("McpStartupComplete", McpStartupComplete, "mcp", { observer: true }),
  JobLifecycle: spec("JobLifecycle", JobLifecycle, "jobs", { observer: true, matchOn: "name" })
}

for (const [key, entry] of Object.entries(events)) {
  if (entry.name !== key) throw new Error(`hook event catalog: the entry "${key}" is the event "${entry.name}"`)
}

type Events = typeof events

/**
 * Every hook event.
 *
 * @since 0.1.0
 * @category models
 */
export type HookEvent = { [K in keyof Events]: Schema.Schema.Type<Events[K]["schema"]> }[keyof Events]
/** @since 0.1.0 @category models */
export type HookEventEncoded = { [K in keyof Events]: Schema.Schema.Encoded<Events[K]["schema"]> }[keyof Events]

/**
 * Every hook event (the union of the catalog's schemas, in catalog order).
 *
 * @since 0.1.0
 * @category schemas
 */
export const HookEvent: Schema.Schema<HookEvent, HookEventEncoded> = Schema.Union(
  ...Object.values(events).map((e) => e.schema as Schema.Schema<HookEvent, HookEventEncoded>)
).annotations({ identifier: "HookEvent" })

/**
 * The name of every hook event.
 *
 * @since 0.1.0
 * @category models
 */
export type HookEventName = keyof Events

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
export const names: ReadonlyArray<HookEventName> = Object.keys(events) as Array<HookEventName>

/**
 * Every event name, in declaration order.
 *
 * @since 0.1.0
 * @category schemas
 */
export const HookEventName: Schema.Schema<HookEventName> = Schema.Literal(
  ...(names as readonly [HookEventName, ...Array<HookEventName>])
).annotations({ identifier: "HookEventName" })

/**
 * How the dispatcher treats each event; see {@link EventSpec}.
 *
 * @since 0.1.0
 * @category utils
 */
export const catalog: { readonly [N in HookEventName]: EventSpec & { readonly name: N } } = events

/**
 * Whether `name` is a hook event name.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isHookEventName = (name: unknown): name is HookEventName =>
  typeof name === "string" && Object.hasOwn(catalog, name)

/**
 * Every kind of event the conformance suite expects to see: the event name,
 * or `Name.phase` for events with phases (`ToolLifecycle.precheck`, ...).
 *
 * @since 0.1.0
 * @category utils
 */
export const kinds: ReadonlyArray<string> = names.flatMap((name) => {
  const phases = catalog[name].phases
  return phases === undefined ? [name] : phases.map((phase) => `${name}.${phase}`)
})

/**
 * The conformance kind of an event (see {@link kinds}).
 *
 * @since 0.1.0
 * @category utils
 */
export const kindOf = (event: HookEvent): string =>
  "phase" in event ? `${event.hook_event_name}.${event.phase}` : event.hook_event_name

/**
 * The value a matcher is tested against for this event, or `undefined` when
 * the event has no matcher target or the field is absent.
 *
 * @since 0.1.0
 * @category utils
 */
export const matchTarget = (event: HookEvent): string | undefined => {
  const field = catalog[event.hook_event_name].matchOn
  if (field === undefined) return undefined
  const value = (event as unknown as Record<string, unknown>)[field]
  return typeof value === "string" ? value : undefined
}
