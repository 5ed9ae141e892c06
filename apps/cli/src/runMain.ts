/**
 * The launcher's entry for `strata run ...` (its own bundle,
 * `dist/bundle/run.mjs`): a one-shot turn loads neither the server, the
 * console, ACP, the policy importer nor the other commands.
 *
 * The common forms (`strata run [--json] [--yes|-y] PROMPT...`, with
 * `--verbose` / `--profile-startup` anywhere, every option before the
 * prompt) are read here and run the `run` command's turn directly, without
 * loading the command-line parser (`@effect/cli`, a sizeable part of the
 * start-up); any other command line (other options, `--help`, a word
 * starting with `-` in the prompt, ...) goes to the command line with only
 * the `run` command, which parses and reports it as the whole command line
 * does (`cli.ts`). Both run the same way (`Process.ts`).
 *
 * @since 0.2.0
 */
import { runTurn, simpleRun } from "./commands/runTurn.js"
import * as Process from "./Process.js"

const simple = simpleRun(process.argv.slice(2))
if (simple !== undefined) {
  Process.start(() => runTurn(simple))
} else {
  // no top-level await: the launcher also runs this bundle as a function-wrapped script (compile cache, see bin/compileCache.js)
  void Promise.all([
    import("@effect/cli/Command"),
    import("@effect/cli/ValidationError"),
    import("./commands/run.js"),
    import("./version.js")
  ]).then(([Command, ValidationError, { run: runCommand }, { version }]) =>
    Process.start(
      Command.run(
        Command.make("strata").pipe(
          Command.withDescription("Strata: a terminal agent (run one turn: strata run PROMPT)"),
          Command.withSubcommands([runCommand])
        ),
        { name: "strata", version }
      ),
      { isUsageError: ValidationError.isValidationError }
    )
  )
}
