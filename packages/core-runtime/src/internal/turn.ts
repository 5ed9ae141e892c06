/**
 * The turn runner: a prompt, the model calls and the tool calls of one
 * turn, approvals and their continuation, under the thread's lease. What
 * the model reads is in `turnHistory.ts`, the bookkeeping on the thread
 * (lease, journal state, closing, checkpoints, compaction) in
 * `turnThread.ts`. Over 600 lines because `run`, the one driver of
 * `TurnMachine` (stream, retry, tool calls, pause), reads best whole.
 *
 * @internal
 */
import { HookDispatcher } from "@strata/hooks/HookDispatcher"
import { randomUUID } from "@strata/protocol/Common"
import type { Event } from "@strata/protocol/Event"
import * as Ids from "@strata/protocol/Ids"
import type { FinishReason, TurnOutcome, Usage } from "@strata/protocol/Model"
import type { CliRuntimeOverrides, PromptRequest, PromptResponse } from "@strata/protocol/Prompt"
import type { Thread } from "@strata/protocol/Thread"
import type { ToolCall } from "@strata/protocol/Tool"
import type * as Chat from "@strata/providers/Chat"
import { LanguageModel } from "@strata/providers/LanguageModel"
import { type Model, ModelRegistry } from "@strata/providers/ModelRegistry"
import { isStreamRetryable } from "@strata/providers/ProviderError"
import * as StreamPart from "@strata/providers/StreamPart"
import { StateStore, type ThreadLease } from "@strata/storage/StateStore"
import type { ApprovalRecord } from "@strata/storage/StorageSchema"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TM from "../ThreadManager.js"
import { ThreadManager } from "../ThreadManager.js"
import { ToolInvoker } from "../ToolInvoker.js"
import { ToolRegistry } from "../ToolRegistry.js"
import * as T from "../Turn.js"
import * as M from "../TurnMachine.js"
import * as BatchStream from "./batches.js"
import * as ModelHooks from "./modelHooks.js"
import { addUsage, summarize, toChat, zeroUsage } from "./turnHistory.js"
import * as TurnThread from "./turnThread.js"

export { summarize }

/** @internal */
export const make = (options: T.Options = {}) =>
  Effect.gen(function* () {
    const threads = yield* ThreadManager
    const registry = yield* ToolRegistry
    const invoker = yield* ToolInvoker
    const hooks = yield* HookDispatcher
    const store = yield* StateStore
    const models = yield* ModelRegistry
    const lm = yield* LanguageModel
    const compaction = options.compaction ?? summarize
    const compactAt = options.compactAt ?? 0.8
    const replyBatchGapMs = options.replyBatchGapMs ?? T.defaultReplyBatchGapMs
    const retryPolicy: M.StreamRetryPolicy = {
      ...M.defaultStreamRetry,
      ...(options.streamRetry?.initialDelayMs === undefined
        ? {}
        : { initialDelayMs: options.streamRetry.initialDelayMs }),
      ...(options.streamRetry?.maxDelayMs === undefined ? {} : { maxDelayMs: options.streamRetry.maxDelayMs })
    }

    const now = Clock.currentTimeMillis

    const toolDefinitions = Effect.map(registry.list, (tools) =>
      tools.map(
        (t): Chat.ToolDefinition => ({
          name: t.name,
          description: t.description,
          parameters: (typeof t.inputSchema === "object" && t.inputSchema !== null && !Array.isArray(t.inputSchema)
            ? t.inputSchema
            : { type: "object" }) as Chat.ToolDefinition["parameters"]
        })
      )
    )

    // The bookkeeping on the thread (lease, journal state, closing, checkpoints, compaction).
    const onThread = TurnThread.make({ threads, hooks, store, lm, invoker, options, now, compaction, compactAt })

    const run = (
      threadId: Ids.ThreadId,
      resolvedModel: Model,
      setup: {
        readonly prompt?: string | undefined
        readonly approval: PromptRequest["approval_policy"] & {}
        readonly cwd: string
        readonly maxTurns: number
        readonly before: Usage
      }
    ) =>
      Effect.gen(function* () {
        // Every event of this turn, the tools' and approvals' included, is read
        // back from the journal for the response.
        const firstSeq = (yield* threads.lastSeq(threadId)) + 1
        const turnId = `turn-${randomUUID()}`
        // The machine's state, as the journal has it: what this driver writes is folded in.
        let state = yield* onThread.journalState(threadId)
        const append = (events: ReadonlyArray<Event>) =>
          Effect.tap(threads.append(threadId, events), () =>
            Effect.sync(() => {
              for (const e of events) state = M.observe(state, e)
            })
          )
        let usage = zeroUsage()
        let model = resolvedModel
        let outcome: TurnOutcome = "completed"
        let finish: FinishReason | undefined
        let output = ""
        let reason: string | undefined

        const body = Effect.gen(function* () {
          if (setup.prompt !== undefined) {
            const submitted = yield* hooks.dispatch({
              hook_event_name: "UserPromptSubmit",
              thread_id: threadId,
              session_id: threadId,
              cwd: setup.cwd,
              prompt: setup.prompt
            })
            if (submitted.decision === "deny" || !submitted.continue) {
              return yield* new T.TurnError({
                reason: "PromptBlocked",
                threadId,
                detail: submitted.reason ?? submitted.stopReason ?? "a UserPromptSubmit hook blocked the prompt"
              })
            }
            const prompt =
              submitted.event.hook_event_name === "UserPromptSubmit" ? submitted.event.prompt : setup.prompt
            const at = yield* now
            const messages: Array<Event> = [
              {
                event: "message_appended",
                message: { id: Ids.make("MessageId"), role: "user", content: prompt, created_at: at }
              }
            ]
            for (const text of submitted.additionalContext) {
              messages.push({
                event: "message_appended",
                message: { id: Ids.make("MessageId"), role: "system", content: text, created_at: at }
              })
            }
            // the prompt and the turn's start in one write (the journal's order and seqs as before)
            yield* append([...messages, { event: "turn_started", turn_id: turnId, model: model.id }])
            yield* threads.touch(threadId, (t) => ({ ...t, status: "running", preview: prompt.slice(0, 120) }))
          } else {
            yield* append([{ event: "turn_started", turn_id: turnId, model: model.id }])
            yield* threads.touch(threadId, (t) => ({ ...t, status: "running" }))
          }
          let step = M.next(state, { _tag: "Started" }, setup.maxTurns)
          while (step._tag !== "End") {
            if (step._tag === "ContinueAfterStopHook") {
              step = M.next(state, { _tag: "Started" }, setup.maxTurns)
              continue
            }
            // A model without the tools capability is offered none (rather than refused).
            const modelHooks = yield* ModelHooks.wanted(hooks)
            const hookCommon = { thread_id: threadId, session_id: threadId, cwd: setup.cwd }
            const allTools = model.capabilities.tools ? yield* toolDefinitions : []
            const tools =
              modelHooks.selection && allTools.length > 0
                ? yield* ModelHooks.selectTools(hooks, hookCommon, model.id, allTools)
                : allTools
            const history = yield* onThread.guardContext(threadId, model, tools)
            // A stream that breaks off is made again (discarding what it streamed) while the
            // policy allows: nothing of it ran, since tool calls are dispatched only after it.
            let attempt = 1
            let responseId = Ids.make("ResponseId")
            let text = ""
            let reasoning = ""
            let toolCalls: Array<StreamPart.ToolCall> = []
            let toolErrors: Array<StreamPart.ToolCallError> = []
            let callUsage: Usage = zeroUsage()
            let answeredBy = model.id
            // A reasoning model is asked to reason (Anthropic: thinking with a budget; Ollama: think).
            const think = model.capabilities.reasoning ? { options: { reasoning: true } } : {}
            let messages = toChat(history, options.systemPrompt, model.capabilities)
            let request: ModelHooks.BeforeModel & { _tag: "Call" } = {
              _tag: "Call",
              messages,
              model: model.id,
              request: { model: model.id, messages: [], tools: [] }
            }
            if (modelHooks.before || modelHooks.after) {
              const decided = modelHooks.before
                ? yield* ModelHooks.beforeModel(hooks, hookCommon, model.id, messages, tools)
                : ({
                    _tag: "Call",
                    messages,
                    model: model.id,
                    request: ModelHooks.llmRequest(model.id, messages, tools)
                  } as const)
              if (decided._tag === "Blocked") {
                return yield* new T.TurnError({ reason: "ModelBlocked", threadId, detail: decided.reason })
              }
              request = decided
              messages = [...decided.messages]
              if (decided.model !== model.id) {
                model = yield* models.model(decided.model).pipe(
                  Effect.mapError(
                    () =>
                      new T.TurnError({
                        reason: "ModelBlocked",
                        threadId,
                        detail: `a BeforeModel hook switched to ${JSON.stringify(decided.model)}, which is not a configured model`
                      })
                  )
                )
              }
            }
            while (true) {
              responseId = Ids.make("ResponseId")
              yield* append([{ event: "response_start", response_id: responseId, model: model.id }])
              yield* hooks.notify({
                hook_event_name: "ResponseStart",
                thread_id: threadId,
                response_id: responseId,
                model: model.id
              })
              text = ""
              reasoning = ""
              toolCalls = []
              toolErrors = []
              callUsage = zeroUsage()
              answeredBy = model.id
              let attemptFinish: FinishReason | undefined
              let started: StreamPart.Start | undefined
              const currentResponse = responseId
              const parts = lm.stream({ model, messages, tools, ...think }).pipe(
                // Seen before batching: a failure drops the parts not yet handed on.
                Stream.mapChunksEffect((chunk) => {
                  let named: Array<string> | undefined
                  for (const part of chunk) {
                    if (part.type === "start" && started === undefined) started = part
                    // a tool named: what judging its call needs starts loading now (the exec policy)
                    else if (part.type === "tool_call" && invoker.prepare !== undefined) (named ??= []).push(part.name)
                  }
                  if (named === undefined || invoker.prepare === undefined) return Effect.succeed(chunk)
                  const prepare = invoker.prepare
                  return Effect.as(
                    Effect.forEach(named, (name) => prepare(name), { discard: true }),
                    chunk
                  )
                })
              )
              // What streams in while a batch is written (its append and fsync), or within
              // the reply batch gap after it, makes the next one.
              const streamed = yield* BatchStream.forEachBatch(
                parts,
                128,
                (batch) =>
                  Effect.gen(function* () {
                    const events: Array<Event> = []
                    for (const part of batch) {
                      switch (part.type) {
                        case "text_delta":
                          text += part.text
                          break
                        case "reasoning_delta":
                          reasoning += part.text
                          break
                        case "tool_call":
                          toolCalls.push(part)
                          break
                        case "tool_call_error":
                          toolErrors.push(part)
                          break
                        case "finish":
                          attemptFinish = part.reason
                          callUsage = part.usage
                          answeredBy = part.model
                          break
                      }
                      const event = StreamPart.toEvent(part, currentResponse)
                      if (event !== undefined && event.event !== "response_end") events.push(event)
                    }
                    if (events.length > 0) {
                      yield* append(events)
                      for (const e of events) {
                        if (e.event === "response_delta") {
                          yield* hooks.notify({
                            hook_event_name: "ResponseDelta",
                            thread_id: threadId,
                            response_id: currentResponse,
                            delta: e.delta,
                            channel: e.channel
                          })
                        }
                      }
                    }
                  }),
                { gapMs: replyBatchGapMs }
              ).pipe(
                Effect.tap(() =>
                  Effect.annotateCurrentSpan({
                    "strata.model": answeredBy,
                    "strata.input_tokens": callUsage.input_tokens,
                    "strata.output_tokens": callUsage.output_tokens,
                    "strata.cost_usd": callUsage.cost_usd ?? 0
                  })
                ),
                Effect.withSpan("Runtime.modelCall", {
                  attributes: {
                    "strata.model": model.id,
                    "strata.response_id": currentResponse,
                    "strata.attempt": attempt
                  }
                }),
                Effect.either
              )
              if (Either.isRight(streamed)) {
                finish = attemptFinish
                break
              }
              const error = streamed.left
              const provider = (started as StreamPart.Start | undefined)?.provider ?? model.provider.id
              const decision =
                error._tag === "ProviderError"
                  ? M.streamRetry(
                      {
                        attempt,
                        retryable: isStreamRetryable(error, started !== undefined),
                        retryAfterMs: error.retry_after_ms,
                        random: Math.random()
                      },
                      {
                        ...retryPolicy,
                        retries: models.providers.find((p) => p.id === provider)?.stream_retries ?? retryPolicy.retries
                      }
                    )
                  : ({ _tag: "Fail" } as const)
              if (decision._tag === "Fail" || error._tag !== "ProviderError") return yield* Effect.fail(error)
              // The broken attempt ends, and is named as discarded, in one write.
              yield* append([
                { event: "response_end", response_id: currentResponse, finish_reason: "error" },
                {
                  event: "response_retry",
                  response_id: currentResponse,
                  attempt: decision.attempt,
                  max_attempts: decision.maxAttempts,
                  delay_ms: decision.delayMs,
                  reason: error.reason,
                  message: error.message
                }
              ])
              yield* hooks.notify({
                hook_event_name: "ResponseEnd",
                thread_id: threadId,
                response_id: currentResponse,
                finish_reason: "error"
              })
              yield* Effect.logWarning("model stream broke off, retrying").pipe(
                Effect.annotateLogs({
                  model: model.id,
                  attempt: decision.attempt,
                  max_attempts: decision.maxAttempts,
                  delay_ms: decision.delayMs,
                  error: error.message
                })
              )
              yield* Effect.sleep(decision.delayMs)
              attempt = decision.attempt
            }
            if (answeredBy !== model.id) model = yield* models.model(answeredBy).pipe(Effect.orElseSucceed(() => model))
            usage = addUsage(usage, callUsage)
            // AfterModel: the whole response, before any of its tool calls runs.
            let blocked: string | undefined
            if (modelHooks.after) {
              const after = yield* ModelHooks.afterModel(hooks, hookCommon, answeredBy, request.request, {
                text,
                toolCalls,
                finish
              })
              if (after._tag === "Blocked") blocked = after.reason
              else text = after.text
            }
            const messageId = Ids.make("MessageId")
            const calledTools = [
              ...toolCalls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments })),
              ...toolErrors.map((c) => ({ id: c.id, name: c.name, arguments: {}, raw_arguments: c.raw_arguments }))
            ]
            // The assistant message and the end of its response are one write.
            yield* append([
              {
                event: "message_appended",
                message: {
                  id: messageId,
                  role: "assistant",
                  content: text,
                  created_at: yield* now,
                  model: answeredBy,
                  ...(reasoning === "" ? {} : { reasoning }),
                  ...(calledTools.length === 0 ? {} : { tool_calls: calledTools })
                }
              },
              {
                event: "response_end",
                response_id: responseId,
                message_id: messageId,
                ...(finish === undefined ? {} : { finish_reason: finish }),
                usage: callUsage
              }
            ])
            yield* hooks.notify({
              hook_event_name: "ResponseEnd",
              thread_id: threadId,
              response_id: responseId,
              ...(finish === undefined ? {} : { finish_reason: finish }),
              usage: callUsage
            })
            output = text
            if (blocked !== undefined) {
              // Every call of the blocked response is answered, then the turn fails with the reason.
              const at = yield* now
              yield* append(
                calledTools.map((c) => ({
                  event: "message_appended" as const,
                  message: {
                    id: Ids.make("MessageId"),
                    role: "tool" as const,
                    tool_call_id: c.id,
                    content: `Error: not run: an AfterModel hook blocked this response: ${blocked}`,
                    is_error: true,
                    created_at: at
                  }
                }))
              )
              return yield* new T.TurnError({ reason: "ModelBlocked", threadId, detail: blocked })
            }
            step = M.next(state, { _tag: "ModelReplied", toolCalls: calledTools.length }, setup.maxTurns)
            if (step._tag === "AskStopHook") {
              const stop = yield* hooks.dispatch({
                hook_event_name: "Stop",
                thread_id: threadId,
                session_id: threadId,
                cwd: setup.cwd,
                stop_hook_active: state.stop_hook_active,
                last_assistant_message: text
              })
              step = M.next(state, { _tag: "StopHook", deny: stop.decision === "deny" }, setup.maxTurns)
              if (step._tag === "ContinueAfterStopHook") {
                // A Stop hook says "not yet": its reason goes to the model.
                yield* append([
                  {
                    event: "message_appended",
                    message: {
                      id: Ids.make("MessageId"),
                      role: "user",
                      content: stop.reason ?? "Continue.",
                      created_at: yield* now
                    }
                  }
                ])
              }
              continue
            }
            // Tool calls whose arguments were not valid JSON go back as errors.
            for (const bad of toolErrors) {
              yield* append([
                {
                  event: "message_appended",
                  message: {
                    id: Ids.make("MessageId"),
                    role: "tool",
                    tool_call_id: bad.id,
                    content: `Error: ${bad.message}`,
                    is_error: true,
                    created_at: yield* now
                  }
                }
              ])
            }
            const results = yield* Effect.forEach(
              toolCalls,
              (c) =>
                invoker.invokeTool(
                  {
                    id: c.id,
                    name: c.name,
                    arguments: c.arguments,
                    thread_id: threadId
                  } satisfies ToolCall,
                  setup.approval,
                  setup.cwd
                ),
              { concurrency: "unbounded" }
            )
            let pending = 0
            for (const result of results) {
              if (result.status === "approval_required") {
                pending++
                continue
              }
              yield* append([onThread.toolMessage(result, yield* now)])
            }
            step = M.next(state, { _tag: "Dispatched", pending }, setup.maxTurns)
          }
          outcome = step.outcome
          reason = step.reason
        })

        const finishTurn = Effect.gen(function* () {
          yield* append([
            {
              event: "turn_ended",
              turn_id: turnId,
              outcome,
              usage,
              ...(reason === undefined ? {} : { reason })
            }
          ])
          yield* onThread.saveLatest(threadId, { turnId, model: model.id, outcome, usage, before: setup.before })
          yield* Effect.annotateCurrentSpan({
            "strata.outcome": outcome,
            "strata.input_tokens": usage.input_tokens,
            "strata.output_tokens": usage.output_tokens,
            "strata.cost_usd": usage.cost_usd ?? 0
          })
        })

        // Interrupted or failed: the one recovery path closes what is open
        // (the response, unanswered calls, the turn), then the turn is saved.
        const abort = (why: string, how: TurnOutcome, turnReason: string | undefined, finishReason: FinishReason) =>
          Effect.gen(function* () {
            outcome = how
            reason = turnReason
            yield* onThread.closeOpen(threadId, why, { outcome: how, usage, reason: turnReason ?? how, finishReason })
            yield* onThread.saveLatest(threadId, { turnId, model: model.id, outcome: how, usage, before: setup.before })
          }).pipe(Effect.ignore)

        yield* body.pipe(
          Effect.onInterrupt(() =>
            abort("interrupted by the user before this call finished", "interrupted", "interrupted", "cancelled")
          ),
          Effect.tapErrorCause((cause) =>
            Cause.isInterruptedOnly(cause)
              ? Effect.void
              : abort("the turn failed before this call finished", "failed", undefined, "error")
          )
        )
        yield* finishTurn
        const response: PromptResponse = {
          thread_id: threadId,
          output,
          model: model.id,
          outcome,
          ...(finish === undefined ? {} : { finish_reason: finish }),
          usage,
          events: (yield* threads.journal(threadId)).filter((f) => f.seq >= firstSeq)
        }
        return response
      }).pipe(Effect.withSpan("Runtime.turn", { attributes: { thread_id: threadId, model: resolvedModel.id } }))

    // The thread `withThread` found, for the operations inside it: not read again (under
    // the lease its id and directory do not change; what else they read of it is rewritten).
    const found = new WeakMap<ThreadLease, Thread>()
    const threadOf = (threadId: string) =>
      Effect.flatMap(FiberRef.get(TM.CurrentLease), (held) => {
        const thread = Option.isSome(held) && held.value.threadId === threadId ? found.get(held.value) : undefined
        return thread === undefined ? onThread.threadOrFail(threadId) : Effect.succeed(thread)
      })

    const repair: T.Service["repair"] = Effect.fn("TurnRunner.repair")((threadId) =>
      onThread.withLease(
        threadId,
        Effect.map(onThread.repairUnderLease(threadId), (r) => r.repaired)
      )
    )

    // Under the lease: repairs, then runs `turn` (given the thread's pending approvals), which
    // marks the thread `running` and settles its status when it ends. The repair leaves the
    // status to it; should `turn` fail before its own bookkeeping runs, the status is settled
    // here (a second settle after a turn's own is a write that changes nothing).
    const repairThenTurn = <A, E, R>(
      threadId: Ids.ThreadId,
      turn: (pending: ReadonlyArray<ApprovalRecord>) => Effect.Effect<A, E, R>,
      pending?: ReadonlyArray<ApprovalRecord>
    ) =>
      Effect.flatMap(
        onThread.repairUnderLease(threadId, { turnFollows: true, ...(pending === undefined ? {} : { pending }) }),
        (repaired) => Effect.onError(turn(repaired.pending), () => Effect.ignore(onThread.settleStatus(threadId)))
      )

    const resolve = (model: string | undefined, overrides: CliRuntimeOverrides | undefined) =>
      Effect.map(models.resolve({ model: model ?? options.configModel }, overrides ?? {}), (r) => r.model)

    const handlePrompt: T.Service["handlePrompt"] = Effect.fn("TurnRunner.handlePrompt")(
      function* (request, overrides) {
        const model = yield* Effect.suspend(() =>
          request.model !== undefined
            ? resolve(request.model, undefined)
            : overrides?.model !== undefined
              ? resolve(undefined, overrides)
              : resolve(undefined, overrides)
        )
        const thread =
          request.thread_id === undefined
            ? yield* threads.createThread({
                cwd: request.cwd ?? overrides?.cwd,
                model_provider: model.provider.id,
                source: "api"
              })
            : yield* threadOf(request.thread_id)
        return yield* onThread.withLease(
          thread.id,
          Effect.gen(function* () {
            const before = yield* onThread.usageBefore(thread.id)
            return yield* repairThenTurn(thread.id, (pending) =>
              Effect.zipRight(
                onThread.supersedePending(thread.id, pending),
                run(thread.id, model, {
                  prompt: request.prompt,
                  approval: request.approval_policy ?? overrides?.approval_policy ?? "on-request",
                  cwd: request.cwd ?? overrides?.cwd ?? thread.cwd,
                  maxTurns: request.max_turns ?? overrides?.max_turns ?? options.maxTurns ?? 20,
                  before: before.usage
                })
              )
            )
          })
        )
      }
    )

    // `known`: what the approval continuation has just read under the lease (nothing is
    // pending, the latest checkpoint's usage), not read again.
    const continueWith = (
      threadId: string,
      overrides: CliRuntimeOverrides | undefined,
      known?: { readonly before: { readonly usage: Usage; readonly model: string | undefined } }
    ) =>
      Effect.gen(function* () {
        const thread = yield* threadOf(threadId)
        return yield* onThread.withLease(
          thread.id,
          Effect.gen(function* () {
            const pending = known === undefined ? yield* onThread.pendingOf(threadId) : []
            if (pending.length > 0) {
              return yield* new T.TurnError({
                reason: "NothingToContinue",
                threadId,
                detail: `${pending.length} approval${pending.length === 1 ? " is" : "s are"} still pending`
              })
            }
            const before = known?.before ?? (yield* onThread.usageBefore(thread.id))
            return yield* repairThenTurn(
              thread.id,
              () =>
                Effect.flatMap(resolve(before.model, overrides), (model) =>
                  run(thread.id, model, {
                    approval: overrides?.approval_policy ?? "on-request",
                    cwd: overrides?.cwd ?? thread.cwd,
                    maxTurns: overrides?.max_turns ?? options.maxTurns ?? 20,
                    before: before.usage
                  })
                ),
              pending
            )
          })
        )
      })

    const continueTurn: T.Service["continueTurn"] = Effect.fn("TurnRunner.continueTurn")(
      function* (threadId, overrides) {
        return yield* continueWith(threadId, overrides)
      }
    )

    // The approval continuation: the answer runs (or denies) the call, its
    // result goes into the conversation, and once nothing is pending the
    // paused turn continues; all under the thread's lease. An interrupt while
    // the approved call runs answers it `interrupted`.
    const resolveApproval: T.Service["resolveApproval"] = Effect.fn("TurnRunner.resolveApproval")(
      function* (approvalId, decision, opts) {
        const record = yield* store.getApproval(approvalId)
        const threadId = Option.flatMap(record, (a) => Option.fromNullable(a.thread_id))
        if (Option.isNone(threadId)) {
          return { result: yield* invoker.resolveApproval(approvalId, decision, opts?.reason) }
        }
        const id = threadId.value
        return yield* onThread.withLease(
          id,
          Effect.gen(function* () {
            // Damage is found before anything is decided or run: the checkpoint and every
            // journal record are read (a corrupt one fails here, the approval left pending).
            const before = yield* onThread.usageBefore(id)
            yield* onThread.journalState(id)
            const result = yield* invoker
              .resolveApproval(approvalId, decision, opts?.reason)
              .pipe(
                Effect.onInterrupt(() =>
                  onThread
                    .closeOpen(id, "interrupted by the user before this call finished")
                    .pipe(Effect.zipRight(onThread.settleStatus(id)), Effect.ignore)
                )
              )
            yield* threads.append(id, [onThread.toolMessage(result, yield* now)])
            const pending = yield* onThread.pendingOf(id)
            if (pending.length > 0 || opts?.continueTurn === false) {
              yield* onThread.settleStatus(id, pending.length)
              return { result }
            }
            const turn = yield* continueWith(id, opts?.overrides, { before }).pipe(
              Effect.withSpan("TurnRunner.continueTurn")
            )
            return { result, turn }
          })
        )
      }
    )

    const compactThread: T.Service["compactThread"] = Effect.fn("TurnRunner.compactThread")(function* (
      threadId,
      keep = 4
    ) {
      const thread = yield* onThread.threadOrFail(threadId)
      return yield* onThread.withLease(
        threadId,
        Effect.gen(function* () {
          const entries = yield* threads.entries(threadId)
          const older = entries.slice(0, Math.max(0, entries.length - keep))
          if (older.length === 0) return undefined
          const before = yield* onThread.usageBefore(threadId)
          const model = yield* resolve(before.model, undefined)
          return yield* onThread.compactNow(thread.id, model, older, "manual")
        })
      )
    })

    const withThread: T.Service["withThread"] = (threadId, effect) =>
      Effect.flatMap(onThread.threadOrFail(threadId), (thread) =>
        onThread.withLease(
          thread.id,
          Effect.zipRight(
            Effect.flatMap(FiberRef.get(TM.CurrentLease), (held) =>
              Effect.sync(() => {
                if (Option.isSome(held)) found.set(held.value, thread)
              })
            ),
            effect
          )
        )
      )

    return { handlePrompt, continueTurn, compactThread, repair, resolveApproval, withThread } satisfies T.Service
  })
