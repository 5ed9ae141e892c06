/**
 * @internal
 *
 * What the two job managers share: the in-process one (`jobManager.ts`) and
 * the BullMQ one (`bullmqManager.ts`) differ in where a run happens and how
 * a transition is fenced, not in what a job, a handler or a run's context is.
 */
import type { JsonValue } from "@strata/protocol/Common"
import * as Ids from "@strata/protocol/Ids"
import type { JobRecord } from "@strata/protocol/Job"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { InvalidProgress, type InvalidTransition, JobConfigError } from "../JobError.js"
import type * as JM from "../JobManager.js"
import * as JobState from "../JobState.js"

/** One line for a failed run's cause: the failure's message, else the defect's. */
export const errorMessage = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  const value = failure._tag === "Some" ? failure.value : Cause.squash(cause)
  if (value instanceof Error) return value.message || value.name
  if (typeof value === "string") return value
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/** Progress is a whole percentage, 0 to 100. */
export const validProgress = (id: string, value: number): Effect.Effect<void, InvalidProgress> =>
  Number.isInteger(value) && value >= 0 && value <= 100
    ? Effect.void
    : Effect.fail(new InvalidProgress({ jobId: id, progress: value }))

/**
 * Checks a handler before it is registered: a kind, not yet registered here,
 * `extra` (a backend's own limit on kinds), and a sane `maxAttempts`.
 */
export const validateHandler = (
  handler: JM.JobHandler,
  registered: ReadonlyMap<string, JM.JobHandler>,
  extra?: (kind: string) => string | undefined
): Effect.Effect<void, JobConfigError> => {
  const fail = (reason: string) => Effect.fail(new JobConfigError({ kind: handler.kind, reason }))
  if (handler.kind.length === 0) return fail("kind must not be empty")
  if (registered.has(handler.kind)) return fail("a handler is already registered for this kind")
  const problem = extra?.(handler.kind)
  if (problem !== undefined) return fail(problem)
  if (handler.maxAttempts !== undefined && (!Number.isInteger(handler.maxAttempts) || handler.maxAttempts < 1)) {
    return fail("maxAttempts must be an integer >= 1")
  }
  return Effect.void
}

/** A new queued job's record (not yet stored); the retry policy comes from the call, else the kind's handler. */
export const newJob = (
  name: string,
  input: JsonValue | undefined,
  enqueueOptions: Omit<JM.EnqueueOptions, "input"> | undefined,
  handler: JM.JobHandler | undefined
): Effect.Effect<JobRecord, JobConfigError> =>
  Effect.gen(function* () {
    if (name.length === 0 || name.length > 256) {
      return yield* Effect.fail(new JobConfigError({ kind: name, reason: "job name must be 1..256 characters" }))
    }
    const now = yield* Clock.currentTimeMillis
    return JobState.create({
      id: Ids.make("JobId"),
      name,
      ...(input === undefined ? {} : { input }),
      retry: JobState.defaultRetry({
        maxAttempts: enqueueOptions?.maxAttempts ?? handler?.maxAttempts,
        backoffBaseMs: enqueueOptions?.backoffBaseMs ?? handler?.backoffBaseMs
      } as { maxAttempts?: number; backoffBaseMs?: number }),
      now
    })
  })

/** Fails a job for good (recovery policy `fail`): no retry is scheduled. */
export const failForGood = (job: JobRecord, now: number, detail: string): Either.Either<JobRecord, InvalidTransition> =>
  Either.map(JobState.transition(job, "failed", { phase: "interrupted", now, detail }), (next) => ({
    ...next,
    retry: { ...next.retry, attempt: next.retry.max_attempts, next_backoff_ms: 0, next_retry_at: null }
  }))

/** The update a stored transition publishes (to subscribers and to `JobLifecycle` hooks). */
export const updateOf = (stored: JobRecord) => ({
  job_id: stored.id,
  name: stored.name,
  status: stored.status,
  progress: stored.progress,
  entry: stored.history[stored.history.length - 1]!
})

/** Newest first; ties by id. */
export const sortJobs = (jobs: Iterable<JobRecord>): Array<JobRecord> =>
  [...jobs].sort((a, b) => b.updated_at - a.updated_at || (a.id < b.id ? -1 : 1))

/** `checkpoint` of a run's context: returns at once unless paused, else when resumed. */
export const checkpointOf = (paused: SubscriptionRef.SubscriptionRef<boolean>): Effect.Effect<void> =>
  SubscriptionRef.get(paused).pipe(
    Effect.flatMap((p) =>
      p
        ? paused.changes.pipe(
            Stream.filter((v) => !v),
            Stream.take(1),
            Stream.runDrain
          )
        : Effect.void
    )
  )

/** The handler's run on `context`, in its own scope, bounded by the handler's timeout. */
export const runBody = (handler: JM.JobHandler, context: JM.JobContext): Effect.Effect<unknown, unknown> => {
  const body = Effect.scoped(Effect.suspend(() => handler.run(context)))
  return handler.timeout === undefined
    ? body
    : body.pipe(
        Effect.timeoutFail({
          duration: handler.timeout,
          onTimeout: () => new Error(`timed out after ${Duration.format(Duration.decode(handler.timeout!))}`)
        })
      )
}
