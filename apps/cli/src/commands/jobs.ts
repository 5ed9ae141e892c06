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
import { JobManager } from "@strata/jobs/JobManager"
import type { JobHistoryEntry, JobRecord } from "@strata/protocol/Job"
import { StateStore } from "@strata/storage/StateStore"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ago, CliError, json, print, processOptions } from "../common.js"
import * as Distribution from "../Distribution.js"
import * as ReadOnly from "../ReadOnly.js"

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

/** One history entry: when, what, the status change, progress and detail when there are any. */
const historyLine = (h: JobHistoryEntry) =>
  [
    `  ${new Date(h.at).toISOString()}`,
    h.phase.padEnd(11),
    h.from === null ? `-> ${h.to}` : h.from === h.to ? h.to : `${h.from} -> ${h.to}`,
    h.progress === null ? "" : `${h.progress}%`,
    h.attempt > 0 ? `attempt ${h.attempt}` : "",
    h.detail ?? ""
  ]
    .filter((part) => part !== "")
    .join("  ")

const terminal = new Set(["completed", "failed", "cancelled"])

/** Every job, most recently updated first, as `jobs list` shows them. */
const allJobs = Effect.flatMap(StateStore, (store) =>
  Effect.all({ jobs: store.listJobs(), damaged: store.listDamaged("job") }).pipe(
    Effect.map(({ jobs, damaged }) => ({
      jobs: [...jobs].sort((a, b) => b.updated_at - a.updated_at || (a.id < b.id ? -1 : 1)),
      damaged
    }))
  )
)

const list = Command.make("list", { json }, (o) =>
  ReadOnly.session(
    processOptions(),
    Effect.gen(function* () {
      const { jobs, damaged } = yield* allJobs
      if (o.json) return yield* print(true, [...jobs, ...damaged.map(ReadOnly.damagedJson)], () => "")
      yield* print(false, jobs, (js) =>
        js.length === 0 && damaged.length === 0
          ? "no jobs"
          : [...js.map(line), ...damaged.map(ReadOnly.damagedLine)].join("\n")
      )
    })
  )
).pipe(Command.withDescription("List jobs, most recently updated first; writes nothing (no crash recovery)"))

const show = Command.make("show", { json, job: jobId }, (o) =>
  ReadOnly.session(
    processOptions(),
    Effect.gen(function* () {
      const store = yield* StateStore
      const job = yield* store.getJob(o.job)
      if (Option.isNone(job)) {
        return yield* new CliError({ detail: `no job ${o.job}`, hint: "see strata jobs list" })
      }
      yield* print(o.json, { job: job.value, history: job.value.history }, (v) =>
        [line(v.job), ...v.history.map(historyLine)].join("\n")
      )
    })
  )
).pipe(Command.withDescription("Show a job and its history; writes nothing"))

const watch = Command.make("watch", { json }, (o) =>
  ReadOnly.session(
    processOptions(),
    Effect.gen(function* () {
      let drawn = 0
      for (;;) {
        const { jobs } = yield* allJobs
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
).pipe(Command.withDescription("Show live progress bars until every job has ended; writes nothing"))

const transition = (name: "cancel" | "pause" | "resume") =>
  Command.make(name, { json, job: jobId }, (o) =>
    Distribution.session(processOptions(), () =>
      Effect.gen(function* () {
        const rt = yield* Runtime.Runtime
        if (name === "resume") {
          // A resumed job runs only where a handler for its kind is registered:
          // say so rather than mark it running with nobody to run it.
          const found = yield* (yield* StateStore).getJob(o.job)
          const manager = yield* JobManager
          if (Option.isSome(found) && !manager.handles(found.value.name)) {
            return yield* new CliError({
              detail: `job ${o.job} is of kind "${found.value.name}", which no handler in this process runs; it stays ${found.value.status}`,
              hint: "resume it from the process that runs that kind of job"
            })
          }
        }
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
