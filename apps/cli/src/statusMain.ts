/**
 * The launcher's fast path for `strata status [--json]`: the same report as
 * the `status` command, without loading the command-line parser or the
 * runtime (its own small bundle, `dist/bundle/status.mjs`). On any failure
 * it prints nothing and returns false; the launcher then runs the full
 * command line, which reports the error in its one-line form.
 *
 * `--profile-startup` (or `STRATA_PROFILE_STARTUP=1`) prints the phases to
 * stderr after the report, as for the other commands (src/Profile.ts).
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Profile from "./Profile.js"
import * as Status from "./Status.js"

/**
 * Prints the status report; false when it could not.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (): Promise<boolean> => {
  const profile = Profile.requested(process.argv, process.env)
    ? Profile.make(performance.timeOrigin, () => performance.now())
    : undefined
  profile?.mark("modules loaded")
  // The report reads files and paths only: no command executor, terminal or worker.
  const program = Status.report({ cwd: process.cwd(), env: process.env }).pipe(
    Effect.map((value) => {
      const json = process.argv.includes("--json")
      process.stdout.write(`${json ? JSON.stringify(value, null, 2) : Status.format(value)}\n`)
      return true
    }),
    Effect.orElseSucceed(() => false),
    Effect.provide(Layer.merge(NodeFileSystem.layer, NodePath.layer))
  )
  return Effect.runPromise(profile === undefined ? program : Effect.withTracer(program, profile.tracer))
    .then((ok) => {
      if (ok && profile !== undefined) {
        const usage = typeof process.resourceUsage === "function" ? process.resourceUsage() : undefined
        process.stderr.write(profile.report({ peakRssBytes: usage === undefined ? undefined : usage.maxRSS * 1024 }))
      }
      return ok
    })
    .catch(() => false)
}
