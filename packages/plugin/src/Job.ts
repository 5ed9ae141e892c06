/**
 * Background jobs a plugin defines: long work (a test run, an index build)
 * that outlives one tool call's patience. The runtime registers each kind
 * with its job manager as `<plugin id>__<kind>` (durable, with progress,
 * pause / resume, cancel, retries; at most `[jobs] concurrency` run at
 * once), and a tool of the same plugin starts them through
 * `context.jobs.enqueue(kind, input)`; `strata jobs list` shows them.
 *
 * ```ts
 * const Index = defineJob({
 *   kind: "index",
 *   description: "Index the workspace",
 *   run: (job) => Effect.gen(function* () {
 *     for (let i = 1; i <= 10; i++) {
 *       yield* job.checkpoint          // pauses here while the job is paused
 *       yield* job.progress(i * 10)
 *     }
 *   })
 * })
 * ```
 *
 * @since 0.1.0
 */
import type { Common } from "@strata/protocol"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { ToolFailure } from "./PluginError.js"

/**
 * What a job's `run` gets: its input, which attempt this is, and the
 * progress and pause points.
 *
 * @since 0.1.0
 * @category models
 */
export interface JobRun {
  readonly id: string
  readonly input: Common.JsonValue | undefined
  /** 1 on the first run, 2 on the first retry, ... */
  readonly attempt: number
  /** Records progress (0..100) and an optional detail. */
  readonly progress: (value: number, detail?: string) => Effect.Effect<void>
  /** A cooperative pause point: suspends while the job is paused. */
  readonly checkpoint: Effect.Effect<void>
  /**
   * A key for a side effect (`step` names it): the same on every run of the
   * job, so a side effect recorded under it happens once even when the job
   * runs again after a crash (`[jobs] backend = "bullmq"`). Given by the
   * runtime; absent only in hand-made test contexts.
   */
  readonly idempotencyKey?: ((step?: string) => string) | undefined
}

/**
 * A job kind, as its author writes it. `run` may require the plugin's
 * services (its `layer` provides them) and gets a scope, closed when the run
 * ends, fails, times out or is cancelled.
 *
 * @since 0.1.0
 * @category models
 */
export interface Definition<R = never> {
  /** Lowercase letters, digits, `_` and `-`; the runtime's kind is `<plugin id>__<kind>`. */
  readonly kind: string
  readonly description?: string | undefined
  readonly run: (job: JobRun) => Effect.Effect<unknown, unknown, R | Scope.Scope>
  /** Fails the run when exceeded (then retried if attempts remain). */
  readonly timeout?: Duration.DurationInput | undefined
  /** Runs allowed in all, retries included (default 3). */
  readonly maxAttempts?: number | undefined
  /** Safe to run twice: a job interrupted by a crash is requeued (else paused). */
  readonly idempotent?: boolean | undefined
}

/**
 * Any job definition.
 *
 * @since 0.1.0
 * @category models
 */
export type Any<R = any> = Definition<R>

/**
 * Defines a job kind; the identity, typed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const define = <R = never>(definition: Definition<R>): Definition<R> => definition

/**
 * How a job ended, as `Jobs.await` reports it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Ended {
  readonly id: string
  readonly status: "completed" | "failed" | "cancelled"
  readonly detail: string | null
}

/**
 * What a tool gets as `context.jobs`: starting its own plugin's job kinds
 * and waiting for one to end. Absent when the host runs no job manager.
 *
 * @since 0.1.0
 * @category models
 */
export interface Jobs {
  /** Queues a job of this plugin's `kind`; returns its id at once. */
  readonly enqueue: (kind: string, input?: Common.JsonValue) => Effect.Effect<{ readonly id: string }, ToolFailure>
  /** Waits until the job completed, failed for good or was cancelled. */
  readonly await: (id: string) => Effect.Effect<Ended, ToolFailure>
}
