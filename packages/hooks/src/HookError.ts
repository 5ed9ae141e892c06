/**
 * The errors of `@strata/hooks`. A bad configuration fails registration with
 * a `HookConfigError` naming where; a hook that fails at run time never fails
 * a dispatch: it becomes a `HookFailure`, reported as a `HookError` activity
 * and resolved by the hook's `on_error`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Why a hook configuration was rejected.
 *
 * @since 0.1.0
 * @category schemas
 */
export const HookConfigErrorReason = Schema.Literal(
  "InvalidConfig",
  "UnknownEvent",
  "InvalidMatcher",
  "UnsupportedHookType",
  "DuplicateName",
  "ReadFailed"
)
/** @since 0.1.0 @category models */
export type HookConfigErrorReason = typeof HookConfigErrorReason.Type

/**
 * A hook configuration (TOML-shaped object, Claude Code `hooks.json`, or an
 * in-process definition) is invalid. `path` names the offending entry
 * (`hooks.PreToolUse[0].matcher`), `source` the file or owner it came from.
 *
 * @since 0.1.0
 * @category errors
 */
export class HookConfigError extends Schema.TaggedError<HookConfigError>("@strata/hooks/HookConfigError")(
  "HookConfigError",
  {
    reason: HookConfigErrorReason,
    source: Schema.optional(Schema.String),
    path: Schema.String,
    detail: Schema.String,
    cause: Schema.optional(Schema.Defect)
  }
) {
  override get message(): string {
    const from = this.source === undefined ? "" : ` in ${this.source}`
    const at = this.path === "" ? "" : ` at "${this.path}"`
    return `Invalid hook configuration${from}${at}: ${this.detail}`
  }
}

/**
 * Why a hook failed at run time:
 * - `Timeout`: it ran longer than its timeout (the process group was killed);
 * - `Crashed`: the process died from a signal;
 * - `NonZeroExit`: exit code other than 0 and 2;
 * - `InvalidOutput`: stdout was not valid hook output (bad JSON, wrong field
 *   types, binary), or an in-process hook returned something that is not a
 *   `HookOutput`;
 * - `OutputTooLarge`: stdout or stderr exceeded the cap (the process was killed);
 * - `SpawnFailed`: the process could not be started;
 * - `InvalidUpdatedInput`: the rewritten input failed validation;
 * - `Failed`: an in-process hook failed;
 * - `Defect`: an in-process hook threw or died.
 *
 * @since 0.1.0
 * @category schemas
 */
export const HookFailureReason = Schema.Literal(
  "Timeout",
  "Crashed",
  "NonZeroExit",
  "InvalidOutput",
  "OutputTooLarge",
  "SpawnFailed",
  "InvalidUpdatedInput",
  "Failed",
  "Defect"
)
/** @since 0.1.0 @category models */
export type HookFailureReason = typeof HookFailureReason.Type

/**
 * A hook failed while running. In-process hooks may fail with it to choose
 * the reason; any other failure is reported as `Failed`.
 *
 * @since 0.1.0
 * @category errors
 */
export class HookFailure extends Schema.TaggedError<HookFailure>("@strata/hooks/HookFailure")("HookFailure", {
  reason: HookFailureReason,
  detail: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return `${this.reason}: ${this.detail}`
  }
}
