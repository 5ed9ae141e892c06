// Cross-runtime conformance for @strata/jobs (built output): the state machine
// and a manager running handlers on the memory backend, under Node, Bun and Deno.
import assert from "node:assert/strict"
import { HookDispatcher } from "@strata/hooks/HookDispatcher"
import { JobBackend, JobManager, JobState } from "@strata/jobs"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { run, runtime, test } from "../../../scripts/conformance.mjs"

const runScoped = (effect) =>
  Effect.runPromise(
    Effect.scoped(effect).pipe(Effect.provide(JobBackend.layerMemory), Effect.provide(HookDispatcher.Default))
  )

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

// @strata/jobs/bullmq: Node and Bun. BullMQ supports Node and Bun, not Deno,
// so the subpath is not offered there and this test is skipped on Deno,
// saying so.
if (runtime() === "deno") {
  console.log("  skip @strata/jobs/bullmq on deno: BullMQ supports Node and Bun only")
} else {
  test("@strata/jobs/bullmq: a worker manager runs jobs an API manager enqueues (real Redis)", async () => {
    const JobsBull = await import("@strata/jobs/bullmq")
    const { layerRedis } = await import("@strata/storage/redis")
    const Layer = await import("effect/Layer")
    const { Redis } = await import("ioredis")
    const prefix = `conformance-${runtime()}-${Date.now().toString(36)}`
    try {
      await Effect.runPromise(
        Effect.gen(function* () {
          yield* JobsBull.make({ prefix, worker: true, handlers: [{ kind: "count", run: (ctx) => ctx.progress(50) }] })
          const api = yield* JobsBull.make({ prefix, handlers: [{ kind: "count", run: () => Effect.void }] })
          const ids = []
          for (let i = 0; i < 3; i++) ids.push((yield* api.enqueueJob("count", { i })).id)
          for (let i = 0; i < 400; i++) {
            const jobs = yield* api.listJobs
            if (jobs.length === 3 && jobs.every((j) => j.status === "completed")) break
            yield* Effect.sleep("25 millis")
          }
          for (const id of ids) {
            const job = yield* api.getJob(id)
            assert.deepEqual(
              job.history.map((h) => h.phase),
              ["created", "running", "progress", "completed"]
            )
          }
        }).pipe(
          Effect.scoped,
          Effect.provide(JobBackend.layerStateStore.pipe(Layer.provide(layerRedis({ prefix: `${prefix}-store` })))),
          Effect.provide(HookDispatcher.Default)
        )
      )
    } finally {
      const redis = new Redis("redis://127.0.0.1:6379")
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length > 0) await redis.del(...keys)
      redis.disconnect()
    }
  })
}

await run("@strata/jobs")
