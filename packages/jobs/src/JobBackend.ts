/**
 * The queue backend under `JobManager`: where job records live and how their
 * writes are serialized. The local backend persists through `StateStore`
 * (memory, files, Redis or PostgreSQL); a distributed backend (BullMQ on
 * Redis, PostgreSQL `SKIP LOCKED`) implements the same port, see the README.
 *
 * Contract:
 * - `put(record, expectedRevision)` writes only if the stored revision equals
 *   `expectedRevision` (`null`: the job must not exist yet), stores
 *   `revision = expectedRevision + 1` (0 for a new job) and returns the stored
 *   record; otherwise it fails with `RevisionConflict`. A successful `put` is
 *   durable when it returns.
 * - `list` returns every job; `get` one.
 *
 * @since 0.1.0
 */

import type { JobId } from "@strata/protocol/Ids"
import type { JobRecord } from "@strata/protocol/Job"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * The stored revision was not the expected one: another writer got there first.
 *
 * @since 0.1.0
 * @category errors
 */
export class RevisionConflict extends Schema.TaggedError<RevisionConflict>("@strata/jobs/RevisionConflict")(
  "RevisionConflict",
  {
    jobId: Schema.String,
    expected: Schema.NullOr(Schema.Number),
    actual: Schema.NullOr(Schema.Number)
  }
) {
  override get message(): string {
    return `Job ${this.jobId}: revision conflict (expected ${this.expected}, found ${this.actual})`
  }
}

/**
 * The backend could not be reached or failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class JobBackendError extends Schema.TaggedError<JobBackendError>("@strata/jobs/JobBackendError")(
  "JobBackendError",
  {
    operation: Schema.String,
    jobId: Schema.optional(Schema.String),
    cause: Schema.Defect
  }
) {
  override get message(): string {
    const cause = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `Job backend ${this.operation}${this.jobId ? ` (${this.jobId})` : ""} failed: ${cause}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly name: string
  readonly list: Effect.Effect<ReadonlyArray<JobRecord>, JobBackendError>
  readonly get: (id: JobId) => Effect.Effect<Option.Option<JobRecord>, JobBackendError>
  readonly put: (
    record: JobRecord,
    expectedRevision: number | null
  ) => Effect.Effect<JobRecord, RevisionConflict | JobBackendError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class JobBackend extends Context.Tag("@strata/jobs/JobBackend")<JobBackend, Service>() {}

/**
 * An in-memory backend: for tests and for jobs that need not survive the
 * process. Same revision semantics as the durable ones.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): Service => {
  const records = new Map<string, JobRecord>()
  return {
    name: "memory",
    list: Effect.sync(() => [...records.values()]),
    get: (id) => Effect.sync(() => Option.fromNullable(records.get(id))),
    put: (record, expectedRevision) =>
      Effect.suspend(() => {
        const current = records.get(record.id)
        const actual = current === undefined ? null : current.revision
        if (actual !== expectedRevision) {
          return Effect.fail(new RevisionConflict({ jobId: record.id, expected: expectedRevision, actual }))
        }
        const stored = { ...record, revision: expectedRevision === null ? 0 : expectedRevision + 1 }
        records.set(record.id, stored)
        return Effect.succeed(stored)
      })
  }
}

/**
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<JobBackend> = Layer.sync(JobBackend, makeMemory)
