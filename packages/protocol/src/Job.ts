/**
 * Background jobs: status, retry metadata, history and the persisted record.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { JsonValue, optional, Timestamp } from "./Common.js"
import { JobId } from "./Ids.js"

/**
 * @since 0.1.0
 * @category schemas
 */
export const JobStatus = Schema.Literal("queued", "running", "paused", "completed", "failed", "cancelled").annotations({
  identifier: "JobStatus"
})
/** @since 0.1.0 @category models */
export type JobStatus = typeof JobStatus.Type

const Count = Schema.Number.pipe(Schema.int(), Schema.nonNegative())

/**
 * Progress in percent, an integer in 0..100.
 *
 * @since 0.1.0
 * @category schemas
 */
export const JobProgress = Schema.Number.pipe(Schema.int(), Schema.between(0, 100)).annotations({
  identifier: "JobProgress"
})

/**
 * Retry bookkeeping, as the seed's: the attempt number, the limit, the
 * backoff base and the next run time when a retry is due.
 *
 * @since 0.1.0
 * @category schemas
 */
export const JobRetry = Schema.Struct({
  attempt: Count,
  max_attempts: Count,
  backoff_base_ms: Count,
  next_backoff_ms: Count,
  next_retry_at: Schema.NullOr(Timestamp)
}).annotations({ identifier: "JobRetry" })
/** @since 0.1.0 @category models */
export type JobRetry = typeof JobRetry.Type

/**
 * One transition of a job. `from` is null for the entry that created it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const JobHistoryEntry = Schema.Struct({
  at: Timestamp,
  phase: Schema.String,
  from: Schema.NullOr(JobStatus),
  to: JobStatus,
  progress: Schema.NullOr(JobProgress),
  detail: Schema.NullOr(Schema.String),
  attempt: Count
}).annotations({ identifier: "JobHistoryEntry" })
/** @since 0.1.0 @category models */
export type JobHistoryEntry = typeof JobHistoryEntry.Type

/**
 * A job as persisted. `revision` increases by one on every write and is
 * checked on the next (optimistic concurrency).
 *
 * @since 0.1.0
 * @category schemas
 */
export const JobRecord = Schema.Struct({
  id: JobId,
  name: Schema.String,
  status: JobStatus,
  progress: Schema.NullOr(JobProgress),
  detail: Schema.NullOr(Schema.String),
  input: optional(JsonValue),
  retry: JobRetry,
  history: Schema.Array(JobHistoryEntry),
  created_at: Timestamp,
  updated_at: Timestamp,
  revision: Count,
  owner: optional(Schema.String)
}).annotations({ identifier: "JobRecord" })
/** @since 0.1.0 @category models */
export type JobRecord = typeof JobRecord.Type
