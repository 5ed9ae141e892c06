// Cross-runtime conformance for @strata/jobs (built output): the state machine
// and a manager running handlers on the memory backend, under Node, Bun and Deno.
import assert from "node:assert/strict"
import { JobBackend, JobManager, JobState } from "@strata/jobs"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { run, test } from "../../../scripts/conformance.mjs"

const runScoped = (effect) => Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(JobBackend.layerMemory)))

test("illegal transitions are rejected", () => {
  const job = JobState.create({ id: "job-1", name: "k", retry: JobState.defaultRetry(), now: 1 })
  const result = JobState.transition(job, "completed", { phase: "complete", now: 2 })
  assert.ok(Either.isLeft(result))
  assert.equal(result.left._tag, "InvalidTransition")
})

test("a handler runs to completion with progress", () =>
  runScoped(
    Effect.gen(function* () {
      const jobs = yield* JobManager.make()
      yield* jobs.registerHandler({ kind: "count", run: (ctx) => ctx.progress(50, "half") })
      const job = yield* jobs.enqueueJob("count", { n: 1 })
      yield* jobs.awaitIdle
      const done = yield* jobs.getJob(job.id)
      assert.equal(done.status, "completed")
      assert.deepEqual(
        done.history.map((h) => h.phase),
        ["created", "running", "progress", "completed"]
      )
    })
  ))

test("a failing handler is retried, then completes", () =>
  runScoped(
    Effect.gen(function* () {
      const jobs = yield* JobManager.make()
      yield* jobs.registerHandler({
        kind: "flaky",
        backoffBaseMs: 5,
        run: (ctx) => (ctx.attempt < 2 ? Effect.fail(new Error("first run fails")) : Effect.void)
      })
      const job = yield* jobs.enqueueJob("flaky")
      for (let i = 0; i < 200; i++) {
        if ((yield* jobs.getJob(job.id)).status === "completed") break
        yield* Effect.sleep("10 millis")
      }
      const done = yield* jobs.getJob(job.id)
      assert.equal(done.status, "completed")
      assert.equal(done.retry.attempt, 2)
    })
  ))

test("unknown ids are JobNotFound", () =>
  runScoped(
    Effect.gen(function* () {
      const jobs = yield* JobManager.make()
      const error = yield* Effect.flip(jobs.cancelJob("nope"))
      assert.equal(error._tag, "JobNotFound")
    })
  ))

await run("@strata/jobs")
