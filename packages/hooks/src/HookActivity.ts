/**
 * What the dispatcher reports on its observer stream (`HookDispatcher.events`):
 * every dispatched event (`EventDispatched`, hooks or not), every hook that
 * ran (`HookCompleted`) and every hook that failed (`HookError`, the
 * `hook_error` event: timeout, crash, garbage, flood, ...).
 *
 * @since 0.1.0
 */
import type { Event } from "@strata/protocol"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { HookFailureReason } from "./HookError.js"
import { HookEvent, HookEventName } from "./HookEvent.js"
import { Decision, DispatchDecision, OnError } from "./HookOutput.js"

const Millis = Schema.Number.pipe(Schema.nonNegative(), Schema.finite())

const hookFields = {
  hook_event_name: HookEventName,
  hook: Schema.String,
  kind: Schema.Literal("in-process", "command"),
  duration_ms: Millis
}

/**
 * A hook ran and returned. `decision` is absent when it made none (or the
 * event is an observer event).
 *
 * @since 0.1.0
 * @category schemas
 */
export const HookCompleted = Schema.TaggedStruct("HookCompleted", {
  ...hookFields,
  decision: Schema.optional(Decision),
  reason: Schema.optional(Schema.String),
  rewrote: Schema.Boolean,
  added_context: Schema.Boolean,
  stopped: Schema.Boolean
}).annotations({ identifier: "HookCompleted" })
/** @since 0.1.0 @category models */
export type HookCompleted = typeof HookCompleted.Type

/**
 * A hook failed (the `hook_error` event). `on_error` is what the failure
 * meant for the dispatch.
 *
 * @since 0.1.0
 * @category schemas
 */
export const HookError = Schema.TaggedStruct("HookError", {
  ...hookFields,
  reason: HookFailureReason,
  message: Schema.String,
  on_error: OnError
}).annotations({ identifier: "HookError" })
/** @since 0.1.0 @category models */
export type HookError = typeof HookError.Type

/**
 * An event was dispatched: the event after rewrites, the winning decision,
 * how many hooks ran and how many failed.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EventDispatched = Schema.TaggedStruct("EventDispatched", {
  event: HookEvent,
  decision: DispatchDecision,
  reason: Schema.optional(Schema.String),
  hooks: Schema.Number,
  errors: Schema.Number,
  duration_ms: Millis
}).annotations({ identifier: "EventDispatched" })
/** @since 0.1.0 @category models */
export type EventDispatched = typeof EventDispatched.Type

/**
 * Everything on the observer stream.
 *
 * @since 0.1.0
 * @category schemas
 */
export const HookActivity = Schema.Union(HookCompleted, HookError, EventDispatched).annotations({
  identifier: "HookActivity"
})
/** @since 0.1.0 @category models */
export type HookActivity = typeof HookActivity.Type

/**
 * The protocol event to persist for a hook's activity: a `hook_outcome`
 * frame for `HookCompleted` and `HookError`, nothing for `EventDispatched`
 * (the event itself is persisted by its owner).
 *
 * @since 0.1.0
 * @category utils
 */
export const toProtocolEvent = (activity: HookActivity): Option.Option<typeof Event.HookOutcome.Type> => {
  switch (activity._tag) {
    case "EventDispatched":
      return Option.none()
    case "HookCompleted":
      return Option.some({
        event: "hook_outcome",
        hook_event: activity.hook_event_name,
        hook: activity.hook,
        duration_ms: activity.duration_ms,
        ...(activity.decision === undefined ? {} : { decision: activity.decision }),
        ...(activity.reason === undefined ? {} : { reason: activity.reason })
      })
    case "HookError":
      return Option.some({
        event: "hook_outcome",
        hook_event: activity.hook_event_name,
        hook: activity.hook,
        duration_ms: activity.duration_ms,
        error: `${activity.reason}: ${activity.message}`,
        ...(activity.on_error === "deny" ? { decision: "deny" as const } : {})
      })
  }
}
