/**
 * The turn as data: a schema'd `TurnState` and pure transitions. The turn
 * driver (`Turn.ts`) performs the effects (model call, tool dispatch,
 * persistence, events) and feeds what happened back in; everything it
 * decides comes from here.
 *
 * The state is persisted in the journal: `observe` folds every event the
 * driver writes, so `fromJournal(frames)` rebuilds the state of a thread in
 * any process, including one whose writer died mid-turn. Recovery
 * (`closing`) is a pure function of that state: the events that close
 * whatever was open, so that the thread is valid for a provider again.
 *
 * The invariants (`violations`): every assistant tool call has exactly one
 * result, placed after it and before the next user or assistant message; a
 * `response_start` has its `response_end`; a `turn_started` its
 * `turn_ended`.
 *
 * @since 0.2.0
 */

import type { Event } from "@strata/protocol/Event"
import * as Ids from "@strata/protocol/Ids"
import type { FinishReason, TurnOutcome } from "@strata/protocol/Model"
import * as Schema from "effect/Schema"

/**
 * Where a turn is. `idle`: no turn open. `calling_model`: a model call is
 * streaming. `dispatching`: the model asked for tools, some unanswered.
 * `awaiting_approval`: no turn is open and calls wait on (or run after)
 * approvals. `ended`: the last turn ended and every call is answered. A
 * state with no open turn and `open` calls (`dispatching`) is a crashed
 * writer's: `closing` repairs it.
 *
 * @since 0.2.0
 * @category schemas
 */
export const TurnPhase = Schema.Literal("idle", "calling_model", "dispatching", "awaiting_approval", "ended")
/** @since 0.2.0 @category models */
export type TurnPhase = typeof TurnPhase.Type

/**
 * A tool call the model made that has no result yet. `pending`: a person
 * was asked (`approval_requested`); `approved`: approved, running.
 *
 * @since 0.2.0
 * @category schemas
 */
export const OpenCall = Schema.Struct({
  id: Ids.ToolCallId,
  name: Schema.String,
  status: Schema.Literal("open", "pending", "approved"),
  approval_id: Schema.optional(Schema.String)
})
/** @since 0.2.0 @category models */
export type OpenCall = typeof OpenCall.Type

/**
 * @since 0.2.0
 * @category schemas
 */
export const TurnState = Schema.Struct({
  phase: TurnPhase,
  /** The open turn, if any. */
  turn_id: Schema.NullOr(Schema.String),
  /** A `response_start` without its `response_end`. */
  open_response: Schema.NullOr(Ids.ResponseId),
  /** Unanswered tool calls, in the order the model made them. */
  calls: Schema.Array(OpenCall),
  /** Model calls made in the open turn. */
  model_calls: Schema.Number,
  /** A Stop hook already sent the model back once in this turn. */
  stop_hook_active: Schema.Boolean
})
/** @since 0.2.0 @category models */
export type TurnState = typeof TurnState.Type

/**
 * @since 0.2.0
 * @category constructors
 */
export const initial: TurnState = {
  phase: "idle",
  turn_id: null,
  open_response: null,
  calls: [],
  model_calls: 0,
  stop_hook_active: false
}

const phaseOf = (s: Omit<TurnState, "phase">, before: TurnPhase): TurnPhase => {
  if (s.turn_id !== null) {
    if (s.open_response !== null) return "calling_model"
    return s.calls.length > 0 ? "dispatching" : "calling_model"
  }
  if (s.calls.length > 0) return s.calls.some((c) => c.status !== "open") ? "awaiting_approval" : "dispatching"
  return before === "idle" ? "idle" : "ended"
}

const withCalls = (s: TurnState, calls: ReadonlyArray<OpenCall>): TurnState => {
  const next = { ...s, calls }
  return { ...next, phase: phaseOf(next, s.phase) }
}

/**
 * The transition on one journal event. Pure; unknown events leave the state.
 *
 * @since 0.2.0
 * @category transitions
 */
export const observe = (s: TurnState, e: Event): TurnState => {
  switch (e.event) {
    case "turn_started":
      return { ...s, phase: "calling_model", turn_id: e.turn_id, model_calls: 0, stop_hook_active: false }
    case "response_start":
      return withCalls({ ...s, open_response: e.response_id, model_calls: s.model_calls + 1 }, s.calls)
    case "response_end":
      return withCalls({ ...s, open_response: null }, s.calls)
    case "response_retry":
      // A discarded attempt is not a model call of its own: `max_turns` counts answers.
      return { ...s, model_calls: Math.max(0, s.model_calls - 1) }
    case "message_appended": {
      const m = e.message
      if (m.role === "assistant") {
        const calls = (m.tool_calls ?? []).map((c): OpenCall => ({ id: c.id, name: c.name, status: "open" }))
        return withCalls(s, calls)
      }
      if (m.role === "tool")
        return withCalls(
          s,
          s.calls.filter((c) => c.id !== m.tool_call_id)
        )
      if (m.role === "user" && s.turn_id !== null && s.calls.length === 0) return { ...s, stop_hook_active: true }
      return s
    }
    case "approval_requested":
      return withCalls(
        s,
        s.calls.map((c) => (c.id === e.call_id ? { ...c, status: "pending" as const, approval_id: e.approval_id } : c))
      )
    case "approval_decided":
      return withCalls(
        s,
        s.calls.map((c) =>
          c.approval_id === e.approval_id ? { ...c, status: e.decision === "approved" ? "approved" : "open" } : c
        )
      )
    case "turn_ended":
      return withCalls({ ...s, turn_id: null, open_response: null, phase: "ended" }, s.calls)
    default:
      return s
  }
}

/**
 * The state a journal leaves.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromJournal = (events: Iterable<Event>): TurnState => {
  let s = initial
  for (const e of events) s = observe(s, e)
  return s
}

/**
 * What the driver does next.
 *
 * @since 0.2.0
 * @category models
 */
export type Next =
  | { readonly _tag: "CallModel" }
  | { readonly _tag: "Dispatch" }
  | { readonly _tag: "AskStopHook" }
  | { readonly _tag: "ContinueAfterStopHook" }
  | { readonly _tag: "End"; readonly outcome: TurnOutcome; readonly reason?: string | undefined }

/**
 * What just happened, as the driver reports it.
 *
 * @since 0.2.0
 * @category models
 */
export type Input =
  | { readonly _tag: "Started" }
  | { readonly _tag: "ModelReplied"; readonly toolCalls: number }
  | { readonly _tag: "StopHook"; readonly deny: boolean }
  | { readonly _tag: "Dispatched"; readonly pending: number }

/**
 * The loop's decision, pure: `state` is the journal's (after the driver
 * wrote what it reports in `input`).
 *
 * @since 0.2.0
 * @category transitions
 */
export const next = (state: TurnState, input: Input, maxTurns: number): Next => {
  const callModel = (): Next =>
    state.model_calls >= maxTurns
      ? { _tag: "End", outcome: "max_turns", reason: `stopped after ${maxTurns} model calls (max_turns)` }
      : { _tag: "CallModel" }
  switch (input._tag) {
    case "Started":
      return callModel()
    case "ModelReplied":
      return input.toolCalls === 0 ? { _tag: "AskStopHook" } : { _tag: "Dispatch" }
    case "StopHook":
      // A Stop hook may send the model back once per turn.
      return input.deny && !state.stop_hook_active
        ? { _tag: "ContinueAfterStopHook" }
        : { _tag: "End", outcome: "completed" }
    case "Dispatched":
      return input.pending > 0
        ? {
            _tag: "End",
            outcome: "awaiting_approval",
            reason: `${input.pending} tool call${input.pending === 1 ? "" : "s"} waiting for approval`
          }
        : callModel()
  }
}

/**
 * How often and how patiently a broken model stream is retried (see
 * {@link streamRetry}). `retries`: the provider's `stream_retries`.
 *
 * @since 0.2.0
 * @category models
 */
export interface StreamRetryPolicy {
  readonly retries: number
  readonly initialDelayMs: number
  readonly maxDelayMs: number
  /** A provider's `retry-after` above this is not waited for: the call fails. */
  readonly maxRetryAfterMs: number
}

/**
 * The defaults: 2 retries, 500 ms doubling up to 8 s, a `retry-after` up to 60 s.
 *
 * @since 0.2.0
 * @category constructors
 */
export const defaultStreamRetry: StreamRetryPolicy = {
  retries: 2,
  initialDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000
}

/**
 * What happens after a model stream failed, pure. A failure the policy
 * retries (`retryable`: before any tool call of the response ran, see
 * `ProviderError.isStreamRetryable`) on attempt `attempt` (1-based) of at
 * most `retries + 1` is retried after the provider's `retry-after` when it
 * gave one, else an exponential backoff (`initialDelayMs * 2^(attempt-1)`,
 * at most `maxDelayMs`) with jitter: `random` in [0, 1) picks the delay in
 * the upper half of it. Anything else fails the turn.
 *
 * @since 0.2.0
 * @category transitions
 */
export const streamRetry = (
  input: {
    readonly attempt: number
    readonly retryable: boolean
    readonly retryAfterMs?: number | undefined
    readonly random: number
  },
  policy: StreamRetryPolicy
):
  | { readonly _tag: "Retry"; readonly attempt: number; readonly maxAttempts: number; readonly delayMs: number }
  | { readonly _tag: "Fail" } => {
  const maxAttempts = policy.retries + 1
  if (!input.retryable || input.attempt >= maxAttempts) return { _tag: "Fail" }
  if (input.retryAfterMs !== undefined) {
    return input.retryAfterMs > policy.maxRetryAfterMs
      ? { _tag: "Fail" }
      : { _tag: "Retry", attempt: input.attempt + 1, maxAttempts, delayMs: Math.max(0, input.retryAfterMs) }
  }
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (input.attempt - 1))
  const random = Math.min(Math.max(input.random, 0), 1)
  return { _tag: "Retry", attempt: input.attempt + 1, maxAttempts, delayMs: Math.round(base / 2 + (random * base) / 2) }
}

/**
 * The events that close what `state` has open, so the thread is valid for
 * a provider: the open response ends (`cancelled`), every unanswered call
 * that is not a live pending approval (`livePending`: their call ids) gets
 * an error result saying why, and an open turn ends `interrupted`. Empty
 * when nothing is open.
 *
 * @since 0.2.0
 * @category transitions
 */
export const closing = (
  state: TurnState,
  options: {
    readonly livePending: ReadonlySet<string>
    readonly at: number
    /** Why the calls got no real result (their error text). */
    readonly why: string
    /** The `turn_ended` reason (default `why`). */
    readonly turnReason?: string | undefined
    /** The open response's finish reason (default `cancelled`). */
    readonly finishReason?: FinishReason | undefined
  }
): Array<Event> => {
  const events: Array<Event> = []
  if (state.open_response !== null) {
    events.push({
      event: "response_end",
      response_id: state.open_response,
      finish_reason: options.finishReason ?? "cancelled"
    })
  }
  for (const c of state.calls) {
    if (c.status === "pending" && options.livePending.has(c.id)) continue
    events.push({
      event: "message_appended",
      message: {
        id: Ids.make("MessageId"),
        role: "tool",
        tool_call_id: c.id,
        content: `Error: ${options.why}`,
        is_error: true,
        created_at: options.at
      }
    })
  }
  if (state.turn_id !== null) {
    events.push({
      event: "turn_ended",
      turn_id: state.turn_id,
      outcome: "interrupted",
      reason: options.turnReason ?? options.why
    })
  }
  return events
}

/**
 * Whether a journal is valid for a provider, and if not why: every
 * assistant tool call answered exactly once, after it and before the next
 * user or assistant message; no result for a call never made. (Open
 * responses and turns are allowed at the end: a live turn has them.)
 *
 * @since 0.2.0
 * @category utils
 */
export const violations = (events: Iterable<Event>, options: { readonly closed?: boolean } = {}): Array<string> => {
  const out: Array<string> = []
  let open = new Map<string, string>()
  const answered = new Set<string>()
  let index = 0
  for (const e of events) {
    index++
    if (e.event !== "message_appended") continue
    const m = e.message
    if (m.role === "user" || m.role === "assistant") {
      for (const [id, name] of open) out.push(`event ${index}: ${m.role} message before the result of ${name} (${id})`)
      open = new Map()
      if (m.role === "assistant") for (const c of m.tool_calls ?? []) open.set(c.id, c.name)
    } else if (m.role === "tool") {
      const id = m.tool_call_id ?? ""
      if (answered.has(id)) out.push(`event ${index}: a second result for ${id}`)
      else if (!open.has(id)) out.push(`event ${index}: a result for ${id}, which is not an open call`)
      open.delete(id)
      answered.add(id)
    }
  }
  if (options.closed === true) for (const [id, name] of open) out.push(`end: ${name} (${id}) has no result`)
  return out
}
