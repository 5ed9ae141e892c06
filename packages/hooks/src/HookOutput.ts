/**
 * What a hook returns, and the decisions it can make. Field names follow
 * Claude Code's `hookSpecificOutput` (`updatedInput`, `additionalContext`,
 * `continue`, `stopReason`, `systemMessage`), so an in-process hook and a
 * command hook say the same things the same way.
 *
 * @since 0.1.0
 */
import * as Common from "@strata/protocol/Common"
import * as Schema from "effect/Schema"

/**
 * A hook's decision: let the call through, ask a person, or refuse.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Decision = Schema.Literal("allow", "ask", "deny").annotations({ identifier: "HookDecision" })
/** @since 0.1.0 @category models */
export type Decision = typeof Decision.Type

/**
 * The decision of a whole dispatch: `none` when no hook decided (the runtime
 * follows its normal policy), else the strictest decision any hook made.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DispatchDecision = Schema.Literal("none", "allow", "ask", "deny").annotations({
  identifier: "HookDispatchDecision"
})
/** @since 0.1.0 @category models */
export type DispatchDecision = typeof DispatchDecision.Type

/**
 * How strict a decision is: `deny` > `ask` > `allow` > `none`. The strictest
 * decision of a dispatch wins.
 *
 * @since 0.1.0
 * @category utils
 */
export const strictness: { readonly [D in DispatchDecision]: number } = { none: 0, allow: 1, ask: 2, deny: 3 }

/**
 * What a failing hook (timeout, crash, garbage output, ...) means: `allow`
 * ignores the failure, `deny` turns it into a `deny` decision.
 *
 * @since 0.1.0
 * @category schemas
 */
export const OnError = Schema.Literal("allow", "deny").annotations({ identifier: "HookOnError" })
/** @since 0.1.0 @category models */
export type OnError = typeof OnError.Type

/**
 * The output of one hook. Every field is optional; an empty output (or
 * `undefined`) changes nothing.
 *
 * - `decision` / `reason`: allow, ask or deny (the reason is shown to the
 *   model on deny, to the person on ask);
 * - `updatedInput`: the new tool input (`PreToolUse`, `PermissionRequest`) or
 *   prompt (`UserPromptSubmit`); the next hook sees the rewritten event;
 * - `additionalContext`: text added for the model;
 * - `continue: false` + `stopReason`: stop the turn;
 * - `systemMessage`: a message for the person, not the model.
 *
 * @since 0.1.0
 * @category schemas
 */
export const HookOutput = Schema.Struct({
  decision: Schema.optional(Decision),
  reason: Schema.optional(Schema.String),
  updatedInput: Schema.optional(Common.JsonValue),
  additionalContext: Schema.optional(Schema.String),
  continue: Schema.optional(Schema.Boolean),
  stopReason: Schema.optional(Schema.String),
  systemMessage: Schema.optional(Schema.String)
}).annotations({ identifier: "HookOutput" })
/** @since 0.1.0 @category models */
export type HookOutput = typeof HookOutput.Type

/**
 * Let the call through.
 *
 * @since 0.1.0
 * @category constructors
 */
export const allow = (reason?: string): HookOutput =>
  reason === undefined ? { decision: "allow" } : { decision: "allow", reason }

/**
 * Ask a person first.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ask = (reason?: string): HookOutput =>
  reason === undefined ? { decision: "ask" } : { decision: "ask", reason }

/**
 * Refuse, with the reason the model will read.
 *
 * @since 0.1.0
 * @category constructors
 */
export const deny = (reason: string): HookOutput => ({ decision: "deny", reason })

/**
 * Replace the tool input (or the prompt).
 *
 * @since 0.1.0
 * @category constructors
 */
export const updateInput = (input: Common.JsonValue): HookOutput => ({ updatedInput: input })

/**
 * Add text for the model.
 *
 * @since 0.1.0
 * @category constructors
 */
export const addContext = (text: string): HookOutput => ({ additionalContext: text })

/**
 * Stop the turn.
 *
 * @since 0.1.0
 * @category constructors
 */
export const stop = (reason: string): HookOutput => ({ continue: false, stopReason: reason })
