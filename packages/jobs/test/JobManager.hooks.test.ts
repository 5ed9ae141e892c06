import { describe, expect, it } from "@effect/vitest"
import { Hook, HookDispatcher } from "@strata/hooks"
import { JobBackend, JobManager } from "@strata/jobs"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"

describe("JobManager and hooks", () => {
  it.scoped("every transition is dispatched as a JobLifecycle hook event", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      const seen = yield* Ref.make<Array<string>>([])
      yield* hooks.register(
        Hook.define({
          event: "JobLifecycle",
          matcher: "build",
          run: (e) =>
            Ref.update(seen, (s) => [...s, `${e.entry.from}->${e.status}:${e.entry.phase}`]).pipe(Effect.as(undefined))
        }),
        { owner: "test" }
      )
      const jobs = yield* JobManager.make()
      yield* jobs.registerHandler({ kind: "build", run: (ctx) => ctx.progress(30) })
      yield* jobs.enqueueJob("build")
      const other = yield* jobs.enqueueJob("lint") // no handler, not matched by the hook
      yield* jobs.cancelJob(other.id)
      yield* jobs.awaitIdle
      expect(yield* Ref.get(seen)).toStrictEqual([
        "null->queued:created",
        "queued->running:running",
        "running->running:progress",
        "running->completed:completed"
      ])
    }).pipe(Effect.provide(HookDispatcher.HookDispatcher.Default), Effect.provide(JobBackend.layerMemory))
  )
})
