/**
 * The `strata` command line: the root command runs the interactive session
 * (`chat`); each area is a subcommand in `src/commands/<area>.ts`.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import { acpCommand } from "./commands/acp.js"
import { approvals } from "./commands/approvals.js"
import { audit } from "./commands/audit.js"
import { chat, resume, session } from "./commands/chat.js"
import { config } from "./commands/config.js"
import { importCommand } from "./commands/import.js"
import { jobs } from "./commands/jobs.js"
import { mcp } from "./commands/mcp.js"
import { plugins } from "./commands/plugins.js"
import { policy } from "./commands/policy.js"
import { remote } from "./commands/remote.js"
import { approval, model, run as runCommand, sandbox } from "./commands/run.js"
import { serve } from "./commands/serve.js"
import { status } from "./commands/status.js"
import { threads } from "./commands/threads.js"
import { worker } from "./commands/worker.js"
import { version } from "./version.js"

/**
 * The root command.
 *
 * @since 0.1.0
 * @category commands
 */
export const strata = Command.make("strata", { approval, model, sandbox }, (options) => session(options)).pipe(
  Command.withDescription(
    "Strata: a terminal agent. With no command, an interactive session. Exit codes: 0 ok, 1 error, 2 bad usage, 3 awaiting approval, 4 max turns, 130 interrupted."
  ),
  Command.withSubcommands([
    chat,
    runCommand,
    resume,
    threads,
    approvals,
    jobs,
    mcp,
    policy,
    config,
    importCommand,
    plugins,
    status,
    audit,
    serve,
    acpCommand,
    worker,
    remote
  ])
)

/**
 * Runs the command line on `process.argv`-shaped arguments.
 *
 * @since 0.1.0
 * @category commands
 */
export const run = Command.run(strata, { name: "strata", version })
