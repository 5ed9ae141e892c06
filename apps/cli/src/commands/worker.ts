/**
 * `strata worker`: a process that runs jobs from the shared BullMQ queue
 * (`[jobs] backend = "bullmq"`): the job kinds of the config's plugins, at
 * most `[jobs] concurrency` runs per kind at once, and the turns queued by
 * `strata serve --cluster` (see `Cluster`). Start as many as you
 * like, on any machine that reaches the Redis and the store. SIGTERM (or
 * Ctrl-C) stops taking jobs, lets the runs in flight finish for
 * `[jobs] shutdown_grace_ms`, hands the rest back to the queue, and exits.
 *
 * @since 0.2.0
 */
import * as Command from "@effect/cli/Command"
import { JobManager } from "@strata/jobs/JobManager"
import * as Effect from "effect/Effect"
import * as Cluster from "../Cluster.js"
import { CliError, json, print, processOptions } from "../common.js"
import * as Distribution from "../Distribution.js"

/**
 * @since 0.2.0
 * @category commands
 */
export const worker = Command.make("worker", { json }, (o) =>
  Distribution.session(
    processOptions(),
    (setup) =>
      Effect.gen(function* () {
        if (setup.config.jobs.backend !== "bullmq") {
          return yield* new CliError({
            detail: 'strata worker runs jobs from a shared queue, and [jobs] backend is "local"',
            hint: 'set [jobs] backend = "bullmq" and a shared [storage] (redis or postgres)',
            code: 2
          })
        }
        const jobs = yield* JobManager
        const shared = Cluster.refusal(setup.config)
        if (shared !== undefined) {
          return yield* new CliError({ detail: `strata worker: ${shared}`, hint: "see docs/deployment.md", code: 2 })
        }
        // Its own scope, closed before the session's: running turns are closed while the store is open.
        return yield* Effect.scoped(
          Effect.gen(function* () {
            yield* Cluster.runWorker(setup.config, jobs.instanceId, (taken) =>
              process.stdout.write(
                o.json
                  ? `${JSON.stringify({ event: "turn", worker: jobs.instanceId, ...taken })}\n`
                  : `turn on ${taken.thread_id} (${taken.kind}${taken.recovered ? ", recovered" : ""}) taken by ${jobs.instanceId}\n`
              )
            )
            const ready = {
              worker: jobs.instanceId,
              pid: process.pid,
              concurrency: setup.config.jobs.concurrency,
              prefix: setup.config.jobs.prefix ?? "strata"
            }
            yield* print(
              o.json,
              ready,
              (r) => `worker ${r.worker} ready (pid ${r.pid}, ${r.concurrency} runs per kind, queue prefix ${r.prefix})`
            )
            return yield* Effect.never
          })
        )
      }),
    { jobsWorker: true, sharedEventLoop: true }
  )
).pipe(
  Command.withDescription(
    'Run jobs and turns from the shared queue ([jobs] backend = "bullmq") until SIGTERM; job runs still going after shutdown_grace_ms are handed back, turns interrupted'
  )
)
