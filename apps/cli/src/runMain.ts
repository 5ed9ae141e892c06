/**
 * The launcher's entry for `strata run ...` (its own bundle,
 * `dist/bundle/run.mjs`): the command line with only the `run` command, so
 * a one-shot turn loads neither the server, the console, ACP, the policy
 * importer nor the other commands. The same `run` command as in the whole
 * command line (`cli.ts`), run the same way (`Process.ts`).
 *
 * @since 0.2.0
 */
import * as Command from "@effect/cli/Command"
import { run as runCommand } from "./commands/run.js"
import * as Process from "./Process.js"
import { version } from "./version.js"

Process.start(
  Command.run(
    Command.make("strata").pipe(
      Command.withDescription("Strata: a terminal agent (run one turn: strata run PROMPT)"),
      Command.withSubcommands([runCommand])
    ),
    { name: "strata", version }
  )
)
