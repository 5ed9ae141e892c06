/**
 * `JobManager`: durable background jobs with the seed's ten operations, a
 * runner for registered handlers (concurrency limit, timeouts, retries with
 * backoff and jitter, cooperative pause, cancel by interruption) and crash
 * recovery of jobs that were running when their process died.
 *
 * Every transition is persisted through the `JobBackend` (optimistic
 * revision check) before the call returns, appends a history entry, and is
 * published on `events`.
 *
 * @since 0.1.0
 */

import type { HookDispatcher } from "@strata/hooks/HookDispatcher"
import type { JsonValue } from "@strata/protocol/Common"
import type { JobUpdate } from "@strata/protocol/Event"
import type { JobHistoryEntry, JobRecord } from "@strata/protocol/Job"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/jobManager.js"
import type { JobBackend, JobBackendError, RevisionConflict } from "./JobBackend.js"
import type { InvalidProgress, InvalidTransition, JobConfigError, JobNotFound } from "./JobError.js"

/**
 * What a job handler receives.
 *
 * @since 0.1.0
 * @category models
 */
export interface JobContext {
  /** The record as it was when this run started. */
  readonly job: JobRecord
  readonly input: JsonValue | undefined
  /** 1 on the first run, 2 on the first retry, ... */
  readonly attempt: number
  /**
   * Identifies this run: different on every run (retries and reruns after a
   * crash included). A distributed backend refuses every write of a run
   * whose token was replaced (the job was taken over).
   */
  readonly fencingToken: string
  /**
   * A key for a side effect the handler performs (`step` names it; default
   * `"effect"`): the same on every run of the job, so a side effect recorded
   * under it (an idempotency key of an API, a `SET NX`) happens once even
   * when the job runs again after a crash.
   */
  readonly idempotencyKey: (step?: string) => string
  /** Persists progress (0..100) and an optional detail. */
  readonly progress: (value: number, detail?: string) => Effect.Effect<void, InvalidProgress | JobError>
  /**
   * A cooperative pause point: returns at once while the job runs, and
   * suspends while it is paused until it is resumed (or cancelled).
   */
  readonly checkpoint: Effect.Effect<void>
  /** Whether a pause has been requested. */
  readonly isPaused: Effect.Effect<boolean>
}

/**
 * What happens to a job that was `running` when its process died.
 *
 * @since 0.1.0
 * @category models
 */
export type RecoveryPolicy = "requeue" | "fail" | "pause"

/**
 * A handler for one job kind (the job's `name`). `run` gets a scope: its
 * resources are released when the run ends, fails, times out or is
 * cancelled.
 *
 * @since 0.1.0
 * @category models
 */
export interface JobHandler {
  readonly kind: string
  readonly run: (context: JobContext) => Effect.Effect<unknown, unknown, Scope.Scope>
  /** Fails the run when exceeded (then retried if attempts remain). */
  readonly timeout?: Duration.DurationInput | undefined
  /** Runs allowed in all, retries included (default 3). */
  readonly maxAttempts?: number | undefined
  /** Base of the exponential backoff between retries (default 500 ms). */
  readonly backoffBaseMs?: number | undefined
  /** Safe to run twice: recovery requeues it by default. */
  readonly idempotent?: boolean | undefined
  /** Overrides the recovery default (`requeue` if idempotent, else `pause`). */
  readonly recovery?: RecoveryPolicy | undefined
}

/**
 * Errors any operation may fail with besides its own.
 *
 * @since 0.1.0
 * @category errors
 */
export type JobError = JobBackendError | RevisionConflict

/**
 * @since 0.1.0
 * @category models
 */
export interface EnqueueOptions {
  readonly input?: JsonValue | undefined
  readonly maxAttempts?: number | undefined
  readonly backoffBaseMs?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Handlers to register before recovery runs. */
  readonly handlers?: ReadonlyArray<JobHandler> | undefined
  /** How many handler runs at once (default 4). */
  readonly concurrency?: number | undefined
  /** Identifies this process as the owner of the jobs it runs. */
  readonly instanceId?: string | undefined
  /**
   * Recover jobs left `running` by a manager that is gone when the handler
   * of their kind is registered (default true). Jobs of kinds this manager
   * has no handler for are never touched.
   */
  readonly recoverOnStart?: boolean | undefined
}

/**
 * A persisted transition, as published on `events` (the protocol's
 * `job_update` event).
 *
 * @since 0.1.0
 * @category models
 */
export type JobEvent = typeof JobUpdate.Type

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly enqueueJob: (
    name: string,
    input?: JsonValue,
    options?: Omit<EnqueueOptions, "input">
  ) => Effect.Effect<JobRecord, JobConfigError | JobError>
  readonly setJobRunning: (id: string) => Effect.Effect<JobRecord, JobNotFound | InvalidTransition | JobError>
  readonly updateJobProgress: (
    id: string,
    progress: number,
    detail?: string
  ) => Effect.Effect<JobRecord, JobNotFound | InvalidTransition | InvalidProgress | JobError>
  readonly completeJob: (
    id: string,
    detail?: string
  ) => Effect.Effect<JobRecord, JobNotFound | InvalidTransition | JobError>
  readonly failJob: (id: string, detail: string) => Effect.Effect<JobRecord, JobNotFound | InvalidTransition | JobError>
  readonly cancelJob: (id: string) => Effect.Effect<JobRecord, JobNotFound | InvalidTransition | JobError>
  readonly pauseJob: (
    id: string,
    detail?: string
  ) => Effect.Effect<JobRecord, JobNotFound | InvalidTransition | JobError>
  readonly resumeJob: (
    id: string,
    detail?: string
  ) => Effect.Effect<JobRecord, JobNotFound | InvalidTransition | JobError>
  readonly jobHistory: (id: string) => Effect.Effect<ReadonlyArray<JobHistoryEntry>, JobNotFound>
  readonly getJob: (id: string) => Effect.Effect<JobRecord, JobNotFound>
  /** Every job, most recently updated first (as the seed). */
  readonly listJobs: Effect.Effect<ReadonlyArray<JobRecord>>
  /**
   * Registers a handler; queued jobs of its kind start running, and (unless
   * `recoverOnStart: false`) jobs of its kind left `running` by a manager
   * that is gone are recovered per its policy.
   */
  readonly registerHandler: (handler: JobHandler) => Effect.Effect<void, JobConfigError>
  /** Whether a handler for this kind is registered here (a resumed job of another kind would not run). */
  readonly handles: (kind: string) => boolean
  /** Every persisted transition, from now on. */
  readonly events: Stream.Stream<JobEvent>
  /** Resolves when no handler run is in flight and no job of a registered kind is queued. */
  readonly awaitIdle: Effect.Effect<void>
  readonly instanceId: string
}

/**
 * The job manager port. Two implementations: {@link layer} (in this process,
 * over a `JobBackend`) and `layer` from `@strata/jobs/bullmq` (on BullMQ
 * queues), so it is a `Context.Tag` with the service shape beside it.
 *
 * @since 0.1.0
 * @category tags
 */
export class JobManager extends Context.Tag("@strata/jobs/JobManager")<JobManager, Service>() {}

/**
 * Builds a manager over the `JobBackend` in context, registering
 * `options.handlers`, recovering interrupted jobs, and starting the runner.
 * The existing jobs are read on first use (a call, or a handler's
 * registration, which recovers the jobs of its kind), not when it is built. The runner stops when the scope closes. Every
 * transition is also dispatched as a `JobLifecycle` hook event through the
 * `HookDispatcher` in context (`HookDispatcher.Default` when no hooks are
 * wanted: a dispatcher without such hooks does nothing).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<Service, JobError, JobBackend | HookDispatcher | Scope.Scope> =
  internal.make

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<JobManager, JobError, JobBackend | HookDispatcher> =>
  Layer.scoped(JobManager, make(options))
