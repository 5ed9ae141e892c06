/**
 * `@strata/jobs/bullmq`: the `JobManager` API over BullMQ on Redis, so one
 * queue of jobs is shared by any number of processes: API processes enqueue,
 * cancel, pause and resume; worker processes (`worker: true`) run the
 * handlers, `concurrency` at a time per kind. Node and Bun (BullMQ does not
 * run on Deno).
 *
 * Guarantees (see the README and its chaos test):
 * - execution is at least once: a worker that dies (SIGKILL) mid-run stops
 *   renewing its BullMQ lock; BullMQ's stalled-job check delivers the job
 *   again and the kind's recovery policy decides (`requeue`: run again,
 *   `fail`: failed for good, `pause`: a person resumes or cancels);
 * - recording is exactly once: the job record (in the `StateStore` behind
 *   `JobBackend`: Redis or PostgreSQL) is written compare-and-set, and each
 *   run carries a fencing token (`JobContext.fencingToken`): a run whose
 *   token was replaced (its job was taken over) records no progress, no
 *   completion and no failure;
 * - a handler's side effects get a key (`JobContext.idempotencyKey(step)`)
 *   that is the same on every run of the job, to make them happen once.
 *
 * `ioredis` and `bullmq` are optional peer dependencies of `@strata/jobs`.
 *
 * @since 0.2.0
 */
import type { HookDispatcher } from "@strata/hooks/HookDispatcher"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/bullmqManager.js"
import type { JobBackend, JobBackendError } from "./JobBackend.js"
import type { JobConfigError } from "./JobError.js"
import * as JobManager from "./JobManager.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** The Redis BullMQ uses (default `redis://127.0.0.1:6379`). */
  readonly url?: string | undefined
  /** The key prefix of BullMQ's keys and Strata's own (default `strata`): 1..64 of `[A-Za-z0-9._-]`. */
  readonly prefix?: string | undefined
  /** Run handlers in this process (a worker); otherwise it only enqueues and controls. */
  readonly worker?: boolean | undefined
  /** Runs at once per kind in this worker (default 4). */
  readonly concurrency?: number | undefined
  /**
   * BullMQ's lock on a running job (default 30 s), renewed while it runs: a
   * worker that dies is noticed about this long after (the stalled check
   * runs every half of it).
   */
  readonly lockMs?: number | undefined
  /** How often a run looks at its record for cancel / pause / resume (default 250 ms). */
  readonly pollMs?: number | undefined
  /** On shutdown, how long runs may finish before they are handed back to the queue (default 30 s). */
  readonly shutdownGraceMs?: number | undefined
  /** How often a worker re-dispatches records a crash left undispatched (default 30 s). */
  readonly sweepMs?: number | undefined
  readonly instanceId?: string | undefined
  readonly handlers?: ReadonlyArray<JobManager.JobHandler> | undefined
}

/**
 * Queue depth per kind, workers seen, and stalled runs recovered.
 *
 * @since 0.2.0
 * @category models
 */
export interface QueueStatus {
  readonly kinds: ReadonlyArray<{
    readonly kind: string
    readonly waiting: number
    readonly active: number
    readonly delayed: number
    readonly failed: number
    readonly workers: number
  }>
  /** Distinct worker processes with a BullMQ worker on any of the kinds. */
  readonly workers: number
  /** Runs found interrupted (their worker died) and handled by their kind's policy, all time. */
  readonly stalledRecoveries: number
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Service extends JobManager.Service {
  /** Queue depth, workers and stalled recoveries of the registered kinds. */
  readonly queueStatus: Effect.Effect<QueueStatus>
}

/**
 * The BullMQ queue name of a kind (one queue per kind).
 *
 * @since 0.2.0
 * @category utils
 */
export const queueName: (kind: string) => string = internal.queueName

/**
 * The queues of a cluster as `strata status` shows them, without a manager:
 * every kind's queue under the prefix, the workers connected to each, and
 * the stalled runs recovered so far.
 *
 * @since 0.2.0
 * @category constructors
 */
export const clusterStatus: (options: {
  readonly url?: string | undefined
  readonly prefix?: string | undefined
}) => Effect.Effect<QueueStatus, JobBackendError> = internal.clusterStatus

/**
 * Builds the manager: connects to Redis, registers `options.handlers`, and
 * in a worker starts one BullMQ worker per kind. Closing the scope stops
 * taking jobs, lets runs finish for `shutdownGraceMs`, then hands the rest
 * back to the queue. Transitions this process writes are dispatched as
 * `JobLifecycle` hook events through the `HookDispatcher` in context
 * (`HookDispatcher.Default` when no hooks are wanted).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make: (
  options: Options
) => Effect.Effect<Service, JobManager.JobError | JobConfigError, JobBackend | HookDispatcher | Scope.Scope> =
  internal.make

/**
 * The `JobManager` on BullMQ, over the `JobBackend` in context.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<JobManager.JobManager, JobManager.JobError | JobConfigError, JobBackend | HookDispatcher> =>
  Layer.scoped(JobManager.JobManager, make(options))
