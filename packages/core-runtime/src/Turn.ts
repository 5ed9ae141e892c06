/**
 * The turn loop: what `Runtime.handlePrompt` runs. It resolves the model
 * (request > CLI overrides > config > provider default), appends the user
 * message, streams the model's answer (every event persisted in the thread's
 * journal before it is published), runs the tool calls through `ToolInvoker`
 * (in parallel when the model asks for several), feeds the results back, and
 * loops until the model stops or `max_turns`. A call that needs approval
 * pauses the turn (`awaiting_approval`); `continueTurn` picks it up once
 * every pending approval of the thread is resolved. Interrupting the fiber
 * cancels the stream and the running tools and records `interrupted`.
 *
 * The loop's decisions come from `TurnMachine` (pure); this module is its
 * driver. Every operation that writes a thread (a turn, `continueTurn`,
 * `resolveApproval`, `repair`, `compactThread`) holds the thread's lease
 * (`ThreadBusy` for a second writer, in this process or another) and fences
 * its writes with it. Interrupts, failures and a dead writer's leftovers
 * are closed the same way, from the journal (`TurnMachine.closing`). A new
 * prompt on a thread with pending approvals answers each as not approved
 * before the new user message.
 *
 * A model stream that breaks off (a dropped connection, a malformed chunk,
 * an in-stream error; see `ProviderError.isStreamRetryable`) is made again,
 * up to the provider's `stream_retries` (default 2) with backoff: nothing of
 * the broken attempt ran (its tool calls are dispatched only once a stream
 * completes), its response ends `error`, a `response_retry` event names it,
 * and its partial output never enters the history. Past the retries the
 * turn fails with the provider's error, closed like any failed turn.
 *
 * Usage and cost are summed per turn (on `turn_ended`) and per thread (in the
 * "latest" checkpoint, saved at the end of every turn). Before each model
 * call a context-window guard estimates the prompt's size and, over budget,
 * runs the compaction strategy (after the `PreCompact` hook); the default
 * strategy summarizes older messages with the same model and records a
 * `compaction` event.
 *
 * @since 0.1.0
 */

import type { HookDispatcher } from "@strata/hooks/HookDispatcher"
import type { Message } from "@strata/protocol/Message"
import type { CliRuntimeOverrides, PromptRequest, PromptResponse } from "@strata/protocol/Prompt"
import type { ApprovalDecision } from "@strata/protocol/Tool"
import type { LanguageModel } from "@strata/providers/LanguageModel"
import type { Model, ModelRegistry } from "@strata/providers/ModelRegistry"
import type { ModelRegistryError, ProviderError } from "@strata/providers/ProviderError"
import type { RecordError, StateStore } from "@strata/storage/StateStore"
import type { StorageError, ThreadBusy } from "@strata/storage/StorageError"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as internal from "./internal/turn.js"
import type { ThreadError, ThreadManager } from "./ThreadManager.js"
import type { ApprovalTampered, InvokeResult, ToolInvoker } from "./ToolInvoker.js"
import type { ToolRegistry } from "./ToolRegistry.js"

/**
 * A turn could not run: the thread is missing, a hook refused the prompt,
 * or the context cannot be made to fit.
 *
 * @since 0.1.0
 * @category errors
 */
export class TurnError extends Data.TaggedError("TurnError")<{
  readonly reason:
    | "ThreadNotFound"
    | "PromptBlocked"
    | "ModelBlocked"
    | "ContextTooLong"
    | "NothingToContinue"
    | "CorruptState"
  readonly threadId: string
  readonly detail: string
}> {
  override get message(): string {
    return `Turn on thread ${this.threadId}: ${this.detail}`
  }
}

/**
 * Shrinks a conversation that no longer fits the model's context window.
 * Returns the summary that replaces the messages up to `throughSeq`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CompactionStrategy {
  readonly name: string
  readonly compact: (input: {
    readonly model: Model
    readonly messages: ReadonlyArray<Message>
  }) => Effect.Effect<string, ProviderError | ModelRegistryError, LanguageModel>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** System prompt for every model call. */
  readonly systemPrompt?: string | undefined
  /** Model calls per prompt, tool rounds included (default 20). */
  readonly maxTurns?: number | undefined
  /** The config's model (third in resolution order). */
  readonly configModel?: string | undefined
  readonly compaction?: CompactionStrategy | undefined
  /** Fraction of the context window the prompt may fill before compaction (default 0.8). */
  readonly compactAt?: number | undefined
  /** Who holds a thread's lease while a turn runs (shown to a second writer in `ThreadBusy`). */
  readonly leaseOwner?: string | undefined
  /** The thread lease's time to live without renewal (default the store's, 30 s). */
  readonly leaseTtlMs?: number | undefined
  /**
   * The backoff of a model call made again after its stream broke off
   * (default 500 ms doubling up to 8 s, with jitter); how often is the
   * provider's `stream_retries` (default 2).
   */
  readonly streamRetry?:
    | { readonly initialDelayMs?: number | undefined; readonly maxDelayMs?: number | undefined }
    | undefined
  /**
   * How long a reply's parts may wait to be written with the next ones
   * (milliseconds; default {@link defaultReplyBatchGapMs}): a model
   * streaming small chunks one network read at a time is journaled, and
   * shown, in a batch per gap at most rather than an append (and its fsync)
   * per chunk. The first part of a reply is never held, nor the last; `0`
   * writes a batch as soon as the previous one is durable.
   */
  readonly replyBatchGapMs?: number | undefined
}

/**
 * The default of `Options.replyBatchGapMs`: 8 ms, half a frame of a 60 Hz
 * display.
 *
 * @since 0.3.0
 * @category constants
 */
export const defaultReplyBatchGapMs = 8

/**
 * @since 0.1.0
 * @category models
 */
export type TurnFailure =
  | TurnError
  | ThreadError
  | RecordError
  | ProviderError
  | ModelRegistryError
  | ThreadBusy
  | ApprovalTampered
  | StorageError

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly handlePrompt: (
    request: PromptRequest,
    overrides?: CliRuntimeOverrides
  ) => Effect.Effect<PromptResponse, TurnFailure>
  /**
   * Compacts a thread now (a manual `/compact`): the messages before the last
   * `keep` (default 4) are replaced by a summary. Returns the summary, or
   * `undefined` when there is nothing to compact.
   */
  readonly compactThread: (threadId: string, keep?: number) => Effect.Effect<string | undefined, TurnFailure>
  /**
   * Closes a turn left open by a process that died (answers its unanswered
   * tool calls, records `turn_ended: interrupted`). Returns whether there was
   * one. Runs before every turn on an existing thread, and on resume.
   */
  readonly repair: (threadId: string) => Effect.Effect<boolean, TurnFailure>
  /**
   * The approval continuation: resolves a pending approval exactly once
   * (see `ToolInvoker.resolveApproval`), puts the call's result into the
   * conversation and, once none of the thread's approvals is pending (and
   * `continueTurn` is not false), continues the paused turn. All under the
   * thread's lease; an interrupt while the approved call runs answers it as
   * interrupted.
   */
  readonly resolveApproval: (
    approvalId: string,
    decision: ApprovalDecision,
    options?: {
      readonly reason?: string | undefined
      readonly overrides?: CliRuntimeOverrides | undefined
      readonly continueTurn?: boolean | undefined
    }
  ) => Effect.Effect<{ readonly result: InvokeResult; readonly turn?: PromptResponse | undefined }, TurnFailure>
  /** Continues a turn that paused on approvals, once none is pending. */
  readonly continueTurn: (
    threadId: string,
    overrides?: CliRuntimeOverrides
  ) => Effect.Effect<PromptResponse, TurnFailure>
  /**
   * Runs `effect` holding the thread's lease (`ThreadNotFound` when there is
   * no such thread): the turns, approvals and continuations on that thread
   * inside it take the lease no more, and what one of them read of the
   * journal the next one does not read again. Meant for approvals answered
   * at once (`strata run --yes`): while a person decides inside it, other
   * writers of the thread get `ThreadBusy`.
   *
   * @since 0.2.0
   */
  readonly withThread: <A, E, R>(
    threadId: string,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | TurnError | ThreadError | ThreadBusy, R>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class TurnRunner extends Context.Tag("@strata/core-runtime/TurnRunner")<TurnRunner, Service>() {}

/**
 * The default compaction strategy: asks the same model for a summary of the
 * older messages.
 *
 * @since 0.1.0
 * @category constructors
 */
export const summarize: CompactionStrategy = internal.summarize

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options?: Options
) => Effect.Effect<
  Service,
  never,
  ThreadManager | ToolRegistry | ToolInvoker | HookDispatcher | StateStore | ModelRegistry | LanguageModel
> = internal.make

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: Options
): Layer.Layer<
  TurnRunner,
  never,
  ThreadManager | ToolRegistry | ToolInvoker | HookDispatcher | StateStore | ModelRegistry | LanguageModel
> => Layer.effect(TurnRunner, make(options))
