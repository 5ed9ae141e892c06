/**
 * Hook definitions: what a plugin (or the app) registers with the
 * `HookDispatcher`. A definition is plain data plus an Effect function;
 * `define` is an identity helper that types `run`'s argument from `event`.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { HookConfigError } from "./HookError.js"
import type * as HookEvent from "./HookEvent.js"
import type * as HookOutput from "./HookOutput.js"
import * as internal from "./internal/hook.js"
import type * as Matcher from "./Matcher.js"

/**
 * The events a hook listens to: one name, several, or `"*"` for all.
 *
 * @since 0.1.0
 * @category models
 */
export type EventSelector = HookEvent.HookEventName | ReadonlyArray<HookEvent.HookEventName> | "*"

/**
 * The event type `run` receives for a selector.
 *
 * @since 0.1.0
 * @category models
 */
export type EventFor<S extends EventSelector> = S extends "*"
  ? HookEvent.HookEvent
  : S extends ReadonlyArray<infer N extends HookEvent.HookEventName>
    ? HookEvent.EventOf<N>
    : S extends HookEvent.HookEventName
      ? HookEvent.EventOf<S>
      : never

/**
 * Where a hook runs: in the process (an Effect function) or as a command.
 *
 * @since 0.1.0
 * @category models
 */
export type Kind = "in-process" | "command"

/**
 * The fields of a hook other than `event` and `run`.
 *
 * - `name`: unique per owner; the hook's id is `owner/name` (default
 *   `owner/Event#n`). Registering a name twice is an error naming both owners.
 * - `matcher`: see `Matcher` (ignored on events without a match target);
 *   `matcherDialect` chooses how it is read (default `strata`).
 * - `priority`: higher runs first (default 0); equal priorities run in
 *   registration order.
 * - `timeout`: default 10 seconds. A hook that takes longer is interrupted
 *   and reported as a `Timeout` failure.
 * - `onError`: what a failure means (default: `deny` on `PreToolUse`, `allow`
 *   elsewhere).
 * - `kind`: `in-process` (default) or `command` (set by `CommandHook`).
 *
 * @since 0.1.0
 * @category models
 */
export interface HookOptions {
  readonly name?: string | undefined
  readonly matcher?: string | undefined
  readonly matcherDialect?: Matcher.Dialect | undefined
  readonly priority?: number | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly onError?: HookOutput.OnError | undefined
  readonly kind?: Kind | undefined
}

/**
 * A hook: the events it listens to, its options and `run`, which returns a
 * `HookOutput` (or nothing). Failing with a `HookFailure` chooses the failure
 * reason; any other failure is `Failed`, a defect is `Defect`. Failures
 * never fail the dispatch.
 *
 * @since 0.1.0
 * @category models
 */
export interface HookDefinition<S extends EventSelector = EventSelector, E = unknown, R = never> extends HookOptions {
  readonly event: S
  run(event: EventFor<S>): Effect.Effect<HookOutput.HookOutput | void, E, R>
}

/**
 * Any hook definition whose `run` requires at most `R`: every
 * `HookDefinition<S, E, R>` is assignable to it. The dispatcher runs
 * `Any<never>` (requirements provided); a plugin's hooks are `Any<R>` until
 * its layer provides `R`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Any<R = never> extends HookOptions {
  readonly event: EventSelector
  run(event: never): Effect.Effect<HookOutput.HookOutput | void, unknown, R>
}

/**
 * Defines a hook; the identity, typed so `run` receives the selected event.
 *
 * @example
 * ```ts
 * const noRm = Hook.define({
 *   event: "PreToolUse",
 *   matcher: "shell__exec",
 *   run: (e) => Effect.succeed(JSON.stringify(e.tool_input).includes("rm -rf") ? HookOutput.deny("no rm -rf") : undefined)
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const define = <const S extends EventSelector, E = never, R = never>(
  definition: HookDefinition<S, E, R>
): HookDefinition<S, E, R> => definition

/**
 * A registered hook, as the dispatcher lists it.
 *
 * @since 0.1.0
 * @category models
 */
export interface HookInfo {
  readonly id: string
  readonly owner: string
  readonly kind: Kind
  readonly events: ReadonlyArray<HookEvent.HookEventName> | "*"
  readonly matcher: string | undefined
  readonly priority: number
  readonly timeoutMs: number
  readonly onError: HookOutput.OnError | undefined
}

/**
 * Checks an untrusted hook definition (from a plugin) the way the dispatcher
 * does at registration: events, matcher, priority, timeout, `onError`, name.
 * Returns what the dispatcher would list for it, its id being
 * `owner/name`, or `owner/Event#index` without a name. Fails with a
 * `HookConfigError` naming `path`.
 *
 * @since 0.1.0
 * @category utils
 */
export const check = (
  definition: unknown,
  options: { readonly path: string; readonly owner: string; readonly index: number }
): Either.Either<HookInfo, HookConfigError> => Either.map(internal.check(definition, options), (c) => c.info)
