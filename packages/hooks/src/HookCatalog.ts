/**
 * The hook events' names and how the dispatcher treats each one (the
 * {@link catalog}), without their schemas (`HookEvent`). The dispatcher, the
 * hook registry and the plugin manifest need only this: a process that runs
 * no command hook never evaluates the events' schemas. `HookEvent` re-exports
 * everything here; adding an event is one entry here and its schema there
 * (the compiler checks that both name the same events).
 *
 * @since 0.3.0
 */
import * as Schema from "effect/Schema"
import type { HookEvent } from "./HookEvent.js"

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

/**
 * The phases of `ToolLifecycle` (`HookEvent.ToolPhase`).
 *
 * @since 0.3.0
 * @category utils
 */
export const toolPhases = ["precheck", "dispatching", "completed", "failed", "denied", "awaiting_approval"] as const

/**
 * The phases of `ApprovalLifecycle` (`HookEvent.ApprovalPhase`).
 *
 * @since 0.3.0
 * @category utils
 */
export const approvalPhases = ["requested", "approved", "denied"] as const

/** An event's entry: how the dispatcher treats it. */
const spec = <const N extends string>(
  name: N,
  owner: Owner,
  options: Omit<EventSpec, "name" | "owner" | "defaultOnError" | "observer" | "decides"> & {
    readonly observer?: boolean
    readonly decides?: boolean
    readonly defaultOnError?: "allow" | "deny"
  } = {}
): EventSpec & { readonly name: N } => ({
  name,
  owner,
  observer: false,
  decides: false,
  defaultOnError: "allow",
  ...options
})

/**
 * THE list of hook events, in declaration order. The key must be the event's
 * name (checked at load); `HookEvent` gives each one its schema.
 */
const events = {
  SessionStart: spec("SessionStart", "core-runtime", { matchOn: "source" }),
  SessionEnd: spec("SessionEnd", "core-runtime", { matchOn: "reason" }),
  UserPromptSubmit: spec("UserPromptSubmit", "core-runtime", { rewrites: "prompt", decides: true }),
  PreToolUse: spec("PreToolUse", "core-runtime", {
    matchOn: "tool_name",
    decides: true,
    rewrites: "tool_input",
    defaultOnError: "deny"
  }),
  PostToolUse: spec("PostToolUse", "core-runtime", {
    matchOn: "tool_name",
    decides: true,
    rewrites: "tool_response"
  }),
  PostToolUseFailure: spec("PostToolUseFailure", "core-runtime", { matchOn: "tool_name" }),
  PermissionRequest: spec("PermissionRequest", "core-runtime", {
    matchOn: "tool_name",
    rewrites: "tool_input",
    decides: true
  }),
  Stop: spec("Stop", "core-runtime", { decides: true }),
  PreCompact: spec("PreCompact", "core-runtime", { matchOn: "trigger" }),
  Notification: spec("Notification", "core-runtime", { matchOn: "notification_type" }),
  BeforeModel: spec("BeforeModel", "core-runtime", {
    matchOn: "model",
    decides: true,
    rewrites: "llm_request"
  }),
  AfterModel: spec("AfterModel", "core-runtime", {
    matchOn: "model",
    decides: true,
    rewrites: "llm_response"
  }),
  BeforeToolSelection: spec("BeforeToolSelection", "core-runtime", {
    matchOn: "model",
    rewrites: "tools"
  }),
  ResponseStart: spec("ResponseStart", "core-runtime", { observer: true }),
  ResponseDelta: spec("ResponseDelta", "core-runtime", { observer: true }),
  ResponseEnd: spec("ResponseEnd", "core-runtime", { observer: true }),
  ToolLifecycle: spec("ToolLifecycle", "core-runtime", {
    observer: true,
    matchOn: "tool_name",
    phases: toolPhases
  }),
  ApprovalLifecycle: spec("ApprovalLifecycle", "core-runtime", {
    observer: true,
    matchOn: "tool_name",
    phases: approvalPhases
  }),
  McpStartupUpdate: spec("McpStartupUpdate", "mcp", { observer: true, matchOn: "server_name" }),
  McpStartupComplete: spec("McpStartupComplete", "mcp", { observer: true }),
  JobLifecycle: spec("JobLifecycle", "jobs", { observer: true, matchOn: "name" })
}

for (const [key, entry] of Object.entries(events)) {
  if (entry.name !== key) throw new Error(`hook event catalog: the entry "${key}" is the event "${entry.name}"`)
}

/**
 * The name of every hook event.
 *
 * @since 0.1.0
 * @category models
 */
export type HookEventName = keyof typeof events

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
 * @since 0.3.0
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
