// The job manager reads the jobs on first use, not when it is built.
import { expect, it } from "@effect/vitest"
import { HookDispatcher } from "@strata/hooks/HookDispatcher"
import { JobBackend, JobManager } from "@strata/jobs"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const counting = () => {
  let lists = 0
  const layer = Layer.sync(JobBackend.JobBackend, () => {
    const memory = JobBackend.makeMemory()
    return {
      ...memory,
      list: Effect.suspend(() => {
        lists++
        return memory.list
      })
    }
  })
  return { layer, lists: () => lists }
}

it.live("building a manager without handlers reads no job; the first call reads them once", () => {
  const backend = counting()
  return Effect.scoped(
    Effect.gen(function* () {
      const jobs = yield* JobManager.make()
      yield* Effect.sleep(10)
      expect(backend.lists()).toBe(0)
      const job = yield* jobs.enqueueJob("k")
      expect(backend.lists()).toBe(1)
      expect((yield* jobs.listJobs).map((j) => j.id)).toStrictEqual([job.id])
      yield* jobs.getJob(job.id)
      expect(backend.lists()).toBe(1)
    })
  ).pipe(Effect.provide(backend.layer), Effect.provide(HookDispatcher.Default))
})

it.live("a manager built with handlers reads the jobs (recovery) when it is built", () => {
  const backend = counting()
  return Effect.scoped(
    Effect.gen(function* () {
      yield* JobManager.make({ handlers: [{ kind: "k", run: () => Effect.void }] })
      expect(backend.lists()).toBe(1)
    })
  ).pipe(Effect.provide(backend.layer), Effect.provide(HookDispatcher.Default))
})
