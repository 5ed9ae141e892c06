// The JobManager conformance suite, run unchanged against every JobBackend.
import { describe, expect, it } from "@effect/vitest"
import { HookDispatcher } from "@strata/hooks/HookDispatcher"
import { JobBackend, JobManager } from "@strata/jobs"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"

export const run = (name: string, backend: () => Layer.Layer<JobBackend.JobBackend, unknown>) => {
  const withManager = <A, E>(
    f: (jobs: JobManager.Service) => Effect.Effect<A, E, JobBackend.JobBackend>,
    options?: JobManager.Options
  ) =>
    Effect.scoped(
      Effect.gen(function* () {
        const jobs = yield* JobManager.make(options)
        return yield* f(jobs)
      })
    ).pipe(Effect.provide(backend()), Effect.provide(HookDispatcher.Default))

  describe(`JobManager / ${name}`, () => {
    it.live("every seed operation persists and appends history", () =>
      withManager((jobs) =>
        Effect.gen(function* () {
          const job = yield* jobs.enqueueJob("index", { repo: "x" })
          expect(job).toMatchObject({ status: "queued", progress: 0, input: { repo: "x" } })
          yield* jobs.setJobRunning(job.id)
          yield* jobs.updateJobProgress(job.id, 40, "walking")
          yield* jobs.pauseJob(job.id, "waiting")
          yield* jobs.resumeJob(job.id)
          yield* jobs.updateJobProgress(job.id, 90)
          const done = yield* jobs.completeJob(job.id)
          expect(done).toMatchObject({ status: "completed", progress: 100 })
          const history = yield* jobs.jobHistory(job.id)
          expect(history.map((h) => `${h.from}->${h.to}:${h.phase}`)).toStrictEqual([
            "null->queued:created",
            "queued->running:running",
            "running->running:progress",
            "running->paused:paused",
            "paused->running:resumed",
            "running->running:progress",
            "running->completed:completed"
          ])
          expect(history[2]).toMatchObject({ progress: 40, detail: "walking", attempt: 1 })
          // persisted: a second manager on the same backend sees the same record
          const backend = yield* JobBackend.JobBackend
          const stored = yield* backend.get(job.id)
          expect(stored._tag === "Some" && stored.value.status).toBe("completed")
          expect(stored._tag === "Some" && stored.value.history.length).toBe(7)
          const listed = yield* jobs.listJobs
          expect(listed.map((j) => j.id)).toContain(job.id)
        })
      )
    )

    it.live("illegal transitions are typed and persist nothing", () =>
      withManager((jobs) =>
        Effect.gen(function* () {
          const job = yield* jobs.enqueueJob("k")
          const before = yield* jobs.getJob(job.id)
          const pause = yield* Effect.flip(jobs.pauseJob(job.id))
          expect(pause).toMatchObject({ _tag: "InvalidTransition", jobId: job.id, from: "queued", to: "paused" })
          const complete = yield* Effect.flip(jobs.completeJob(job.id))
          expect(complete).toMatchObject({ _tag: "InvalidTransition", from: "queued", to: "completed" })
          const progress = yield* Effect.flip(jobs.updateJobProgress(job.id, 10))
          expect(progress._tag).toBe("InvalidTransition")
          yield* jobs.cancelJob(job.id)
          const again = yield* Effect.flip(jobs.setJobRunning(job.id))
          expect(again).toMatchObject({ _tag: "InvalidTransition", from: "cancelled", to: "running" })
          const after = yield* jobs.getJob(job.id)
          expect(after.history.length).toBe(before.history.length + 1)
        })
      )
    )

    it.live("bad input: unknown id and out-of-range progress are typed, nothing stored", () =>
      withManager((jobs) =>
        Effect.gen(function* () {
          const missing = yield* Effect.flip(jobs.completeJob("job-nope"))
          expect(missing).toMatchObject({ _tag: "JobNotFound", jobId: "job-nope" })
          expect((yield* Effect.flip(jobs.jobHistory("job-nope")))._tag).toBe("JobNotFound")
          const job = yield* jobs.enqueueJob("k")
          yield* jobs.setJobRunning(job.id)
          for (const bad of [-1, 101, 1.5, Number.NaN]) {
            const error = yield* Effect.flip(jobs.updateJobProgress(job.id, bad))
            expect(error._tag).toBe("InvalidProgress")
          }
          expect((yield* jobs.getJob(job.id)).history.length).toBe(2)
        })
      )
    )

    it.live("handlers run under the concurrency limit and report progress", () =>
      withManager(
        (jobs) =>
          Effect.gen(function* () {
            const peak = yield* Ref.make(0)
            const current = yield* Ref.make(0)
            yield* jobs.registerHandler({
              kind: "work",
              run: (ctx) =>
                Effect.gen(function* () {
                  const n = yield* Ref.updateAndGet(current, (x) => x + 1)
                  yield* Ref.update(peak, (p) => Math.max(p, n))
                  yield* ctx.progress(50, "half")
                  yield* Effect.sleep("20 millis")
                  yield* Ref.update(current, (x) => x - 1)
                })
            })
            const ids = []
            for (let i = 0; i < 6; i++) ids.push((yield* jobs.enqueueJob("work", { i })).id)
            yield* jobs.awaitIdle
            for (const id of ids) {
              const job = yield* jobs.getJob(id)
              expect(job.status).toBe("completed")
              expect(job.history.some((h) => h.phase === "progress" && h.progress === 50)).toBe(true)
            }
            expect(yield* Ref.get(peak)).toBeLessThanOrEqual(2)
            expect(yield* Ref.get(peak)).toBeGreaterThanOrEqual(1)
          }),
        { concurrency: 2 }
      )
    )

    it.live("a handler that throws fails the job with its message; retries with backoff up to maxAttempts", () =>
      withManager((jobs) =>
        Effect.gen(function* () {
          const attempts = yield* Ref.make<Array<number>>([])
          yield* jobs.registerHandler({
            kind: "flaky",
            maxAttempts: 3,
            backoffBaseMs: 10,
            run: (ctx) =>
              Ref.update(attempts, (a) => [...a, ctx.attempt]).pipe(
                Effect.zipRight(ctx.attempt < 3 ? Effect.sync(() => JSON.parse("{not json")) : Effect.succeed("ok"))
              )
          })
          const job = yield* jobs.enqueueJob("flaky")
          yield* jobs.events.pipe(
            Stream.filter((e) => e.job_id === job.id && e.status === "completed"),
            Stream.take(1),
            Stream.runDrain,
            Effect.timeout("10 seconds")
          )
          expect(yield* Ref.get(attempts)).toStrictEqual([1, 2, 3])
          const history = yield* jobs.jobHistory(job.id)
          const failures = history.filter((h) => h.to === "failed")
          expect(failures).toHaveLength(2)
          expect(failures[0]!.detail).toMatch(/JSON/)
          expect(history.filter((h) => h.phase === "retry")).toHaveLength(2)
          expect((yield* jobs.getJob(job.id)).retry.attempt).toBe(3)
        })
      )
    )

    it.live("exhausted retries leave the job failed; the runtime keeps running other jobs", () =>
      withManager((jobs) =>
        Effect.gen(function* () {
          yield* jobs.registerHandler({ kind: "boom", maxAttempts: 1, run: () => Effect.die(new Error("kaboom")) })
          yield* jobs.registerHandler({ kind: "fine", run: () => Effect.void })
          const bad = yield* jobs.enqueueJob("boom")
          const good = yield* jobs.enqueueJob("fine")
          yield* jobs.awaitIdle
          const failed = yield* jobs.getJob(bad.id)
          expect(failed).toMatchObject({ status: "failed", detail: "kaboom" })
          expect(failed.retry.next_retry_at).toBeNull()
          expect((yield* jobs.getJob(good.id)).status).toBe("completed")
        })
      )
    )

    it.live("cancel interrupts the handler and releases its scoped resources", () =>
      withManager((jobs) =>
        Effect.gen(function* () {
          const started = yield* Deferred.make<void>()
          const released = yield* Deferred.make<void>()
          yield* jobs.registerHandler({
            kind: "long",
            run: () =>
              Effect.acquireRelease(Deferred.succeed(started, undefined), () =>
                Deferred.succeed(released, undefined)
              ).pipe(Effect.zipRight(Effect.never))
          })
          const job = yield* jobs.enqueueJob("long")
          yield* Deferred.await(started)
          const cancelled = yield* jobs.cancelJob(job.id)
          expect(cancelled.status).toBe("cancelled")
          expect(yield* Deferred.isDone(released)).toBe(true)
          yield* jobs.awaitIdle
          expect((yield* jobs.getJob(job.id)).status).toBe("cancelled")
        })
      )
    )

    it.live("pause suspends the handler at its next checkpoint; resume continues it", () =>
      withManager((jobs) =>
        Effect.gen(function* () {
          const step = yield* Ref.make(0)
          const atOne = yield* Deferred.make<void>()
          const gate = yield* Deferred.make<void>()
          yield* jobs.registerHandler({
            kind: "steps",
            run: (ctx) =>
              Effect.gen(function* () {
                yield* Ref.set(step, 1)
                yield* Deferred.succeed(atOne, undefined)
                yield* Deferred.await(gate)
                yield* ctx.checkpoint
                yield* Ref.set(step, 2)
              })
          })
          const job = yield* jobs.enqueueJob("steps")
          yield* Deferred.await(atOne)
          yield* jobs.pauseJob(job.id, "hold on")
          yield* Deferred.succeed(gate, undefined)
          yield* Effect.sleep("50 millis")
          expect(yield* Ref.get(step)).toBe(1)
          expect((yield* jobs.getJob(job.id)).status).toBe("paused")
          yield* jobs.resumeJob(job.id)
          yield* jobs.awaitIdle
          expect(yield* Ref.get(step)).toBe(2)
          expect((yield* jobs.getJob(job.id)).status).toBe("completed")
        })
      )
    )

    it.live("a handler over its timeout fails with a timeout detail", () =>
      withManager((jobs) =>
        Effect.gen(function* () {
          yield* jobs.registerHandler({ kind: "slow", maxAttempts: 1, timeout: "30 millis", run: () => Effect.never })
          const job = yield* jobs.enqueueJob("slow")
          yield* jobs.awaitIdle
          const failed = yield* jobs.getJob(job.id)
          expect(failed.status).toBe("failed")
          expect(failed.detail).toMatch(/timed out/)
        })
      )
    )

    it.live("every transition is published on events", () =>
      withManager((jobs) =>
        Effect.gen(function* () {
          const collected = yield* jobs.events.pipe(Stream.take(4), Stream.runCollect, Effect.fork)
          yield* Effect.sleep("10 millis")
          const job = yield* jobs.enqueueJob("manual")
          yield* jobs.setJobRunning(job.id)
          yield* jobs.updateJobProgress(job.id, 10)
          yield* jobs.completeJob(job.id)
          const events = Chunk.toReadonlyArray(yield* Fiber.join(collected))
          expect(events.map((e) => `${e.event}:${e.status}:${e.entry.phase}`)).toStrictEqual([
            "job_update:queued:created",
            "job_update:running:running",
            "job_update:running:progress",
            "job_update:completed:completed"
          ])
        })
      )
    )

    it.live(
      "the jobs are read on first use: a job left running by a dead owner is listed, and recovered when its kind's handler registers",
      () =>
        Effect.gen(function* () {
          // A manager built first, before anything is stored (it reads nothing yet).
          const exit = yield* Effect.exit(
            Effect.scoped(
              Effect.gen(function* () {
                const later = yield* JobManager.make({ instanceId: "late-process" })
                const id = yield* Effect.scoped(
                  Effect.gen(function* () {
                    const dead = yield* JobManager.make({ instanceId: "dead-process" })
                    const job = yield* dead.enqueueJob("late-kind")
                    yield* dead.setJobRunning(job.id)
                    return job.id
                  })
                )
                const listed = yield* later.listJobs
                expect(listed.find((j) => j.id === id)?.status).toBe("running")
                yield* later.registerHandler({ kind: "late-kind", idempotent: true, run: () => Effect.void })
                yield* later.awaitIdle
                const job = yield* later.getJob(id)
                expect(job.status).toBe("completed")
                expect(job.history.map((h) => h.phase)).toContain("interrupted")
              })
            )
          )
          expect(Exit.isSuccess(exit) ? true : exit.cause.toString()).toBe(true)
        }).pipe(Effect.provide(backend()), Effect.provide(HookDispatcher.Default))
    )

    it.live(
      "recovery: running jobs of a dead owner are requeued, failed or paused per kind; unserved kinds are left alone",
      () =>
        Effect.gen(function* () {
          // a first manager starts three jobs and "dies" (its scope closes without finishing them)
          const ids = yield* Effect.scoped(
            Effect.gen(function* () {
              const jobs = yield* JobManager.make({ instanceId: "dead-process" })
              const a = yield* jobs.enqueueJob("idem")
              const b = yield* jobs.enqueueJob("strict")
              const c = yield* jobs.enqueueJob("unknown")
              for (const j of [a, b, c]) yield* jobs.setJobRunning(j.id)
              return [a.id, b.id, c.id] as const
            })
          )
          const exit = yield* Effect.exit(
            Effect.scoped(
              Effect.gen(function* () {
                const jobs = yield* JobManager.make({
                  instanceId: "new-process",
                  handlers: [
                    { kind: "idem", idempotent: true, run: () => Effect.void },
                    { kind: "strict", recovery: "fail", run: () => Effect.void }
                  ]
                })
                yield* jobs.awaitIdle
                const [a, b, c] = yield* Effect.all(ids.map((id) => jobs.getJob(id)))
                expect(a!.status).toBe("completed")
                expect(a!.history.map((h) => h.phase)).toContain("interrupted")
                expect(b!.status).toBe("failed")
                expect(b!.history[b!.history.length - 1]!.phase).toBe("interrupted")
                // No handler for its kind here: left for a manager that runs it.
                expect(c!.status).toBe("running")
                expect(c!.revision).toBe(2)
                expect(jobs.handles("unknown")).toBe(false)
                expect(jobs.handles("idem")).toBe(true)
              })
            )
          )
          expect(Exit.isSuccess(exit) ? true : exit.cause.toString()).toBe(true)
        }).pipe(Effect.provide(backend()), Effect.provide(HookDispatcher.Default))
    )
  })
}
