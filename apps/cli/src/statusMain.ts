/**
 * The launcher's fast path for `strata status [--json]`: the same report as
 * the `status` command, without loading the command-line parser or the
 * runtime (its own small bundle, `dist/status.bundle.mjs`). On any failure
 * it prints nothing and returns false; the launcher then runs the full
 * command line, which reports the error in its one-line form.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Status from "./Status.js"

/**
 * Prints the status report; false when it could not.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (): Promise<boolean> =>
  Effect.runPromise(
    Status.report({ cwd: process.cwd(), env: process.env }).pipe(
      Effect.map((value) => {
        const json = process.argv.includes("--json")
        process.stdout.write(`${json ? JSON.stringify(value, null, 2) : Status.format(value)}\n`)
        return true
      }),
      Effect.orElseSucceed(() => false),
      Effect.provide(NodeContext.layer)
    )
  ).catch(() => false)
