/**
 * The port `strata serve --cluster` runs turns through: an API process
 * queues each turn (and each approval's continuation) as work for whichever
 * worker process takes it, and learns of new frames written by any process
 * of the cluster. With this service in context, `RpcServer` runs no turn
 * itself:
 *
 * - `turn/start` enqueues the turn (`Conflict` while one is queued or
 *   running on the thread) and, with `wait`, waits for the worker's answer;
 * - `turn/interrupt` reaches the worker running the thread's turn;
 * - `approval/resolve` enqueues the decision: a worker resolves it under the
 *   thread's lease and continues the paused turn;
 * - `threadEvents` reads the frames from the shared journal, woken by
 *   `wake` (every frame once, in sequence order, from any `after`).
 *
 * The implementation is the distribution's (BullMQ and Redis pub/sub in
 * `strata`): this module only names what the server needs.
 *
 * @since 0.2.0
 */
import type { PromptResponse } from "@strata/protocol/Prompt"
import type { AskForApproval } from "@strata/protocol/Tool"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type { RpcError } from "./RpcError.js"

/**
 * A turn to run on a worker.
 *
 * @since 0.2.0
 * @category models
 */
export interface TurnRequest {
  readonly thread_id: string
  readonly prompt: string
  readonly model?: string | undefined
  readonly cwd?: string | undefined
  readonly approval_policy?: AskForApproval | undefined
  readonly max_turns?: number | undefined
  /** The thread's last sequence number when the turn was queued. */
  readonly after_seq: number
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Service {
  /** Queues a turn; `Conflict` while the thread has one queued or running. Returns its ticket. */
  readonly enqueue: (request: TurnRequest) => Effect.Effect<string, RpcError>
  /** Queues an approval's decision (its turn continues on the worker that takes it). Returns its ticket. */
  readonly enqueueApproval: (request: {
    readonly thread_id: string
    readonly approval_id: string
    readonly decision: "approve" | "deny"
    readonly reason: string
  }) => Effect.Effect<string, RpcError>
  /** The answer of a queued turn or approval, once its worker is done with it. */
  readonly await: (ticket: string) => Effect.Effect<PromptResponse | undefined, RpcError>
  /** Interrupts the thread's queued or running turn, wherever it runs; whether there was one. */
  readonly interrupt: (threadId: string) => Effect.Effect<boolean, RpcError>
  /**
   * New frames appended by any process of the cluster, as notifications (a
   * thread and a sequence number; the frame itself is read from the shared
   * journal). At most once: a reader that must see every frame also reads
   * the journal on its own from time to time.
   */
  readonly wake: Stream.Stream<{ readonly thread_id: string; readonly seq: number }>
  /** Threads with a turn queued or running in the cluster. */
  readonly running: Effect.Effect<ReadonlyArray<string>>
}

/**
 * @since 0.2.0
 * @category tags
 */
export class ClusterTurns extends Context.Tag("@strata/server/ClusterTurns")<ClusterTurns, Service>() {}
