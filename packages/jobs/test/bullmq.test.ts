// @strata/jobs/bullmq against the real Redis on 127.0.0.1:6379: API and
// worker managers sharing one queue, retries, cancel / pause / resume across
// managers, a worker frozen past its lock (fencing), and a bounded slice of
// the kill -9 chaos run (the long one: `npm run chaos`). Each test uses its
// own key prefix and deletes its keys.
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { HookDispatcher } from "@strata/hooks/HookDispatcher"
import * as JobsBull from "@strata/jobs/bullmq"
import * as JobBackend from "@strata/jobs/JobBackend"
import type * as JobManager from "@strata/jobs/JobManager"
import { layerRedis } from "@strata/storage/redis"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { Redis } from "ioredis"
// @ts-expect-error: a plain .mjs module shared with the chaos worker processes
import { chaosKinds } from "./chaos/kinds.mjs"

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = join(here, "..", "..", "..")
const url = "redis://127.0.0.1:6379"
const redis = new Redis(url)
const prefixes: Array<string> = []

const newPrefix = () => {
  const p = `jobs-test-${randomBytes(4).toString("hex")}`
  prefixes.push(p)
  return p
}

beforeAll(() => {
  // The child processes run the built packages.
  const build = spawnSync("npx", ["turbo", "run", "build", "--filter=@strata/jobs...", "--output-logs=errors-only"], {
    cwd: repoRoot,
    encoding: "utf8"
  })
  if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`)
}, 180_000)

afterAll(async () => {
  for (const prefix of prefixes) {
    let cursor = "0"
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
      cursor = next
      if (keys.length > 0) await redis.del(...keys)
    } while (cursor !== "0")
  }
  redis.disconnect()
})

const store = (prefix: string) =>
  Layer.merge(
    JobBackend.layerStateStore.pipe(Layer.provide(layerRedis({ url, prefix: `${prefix}-store` }))),
    HookDispatcher.Default
  )

const waitFor = <A>(get: Effect.Effect<A, unknown>, ok: (a: A) => boolean, what: string, ms = 20_000) =>
  Effect.gen(function* () {
    const until = Date.now() + ms
    for (;;) {
      const a = yield* get
      if (ok(a)) return a
      if (Date.now() > until) return yield* Effect.die(new Error(`timed out waiting for ${what}: ${JSON.stringify(a)}`))
      yield* Effect.sleep("50 millis")
    }
  })

const phases = (job: { history: ReadonlyArray<{ phase: string }> }) => job.history.map((h) => h.phase)

describe("JobManager on BullMQ", { timeout: 120_000 }, () => {
  it.live("jobs enqueued by an API manager run on two workers, each recorded once; events reach the API", () => {
    const prefix = newPrefix()
    const ran: Array<string> = []
    const handler = (worker: string): JobManager.JobHandler => ({
      kind: "count",
      run: (ctx) =>
        Effect.gen(function* () {
          ran.push(`${ctx.job.id}@${worker}`)
          yield* ctx.progress(50)
          yield* Effect.sleep("20 millis")
        })
    })
    return Effect.gen(function* () {
      const api = yield* JobsBull.make({ url, prefix, handlers: [{ kind: "count", run: () => Effect.void }] })
      const events = yield* api.events.pipe(
        Stream.filter((e) => e.status === "completed"),
        Stream.take(20),
        Stream.runCollect,
        Effect.fork
      )
      yield* JobsBull.make({ url, prefix, worker: true, concurrency: 3, handlers: [handler("a")] })
      yield* JobsBull.make({ url, prefix, worker: true, concurrency: 3, handlers: [handler("b")] })
      yield* Effect.sleep("200 millis")
      const ids = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) => api.enqueueJob("count", { i })
      )
      const jobs = yield* waitFor(
        api.listJobs,
        (js) => js.length === 20 && js.every((j) => j.status === "completed"),
        "20 completed jobs"
      )
      expect(jobs.map((j) => phases(j))).toEqual(Array(20).fill(["created", "running", "progress", "completed"]))
      expect(ran).toHaveLength(20)
      expect(new Set(ran.map((r) => r.split("@")[0]))).toEqual(new Set(ids.map((j) => j.id)))
      // Both workers took some.
      expect(new Set(ran.map((r) => r.split("@")[1]))).toEqual(new Set(["a", "b"]))
      const seen = yield* Fiber.await(events)
      expect(seen._tag).toBe("Success")
      const status = yield* api.queueStatus
      expect(status.workers).toBe(2)
      expect(status.kinds[0]).toMatchObject({ kind: "count", waiting: 0, active: 0 })
    }).pipe(Effect.scoped, Effect.provide(store(prefix)))
  })

  it.live("a failed run is retried after the kind's backoff, on any worker", () => {
    const prefix = newPrefix()
    return Effect.gen(function* () {
      yield* JobsBull.make({
        url,
        prefix,
        worker: true,
        handlers: [
          {
            kind: "flaky",
            backoffBaseMs: 300,
            run: (ctx) => (ctx.attempt === 1 ? Effect.fail(new Error("first attempt fails")) : Effect.void)
          }
        ]
      })
      const api = yield* JobsBull.make({ url, prefix })
      const job = yield* api.enqueueJob("flaky")
      const done = yield* waitFor(api.getJob(job.id), (j) => j.status === "completed", "the retry to complete")
      expect(phases(done)).toEqual(["created", "running", "failed", "retry", "running", "completed"])
      expect(done.retry.attempt).toBe(2)
      const failed = done.history.find((h) => h.phase === "failed")!
      const retried = done.history.find((h) => h.phase === "retry")!
      expect(failed.detail).toBe("first attempt fails")
      // jitter in [0.5, 1] of the 300 ms base
      expect(retried.at - failed.at).toBeGreaterThanOrEqual(150)
    }).pipe(Effect.scoped, Effect.provide(store(prefix)))
  })

  it.live("cancel, pause and resume from another manager reach the run on the worker", () => {
    const prefix = newPrefix()
    let released = 0
    let steps = 0
    return Effect.gen(function* () {
      yield* JobsBull.make({
        url,
        prefix,
        worker: true,
        pollMs: 50,
        handlers: [
          {
            kind: "loop",
            run: (ctx) =>
              Effect.gen(function* () {
                yield* Effect.addFinalizer(() => Effect.sync(() => released++))
                for (let i = 1; i <= 40; i++) {
                  yield* ctx.checkpoint
                  steps++
                  yield* ctx.progress(Math.min(100, i * 2))
                  yield* Effect.sleep("50 millis")
                }
              })
          }
        ]
      })
      const api = yield* JobsBull.make({ url, prefix })
      const cancelled = yield* api.enqueueJob("loop")
      yield* waitFor(api.getJob(cancelled.id), (j) => (j.progress ?? 0) >= 4, "progress")
      yield* api.cancelJob(cancelled.id)
      yield* waitFor(
        Effect.sync(() => released),
        (n) => n === 1,
        "the cancelled run's scope to close"
      )
      const after = yield* api.getJob(cancelled.id)
      expect(after.status).toBe("cancelled")

      const paused = yield* api.enqueueJob("loop")
      yield* waitFor(api.getJob(paused.id), (j) => (j.progress ?? 0) >= 4, "progress")
      yield* api.pauseJob(paused.id)
      yield* Effect.sleep("300 millis")
      const stepsWhilePaused = steps
      yield* Effect.sleep("500 millis")
      expect(steps).toBe(stepsWhilePaused)
      expect((yield* api.getJob(paused.id)).status).toBe("paused")
      yield* api.resumeJob(paused.id)
      const done = yield* waitFor(api.getJob(paused.id), (j) => j.status === "completed", "the resumed job")
      expect(phases(done).filter((p) => p !== "progress")).toEqual([
        "created",
        "running",
        "paused",
        "resumed",
        "completed"
      ])
    }).pipe(Effect.scoped, Effect.provide(store(prefix)))
  })

  it.live("a worker frozen past its lock is taken over; when it wakes it records nothing", () => {
    const prefix = newPrefix()
    const runs = `${prefix}:chaos:runs`
    let child: ChildProcess | undefined
    return Effect.gen(function* () {
      const api = yield* JobsBull.make({ url, prefix, handlers: chaosKinds(redis, prefix) })
      child = spawn(process.execPath, [join(here, "chaos", "worker.mjs"), prefix, "redis", "2"], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, LOCK_MS: "1000" }
      })
      const job = yield* api.enqueueJob("slow")
      yield* waitFor(api.getJob(job.id), (j) => (j.progress ?? 0) >= 5, "the child to run the job", 60_000)
      child.kill("SIGSTOP")
      const frozenToken = (yield* api.getJob(job.id)).owner
      // Another worker takes it over once the frozen one's lock expires.
      yield* JobsBull.make({ url, prefix, worker: true, lockMs: 1000, handlers: chaosKinds(redis, prefix) })
      const done = yield* waitFor(
        api.getJob(job.id),
        (j) => j.status === "completed",
        "the takeover to complete",
        60_000
      )
      child.kill("SIGCONT")
      // The woken run would finish its work within a few seconds: it must record nothing.
      yield* Effect.sleep("4 seconds")
      const final = yield* api.getJob(job.id)
      expect(final.revision).toBe(done.revision)
      expect(final.owner).not.toBe(frozenToken)
      expect(phases(final).filter((p) => p !== "progress")).toEqual([
        "created",
        "running",
        "interrupted",
        "running",
        "completed"
      ])
      const log = (yield* Effect.promise(() => redis.lrange(runs, 0, -1))).map((l) => JSON.parse(l).token)
      expect(log).toHaveLength(2)
      expect(log[0]).toBe(frozenToken)
      const effects = yield* Effect.promise(() => redis.lrange(`${prefix}:chaos:effects`, 0, -1))
      expect(effects).toHaveLength(1)
      expect((yield* api.queueStatus).stalledRecoveries).toBe(1)
    }).pipe(Effect.ensuring(Effect.sync(() => child?.kill("SIGKILL"))), Effect.scoped, Effect.provide(store(prefix)))
  })
})

const chaos = (env: Record<string, string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [join(here, "chaos", "chaos.mjs")], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.on("exit", (code) => resolve({ code, stdout, stderr }))
  })

describe("chaos (bounded slice; `npm run chaos` for the long run)", { timeout: 180_000 }, () => {
  for (const [store, jobs, kills] of [
    ["redis", "100", "5"],
    ["postgres", "50", "3"]
  ] as const) {
    it(`3 workers, ${kills} SIGKILL / SIGSTOP 1.5-3 s apart, ${jobs} jobs, records on ${store}: none lost, none run twice`, async () => {
      const run = await chaos({
        STORE: store,
        JOBS: jobs,
        WORKERS: "3",
        KILL_MIN_MS: "1500",
        KILL_MAX_MS: "3000",
        FIRST_KILL_MS: "300",
        MAX_KILLS: kills,
        TIMEOUT_MS: "120000"
      })
      const summary = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}")
      expect(summary.violations, run.stderr).toEqual([])
      expect(run.code).toBe(0)
      expect(summary).toMatchObject({ jobs: Number(jobs), lost: 0, runTwice: 0 })
      expect(summary.kills + summary.freezes).toBeGreaterThan(0)
    })
  }
})
