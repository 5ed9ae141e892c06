/**
 * A turn's bookkeeping on its thread: the lease (one writer per thread),
 * the turn state folded from the journal, closing what a crashed or
 * interrupted turn left open, the "latest" checkpoint and the thread's
 * status, compaction when the prompt outgrows the model's window, and the
 * tool messages that answer calls.
 *
 * @internal
 */
import type { HookDispatcher } from "@strata/hooks/HookDispatcher"
import type { JsonValue } from "@strata/protocol/Common"
import type { Event } from "@strata/protocol/Event"
import * as Ids from "@strata/protocol/Ids"
import type { Message } from "@strata/protocol/Message"
import type { FinishReason, TurnOutcome, Usage } from "@strata/protocol/Model"
import type * as Chat from "@strata/providers/Chat"
import { LanguageModel } from "@strata/providers/LanguageModel"
import type { Model } from "@strata/providers/ModelRegistry"
import type { StateStore, ThreadLease } from "@strata/storage/StateStore"
import type { ApprovalRecord } from "@strata/storage/StorageSchema"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import type { ThreadManager } from "../ThreadManager.js"
import * as TM from "../ThreadManager.js"
import type { InvokeResult, ToolInvoker } from "../ToolInvoker.js"
import * as T from "../Turn.js"
import * as M from "../TurnMachine.js"
import { addUsage, estimateTokens, renderResult, toChat, zeroUsage } from "./turnHistory.js"

/** What the bookkeeping works with: the turn runner's services and options. */
export interface Deps {
  readonly threads: Context.Tag.Service<ThreadManager>
  readonly hooks: HookDispatcher
  readonly store: Context.Tag.Service<StateStore>
  readonly lm: Context.Tag.Service<LanguageModel>
  readonly invoker: Context.Tag.Service<ToolInvoker>
  readonly options: T.Options
  readonly now: Effect.Effect<number>
  readonly compaction: T.CompactionStrategy
  readonly compactAt: number
}

/** Whether a journal leaves a tool call unanswered or an approval undecided. */
/**
 * Where a thread's pending approvals are, from its journal (read under the
 * lease): `[]` when it has neither an undecided approval nor an unanswered
 * call (none pending), the approvals it asked about and has not decided when
 * every unanswered call waits on one of them (only those can be pending: the
 * store is asked for them alone), `undefined` otherwise (an unanswered call
 * that waits on no approval in the journal, as a writer that stopped between
 * storing an approval and journaling it leaves: the store lists the thread's).
 */
export const askedApprovals = (frames: ReadonlyArray<Event>): ReadonlyArray<string> | undefined => {
  const undecided = new Set<string>()
  for (const f of frames) {
    if (f.event === "approval_requested") undecided.add(f.approval_id)
    else if (f.event === "approval_decided") undecided.delete(f.approval_id)
  }
  const calls = M.fromJournal(frames).calls
  return calls.every((c) => c.status === "pending" && c.approval_id !== undefined && undecided.has(c.approval_id))
    ? [...undecided]
    : undefined
}

export const make = ({ threads, hooks, store, lm, invoker, options, now, compaction, compactAt }: Deps) => {
  // Replaces `older` (the oldest messages) with a summary, after PreCompact.
  const compactNow = (
    threadId: Ids.ThreadId,
    model: Model,
    older: ReadonlyArray<{ readonly message: Message; readonly seq: number }>,
    trigger: "auto" | "manual"
  ) =>
    Effect.gen(function* () {
      yield* hooks.dispatch({
        hook_event_name: "PreCompact",
        thread_id: threadId,
        session_id: threadId,
        trigger
      })
      const summary = yield* compaction
        .compact({ model, messages: older.map((e) => e.message) })
        .pipe(Effect.provideService(LanguageModel, lm))
      yield* threads.append(threadId, [
        { event: "compaction", summary, through_seq: older[older.length - 1]!.seq, strategy: compaction.name }
      ])
      yield* hooks.notify({
        hook_event_name: "SessionStart",
        thread_id: threadId,
        session_id: threadId,
        source: "compact",
        model: model.id
      })
      return summary
    })

  // Keeps the prompt inside the model's window: compacts older messages
  // (keeping the last few) when the estimate passes `compactAt` of it.
  const guardContext = (threadId: Ids.ThreadId, model: Model, tools: ReadonlyArray<Chat.ToolDefinition>) =>
    Effect.gen(function* () {
      const limit = Math.floor(model.context_window * compactAt)
      const size = (ms: ReadonlyArray<Message>) =>
        estimateTokens(toChat(ms, options.systemPrompt, model.capabilities)) + estimateTokens(tools)
      let entries = yield* threads.entries(threadId)
      if (size(entries.map((e) => e.message)) <= limit) return entries.map((e) => e.message)
      const keep = Math.min(4, entries.length)
      const older = entries.slice(0, entries.length - keep)
      if (older.length === 0) {
        return yield* new T.TurnError({
          reason: "ContextTooLong",
          threadId,
          detail: `the last messages alone (~${size(entries.map((e) => e.message))} tokens) exceed ${limit} tokens of ${model.id}'s ${model.context_window}-token window`
        })
      }
      yield* compactNow(threadId, model, older, "auto")
      entries = yield* threads.entries(threadId)
      const after = entries.map((e) => e.message)
      if (size(after) > limit) {
        return yield* new T.TurnError({
          reason: "ContextTooLong",
          threadId,
          detail: `still ~${size(after)} tokens after compaction (limit ${limit} for ${model.id})`
        })
      }
      return after
    })

  // The turn's lease on its thread: one writer per thread across every
  // process sharing the store. Re-entrant within one fiber (an approval
  // resolved inside a session continues the turn under the same lease).
  const withLease = <A, E, R>(threadId: string, effect: Effect.Effect<A, E, R>) =>
    Effect.flatMap(FiberRef.get(TM.CurrentLease), (held) =>
      Option.isSome(held) && held.value.threadId === threadId
        ? effect
        : Effect.scoped(
            Effect.flatMap(
              store.acquireThreadLease(threadId, {
                owner: options.leaseOwner ?? "strata turn",
                ...(options.leaseTtlMs === undefined ? {} : { ttlMs: options.leaseTtlMs })
              }),
              (lease) => Effect.locally(effect, TM.CurrentLease, Option.some(lease))
            )
          )
    )

  // Under the thread's lease, read once and kept by the thread manager.
  const journalState = (threadId: string) => Effect.map(threads.journal(threadId), M.fromJournal)

  // Closes whatever the journal has open (the one recovery path: a crashed
  // writer's turn, an interrupted one, a failed one): calls that are not a
  // live pending approval get an error result, an open turn ends.
  // `known`: the thread's pending approvals, when the caller has just listed them under the lease.
  const closeOpen = (
    threadId: string,
    why: string,
    end?: {
      readonly outcome: TurnOutcome
      readonly usage: Usage
      readonly reason: string
      readonly finishReason: FinishReason
    },
    known?: ReadonlyArray<ApprovalRecord>
  ) =>
    Effect.gen(function* () {
      const state = yield* journalState(threadId)
      const approvals = known ?? (yield* pendingOf(threadId))
      const events = M.closing(state, {
        livePending: new Set(approvals.map((a) => a.call.id as string)),
        at: yield* now,
        why,
        ...(end === undefined ? {} : { turnReason: end.reason, finishReason: end.finishReason })
      }).map((e) =>
        e.event === "turn_ended" && end !== undefined ? { ...e, outcome: end.outcome, usage: end.usage } : e
      )
      if (events.length > 0) yield* threads.append(threadId, events)
      return { repaired: events.length > 0, pending: approvals }
    })

  // The thread's pending approvals. Every approval of a thread is asked about
  // in its journal (`approval_requested`, once the call it asks about is
  // there, unanswered) and decided there (`approval_decided`): under the
  // lease, the journal names the approvals that may be pending, and the store
  // (which another process may have resolved them in) says which are; the
  // store lists the thread's own only when the journal cannot tell
  // (`askedApprovals`). A project's approvals pile up: a turn reads its own.
  const pendingOf = (threadId: string) =>
    Effect.flatMap(FiberRef.get(TM.CurrentLease), (held) => {
      if (Option.isNone(held) || held.value.threadId !== threadId) return listPending(threadId)
      return Effect.flatMap(threads.journal(threadId), (frames) => {
        const asked = askedApprovals(frames)
        return asked === undefined ? listPending(threadId) : stillPending(threadId, asked)
      })
    })
  const listPending = (threadId: string) => store.listApprovals({ status: "pending", threadId })
  const stillPending = (threadId: string, ids: ReadonlyArray<string>) =>
    Effect.map(
      Effect.forEach(ids, (id) => store.getApproval(id)),
      (found): ReadonlyArray<ApprovalRecord> =>
        found
          .flatMap((a) =>
            Option.isSome(a) && a.value.status === "pending" && a.value.thread_id === threadId ? [a.value] : []
          )
          .sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    )

  // The "latest" checkpoint, read before a turn starts anything: a corrupt
  // one is a clear error, not a failure after the tools ran.
  // Under a lease, what it read or saved last is not read again.
  const latest = new WeakMap<ThreadLease, { readonly usage: Usage; readonly model: string | undefined }>()
  const heldLease = (threadId: string) =>
    Effect.map(FiberRef.get(TM.CurrentLease), (held) =>
      Option.isSome(held) && held.value.threadId === threadId ? held.value : undefined
    )
  const usageBefore = (threadId: string) =>
    Effect.flatMap(heldLease(threadId), (lease) => {
      const known = lease === undefined ? undefined : latest.get(lease)
      if (known !== undefined) return Effect.succeed(known)
      return Effect.tap(loadUsage(threadId), (usage) =>
        Effect.sync(() => {
          if (lease !== undefined) latest.set(lease, usage)
        })
      )
    })
  const loadUsage = (threadId: string) =>
    store.loadCheckpoint(threadId, "latest").pipe(
      Effect.mapError(
        (cause) =>
          new T.TurnError({
            reason: "CorruptState",
            threadId,
            detail: `its latest checkpoint cannot be read (${cause.message}); nothing ran. Remove or restore it (strata threads) and try again`
          })
      ),
      Effect.map((previous) =>
        Option.match(previous, {
          onNone: () => ({ usage: zeroUsage(), model: undefined as string | undefined }),
          onSome: (c) => {
            const state = c.state as { usage_total?: Usage; model?: string } | null
            return { usage: (state?.usage_total ?? zeroUsage()) as Usage, model: state?.model }
          }
        })
      )
    )

  const toolMessage = (result: InvokeResult, at: number): Event => {
    const rendered = renderResult(result)
    return {
      event: "message_appended",
      message: {
        id: Ids.make("MessageId"),
        role: "tool",
        tool_call_id: result.call_id,
        content: rendered.content,
        ...(rendered.is_error ? { is_error: true } : {}),
        ...(rendered.images === undefined ? {} : { images: rendered.images }),
        created_at: at
      }
    }
  }

  // The thread's "latest" checkpoint and its status after a turn.
  const saveLatest = (
    threadId: string,
    end: {
      readonly turnId: string
      readonly model: string
      readonly outcome: TurnOutcome
      readonly usage: Usage
      readonly before: Usage
    }
  ) =>
    Effect.gen(function* () {
      const lease = yield* FiberRef.get(TM.CurrentLease)
      const state = {
        turn_id: end.turnId,
        model: end.model,
        outcome: end.outcome,
        usage: end.usage as unknown as JsonValue,
        usage_total: addUsage(end.before, end.usage) as unknown as JsonValue,
        last_seq: yield* threads.lastSeq(threadId)
      }
      if (Option.isSome(lease) && lease.value.threadId === threadId) {
        latest.delete(lease.value)
        yield* store.saveCheckpoint(threadId, "latest", state, { lease: lease.value })
        latest.set(lease.value, { usage: addUsage(end.before, end.usage), model: end.model })
      } else yield* store.saveCheckpoint(threadId, "latest", state)
      yield* settleStatus(threadId)
    })

  // `running` only while a live owner holds the thread: a thread with
  // approvals pending is `paused`, else `idle`.
  // `pending`: how many approvals are pending, when the caller has just listed them under the lease.
  const settleStatus = (threadId: string, pending?: number) =>
    Effect.gen(function* () {
      const count = pending ?? (yield* pendingOf(threadId)).length
      yield* threads.touch(threadId, (t) => ({
        ...t,
        status: count > 0 ? "paused" : t.status === "running" || t.status === "paused" ? "idle" : t.status
      }))
    })

  // A writer that died leaves its turn open, maybe calls unanswered (in
  // any phase, an approved call's included), maybe the thread `running`.
  // Close it, so the conversation the model sees next is consistent.
  // `turnFollows`: a turn starts next under the same lease, which marks the
  // thread `running` itself and settles its status when it ends, however it
  // ends: settling it here too would be a write undone by the next one.
  // The caller of a turn has found the thread (before taking the lease) and
  // may know its pending approvals: neither is read again. What it returns:
  // whether anything was closed, and the thread's pending approvals.
  const repairUnderLease = (
    threadId: string,
    options?: { readonly turnFollows?: boolean; readonly pending?: ReadonlyArray<ApprovalRecord> }
  ) =>
    Effect.gen(function* () {
      const closing = "the process running this call stopped before it finished"
      if (options?.turnFollows === true) return yield* closeOpen(threadId, closing, undefined, options.pending)
      const thread = yield* threads.get(threadId)
      if (Option.isNone(thread)) return { repaired: false, pending: [] }
      const closed = yield* closeOpen(threadId, closing, undefined, options?.pending)
      if (thread.value.status === "running") yield* settleStatus(threadId)
      return closed
    })

  // A new prompt on a thread with pending approvals: each pending call is
  // answered as not approved (recorded as denied, with this reason) before
  // the new user message, so the conversation stays valid.
  const SUPERSEDED = "not approved: the user sent a new prompt instead"
  const supersedePending = (threadId: string, pending: ReadonlyArray<ApprovalRecord>) =>
    Effect.gen(function* () {
      for (const approval of pending) {
        const result = yield* invoker.resolveApproval(approval.id, "deny", SUPERSEDED)
        yield* threads.append(threadId, [toolMessage(result, yield* now)])
      }
    })
  const threadOrFail = (threadId: string) =>
    Effect.flatMap(threads.get(threadId), (t) =>
      Option.isNone(t)
        ? Effect.fail(new T.TurnError({ reason: "ThreadNotFound", threadId, detail: "no such thread" }))
        : Effect.succeed(t.value)
    )

  return {
    compactNow,
    guardContext,
    withLease,
    journalState,
    closeOpen,
    usageBefore,
    toolMessage,
    saveLatest,
    settleStatus,
    repairUnderLease,
    supersedePending,
    pendingOf,
    threadOrFail
  }
}
