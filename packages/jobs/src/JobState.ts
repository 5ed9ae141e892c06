/**
 * The job state machine: an explicit transition table and the pure functions
 * that apply a transition to a record (new status, retry bookkeeping, a
 * history entry). `JobManager` persists what these functions return.
 *
 * ```
 * queued  -> running | cancelled
 * running -> completed | failed | cancelled | paused | queued (interrupted, requeued)
 * paused  -> running | cancelled
 * failed  -> queued (only when a retry is due: attempt < max_attempts)
 * ```
 *
 * `attempt` counts the runs started (it becomes 1 on the first
 * `queued -> running`); a failed job is retried while `attempt < max_attempts`,
 * after `backoff_base_ms * 2^(attempt-1)` milliseconds scaled by a jitter
 * factor in [0.5, 1].
 *
 * @since 0.1.0
 */

import type { JobHistoryEntry, JobRecord, JobRetry, JobStatus } from "@strata/protocol/Job"
import { LIMITS } from "@strata/storage/StorageSchema"
import * as Either from "effect/Either"
import { InvalidTransition } from "./JobError.js"

/**
 * Every legal transition, by source status.
 *
 * @since 0.1.0
 * @category models
 */
export const transitions: { readonly [From in JobStatus]: ReadonlyArray<JobStatus> } = {
  queued: ["running", "cancelled"],
  running: ["completed", "failed", "cancelled", "paused", "queued"],
  paused: ["running", "cancelled"],
  failed: ["queued"],
  completed: [],
  cancelled: []
}

/**
 * Whether `from -> to` is in the table.
 *
 * @since 0.1.0
 * @category utils
 */
export const canTransition = (from: JobStatus, to: JobStatus): boolean => transitions[from].includes(to)

/**
 * Statuses a job never leaves.
 *
 * @since 0.1.0
 * @category utils
 */
export const isTerminal = (status: JobStatus): boolean => transitions[status].length === 0

/**
 * How many history entries a record keeps (the oldest are dropped first; the
 * creation entry is always kept).
 *
 * @since 0.1.0
 * @category utils
 */
export const MAX_HISTORY = 256

/**
 * Retry defaults, as the seed's: 3 attempts, 500 ms backoff base.
 *
 * @since 0.1.0
 * @category utils
 */
export const defaultRetry = (options?: {
  readonly maxAttempts?: number
  readonly backoffBaseMs?: number
}): JobRetry => ({
  attempt: 0,
  max_attempts: options?.maxAttempts ?? 3,
  backoff_base_ms: options?.backoffBaseMs ?? 500,
  next_backoff_ms: 0,
  next_retry_at: null
})

/**
 * The backoff before retry number `attempt` (1-based): exponential, capped at
 * one hour, scaled by `jitter` in [0.5, 1].
 *
 * @since 0.1.0
 * @category utils
 */
export const backoffMs = (retry: JobRetry, jitter: number): number => {
  const exponent = Math.min(Math.max(retry.attempt - 1, 0), 20)
  const raw = Math.min(retry.backoff_base_ms * 2 ** exponent, 3_600_000)
  return Math.round(raw * (0.5 + 0.5 * Math.min(Math.max(jitter, 0), 1)))
}

/**
 * Whether a failed job will be retried.
 *
 * @since 0.1.0
 * @category utils
 */
export const retryDue = (job: JobRecord): boolean =>
  job.status === "failed" && job.retry.attempt < job.retry.max_attempts

/**
 * A new queued job record.
 *
 * @since 0.1.0
 * @category constructors
 */
export const create = (options: {
  readonly id: JobRecord["id"]
  readonly name: string
  readonly input?: JobRecord["input"]
  readonly retry: JobRetry
  readonly now: number
}): JobRecord => ({
  id: options.id,
  name: options.name,
  status: "queued",
  progress: 0,
  detail: null,
  ...(options.input === undefined ? {} : { input: options.input }),
  retry: options.retry,
  history: [{ at: options.now, phase: "created", from: null, to: "queued", progress: 0, detail: null, attempt: 0 }],
  created_at: options.now,
  updated_at: options.now,
  revision: 0
})

/**
 * What a transition changes besides the status.
 *
 * @since 0.1.0
 * @category models
 */
export interface TransitionOptions {
  /** The operation, for errors and history (`running`, `paused`, `interrupted`, ...). */
  readonly phase: string
  readonly now: number
  /** Replaces the detail when given (`null` clears it). */
  readonly detail?: string | null | undefined
  /** Replaces the progress when given. */
  readonly progress?: number | undefined
  /** For `-> failed`: a jitter factor in [0, 1] for the retry backoff. */
  readonly jitter?: number | undefined
}

/**
 * A detail cut to the store's limit (a failing handler's message can be a
 * whole stack trace); the cut is marked.
 *
 * @since 0.2.0
 * @category utils
 */
export const clipDetail = (detail: string | null | undefined): string | null | undefined =>
  typeof detail === "string" && detail.length > LIMITS.detail ? `${detail.slice(0, LIMITS.detail - 1)}…` : detail

const appendHistory = (history: ReadonlyArray<JobHistoryEntry>, entry: JobHistoryEntry) => {
  const next = [...history, entry]
  if (next.length <= MAX_HISTORY) return next
  return [next[0]!, ...next.slice(next.length - MAX_HISTORY + 1)]
}

/**
 * Applies `job.status -> to`, or fails with `InvalidTransition`. Returns the
 * new record with its history entry; its `revision` is unchanged (the store
 * bumps it on write).
 *
 * @since 0.1.0
 * @category combinators
 */
export const transition = (
  job: JobRecord,
  to: JobStatus,
  options: TransitionOptions
): Either.Either<JobRecord, InvalidTransition> => {
  const from = job.status
  const legal = from === to ? false : canTransition(from, to)
  if (!legal || (from === "failed" && to === "queued" && !retryDue(job))) {
    return Either.left(new InvalidTransition({ jobId: job.id, from, to, operation: options.phase }))
  }
  let retry = job.retry
  if (from === "queued" && to === "running") {
    retry = { ...retry, attempt: retry.attempt + 1, next_backoff_ms: 0, next_retry_at: null }
  } else if (to === "failed") {
    if (retry.attempt < retry.max_attempts) {
      const wait = backoffMs(retry, options.jitter ?? 1)
      retry = { ...retry, next_backoff_ms: wait, next_retry_at: options.now + wait }
    } else {
      retry = { ...retry, next_backoff_ms: 0, next_retry_at: null }
    }
  } else if (to === "completed" || to === "cancelled") {
    retry = { ...retry, next_backoff_ms: 0, next_retry_at: null }
  }
  const progress = to === "completed" ? 100 : (options.progress ?? job.progress)
  const detail = options.detail === undefined ? job.detail : (clipDetail(options.detail) ?? null)
  return Either.right({
    ...job,
    status: to,
    progress,
    detail,
    retry,
    updated_at: options.now,
    history: appendHistory(job.history, {
      at: options.now,
      phase: options.phase,
      from,
      to,
      progress,
      detail,
      attempt: retry.attempt
    })
  })
}

/**
 * Records progress on a running job (a `running -> running` history entry).
 *
 * @since 0.1.0
 * @category combinators
 */
export const progress = (
  job: JobRecord,
  value: number,
  options: { readonly now: number; readonly detail?: string | null | undefined }
): Either.Either<JobRecord, InvalidTransition> => {
  if (job.status !== "running") {
    return Either.left(
      new InvalidTransition({ jobId: job.id, from: job.status, to: job.status, operation: "progress" })
    )
  }
  const detail = options.detail === undefined ? job.detail : (clipDetail(options.detail) ?? null)
  return Either.right({
    ...job,
    progress: value,
    detail,
    updated_at: options.now,
    history: appendHistory(job.history, {
      at: options.now,
      phase: "progress",
      from: job.status,
      to: job.status,
      progress: value,
      detail,
      attempt: job.retry.attempt
    })
  })
}
