/**
 * The queue backend under `JobManager`: where job records live and how their
 * writes are serialized. The local backend persists through `StateStore`
 * (memory, files, Redis or PostgreSQL); a distributed backend (BullMQ on
 * Redis, PostgreSQL `SKIP LOCKED`) implements the same port, see the README.
 *
 * Contract:
 * - `put(record, expectedRevision)` writes only if the stored revision equals
 *   `expectedRevision` (0: the job must not exist yet), stores
 *   `revision = expectedRevision + 1` and returns the stored record; otherwise
 *   it fails with `RevisionConflict`. A successful `put` is durable when it
 *   returns. (The same semantics as `StateStore.putJob`.)
 * - `list` returns every job; `get` one.
 *
 * @since 0.1.0
 */

import type { JobId } from "@strata/protocol/Ids"
import type { JobRecord } from "@strata/protocol/Job"
import * as StateStore from "@strata/storage/StateStore"
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
    expected: Schema.Number,
    actual: Schema.optional(Schema.Number)
  }
) {
  override get message(): string {
    return `Job ${this.jobId}: revision conflict (expected revision ${this.expected}${this.actual === undefined ? "" : `, found ${this.actual}`}): another writer changed it`
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
    expectedRevision: number
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
        const actual = current === undefined ? 0 : current.revision
        if (actual !== expectedRevision) {
          return Effect.fail(new RevisionConflict({ jobId: record.id, expected: expectedRevision, actual }))
        }
        const stored = { ...record, revision: expectedRevision + 1 }
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

/**
 * The local backend: job records persisted through `@strata/storage`'s
 * `StateStore` (memory, files, Redis or PostgreSQL), with its
 * compare-and-set `putJob`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeStateStore = (store: StateStore.Service): Service => {
  const backendError = (operation: string, jobId?: string) => (cause: { readonly message: string }) =>
    new JobBackendError({ operation, cause, ...(jobId === undefined ? {} : { jobId }) })
  return {
    name: `state-store:${store.backend}`,
    list: store.listJobs().pipe(Effect.mapError(backendError("list"))),
    get: (id) => store.getJob(id).pipe(Effect.mapError(backendError("get", id))),
    put: (record, expectedRevision) =>
      store
        .putJob(record, { expectedRevision })
        .pipe(
          Effect.catchAll(
            (error): Effect.Effect<never, RevisionConflict | JobBackendError> =>
              error._tag === "StorageError" && error.reason === "Conflict"
                ? Effect.fail(new RevisionConflict({ jobId: record.id, expected: expectedRevision }))
                : Effect.fail(backendError("put", record.id)(error))
          )
        )
  }
}

/**
 * The local backend over the `StateStore` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStateStore: Layer.Layer<JobBackend, never, StateStore.StateStore> = Layer.effect(
  JobBackend,
  Effect.map(StateStore.StateStore, makeStateStore)
)
