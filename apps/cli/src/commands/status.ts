/**
 * `strata status` (see `Status`): what a session would use.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { json, print, processOptions } from "../common.js"
import * as Status from "../Status.js"

/**
 * @since 0.1.0
 * @category commands
 */
export const status = Command.make("status", { json }, (o) =>
  Effect.flatMap(Status.report(processOptions()), (value) => print(o.json, value, Status.format))
).pipe(Command.withDescription("Show what a session would use: config, storage, model, plugins, threads"))
