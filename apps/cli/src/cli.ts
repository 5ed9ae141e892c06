/**
 * The `strata` command line: the root command composes one subcommand per
 * area (`policy` for now). Add a command by writing `src/commands/<area>.ts`
 * and listing it here.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import { policy } from "./commands/policy.js"
import { version } from "./version.js"

/**
 * The root command.
 *
 * @since 0.1.0
 * @category commands
 */
export const strata = Command.make("strata").pipe(
  Command.withDescription("Strata: compose and run agent runtimes"),
  Command.withSubcommands([policy])
)

/**
 * Runs the command line on `process.argv`-shaped arguments.
 *
 * @since 0.1.0
 * @category commands
 */
export const run = Command.run(strata, { name: "strata", version })
