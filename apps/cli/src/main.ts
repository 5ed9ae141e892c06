/**
 * The process entry of `strata` (`bin/strata.js` imports it): runs the
 * command line with the platform layers; a failure prints one line to
 * stderr and exits with code 1.
 *
 * @since 0.1.0
 */
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { run } from "./cli.js"
import * as Layers from "./layers.js"

const program = run(process.argv).pipe(
  Effect.catchAll((error) =>
    // @effect/cli has already printed what was wrong with the arguments.
    ValidationError.isValidationError(error)
      ? Effect.sync(() => {
          process.exitCode = 2
        })
      : Console.error(`strata: ${error.message}`).pipe(
          Effect.zipRight(
            Effect.sync(() => {
              process.exitCode = 1
            })
          )
        )
  ),
  Effect.provide(Layers.layer)
)

NodeRuntime.runMain(program, { disableErrorReporting: true })
