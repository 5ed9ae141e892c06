/**
 * The errors of `@strata/jobs`.
 *
 * @since 0.1.0
 */

import { JobStatus } from "@strata/protocol/Job"
import * as Schema from "effect/Schema"

/**
 * A transition the state machine does not allow (`completed -> running`,
 * `queued -> paused`, ...). Nothing was persisted.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidTransition extends Schema.TaggedError<InvalidTransition>("@strata/jobs/InvalidTransition")(
  "InvalidTransition",
  {
    jobId: Schema.String,
    from: JobStatus,
    to: JobStatus,
    operation: Schema.String
  }
) {
  override get message(): string {
    return `Job ${this.jobId}: cannot ${this.operation} (${this.from} -> ${this.to} is not a legal transition)`
  }
}

/**
 * No job has this id.
 *
 * @since 0.1.0
 * @category errors
 */
export class JobNotFound extends Schema.TaggedError<JobNotFound>("@strata/jobs/JobNotFound")("JobNotFound", {
  jobId: Schema.String
}) {
  override get message(): string {
    return `Job ${this.jobId} not found`
  }
}

/**
 * Progress outside 0..100 (or not an integer). Nothing was persisted.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidProgress extends Schema.TaggedError<InvalidProgress>("@strata/jobs/InvalidProgress")(
  "InvalidProgress",
  {
    jobId: Schema.String,
    progress: Schema.Unknown
  }
) {
  override get message(): string {
    return `Job ${this.jobId}: progress must be an integer in 0..100 (got ${JSON.stringify(this.progress)})`
  }
}

/**
 * A job handler is registered twice for one kind, or a job is enqueued with
 * bad options.
 *
 * @since 0.1.0
 * @category errors
 */
export class JobConfigError extends Schema.TaggedError<JobConfigError>("@strata/jobs/JobConfigError")(
  "JobConfigError",
  {
    kind: Schema.String,
    reason: Schema.String
  }
) {
  override get message(): string {
    return `Job kind ${JSON.stringify(this.kind)}: ${this.reason}`
  }
}
