/**
 * The `HookDispatcher`: runs the hooks registered for an event, in order,
 * and folds their outputs into one `DispatchResult`.
 *
 * Contract of `dispatch`:
 * - hooks run one after the other: higher `priority` first, then in
 *   registration order; a hook whose matcher does not match is skipped;
 * - the strictest decision wins (`deny` > `ask` > `allow` > `none`); a `deny`
 *   or a `continue: false` ends the chain (later hooks do not run);
 * - rewrites chain: a hook sees the event as the previous hooks rewrote it;
 *   each rewrite is re-validated (`DispatchOptions.validateInput` for tool
 *   input, a string for a prompt) before the next hook runs;
 * - `additionalContext` and `systemMessage` accumulate in order;
 * - a hook that fails (timeout, crash, garbage, flood, invalid rewrite, defect)
 *   never fails the dispatch: it is reported as a `HookError` activity and
 *   resolved by its `onError` (default `deny` on `PreToolUse`, `allow`
 *   elsewhere);
 * - every dispatched event is published on `events` (`EventDispatched`), with
 *   one `HookCompleted` or `HookError` per hook that ran.
 *
 * @since 0.1.0
 */
import type { Common } from "@strata/protocol"
import * as Effect from "effect/Effect"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type * as Hook from "./Hook.js"
import type * as HookActivity from "./HookActivity.js"
import type { HookConfigError } from "./HookError.js"
import type * as HookEvent from "./HookEvent.js"
import type * as HookOutput from "./HookOutput.js"
import * as internal from "./internal/dispatcher.js"

/**
 * Options of one dispatch.
 *
 * `validateInput` re-validates a rewritten tool input (`PreToolUse`,
 * `PermissionRequest`) against the tool's schema; it returns the input to use
 * (usually the same JSON) or fails with a message for the model. Without it
 * any JSON rewrite is accepted.
 *
 * @since 0.1.0
 * @category models
 */
export interface DispatchOptions {
  readonly validateInput?: ((input: Common.JsonValue) => Effect.Effect<Common.JsonValue, unknown>) | undefined
}

/**
 * A hook failure as the dispatch result reports it.
 *
 * @since 0.1.0
 * @category models
 */
export type HookErrorInfo = Omit<HookActivity.HookError, "_tag">

/**
 * The folded outcome of a dispatch.
 *
 * - `event`: the event after rewrites (what the next step must use);
 * - `decision` / `reason` / `decidedBy`: the strictest decision, its reason
 *   and the id of the hook that made it (`none` when no hook decided);
 * - `updatedInput`: present when a hook rewrote the input (also in `event`);
 * - `additionalContext`: texts to add for the model, in hook order;
 * - `continue: false` / `stopReason`: a hook stopped the turn;
 * - `systemMessages`: messages for the person;
 * - `errors`: the hooks that failed;
 * - `hooks`: how many hooks ran.
 *
 * @since 0.1.0
 * @category models
 */
export interface DispatchResult<E extends HookEvent.HookEvent = HookEvent.HookEvent> {
  readonly event: E
  readonly decision: HookOutput.DispatchDecision
  readonly reason?: string | undefined
  readonly decidedBy?: string | undefined
  readonly updatedInput?: Common.JsonValue | undefined
  readonly additionalContext: ReadonlyArray<string>
  readonly continue: boolean
  readonly stopReason?: string | undefined
  readonly systemMessages: ReadonlyArray<string>
  readonly errors: ReadonlyArray<HookErrorInfo>
  readonly hooks: number
}

/**
 * Options of `register`: `owner` names who registers (a plugin id, `config`,
 * a file path); it prefixes hook ids and appears in errors.
 *
 * @since 0.1.0
 * @category models
 */
export interface RegisterOptions {
  readonly owner?: string | undefined
}

/**
 * The dispatcher's interface.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Registers hooks for the lifetime of the scope. Validates every definition
   * first (events, matcher, priority, timeout, unique names); nothing is
   * registered when one is invalid.
   */
  readonly register: (
    hooks: Hook.Any | ReadonlyArray<Hook.Any>,
    options?: RegisterOptions
  ) => Effect.Effect<ReadonlyArray<Hook.HookInfo>, HookConfigError, Scope.Scope>
  /** Runs the hooks of an event; never fails. */
  readonly dispatch: <E extends HookEvent.HookEvent>(
    event: E,
    options?: DispatchOptions
  ) => Effect.Effect<DispatchResult<E>>
  /** Dispatches an event and discards the result (observer events). */
  readonly notify: (event: HookEvent.HookEvent) => Effect.Effect<void>
  /** Subscribes to the activity stream; subscribed as soon as this returns. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<HookActivity.HookActivity>, never, Scope.Scope>
  /**
   * Subscribes to the `HookError` activities (a hook that failed), subscribed
   * as soon as this returns. Other activities may come through too (when
   * someone subscribed to all of them): filter by `_tag`. While no one
   * subscribes to every activity, dispatching costs no publish but a
   * failed hook's (the hottest path, an event without hooks, none at all).
   */
  readonly subscribeErrors: Effect.Effect<Queue.Dequeue<HookActivity.HookActivity>, never, Scope.Scope>
  /** The activity stream (subscribes when the stream starts). */
  readonly events: Stream.Stream<HookActivity.HookActivity>
  /** The registered hooks, in run order. */
  readonly hooks: Effect.Effect<ReadonlyArray<Hook.HookInfo>>
}

/**
 * The hook dispatcher. `HookDispatcher.Default` is its layer; it needs
 * nothing (command hooks bring their `CommandExecutor` when registered, see
 * `CommandHook.register`).
 *
 * @since 0.1.0
 * @category tags
 */
export class HookDispatcher extends Effect.Service<HookDispatcher>()("@strata/hooks/HookDispatcher", {
  scoped: internal.make
}) {}

/**
 * The default timeout of a hook: 10 seconds.
 *
 * @since 0.1.0
 * @category utils
 */
export const DEFAULT_TIMEOUT_MS: number = internal.DEFAULT_TIMEOUT_MS
