import type { Common } from "@strata/protocol"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Hook from "../Hook.js"
import type * as HookActivity from "../HookActivity.js"
import * as HookCatalog from "../HookCatalog.js"
import type { DispatchOptions, DispatchResult, HookErrorInfo, RegisterOptions, Service } from "../HookDispatcher.js"
import { HookConfigError, HookFailure } from "../HookError.js"
import type * as HookEvent from "../HookEvent.js"
import * as HookOutput from "../HookOutput.js"
import type * as Matcher from "../Matcher.js"
import * as hookInternal from "./hook.js"

/** @internal */
export const DEFAULT_TIMEOUT_MS = hookInternal.DEFAULT_TIMEOUT_MS

/** Extra time a command hook gets past its own timeout before the dispatcher gives up on it. */
const COMMAND_BACKSTOP_MS = 5_000

interface Entry {
  readonly info: Hook.HookInfo
  readonly seq: number
  readonly matcher: Matcher.Matcher
  readonly deadline: Duration.Duration
  readonly run: (event: HookEvent.HookEvent) => Effect.Effect<HookOutput.HookOutput | void, unknown>
}

const isHookOutput = Schema.is(HookOutput.HookOutput)

const configError = (path: string, reason: HookConfigError["reason"], detail: string, source?: string) =>
  new HookConfigError({ reason, path, detail, ...(source === undefined ? {} : { source }) })

const toEntry = (def: Hook.Any, path: string, owner: string, seq: number): Either.Either<Entry, HookConfigError> =>
  Either.map(hookInternal.check(def, { path, owner, index: seq }), ({ info, matcher }) => ({
    info,
    seq,
    matcher,
    deadline: Duration.millis(info.kind === "command" ? info.timeoutMs + COMMAND_BACKSTOP_MS : info.timeoutMs),
    run: (event) => def.run(event as never)
  }))

const messageOf = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
    return error.message
  }
  return String(error)
}

const failureOf = (cause: Cause.Cause<unknown>): HookFailure => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    return error instanceof HookFailure ? error : new HookFailure({ reason: "Failed", detail: messageOf(error) })
  }
  const defect = Cause.dieOption(cause)
  if (Option.isSome(defect)) return new HookFailure({ reason: "Defect", detail: messageOf(defect.value) })
  return new HookFailure({ reason: "Failed", detail: "interrupted" })
}

const timeoutExit = (entry: Entry) =>
  Exit.fail(
    new HookFailure({
      reason: "Timeout",
      detail: `hook ${entry.info.id} did not finish within ${Duration.format(entry.deadline)}`
    })
  )

/**
 * Runs one hook with its deadline. The hook runs in a fiber started
 * immediately on the current thread: a synchronous hook (the common case)
 * is done before `runFork` returns, so it pays no timer and no race; only a
 * hook that suspends gets the timeout race. `Effect.timeout` on every hook
 * cost about 11 µs per hook, which alone would break the dispatch budget.
 */
const runBounded = (
  runtime: Runtime.Runtime<never>,
  entry: Entry,
  event: HookEvent.HookEvent
): Effect.Effect<Exit.Exit<HookOutput.HookOutput | void, unknown>> => {
  const fiber = Runtime.runFork(runtime)(
    Effect.suspend(() => entry.run(event)),
    { immediate: true }
  )
  const done = fiber.unsafePoll()
  if (done !== null) return Effect.succeed(done)
  return Fiber.await(fiber).pipe(
    Effect.timeoutTo({
      duration: entry.deadline,
      onSuccess: (exit): Effect.Effect<Exit.Exit<HookOutput.HookOutput | void, unknown>> => Effect.succeed(exit),
      onTimeout: () => Effect.as(Fiber.interruptFork(fiber), timeoutExit(entry))
    }),
    Effect.flatten,
    Effect.onInterrupt(() => Fiber.interrupt(fiber))
  )
}

interface ChainState {
  event: HookEvent.HookEvent
  decision: HookOutput.DispatchDecision
  reason: string | undefined
  decidedBy: string | undefined
  updatedInput: Common.JsonValue | undefined
  additionalContext: Array<string>
  continue: boolean
  stopReason: string | undefined
  systemMessages: Array<string>
  errors: Array<HookErrorInfo>
  hooks: number
}

const decide = (state: ChainState, decision: HookOutput.Decision, reason: string | undefined, by: string) => {
  if (HookOutput.strictness[decision] > HookOutput.strictness[state.decision]) {
    state.decision = decision
    state.reason = reason
    state.decidedBy = by
  }
}

const toResult = <E extends HookEvent.HookEvent>(state: ChainState): DispatchResult<E> => ({
  event: state.event as E,
  decision: state.decision,
  reason: state.reason,
  decidedBy: state.decidedBy,
  updatedInput: state.updatedInput,
  additionalContext: state.additionalContext,
  continue: state.continue,
  stopReason: state.stopReason,
  systemMessages: state.systemMessages,
  errors: state.errors,
  hooks: state.hooks
})

const EMPTY: ReadonlyArray<never> = []

const emptyResult = <E extends HookEvent.HookEvent>(event: E): DispatchResult<E> => ({
  event,
  decision: "none",
  additionalContext: EMPTY,
  continue: true,
  systemMessages: EMPTY,
  errors: EMPTY,
  hooks: 0
})

/** @internal */
export const make: Effect.Effect<Service, never, Scope.Scope> = Effect.gen(function* () {
  const pubsub = yield* Effect.acquireRelease(PubSub.unbounded<HookActivity.HookActivity>(), PubSub.shutdown)
  // Subscribers of every activity, and of the `HookError`s alone (the others are
  // not published for them: an event without hooks then costs no publish).
  let observers = 0
  let errorObservers = 0
  let seq = 0
  let entries: Array<Entry> = []
  let index = new Map<HookEvent.HookEventName, ReadonlyArray<Entry>>()

  const reindex = () => {
    entries.sort((a, b) => b.info.priority - a.info.priority || a.seq - b.seq)
    const next = new Map<HookEvent.HookEventName, ReadonlyArray<Entry>>()
    for (const name of HookCatalog.names) {
      const list = entries.filter((e) => e.info.events === "*" || e.info.events.includes(name))
      if (list.length > 0) next.set(name, list)
    }
    index = next
  }

  const publish = (activity: HookActivity.HookActivity) =>
    observers === 0 ? Effect.void : PubSub.publish(pubsub, activity)

  const register: Service["register"] = Effect.fn("HookDispatcher.register")(function* (
    hooks,
    options?: RegisterOptions
  ) {
    const owner = options?.owner ?? "app"
    const list = Array.isArray(hooks) ? (hooks as ReadonlyArray<Hook.Any>) : [hooks as Hook.Any]
    const added: Array<Entry> = []
    const seen = new Map<string, string>(entries.map((e) => [e.info.id, e.info.owner]))
    for (let i = 0; i < list.length; i++) {
      const n = seq + i + 1
      const checked = toEntry(list[i]!, `hooks[${i}]`, owner, n)
      if (Either.isLeft(checked)) return yield* checked.left
      const entry = checked.right
      const previous = seen.get(entry.info.id)
      if (previous !== undefined) {
        return yield* configError(
          `hooks[${i}].name`,
          "DuplicateName",
          `hook ${JSON.stringify(entry.info.id)} is registered twice (by ${previous} and by ${owner})`,
          owner
        )
      }
      seen.set(entry.info.id, owner)
      added.push(entry)
    }
    seq += list.length
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        entries.push(...added)
        reindex()
      }),
      () =>
        Effect.sync(() => {
          entries = entries.filter((e) => !added.includes(e))
          reindex()
        })
    )
    return added.map((e) => e.info)
  })

  const applyOutput = (
    state: ChainState,
    spec: HookEvent.EventSpec,
    entry: Entry,
    output: HookOutput.HookOutput,
    options: DispatchOptions | undefined
  ): Effect.Effect<HookFailure | undefined> => {
    const finish = (): undefined => {
      if (output.decision !== undefined && spec.decides) decide(state, output.decision, output.reason, entry.info.id)
      if (output.additionalContext !== undefined && output.additionalContext !== "") {
        state.additionalContext.push(output.additionalContext)
      }
      if (output.systemMessage !== undefined) state.systemMessages.push(output.systemMessage)
      if (output.continue === false) {
        state.continue = false
        state.stopReason = output.stopReason ?? output.reason ?? `stopped by hook ${entry.info.id}`
      }
      return undefined
    }
    if (output.updatedInput === undefined || spec.rewrites === undefined) return Effect.succeed(finish())
    const field = spec.rewrites
    const rewrite = (input: Common.JsonValue) => {
      state.event = { ...state.event, [field]: input } as HookEvent.HookEvent
      state.updatedInput = input
      return finish()
    }
    if (field === "prompt") {
      return Effect.succeed(
        typeof output.updatedInput === "string"
          ? rewrite(output.updatedInput)
          : new HookFailure({ reason: "InvalidUpdatedInput", detail: "a prompt rewrite must be a string" })
      )
    }
    const validateInput = options?.validateInput
    if (validateInput === undefined) return Effect.succeed(rewrite(output.updatedInput))
    return Effect.suspend(() => validateInput(output.updatedInput as Common.JsonValue)).pipe(
      Effect.matchCause({
        onSuccess: rewrite,
        onFailure: (cause) =>
          new HookFailure({
            reason: "InvalidUpdatedInput",
            detail: `rewritten input rejected: ${messageOf(Cause.squash(cause))}`
          })
      })
    )
  }

  const chain = Effect.fnUntraced(function* (
    event: HookEvent.HookEvent,
    list: ReadonlyArray<Entry>,
    options: DispatchOptions | undefined
  ) {
    const runtime = yield* Effect.runtime<never>()
    const clock = yield* Effect.clock
    const spec = HookCatalog.catalog[event.hook_event_name]
    const started = clock.unsafeCurrentTimeNanos()
    const state: ChainState = {
      event,
      decision: "none",
      reason: undefined,
      decidedBy: undefined,
      updatedInput: undefined,
      additionalContext: [],
      continue: true,
      stopReason: undefined,
      systemMessages: [],
      errors: [],
      hooks: 0
    }
    for (const entry of list) {
      if (spec.matchOn !== undefined && !entry.matcher.matchesAll) {
        if (!entry.matcher.test(HookCatalog.matchTarget(state.event))) continue
      }
      state.hooks++
      const t0 = clock.unsafeCurrentTimeNanos()
      const exit = yield* runBounded(runtime, entry, state.event)
      let failure: HookFailure | undefined
      let output: HookOutput.HookOutput | undefined
      if (Exit.isSuccess(exit)) {
        const value = exit.value
        if (value !== undefined && value !== null) {
          if (!isHookOutput(value)) {
            failure = new HookFailure({
              reason: "InvalidOutput",
              detail: "the hook returned something that is not a HookOutput"
            })
          } else if (!spec.observer) {
            output = value
            failure = yield* applyOutput(state, spec, entry, value, options)
          }
        }
      } else {
        failure = failureOf(exit.cause)
      }
      const duration_ms = Number(clock.unsafeCurrentTimeNanos() - t0) / 1e6
      if (failure !== undefined) {
        const onError = entry.info.onError ?? spec.defaultOnError
        const info: HookErrorInfo = {
          hook_event_name: event.hook_event_name,
          hook: entry.info.id,
          kind: entry.info.kind,
          duration_ms,
          reason: failure.reason,
          message: failure.detail,
          on_error: onError
        }
        state.errors.push(info)
        if (onError === "deny" && spec.decides) {
          decide(state, "deny", `hook ${entry.info.id} failed (${failure.reason}): ${failure.detail}`, entry.info.id)
        }
        if (observers + errorObservers > 0) yield* PubSub.publish(pubsub, { _tag: "HookError", ...info })
      } else if (observers > 0) {
        yield* publish({
          _tag: "HookCompleted",
          hook_event_name: event.hook_event_name,
          hook: entry.info.id,
          kind: entry.info.kind,
          duration_ms,
          ...(output?.decision === undefined || !spec.decides ? {} : { decision: output.decision }),
          ...(output?.reason === undefined ? {} : { reason: output.reason }),
          rewrote: output?.updatedInput !== undefined && spec.rewrites !== undefined,
          added_context: output?.additionalContext !== undefined,
          stopped: output?.continue === false
        })
      }
      if (state.decision === "deny" || !state.continue) break
    }
    if (observers > 0) {
      yield* publish({
        _tag: "EventDispatched",
        event: state.event,
        decision: state.decision,
        ...(state.reason === undefined ? {} : { reason: state.reason }),
        hooks: state.hooks,
        errors: state.errors.length,
        duration_ms: Number(clock.unsafeCurrentTimeNanos() - started) / 1e6
      })
    }
    return state
  })

  // Not `Effect.fn`: dispatch sits on the hottest path (every response delta).
  // `Effect.fn` (a span made current plus a captured stack trace) cost about
  // 6 µs per call with no hook registered, `withSpan` about 5 µs. An event
  // without hooks returns at once, untraced; a chain of hooks is recorded as a
  // "HookDispatcher.dispatch" span under the caller's span (`useSpan`, about
  // 2 µs: the span is not made the parent of the hooks' own spans).
  const dispatch = (<E extends HookEvent.HookEvent>(event: E, options?: DispatchOptions) => {
    const list = index.get(event.hook_event_name)
    if (list === undefined) {
      const result = emptyResult(event)
      if (observers === 0) return Effect.succeed(result)
      return Effect.as(
        publish({ _tag: "EventDispatched", event, decision: "none", hooks: 0, errors: 0, duration_ms: 0 }),
        result
      )
    }
    return Effect.useSpan(
      "HookDispatcher.dispatch",
      { attributes: { hook_event_name: event.hook_event_name }, captureStackTrace: false },
      (span) =>
        Effect.map(chain(event, list, options), (state) => {
          span.attribute("hooks", state.hooks)
          span.attribute("decision", state.decision)
          return toResult<E>(state)
        })
    )
  }) satisfies Service["dispatch"]

  // A subscription counted (by `count(+1)` / `count(-1)`) while it lasts.
  const counted = (count: (by: 1 | -1) => void) =>
    Effect.acquireRelease(
      Effect.sync(() => count(1)),
      () => Effect.sync(() => count(-1))
    ).pipe(Effect.zipRight(PubSub.subscribe(pubsub)))
  const subscribe: Service["subscribe"] = counted((by) => {
    observers += by
  })
  const subscribeErrors: Service["subscribeErrors"] = counted((by) => {
    errorObservers += by
  })

  return {
    register,
    dispatch,
    notify: (event) => Effect.asVoid(dispatch(event)),
    subscribe,
    subscribeErrors,
    events: Stream.unwrapScoped(Effect.map(subscribe, (queue) => Stream.fromQueue(queue))),
    hooks: Effect.sync(() => entries.map((e) => e.info))
  } satisfies Service
})
