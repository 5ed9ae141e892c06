/**
 * `strata run "<prompt>"`: one non-interactive turn. The answer streams to
 * stdout as it arrives (the banner, MCP progress, hook warnings and approval
 * notes go to stderr).
 *
 * `--json`: stdout carries only JSON lines: every event frame of the turn
 * (each with `thread_id` and `seq`, in order; a `response_start` always has
 * its `response_end`), `{"event":"warning",...}` lines (a hook that failed
 * without blocking), and last, always, one
 * `{"event":"run_result","thread_id","outcome","output","model","usage","exit_code"}`
 * line, also when the run fails (`outcome: "failed"`, `error: { type,
 * reason?, message }`) or is interrupted (`outcome: "interrupted"`, exit
 * code 130). Logs go to stderr (JSON lines).
 *
 * Approvals: the mode is `--approval`, else the config's `approval_policy`
 * (`STRATA_APPROVAL_POLICY` > `.strata/config.toml` > `~/.strata/config.toml`
 * > `on-request`); `never` turns every `ask` into a denial; `--yes` approves
 * every `ask` (a `deny` of the policy is never asked); otherwise a pending
 * approval ends the run with exit code 3 (answer it later with
 * `strata approvals approve|deny`).
 *
 * Exit codes: 0 completed, 3 awaiting approval, 4 max turns, 130
 * interrupted (Ctrl-C, SIGTERM), 1 failed or error, 2 bad usage.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { ThreadId } from "@strata/protocol/Ids"
import * as common from "../common.js"
import { json } from "../common.js"
import { runTurn } from "./runTurn.js"

export {
  /** @since 0.1.0 */
  banner,
  /** @since 0.2.0 */
  cliConfig,
  /** @since 0.1.0 */
  errorObject,
  /** @since 0.2.0 */
  sandboxNotice
} from "./runTurn.js"

/**
 * `--approval` (see `common.ts`), exported here for the commands that took it from `run`.
 *
 * @since 0.1.0
 * @category options
 */
export const approval = common.approval

/**
 * `--model`: the model for this session (first in model resolution).
 *
 * @since 0.1.0
 * @category options
 */
export const model = Options.text("model").pipe(Options.optional, Options.withDescription("The model to use"))

/**
 * `--sandbox`: the sandbox mode of this session (over `[sandbox] mode`).
 *
 * @since 0.2.0
 * @category options
 */
export const sandbox = Options.choice("sandbox", ["workspace-write", "read-only", "off"]).pipe(
  Options.optional,
  Options.withDescription("Sandbox of tool commands: workspace-write (default where bubblewrap works), read-only, off")
)

const yes = Options.boolean("yes").pipe(
  Options.withAlias("y"),
  Options.withDescription("Approve every command the policy asks about")
)
const thread = Options.text("thread").pipe(
  Options.withSchema(ThreadId),
  Options.optional,
  Options.withDescription("Continue this thread instead of starting one")
)
const prompt = Args.text({ name: "prompt" }).pipe(
  Args.repeated,
  Args.withDescription("The prompt (its words are joined with spaces)")
)

/**
 * The options and arguments of `run`, as `@effect/cli` parses them.
 *
 * @since 0.2.0
 * @category options
 */
export const runConfig = { prompt, json, approval, yes, thread, model, sandbox }

/**
 * @since 0.1.0
 * @category commands
 */
export const run = Command.make("run", runConfig, runTurn).pipe(
  Command.withDescription("Run one turn non-interactively; the exit code says how it ended")
)
