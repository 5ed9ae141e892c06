/**
 * The process entry of `strata` (`bin/strata.js` imports it): the whole
 * command line (see `Process.ts`).
 *
 * @since 0.1.0
 */
import * as ValidationError from "@effect/cli/ValidationError"
import { run } from "./cli.js"
import * as Process from "./Process.js"

Process.start(run, { isUsageError: ValidationError.isValidationError })
