/**
 * `strata jobs list | show | watch | cancel | pause | resume`: background
 * jobs in the store. `watch` redraws progress bars until every job has
 * ended (or Ctrl-C).
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import { Runtime } from "@strata/core-runtime"
import type { JobRecord } from "@strata/protocol/Job"
import * as Effect from "effect/Effect"
import { ago, json, print, processOptions } from "../common.js"
import * as Distribution from "../Distribution.js"

const jobId = Args.text({ name: "job" }).pipe(Args.withDescription("The job id"))

/**
 * A progress bar: `[#####.....]  50%`.
 *
 * @since 0.1.0
 * @category utils
 */
export const bar = (progress: number | null, width = 20): string => {
  if (progress === null) return `[${".".repeat(width)}]    ?`
  const filled = Math.round((progress / 100) * width)
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(progress).padStart(3)}%`
}

const line = (j: JobRecord) =>
  `${j.id}  ${j.status.padEnd(9)} ${bar(j.progress)}  ${j.name}${j.detail === null ? "" : `  ${j.detail}`}  ${ago(j.updated_at)}`

const terminal = new Set(["completed", "failed", "cancelled"])

const list = Command.make("list", { json }, (o) =>
  Distribution.session(processOptions(), () =>
    Effect.gen(function* () {
      const rt = yield* Runtime.Runtime
      const jobs = yield* rt.listJobs
      yield* print(o.json, jobs, (js) => (js.length === 0 ? "no jobs" : js.map(line).join("\n")))
    })
  )
).pipe(Command.withDescription("List jobs, most recently updated first"))

const show = Command.make("show", { json, job: jobId }, (o) =>
  Distribution.session(processOptions(), () =>
    Effect.gen(function* () {
      const rt = yield* Runtime.Runtime
      const history = yield* rt.jobHistory(o.job)
      const job = (yield* rt.listJobs).find((j) => j.id === o.job)
      yield* print(o.json, { job, history }, (v) =>
        [
          v.job === undefined ? o.job : line(v.job),
          ...v.history.map(
            (h) => `  ${h.phase}${"detail" in h && h.detail !== undefined ? `  ${String(h.detail)}` : ""}`
          )
        ].join("\n")
      )
    })
  )
).pipe(Command.withDescription("Show a job and its history"))

const watch = Command.make("watch", { json }, (o) =>
  Distribution.session(processOptions(), () =>
    Effect.gen(function* () {
      const rt = yield* Runtime.Runtime
      let drawn = 0
      for (;;) {
        const jobs = yield* rt.listJobs
        if (o.json) process.stdout.write(`${JSON.stringify(jobs)}\n`)
        else {
          if (drawn > 0 && process.stdout.isTTY) process.stdout.write(`\x1b[${drawn}A\x1b[J`)
          const text = jobs.length === 0 ? "no jobs" : jobs.map(line).join("\n")
          process.stdout.write(`${text}\n`)
          drawn = text.split("\n").length
        }
        if (jobs.every((j) => terminal.has(j.status))) return
        yield* Effect.sleep("500 millis")
      }
    })
  )
).pipe(Command.withDescription("Show live progress bars until every job has ended"))

const transition = (name: "cancel" | "pause" | "resume") =>
  Command.make(name, { json, job: jobId }, (o) =>
    Distribution.session(processOptions(), () =>
      Effect.gen(function* () {
        const rt = yield* Runtime.Runtime
        const job =
          name === "cancel"
            ? yield* rt.cancelJob(o.job)
            : name === "pause"
              ? yield* rt.pauseJob(o.job)
              : yield* rt.resumeJob(o.job)
        yield* print(o.json, job, line)
      })
    )
  ).pipe(Command.withDescription(`${name[0]!.toUpperCase()}${name.slice(1)} a job`))

/**
 * @since 0.1.0
 * @category commands
 */
export const jobs = Command.make("jobs").pipe(
  Command.withDescription("Background jobs: list, show, watch, cancel, pause, resume"),
  Command.withSubcommands([list, show, watch, transition("cancel"), transition("pause"), transition("resume")])
)
