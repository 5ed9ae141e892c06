/**
 * `ThreadManager`: the seed's thread requests (create, start, resume, fork,
 * list, read, set_name, archive, unarchive, message) over the `StateStore`,
 * and the thread journal the turn loop writes to.
 *
 * A thread's history is the `message_appended` events of its journal (the
 * last 500 in responses, as the seed). Forking copies the parent's messages
 * up to the fork point into the new thread's journal (so a fork resumes on
 * its own, and the parent keeps running untouched) and records the parent and
 * fork point in the new thread's metadata.
 *
 * @since 0.1.0
 */

import type { Event, EventFrame } from "@strata/protocol/Event"
import type { Message } from "@strata/protocol/Message"
import type { Thread, ThreadRequest, ThreadResponse } from "@strata/protocol/Thread"
import type { JournalError, RecordError, StateStore, ThreadLease } from "@strata/storage/StateStore"
import type { LeaseLost } from "@strata/storage/StorageError"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/threadManager.js"

/**
 * How many messages a response's `history` carries (the latest ones).
 *
 * @since 0.1.0
 * @category constants
 */
export const HISTORY_LIMIT = 500

/**
 * Errors of thread operations: the store's.
 *
 * @since 0.1.0
 * @category errors
 */
export type ThreadError = JournalError | RecordError | LeaseLost

/**
 * The thread lease the current fiber writes under (set by the turn runner
 * while it holds a thread's lease). `append` and `touch` on that thread are
 * fenced with it: once the lease is lost they fail with `LeaseLost` and
 * write nothing.
 *
 * @since 0.2.0
 * @category references
 */
export const CurrentLease: FiberRef.FiberRef<Option.Option<ThreadLease>> = FiberRef.unsafeMake(
  Option.none<ThreadLease>()
)

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The working directory recorded for new threads when the request has none. */
  readonly cwd: string
  /** The provider recorded for new threads when the request has none. */
  readonly providerDefault: string
  /** Recorded in thread metadata. */
  readonly cliVersion: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Dispatches a seed thread request. */
  readonly handle: (request: ThreadRequest) => Effect.Effect<ThreadResponse, ThreadError>
  /** Persists events on a thread (durable when it returns) and publishes them to `live`. */
  readonly append: (
    threadId: string,
    events: ReadonlyArray<Event>
  ) => Effect.Effect<ReadonlyArray<EventFrame>, ThreadError>
  /** The thread's messages, oldest first; the last `limit` when given. */
  readonly history: (threadId: string, limit?: number) => Effect.Effect<ReadonlyArray<Message>, ThreadError>
  /** The thread's messages with the sequence number of the event that added each. */
  readonly entries: (
    threadId: string
  ) => Effect.Effect<ReadonlyArray<{ readonly message: Message; readonly seq: number }>, ThreadError>
  /** Every persisted event of a thread, in order (the full log, for resume). */
  readonly replay: (threadId: string) => Stream.Stream<EventFrame, ThreadError>
  /**
   * Every persisted event of a thread, in order, at once. While the current
   * fiber holds the thread's lease (`CurrentLease`) the journal is read once
   * and kept up to date by `append`: reading it again under the same lease
   * reads nothing.
   *
   * @since 0.2.0
   */
  readonly journal: (threadId: string) => Effect.Effect<ReadonlyArray<EventFrame>, ThreadError>
  /**
   * The last sequence number of a thread's journal (0 when empty); from the
   * copy `journal` keeps while the current fiber holds the thread's lease.
   *
   * @since 0.2.0
   */
  readonly lastSeq: (threadId: string) => Effect.Effect<number, ThreadError>
  /** Events appended from now on, on every thread. */
  readonly live: Stream.Stream<EventFrame>
  /**
   * Subscribes to the events appended from now on, on every thread (as
   * `live`, subscribed as soon as this returns); those of one append are
   * offered together.
   */
  readonly subscribe: Effect.Effect<Queue.Dequeue<EventFrame>, never, Scope.Scope>
  readonly get: (threadId: string) => Effect.Effect<Option.Option<Thread>, ThreadError>
  /** Creates a thread directly (what `start` does, with a source). */
  readonly createThread: (options: {
    readonly cwd?: string | undefined
    readonly model_provider?: string | undefined
    readonly source?: Thread["source"] | undefined
    readonly name?: string | undefined
  }) => Effect.Effect<Thread, ThreadError>
  /** Updates a thread's metadata (`preview`, `status`, ...). */
  readonly touch: (threadId: string, update: (thread: Thread) => Thread) => Effect.Effect<Thread, ThreadError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ThreadManager extends Context.Tag("@strata/core-runtime/ThreadManager")<ThreadManager, Service>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: Options) => Effect.Effect<Service, never, StateStore> = internal.make

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<ThreadManager, never, StateStore> =>
  Layer.effect(ThreadManager, make(options))
