/** @internal */

import { HookDispatcher } from "@strata/hooks/HookDispatcher"
import { randomUUID } from "@strata/protocol/Common"
import type { JobRecord, JobStatus } from "@strata/protocol/Job"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { JobBackend } from "../JobBackend.js"
import { InvalidTransition, JobNotFound } from "../JobError.js"
import type * as JM from "../JobManager.js"
import * as JobState from "../JobState.js"
import {
  checkpointOf,
  errorMessage,
  failForGood,
  newJob,
  runBody,
  sortJobs,
  updateOf,
  validateHandler,
  validProgress
} from "./common.js"

/** @internal */
export const make = (
  options: JM.Options = {}
): Effect.Effect<JM.Service, JM.JobError, JobBackend | HookDispatcher | Scope.Scope> =>
  Effect.gen(function* () {
    const backend = yield* JobBackend
    // Every transition is also dispatched to hooks as a JobLifecycle
    // observer event (a dispatcher with no such hook does nothing).
    const hooks = yield* HookDispatcher
    const instanceId = options.instanceId ?? `jobs-${randomUUID()}`
    const concurrency = Math.max(1, options.concurrency ?? 4)
    // Every job, loaded on first use rather than here: a process that never
    // touches a job (`strata run` with no job handler) never reads them, and
    // one that does pays for it off the start-up path. Recovery is unchanged:
    // it runs when a handler of the kind is registered, which loads first.
    const jobs = new Map<string, JobRecord>()
    let loaded = false
    const loadLock = Effect.unsafeMakeSemaphore(1)
    const load: Effect.Effect<void, JM.JobError> = Effect.suspend(() =>
      loaded
        ? Effect.void
        : loadLock.withPermits(1)(
            Effect.suspend(() =>
              loaded
                ? Effect.void
                : Effect.map(backend.list, (records) => {
                    // Records written here meanwhile (none: every write loads first) would win.
                    for (const record of records) if (!jobs.has(record.id)) jobs.set(record.id, record)
                    loaded = true
                  })
            )
          )
    )
    /** For the reads whose type has no backend error (as the BullMQ manager's `listJobs`). */
    const loadOrDie = Effect.orDie(load)

    const locks = new Map<string, Effect.Semaphore>()
    const lock = (id: string) => {
      let s = locks.get(id)
      if (s === undefined) {
        s = Effect.unsafeMakeSemaphore(1)
        locks.set(id, s)
      }
      return s.withPermits(1)
    }

    const hub = yield* PubSub.unbounded<JM.JobEvent>()
    const handlers = new Map<string, JM.JobHandler>()
    const running = new Map<string, Fiber.RuntimeFiber<unknown, unknown>>()
    const active = new Set<string>()
    const pauses = new Map<string, SubscriptionRef.SubscriptionRef<boolean>>()
    const runners = yield* FiberSet.make<unknown, unknown>()
    const wake = yield* Queue.sliding<void>(1)
    const idle = yield* SubscriptionRef.make(0)

    const find = (id: string) =>
      Effect.zipRight(
        loadOrDie,
        Effect.suspend(() => {
          const job = jobs.get(id)
          return job === undefined ? Effect.fail(new JobNotFound({ jobId: id })) : Effect.succeed(job)
        })
      )

    // Persists `next` (computed from the cached record) and publishes the transition.
    const commit = (previous: JobRecord | undefined, next: JobRecord) =>
      Effect.gen(function* () {
        const stored = yield* backend.put(next, previous === undefined ? 0 : previous.revision)
        jobs.set(stored.id, stored)
        const update = updateOf(stored)
        yield* PubSub.publish(hub, { event: "job_update" as const, ...update })
        yield* hooks.notify({ hook_event_name: "JobLifecycle", ...update })
        return stored
      })

    const mutate = (
      id: string,
      f: (job: JobRecord, now: number, jitter: number) => Either.Either<JobRecord, InvalidTransition>
    ) =>
      Effect.gen(function* () {
        const job = yield* find(id)
        const now = yield* Clock.currentTimeMillis
        const jitter = yield* Random.next
        const next = yield* f(job, now, jitter)
        return yield* commit(job, next)
      })

    const toStatus = (
      id: string,
      to: JobStatus,
      phase: string,
      extra?: { detail?: string | null | undefined; owner?: string | undefined }
    ) =>
      mutate(id, (job, now, jitter) =>
        Either.map(JobState.transition(job, to, { phase, now, jitter, detail: extra?.detail }), (next) =>
          extra?.owner === undefined ? next : { ...next, owner: extra.owner }
        )
      )

    const scheduleRetry = (job: JobRecord): Effect.Effect<void> =>
      JobState.retryDue(job) && job.retry.next_retry_at !== null
        ? Effect.gen(function* () {
            const now = yield* Clock.currentTimeMillis
            yield* Effect.sleep(Duration.millis(Math.max(0, job.retry.next_retry_at! - now)))
            yield* lock(job.id)(
              Effect.suspend(() => {
                const current = jobs.get(job.id)
                // Only the failure we scheduled for: a manual change since wins.
                return current !== undefined && current.status === "failed" && current.revision === job.revision
                  ? toStatus(job.id, "queued", "retry")
                  : Effect.void
              })
            )
            yield* Queue.offer(wake, undefined)
          }).pipe(
            Effect.catchAllCause((cause) => Effect.logWarning("job retry scheduling failed", cause)),
            FiberSet.run(runners),
            Effect.asVoid
          )
        : Effect.void

    const pauseRef = (id: string, paused: boolean) =>
      Effect.gen(function* () {
        const ref = pauses.get(id)
        if (ref !== undefined) yield* SubscriptionRef.set(ref, paused)
      })

    const updateProgress = (id: string, value: number, detail?: string) =>
      validProgress(id, value).pipe(
        Effect.zipRight(lock(id)(mutate(id, (job, now) => JobState.progress(job, value, { now, detail }))))
      )

    const finishRun = (id: string, exit: Exit.Exit<unknown, unknown>) =>
      lock(id)(
        Effect.gen(function* () {
          const job = jobs.get(id)
          if (job === undefined) return
          if (Exit.isSuccess(exit)) {
            if (job.status === "paused") yield* toStatus(id, "running", "resumed")
            if (jobs.get(id)?.status === "running") yield* toStatus(id, "completed", "completed")
            return
          }
          if (job.status !== "running" && job.status !== "paused") return
          if (job.status === "paused") yield* toStatus(id, "running", "resumed")
          const failed = yield* toStatus(id, "failed", "failed", { detail: errorMessage(exit.cause) })
          yield* scheduleRetry(failed)
        })
      )

    // Starts a run of a queued job; with `adopt`, runs a job that is already
    // `running` with no fiber (resumed after being paused by recovery).
    const startRun = (job: JobRecord, handler: JM.JobHandler, adopt = false) =>
      Effect.gen(function* () {
        const started = adopt
          ? jobs.get(job.id)
          : yield* lock(job.id)(
              Effect.suspend(() => {
                const current = jobs.get(job.id)
                return current?.status === "queued"
                  ? toStatus(job.id, "running", "running", { owner: instanceId })
                  : Effect.succeed(undefined)
              })
            )
        if (started === undefined) return
        const paused = yield* SubscriptionRef.make(false)
        pauses.set(job.id, paused)
        const context: JM.JobContext = {
          job: started,
          input: started.input,
          attempt: started.retry.attempt,
          fencingToken: `${started.id}#${started.retry.attempt}@${instanceId}`,
          idempotencyKey: (step = "effect") => `${started.id}:${step}`,
          progress: (value, detail) =>
            updateProgress(job.id, value, detail).pipe(
              Effect.asVoid,
              Effect.catchTag("JobNotFound", () => Effect.void),
              Effect.catchTag("InvalidTransition", () => Effect.void)
            ),
          checkpoint: checkpointOf(paused),
          isPaused: SubscriptionRef.get(paused)
        }
        const fiber = yield* runBody(handler, context).pipe(
          Effect.exit,
          Effect.flatMap((exit) => finishRun(job.id, exit)),
          Effect.catchAllCause((cause) => Effect.logError(`job ${job.id}: could not record the end of its run`, cause)),
          Effect.ensuring(
            Effect.sync(() => {
              running.delete(job.id)
              active.delete(job.id)
              pauses.delete(job.id)
            }).pipe(
              Effect.zipRight(SubscriptionRef.update(idle, (n) => n - 1)),
              Effect.zipRight(Queue.offer(wake, undefined))
            )
          ),
          Effect.interruptible,
          FiberSet.run(runners)
        )
        running.set(job.id, fiber)
      })

    // Starts queued jobs of registered kinds, oldest first, up to the limit.
    // `active` holds the ids with a run in flight (starting or running).
    const dispatch = Effect.gen(function* () {
      // Nothing to run without a handler (and no reason to load the jobs).
      if (handlers.size === 0) return
      const ok = yield* load.pipe(
        Effect.as(true),
        Effect.catchAll((e) => Effect.as(Effect.logWarning(`jobs: cannot load the jobs: ${e.message}`), false))
      )
      if (!ok) return
      const ready = [...jobs.values()]
        .filter((j) => j.status === "queued" && handlers.has(j.name) && !active.has(j.id))
        .sort((a, b) => a.created_at - b.created_at)
      for (const job of ready) {
        if (active.size >= concurrency) break
        active.add(job.id)
        yield* SubscriptionRef.update(idle, (n) => n + 1)
        const exit = yield* Effect.exit(startRun(job, handlers.get(job.name)!))
        if (!running.has(job.id)) {
          // Not started (no longer queued, or its transition failed): release the slot.
          active.delete(job.id)
          yield* SubscriptionRef.update(idle, (n) => n - 1)
          if (Exit.isFailure(exit)) yield* Effect.logWarning(`job ${job.id}: could not start`, exit.cause)
        }
      }
    })

    yield* Queue.take(wake).pipe(Effect.zipRight(dispatch), Effect.forever, Effect.forkScoped)

    // Jobs left `running` by a manager that is gone, of one kind: this
    // manager runs that kind, so its recovery policy decides. Kinds nobody
    // here runs are left alone (a process that only looks, or runs other
    // kinds, must not decide for them).
    const recover = (handler: JM.JobHandler) =>
      Effect.gen(function* () {
        for (const job of [...jobs.values()]) {
          if (job.name !== handler.kind || job.status !== "running" || job.owner === instanceId) continue
          const policy: JM.RecoveryPolicy = handler.recovery ?? (handler.idempotent ? "requeue" : "pause")
          const detail = `interrupted: the process running it (${job.owner ?? "unknown"}) is gone`
          yield* lock(job.id)<JobRecord, JM.JobError | InvalidTransition | JobNotFound, never>(
            policy === "requeue"
              ? toStatus(job.id, "queued", "interrupted", { detail })
              : policy === "pause"
                ? toStatus(job.id, "paused", "interrupted", { detail })
                : mutate(job.id, (j, now) => failForGood(j, now, detail))
          ).pipe(
            Effect.catchTags({
              InvalidTransition: (e) => Effect.logWarning(e.message),
              JobNotFound: (e) => Effect.logWarning(e.message)
            })
          )
        }
      })

    const recoverOnRegister = options.recoverOnStart ?? true

    const registerHandler = Effect.fn("JobManager.registerHandler")(function* (handler: JM.JobHandler) {
      yield* validateHandler(handler, handlers)
      handlers.set(handler.kind, handler)
      const ok = yield* load.pipe(
        Effect.as(true),
        Effect.catchAll((e) =>
          Effect.as(Effect.logWarning(`jobs of kind ${handler.kind}: cannot load the jobs: ${e.message}`), false)
        )
      )
      if (ok && recoverOnRegister) {
        yield* recover(handler).pipe(
          Effect.catchAll((e) => Effect.logWarning(`jobs of kind ${handler.kind}: recovery failed: ${e.message}`))
        )
      }
      if (ok) {
        for (const job of jobs.values())
          if (job.name === handler.kind && job.status === "failed") yield* scheduleRetry(job)
      }
      yield* Queue.offer(wake, undefined)
    })

    for (const handler of options.handlers ?? []) yield* registerHandler(handler).pipe(Effect.orDie)
    yield* Queue.offer(wake, undefined)

    const service: JM.Service = {
      instanceId,
      enqueueJob: Effect.fn("JobManager.enqueueJob")(function* (name, input, enqueueOptions) {
        const record = yield* newJob(name, input, enqueueOptions, handlers.get(name))
        yield* load
        const stored = yield* commit(undefined, record)
        yield* Queue.offer(wake, undefined)
        return stored
      }),
      setJobRunning: Effect.fn("JobManager.setJobRunning")((id) =>
        lock(id)(toStatus(id, "running", "running", { owner: instanceId }))
      ),
      updateJobProgress: Effect.fn("JobManager.updateJobProgress")((id, progress, detail) =>
        find(id).pipe(Effect.zipRight(updateProgress(id, progress, detail)))
      ),
      completeJob: Effect.fn("JobManager.completeJob")((id, detail) =>
        lock(id)(toStatus(id, "completed", "completed", { detail }))
      ),
      failJob: Effect.fn("JobManager.failJob")(function* (id, detail) {
        const failed = yield* lock(id)(toStatus(id, "failed", "failed", { detail }))
        const fiber = running.get(id)
        if (fiber !== undefined) yield* Fiber.interrupt(fiber)
        yield* scheduleRetry(failed)
        return failed
      }),
      cancelJob: Effect.fn("JobManager.cancelJob")((id) =>
        lock(id)(
          Effect.gen(function* () {
            const job = yield* find(id)
            if (!JobState.canTransition(job.status, "cancelled")) {
              return yield* Effect.fail(
                new InvalidTransition({ jobId: id, from: job.status, to: "cancelled", operation: "cancel" })
              )
            }
            const fiber = running.get(id)
            if (fiber !== undefined) yield* Fiber.interrupt(fiber)
            return yield* toStatus(id, "cancelled", "cancelled")
          })
        )
      ),
      pauseJob: Effect.fn("JobManager.pauseJob")((id, detail) =>
        lock(id)(toStatus(id, "paused", "paused", { detail }).pipe(Effect.tap(() => pauseRef(id, true))))
      ),
      resumeJob: Effect.fn("JobManager.resumeJob")(function* (id, detail) {
        const resumed = yield* lock(id)(
          toStatus(id, "running", "resumed", { detail, owner: instanceId }).pipe(Effect.tap(() => pauseRef(id, false)))
        )
        // A job paused by crash recovery has no run in flight: start one.
        const handler = handlers.get(resumed.name)
        if (handler !== undefined && !active.has(id)) {
          active.add(id)
          yield* SubscriptionRef.update(idle, (n) => n + 1)
          yield* startRun(resumed, handler, true)
        }
        return resumed
      }),
      jobHistory: Effect.fn("JobManager.jobHistory")((id) => Effect.map(find(id), (job) => job.history)),
      getJob: Effect.fn("JobManager.getJob")((id) => find(id)),
      listJobs: Effect.zipRight(
        loadOrDie,
        Effect.sync(() => sortJobs(jobs.values()))
      ).pipe(Effect.withSpan("JobManager.listJobs")),
      registerHandler,
      handles: (kind) => handlers.has(kind),
      events: Stream.fromPubSub(hub),
      awaitIdle: idle.changes.pipe(
        Stream.filter((n) => n === 0 && ![...jobs.values()].some((j) => j.status === "queued" && handlers.has(j.name))),
        Stream.take(1),
        Stream.runDrain
      )
    }
    return service
  })
