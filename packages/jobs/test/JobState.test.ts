import { describe, expect, it } from "@effect/vitest"
import { JobState } from "@strata/jobs"
import * as Ids from "@strata/protocol/Ids"
import type { JobStatus } from "@strata/protocol/Job"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"

const statuses: ReadonlyArray<JobStatus> = ["queued", "running", "paused", "completed", "failed", "cancelled"]

const fresh = (maxAttempts = 3) =>
  JobState.create({
    id: Ids.unsafeMake("JobId", "job-1"),
    name: "k",
    retry: JobState.defaultRetry({ maxAttempts }),
    now: 1000
  })

const expectedLegal: ReadonlyArray<readonly [JobStatus, JobStatus]> = [
  ["queued", "running"],
  ["queued", "cancelled"],
  ["running", "completed"],
  ["running", "failed"],
  ["running", "cancelled"],
  ["running", "paused"],
  ["running", "queued"],
  ["paused", "running"],
  ["paused", "cancelled"],
  ["failed", "queued"]
]

describe("JobState", () => {
  it("the transition table is exactly the documented one", () => {
    const legal: Array<readonly [JobStatus, JobStatus]> = []
    for (const from of statuses) for (const to of statuses) if (JobState.canTransition(from, to)) legal.push([from, to])
    expect(new Set(legal.map(([a, b]) => `${a}->${b}`))).toStrictEqual(
      new Set(expectedLegal.map(([a, b]) => `${a}->${b}`))
    )
    expect(JobState.isTerminal("completed")).toBe(true)
    expect(JobState.isTerminal("cancelled")).toBe(true)
    expect(JobState.isTerminal("failed")).toBe(false)
  })

  it("every illegal transition is an InvalidTransition naming job, from and to", () => {
    for (const from of statuses) {
      for (const to of statuses) {
        if (JobState.canTransition(from, to)) continue
        const job = { ...fresh(), status: from }
        const result = JobState.transition(job, to, { phase: "x", now: 2000 })
        expect(Either.isLeft(result), `${from} -> ${to}`).toBe(true)
        if (Either.isLeft(result)) {
          expect(result.left).toMatchObject({ _tag: "InvalidTransition", jobId: "job-1", from, to })
        }
      }
    }
  })

  it("failed -> queued only while a retry is due", () => {
    let job = fresh(2)
    job = Either.getOrThrow(JobState.transition(job, "running", { phase: "running", now: 1 }))
    expect(job.retry.attempt).toBe(1)
    job = Either.getOrThrow(JobState.transition(job, "failed", { phase: "failed", now: 2, jitter: 1 }))
    expect(job.retry.next_backoff_ms).toBe(500)
    expect(job.retry.next_retry_at).toBe(502)
    job = Either.getOrThrow(JobState.transition(job, "queued", { phase: "retry", now: 600 }))
    job = Either.getOrThrow(JobState.transition(job, "running", { phase: "running", now: 601 }))
    expect(job.retry.attempt).toBe(2)
    job = Either.getOrThrow(JobState.transition(job, "failed", { phase: "failed", now: 602 }))
    expect(job.retry.next_retry_at).toBeNull()
    expect(JobState.retryDue(job)).toBe(false)
    expect(Either.isLeft(JobState.transition(job, "queued", { phase: "retry", now: 700 }))).toBe(true)
  })

  it("backoff is exponential with jitter in [0.5, 1] and capped", () => {
    const retry = { ...JobState.defaultRetry({ backoffBaseMs: 100 }), attempt: 3 }
    expect(JobState.backoffMs(retry, 1)).toBe(400)
    expect(JobState.backoffMs(retry, 0)).toBe(200)
    expect(JobState.backoffMs({ ...retry, attempt: 40 }, 1)).toBe(3_600_000)
  })

  it("property: any sequence of operations keeps history consistent with the table", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.array(FastCheck.constantFrom(...statuses), { maxLength: 40 }), (targets) => {
        let job = fresh(5)
        for (const to of targets) {
          const before = job
          const result = JobState.transition(job, to, { phase: to, now: 10, jitter: 0.5 })
          if (Either.isRight(result)) {
            job = result.right
            expect(JobState.canTransition(before.status, to)).toBe(true)
            expect(job.history[job.history.length - 1]).toMatchObject({ from: before.status, to })
          } else {
            expect(job).toBe(before)
          }
        }
        for (let i = 1; i < job.history.length; i++) {
          expect(job.history[i]!.from).toBe(job.history[i - 1]!.to)
        }
        expect(job.history[job.history.length - 1]!.to).toBe(job.status)
      })
    )
  })

  it("progress is only recorded on running jobs", () => {
    const queued = fresh()
    expect(Either.isLeft(JobState.progress(queued, 10, { now: 1 }))).toBe(true)
    const run = Either.getOrThrow(JobState.transition(queued, "running", { phase: "running", now: 1 }))
    const p = Either.getOrThrow(JobState.progress(run, 40, { now: 2, detail: "half" }))
    expect(p).toMatchObject({ progress: 40, detail: "half", status: "running" })
  })
})
