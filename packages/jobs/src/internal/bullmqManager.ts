/**
 * @internal
 *
 * The BullMQ job manager. What it shares with the in-process manager is in
 * `./common.ts`, queue names and status in `./bullmqStatus.ts`. (Over 600
 * lines: the claim, the fenced run, hand-back and stalled-dispatch recovery
 * all act on the same record-ownership protocol described below, and read
 * best next to it.)
 */

import { HookDispatcher } from "@strata/hooks/HookDispatcher"
import { randomUUID } from "@strata/protocol/Common"
import type * as Ids from "@strata/protocol/Ids"
import type { JobRecord, JobStatus } from "@strata/protocol/Job"
import { type Job as BullJob, Queue, Worker } from "bullmq"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Random from "effect/Random"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Redis } from "ioredis"
import type * as BM from "../bullmq.js"
import { JobBackend, JobBackendError, RevisionConflict } from "../JobBackend.js"
import { type InvalidTransition, JobConfigError, JobNotFound } from "../JobError.js"
import type * as JM from "../JobManager.js"
import * as JobState from "../JobState.js"
import { redisOptions } from "../RedisUrl.js"
import { queueName, queueStatus } from "./bullmqStatus.js"
import {
  errorMessage,
  failForGood,
  newJob,
  runBody,
  sortJobs,
  updateOf,
  validateHandler,
  validProgress
} from "./common.js"

/*
 * How a job and its BullMQ jobs relate.
 *
 * The job's record (in the StateStore, compare-and-set on `revision`) is the
 * truth; a BullMQ job ("dispatch") only says "look at job X now". Dispatch
 * ids: the job id (enqueue), `<id>.r<attempt>` (a retry, delayed by the
 * kind's backoff), `<id>.s<revision>` (a resume or a hand-back). The record's
 * `owner` says which dispatch may act on it:
 *
 * - `handoff:<dispatch>` (or no owner on a new job): that dispatch may claim it;
 * - `<dispatch>#<nonce>@<worker>`: the fencing token of the run in progress.
 *   Every write of a run compares it (with the revision): a run whose token
 *   was replaced writes nothing;
 * - `parked`: paused with no run in flight (a resume hands it to a new dispatch).
 *
 * A dispatch delivered again by BullMQ's stalled-job check while the record
 * still carries a token of that same dispatch means its run's process is gone
 * (its lock expired): the kind's recovery policy decides. Any other mismatch
 * means the dispatch is stale, and it ends doing nothing.
 */

const dispatchOf = (owner: string | undefined): string | undefined =>
  owner === undefined || owner.startsWith("handoff:") || owner === "parked" ? undefined : owner.split("#")[0]

const handoffOf = (record: JobRecord): string | undefined =>
  record.owner === undefined ? record.id : record.owner.startsWith("handoff:") ? record.owner.slice(8) : undefined

/** Why a run's handler was interrupted from outside. */
type Stop = "cancelled" | "lost" | "handback"

const PREFIX_RE = /^[A-Za-z0-9._-]{1,64}$/
const QUEUE_RE = /^[A-Za-z0-9._-]{1,200}$/

export { clusterStatus, queueName } from "./bullmqStatus.js"

/** @internal */
export const make = (
  options: BM.Options
): Effect.Effect<BM.Service, JM.JobError | JobConfigError, JobBackend | HookDispatcher | Scope.Scope> =>
  Effect.gen(function* () {
    const backend = yield* JobBackend
    // Every transition is also dispatched to hooks as a JobLifecycle
    // observer event (a dispatcher with no such hook does nothing).
    const hooks = yield* HookDispatcher
    const runtime = yield* Effect.runtime<never>()
    const runPromise = Runtime.runPromise(runtime)
    const prefix = options.prefix ?? "strata"
    if (!PREFIX_RE.test(prefix)) {
      return yield* new JobConfigError({
        kind: "*",
        reason: `bullmq prefix ${JSON.stringify(prefix)}: 1..64 of [A-Za-z0-9._-]`
      })
    }
    const url = options.url ?? "redis://127.0.0.1:6379"
    const instanceId = options.instanceId ?? `worker-${randomUUID().slice(0, 8)}`
    const concurrency = Math.max(1, options.concurrency ?? 4)
    const lockMs = Math.max(200, options.lockMs ?? 30_000)
    const pollMs = Math.max(20, options.pollMs ?? 250)
    const runsHere = options.worker ?? false
    const graceMs = options.shutdownGraceMs ?? 30_000

    const connect = (purpose: string) =>
      Effect.acquireRelease(
        Effect.sync(
          () =>
            new Redis(url, {
              maxRetriesPerRequest: null,
              lazyConnect: false,
              // No auto-pipelining: BullMQ defines its ~50 scripts on this
              // connection (the queues share it), and ioredis copies them
              // into every pipeline it makes. Events are batched instead.
              connectionName: `strata:${instanceId}:${purpose}`
            })
        ),
        (r) => Effect.promise(() => r.quit().catch(() => r.disconnect()))
      )
    const redis = yield* connect("cmd")
    yield* Effect.tryPromise({
      try: () => redis.ping(),
      catch: (cause) => new JobBackendError({ operation: `connect to ${url}`, cause })
    })
    const stalledKey = `${prefix}:strata:stalled-recoveries`
    const eventsChannel = `${prefix}:strata:job-events`

    const hub = yield* PubSub.unbounded<JM.JobEvent>()
    // Subscribed when `events` is first used: a worker nobody asks for
    // events does not decode every transition of the cluster.
    const scope = yield* Effect.scope
    let subscribed: Promise<unknown> | undefined
    const subscribe = Effect.suspend(() => {
      if (subscribed === undefined) {
        subscribed = Runtime.runPromise(runtime)(
          Scope.extend(connect("events"), scope).pipe(
            Effect.flatMap((subscriber) =>
              Effect.promise(() => {
                subscriber.on("message", (_channel: string, message: string) => {
                  try {
                    const parsed = JSON.parse(message) as JM.JobEvent | Array<JM.JobEvent>
                    if (!Array.isArray(parsed)) hub.unsafeOffer(parsed)
                    else for (const event of parsed) hub.unsafeOffer(event)
                  } catch {
                    // not ours
                  }
                })
                return subscriber.subscribe(eventsChannel)
              })
            )
          )
        )
      }
      const ready = subscribed
      return Effect.promise(() => ready)
    })

    const handlers = new Map<string, JM.JobHandler>()
    const queues = new Map<string, Queue>()
    const queueOf = (kind: string) => {
      let q = queues.get(kind)
      if (q === undefined) {
        q = new Queue(queueName(kind), { connection: redis, prefix })
        q.on("error", () => {})
        queues.set(kind, q)
      }
      return q
    }
    yield* Effect.addFinalizer(() =>
      Effect.promise(() => Promise.allSettled([...queues.values()].map((q) => q.close())))
    )

    const backendError = (operation: string, jobId?: string) => (cause: unknown) =>
      new JobBackendError({ operation, cause, ...(jobId === undefined ? {} : { jobId }) })

    /**
     * Adds a dispatch (idempotent by its id while BullMQ keeps it). `record`,
     * when given, is the record as just stored: the worker starts from it
     * instead of reading it (its compare-and-set on the revision finds out
     * when the record has moved on since, and then it reads).
     */
    const dispatch = (kind: string, dispatchId: string, jobId: string, delayMs = 0, record?: JobRecord) =>
      Effect.tryPromise({
        try: () =>
          queueOf(kind).add(kind, record === undefined ? { id: jobId } : { id: jobId, record }, {
            jobId: dispatchId,
            delay: Math.max(0, Math.round(delayMs)),
            removeOnComplete: true,
            removeOnFail: 1000,
            // Only for the dispatcher's own failures (the store unreachable):
            // a handler's failure is the kind's retry policy, not BullMQ's.
            attempts: 50,
            backoff: { type: "exponential", delay: 200 }
          }),
        catch: backendError("dispatch", jobId)
      }).pipe(Effect.asVoid)

    // The events of one turn of the event loop (the transitions of the runs
    // whose writes were answered together) go out as one message: a JSON
    // array, or the event itself when alone. Not awaited: ioredis keeps the
    // order; a lost event is not a lost transition.
    let outbox: Array<string> = []
    const flush = () => {
      const batch = outbox
      if (batch.length === 0) return
      outbox = []
      void redis.publish(eventsChannel, batch.length === 1 ? batch[0]! : `[${batch.join(",")}]`).catch(() => 0)
    }
    // Before the connection closes (finalizers run last-added first).
    yield* Effect.addFinalizer(() => Effect.sync(flush))
    const publish = (stored: JobRecord) =>
      Effect.suspend(() => {
        const update = updateOf(stored)
        if (outbox.push(JSON.stringify({ event: "job_update" as const, ...update })) === 1) setImmediate(flush)
        return hooks.notify({ hook_event_name: "JobLifecycle", ...update })
      })

    const read = (id: string) =>
      backend
        .get(id as Ids.JobId)
        .pipe(
          Effect.flatMap(
            Option.match({ onNone: () => Effect.fail(new JobNotFound({ jobId: id })), onSome: Effect.succeed })
          )
        )

    const put = (previous: JobRecord, next: JobRecord) => backend.put(next, previous.revision).pipe(Effect.tap(publish))

    /**
     * Read, compute, compare-and-set, retried on a concurrent write. `f`
     * returns the next record, or `undefined` to write nothing.
     */
    const update = <E>(
      id: string,
      f: (job: JobRecord, now: number, jitter: number) => Either.Either<JobRecord | undefined, E>,
      cache?: { current: JobRecord | undefined }
    ): Effect.Effect<JobRecord | undefined, E | JobNotFound | JM.JobError> =>
      Effect.gen(function* () {
        for (;;) {
          // A run writes its record again and again: start from the last
          // record it wrote (a conflict means someone else wrote: re-read).
          const cached = cache?.current
          if (cache !== undefined) cache.current = undefined
          const job = cached ?? (yield* read(id))
          const now = yield* Clock.currentTimeMillis
          const jitter = yield* Random.next
          const next = yield* f(job, now, jitter)
          if (next === undefined) return undefined
          const written = yield* Effect.either(put(job, next))
          if (Either.isRight(written)) {
            if (cache !== undefined) cache.current = written.right
            return written.right
          }
          if (written.left._tag !== "RevisionConflict") return yield* written.left
        }
      })

    const to = (
      job: JobRecord,
      status: JobStatus,
      phase: string,
      now: number,
      extra: { detail?: string | null | undefined; owner?: string | undefined; jitter?: number } = {}
    ) =>
      Either.map(
        JobState.transition(job, status, { phase, now, detail: extra.detail, jitter: extra.jitter }),
        (next) => (extra.owner === undefined ? next : { ...next, owner: extra.owner })
      )

    // ---- the worker side ----------------------------------------------------

    /**
     * A run in flight. A worker keeps no fiber per run besides the handler's
     * own: one poller (`watch`, below) reads the records of every run, and
     * `stop` interrupts the handler directly.
     */
    interface Run {
      readonly id: string
      readonly token: string
      readonly stop: (reason: Stop) => void
      readonly setPaused: (paused: boolean) => void
    }
    // By fencing token: a job taken over by a second run in this same process
    // (its first run's lock expired while the event loop was blocked) has two.
    const runs = new Map<string, Run>()

    /** A write of the run holding `token`: refused (Lost) once the token is replaced. */
    class Lost {
      readonly _tag = "Lost"
    }
    const fenced = (
      id: string,
      token: string,
      f: (job: JobRecord, now: number, jitter: number) => Either.Either<JobRecord | undefined, InvalidTransition>,
      cache?: { current: JobRecord | undefined }
    ) =>
      update<InvalidTransition | Lost>(
        id,
        (job, now, jitter) => (job.owner !== token ? Either.left(new Lost()) : f(job, now, jitter)),
        cache
      )

    const runHandler = (claimed: JobRecord, token: string, handler: JM.JobHandler) =>
      Effect.gen(function* () {
        const id = claimed.id
        const cache = { current: claimed as JobRecord | undefined }
        // Paused or not, as the poller last saw the record; `checkpoint` waits
        // on `resumed` while paused. Plain state: a run that never pauses
        // allocates nothing for it.
        let paused = claimed.status === "paused"
        let resumed: Deferred.Deferred<void> | undefined
        const checkpoint: Effect.Effect<void> = Effect.suspend(() => {
          if (!paused) return Effect.void
          resumed ??= Deferred.unsafeMake<void>(FiberId.none)
          return Effect.zipRight(Deferred.await(resumed), checkpoint)
        })
        let reason: Stop | undefined
        let fiber: Fiber.RuntimeFiber<Exit.Exit<unknown, unknown>> | undefined
        const stop = (why: Stop) => {
          if (reason !== undefined) return
          reason = why
          fiber?.unsafeInterruptAsFork(FiberId.none)
        }
        const context: JM.JobContext = {
          job: claimed,
          input: claimed.input,
          attempt: claimed.retry.attempt,
          fencingToken: token,
          idempotencyKey: (step = "effect") => `${id}:${step}`,
          progress: (value, detail) => {
            const write: Effect.Effect<unknown, InvalidTransition | JobNotFound | JM.JobError | Lost> = fenced(
              id,
              token,
              (job, now) => JobState.progress(job, value, { now, detail }),
              cache
            )
            return validProgress(id, value).pipe(
              Effect.zipRight(write),
              Effect.asVoid,
              Effect.catchTags({
                Lost: () => Effect.sync(() => stop("lost")),
                JobNotFound: () => Effect.void,
                InvalidTransition: () => Effect.void
              })
            )
          },
          checkpoint,
          isPaused: Effect.sync(() => paused)
        }
        fiber = yield* Effect.fork(Effect.exit(runBody(handler, context)))
        if (reason !== undefined) fiber.unsafeInterruptAsFork(FiberId.none)
        runs.set(token, {
          id,
          token,
          stop,
          setPaused: (now) => {
            paused = now
            if (!now && resumed !== undefined) {
              Deferred.unsafeDone(resumed, Effect.void)
              resumed = undefined
            }
          }
        })
        const exit = yield* Fiber.await(fiber)
        runs.delete(token)
        const outcome = Exit.isSuccess(exit) ? exit.value : undefined
        if (reason !== undefined && (outcome === undefined || Exit.isFailure(outcome))) {
          if (reason === "handback") {
            // Shutting down: hand the run back to the queue for another worker.
            const back = `${id}.s${Date.now().toString(36)}`
            const written = yield* Effect.either(
              fenced(
                id,
                token,
                (job, now) =>
                  job.status === "running" || job.status === "paused"
                    ? Either.right({
                        ...job,
                        status: "running" as const,
                        owner: `handoff:${back}`,
                        updated_at: now,
                        history: [
                          ...job.history,
                          {
                            at: now,
                            phase: "handed-back",
                            from: job.status,
                            to: "running" as const,
                            progress: job.progress,
                            detail: "the worker shut down",
                            attempt: job.retry.attempt
                          }
                        ].slice(-JobState.MAX_HISTORY)
                      })
                    : Either.right(undefined),
                cache
              )
            )
            if (Either.isRight(written) && written.right !== undefined) yield* dispatch(handler.kind, back, id)
          }
          return
        }
        const result: Exit.Exit<unknown, unknown> = outcome ?? Exit.die("interrupted")
        if (Exit.isSuccess(result)) {
          yield* fenced(
            id,
            token,
            (job, now) =>
              job.status === "paused"
                ? Either.flatMap(to(job, "running", "resumed", now), (r) => to(r, "completed", "completed", now))
                : job.status === "running"
                  ? to(job, "completed", "completed", now)
                  : Either.right(undefined),
            cache
          ).pipe(Effect.catchTag("Lost", () => Effect.void))
          return
        }
        const detail = errorMessage(result.cause)
        const failed = yield* fenced(
          id,
          token,
          (job, now, jitter) =>
            job.status === "paused"
              ? Either.flatMap(to(job, "running", "resumed", now), (r) =>
                  to(r, "failed", "failed", now, { detail, jitter })
                )
              : job.status === "running"
                ? to(job, "failed", "failed", now, { detail, jitter })
                : Either.right(undefined),
          cache
        ).pipe(Effect.catchTag("Lost", () => Effect.succeed(undefined)))
        if (failed !== undefined && JobState.retryDue(failed)) {
          yield* dispatch(
            handler.kind,
            `${id}.r${failed.retry.attempt}`,
            id,
            (failed.retry.next_retry_at ?? 0) - Date.now()
          )
        }
      })

    /**
     * Every `pollMs`, the records of the runs in flight: a cancel, pause or
     * resume written by any process, or the token replaced (the run was taken
     * over), reaches the handler.
     */
    const check = (run: Run) =>
      Effect.option(read(run.id)).pipe(
        Effect.tap((job) => {
          if (Option.isNone(job) || !runs.has(run.token)) return Effect.void
          const j = job.value
          if (j.owner !== run.token) run.stop("lost")
          else if (j.status === "cancelled") run.stop("cancelled")
          // Ended by someone else (recovery failed it while this run was
          // frozen): nothing it does can be recorded any more.
          else if (j.status !== "running" && j.status !== "paused") run.stop("lost")
          else run.setPaused(j.status === "paused")
          return Effect.void
        })
      )
    const watch = Effect.sleep(Duration.millis(pollMs)).pipe(
      Effect.zipRight(
        Effect.suspend(() => Effect.forEach([...runs.values()], check, { concurrency: 16, discard: true }))
      ),
      Effect.forever
    )

    /** What a delivered dispatch does; see the comment at the top. */
    const deliver = (dispatchId: string, id: string, handler: JM.JobHandler, hint?: JobRecord) =>
      Effect.gen(function* () {
        const nonce = randomUUID().slice(0, 8)
        const token = `${dispatchId}#${nonce}@${instanceId}`
        // The record the dispatch carries (as stored when it was enqueued),
        // used once: any write from it compares its revision.
        let hinted =
          hint !== undefined && hint.id === id && Number.isSafeInteger(hint.revision) && hint.revision > 0
            ? hint
            : undefined
        for (;;) {
          let job: JobRecord
          if (hinted !== undefined) {
            job = hinted
            hinted = undefined
          } else {
            const found = yield* Effect.option(
              read(id).pipe(Effect.catchTag("JobNotFound", () => Effect.fail(undefined)))
            )
            if (Option.isNone(found)) return "missing"
            job = found.value
          }
          const now = yield* Clock.currentTimeMillis
          const write = (next: Either.Either<JobRecord, InvalidTransition>) =>
            Either.isLeft(next)
              ? Effect.succeed(false)
              : put(job, next.right).pipe(
                  Effect.as(true),
                  Effect.catchTag("RevisionConflict", () => Effect.succeed(false))
                )
          switch (job.status) {
            case "completed":
            case "cancelled":
              return "ended"
            case "failed": {
              if (!JobState.retryDue(job)) return "ended"
              const retryId = `${id}.r${job.retry.attempt}`
              if (dispatchId === retryId) {
                yield* write(to(job, "queued", "retry", now, { owner: `handoff:${dispatchId}` }))
                continue
              }
              // The run that failed died before its retry was dispatched.
              if (dispatchOf(job.owner) === dispatchId) {
                yield* dispatch(handler.kind, retryId, id, (job.retry.next_retry_at ?? 0) - now)
              }
              return "stale"
            }
            case "queued": {
              if (handoffOf(job) !== dispatchId) return "stale"
              const claimed = to(job, "running", "running", now, { owner: token })
              if (Either.isLeft(claimed)) return "stale"
              const stored = yield* put(job, claimed.right).pipe(
                Effect.map(Option.some),
                Effect.catchTag("RevisionConflict", () => Effect.succeedNone)
              )
              if (Option.isNone(stored)) continue
              yield* runHandler(stored.value, token, handler)
              return "ran"
            }
            case "running": {
              if (handoffOf(job) === dispatchId) {
                const stored = yield* put(job, { ...job, owner: token }).pipe(
                  Effect.map(Option.some),
                  Effect.catchTag("RevisionConflict", () => Effect.succeedNone)
                )
                if (Option.isNone(stored)) continue
                yield* runHandler(stored.value, token, handler)
                return "ran"
              }
              if (dispatchOf(job.owner) !== dispatchId) return "stale"
              // Delivered again after a stall: the process of its run is gone.
              const policy: JM.RecoveryPolicy = handler.recovery ?? (handler.idempotent ? "requeue" : "pause")
              const detail = `interrupted: the worker running it (${job.owner?.split("@")[1] ?? "unknown"}) stopped answering`
              const written = yield* write(
                policy === "requeue"
                  ? to(job, "queued", "interrupted", now, { detail, owner: `handoff:${dispatchId}` })
                  : policy === "pause"
                    ? to(job, "paused", "interrupted", now, { detail, owner: "parked" })
                    : failForGood(job, now, detail)
              )
              if (written) yield* Effect.promise(() => redis.incr(stalledKey).catch(() => 0))
              if (written && policy === "requeue") continue
              if (!written) continue
              return "recovered"
            }
            case "paused": {
              if (dispatchOf(job.owner) !== dispatchId) return "stale"
              // Paused while its run's process died: park it for a resume.
              if (yield* write(Either.right({ ...job, owner: "parked" }))) return "parked"
              continue
            }
          }
        }
      })

    const workers: Array<Worker> = []
    let closing = false
    const startWorker = (handler: JM.JobHandler) => {
      const worker = new Worker(
        queueName(handler.kind),
        async (bullJob: BullJob) =>
          runPromise(
            deliver(
              bullJob.id!,
              (bullJob.data as { id: string }).id,
              handler,
              (bullJob.data as { record?: JobRecord }).record
            ).pipe(
              Effect.withSpan("JobManager.bullmq.process", {
                attributes: { dispatch: bullJob.id },
                captureStackTrace: false
              })
            )
          ),
        {
          connection: redisOptions(url),
          prefix,
          concurrency,
          lockDuration: lockMs,
          stalledInterval: Math.max(100, Math.round(lockMs / 2)),
          // The kind's recovery policy decides what a stall means, not a count.
          maxStalledCount: 1_000_000,
          name: instanceId
        }
      )
      worker.on("error", () => {})
      workers.push(worker)
    }
    // Forked before the finalizer that closes the workers, so it still
    // watches the runs that finish during the shutdown grace period.
    if (runsHere) yield* Effect.forkScoped(watch)
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        closing = true
        if (workers.length === 0) return
        // In promise land: a finalizer of an interrupted fiber cannot wait
        // interruptibly (the pending interruption would cut the wait short
        // and then block on the runs it meant to hand back).
        yield* Effect.promise(async () => {
          const closed = Promise.allSettled(workers.map((w) => w.close()))
          let timer: ReturnType<typeof setTimeout> | undefined
          const late = await Promise.race([
            closed.then(() => false),
            new Promise<boolean>((resolve) => {
              timer = setTimeout(() => resolve(true), graceMs)
            })
          ])
          clearTimeout(timer)
          if (late) {
            // Out of patience: hand every run in flight back to the queue.
            for (const run of runs.values()) run.stop("handback")
            await closed
          }
        })
      })
    )

    /** Re-dispatches what a crash between a record write and its dispatch left behind. */
    const sweep = Effect.gen(function* () {
      for (const job of yield* backend.list) {
        if (!handlers.has(job.name)) continue
        const h = handoffOf(job)
        if ((job.status === "queued" || job.status === "running") && h !== undefined) {
          yield* dispatch(job.name, h, job.id)
        } else if (JobState.retryDue(job)) {
          yield* dispatch(
            job.name,
            `${job.id}.r${job.retry.attempt}`,
            job.id,
            (job.retry.next_retry_at ?? 0) - Date.now()
          )
        }
      }
    }).pipe(Effect.catchAllCause((cause) => Effect.logWarning("jobs: sweep failed", cause)))

    const registerHandler = Effect.fn("JobManager.registerHandler")(function* (handler: JM.JobHandler) {
      yield* validateHandler(handler, handlers, (kind) =>
        QUEUE_RE.test(queueName(kind)) ? undefined : "kind is too long for a queue name"
      )
      handlers.set(handler.kind, handler)
      if (runsHere && !closing) startWorker(handler)
    })

    for (const handler of options.handlers ?? []) yield* registerHandler(handler)
    if (runsHere) {
      yield* sweep
      yield* Effect.sleep(Duration.millis(options.sweepMs ?? 30_000)).pipe(
        Effect.zipRight(sweep),
        Effect.forever,
        Effect.forkScoped
      )
    }

    const manual = (id: string, status: JobStatus, phase: string, extra: { detail?: string | null | undefined } = {}) =>
      update(id, (job, now, jitter) => to(job, status, phase, now, { ...extra, jitter })).pipe(Effect.map((r) => r!))

    const listJobs = backend.list.pipe(Effect.map(sortJobs), Effect.orDie)

    const service: BM.Service = {
      instanceId,
      // The hot path of an API process: the span without a stack captured
      // per call (as `Effect.fn` and `withSpan` do by default).
      enqueueJob: (name, input, enqueueOptions) =>
        Effect.withSpan(
          Effect.gen(function* () {
            const record = yield* newJob(name, input, enqueueOptions, handlers.get(name))
            // The record first: a dispatch always finds its record. A crash
            // between the two leaves a queued record, re-dispatched by a sweep.
            const stored = yield* backend.put(record, 0)
            yield* publish(stored)
            yield* dispatch(name, stored.id, stored.id, 0, stored)
            return stored
          }),
          "JobManager.enqueueJob",
          { captureStackTrace: false }
        ),
      setJobRunning: Effect.fn("JobManager.setJobRunning")((id) => manual(id, "running", "running")),
      updateJobProgress: Effect.fn("JobManager.updateJobProgress")((id, progress, detail) =>
        validProgress(id, progress).pipe(
          Effect.zipRight(update(id, (job, now) => JobState.progress(job, progress, { now, detail }))),
          Effect.map((r) => r!)
        )
      ),
      completeJob: Effect.fn("JobManager.completeJob")((id, detail) =>
        manual(id, "completed", "completed", { detail })
      ),
      failJob: Effect.fn("JobManager.failJob")((id, detail) => manual(id, "failed", "failed", { detail })),
      cancelJob: Effect.fn("JobManager.cancelJob")((id) => manual(id, "cancelled", "cancelled")),
      pauseJob: Effect.fn("JobManager.pauseJob")((id, detail) => manual(id, "paused", "paused", { detail })),
      resumeJob: Effect.fn("JobManager.resumeJob")(function* (id, detail) {
        // A run still in flight (its dispatch active) continues; a parked job
        // (its run's process died, or recovery paused it) goes to a new dispatch.
        const job = yield* read(id)
        const owner = dispatchOf(job.owner)
        const state =
          owner === undefined
            ? "none"
            : yield* Effect.promise(() =>
                queueOf(job.name)
                  .getJobState(owner)
                  .catch(() => "unknown")
              )
        const live = state === "active"
        const fresh = `${id}.s${job.revision}`
        const resumed = yield* update<RevisionConflict | InvalidTransition>(id, (current, now) =>
          current.revision !== job.revision
            ? Either.left(new RevisionConflict({ jobId: id, expected: job.revision, actual: current.revision }))
            : to(current, "running", "resumed", now, { detail, ...(live ? {} : { owner: `handoff:${fresh}` }) })
        )
        if (!live) yield* dispatch(job.name, fresh, id)
        return resumed!
      }),
      jobHistory: Effect.fn("JobManager.jobHistory")((id) =>
        read(id).pipe(
          Effect.map((job) => job.history),
          Effect.catchTag("JobBackendError", (e) => Effect.die(e))
        )
      ),
      getJob: Effect.fn("JobManager.getJob")((id) =>
        read(id).pipe(Effect.catchTag("JobBackendError", (e) => Effect.die(e)))
      ),
      // awaitIdle polls the untraced one
      listJobs: listJobs.pipe(Effect.withSpan("JobManager.listJobs")),
      registerHandler,
      handles: (kind) => handlers.has(kind),
      events: Stream.unwrapScoped(
        // Subscribe to the hub first, then to Redis: nothing published after this is missed.
        Effect.map(Effect.zipLeft(PubSub.subscribe(hub), subscribe), (queue) => Stream.fromQueue(queue))
      ),
      awaitIdle: Effect.gen(function* () {
        for (;;) {
          const jobs = yield* listJobs
          const busy = jobs.some(
            (j) => handlers.has(j.name) && (j.status === "queued" || j.status === "running" || JobState.retryDue(j))
          )
          if (!busy && runs.size === 0) return
          yield* Effect.sleep(Duration.millis(pollMs))
        }
      }),
      queueStatus: queueStatus(redis, prefix, [...handlers.keys()].map(queueName)).pipe(
        Effect.withSpan("JobManager.queueStatus")
      )
    }
    return service
  })
