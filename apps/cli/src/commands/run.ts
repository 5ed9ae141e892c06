/**
 * `strata run "<prompt>"`: one non-interactive turn. The answer streams to
 * stdout as it arrives (the banner and approval notes go to stderr);
 * `--json` writes every event frame as a JSON line, then one
 * `{"event":"run_result", ...}` line.
 *
 * Approvals: `--approval never` turns every `ask` into a denial;
 * `--yes` approves every `ask`; otherwise a pending approval ends the run
 * with exit code 3 (answer it later with `strata approvals approve|deny`).
 *
 * Exit codes: 0 completed, 3 awaiting approval, 4 max turns, 130
 * interrupted, 1 failed or error, 2 bad usage.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { exit, json, processOptions } from "../common.js"
import * as Distribution from "../Distribution.js"
import * as Render from "../Render.js"
import * as Session from "../Session.js"

/**
 * `--approval`: the approval mode of the turn.
 *
 * @since 0.1.0
 * @category options
 */
export const approval = Options.choice("approval", ["untrusted", "on-failure", "on-request", "never"]).pipe(
  Options.optional,
  Options.withDescription("Approval mode: never (ask becomes deny), on-request (default), on-failure, untrusted")
)

/**
 * `--model`: the model for this session (first in model resolution).
 *
 * @since 0.1.0
 * @category options
 */
export const model = Options.text("model").pipe(Options.optional, Options.withDescription("The model to use"))

const yes = Options.boolean("yes").pipe(
  Options.withAlias("y"),
  Options.withDescription("Approve every command the policy asks about")
)
const thread = Options.text("thread").pipe(
  Options.optional,
  Options.withDescription("Continue this thread instead of starting one")
)
const prompt = Args.text({ name: "prompt" }).pipe(
  Args.repeated,
  Args.withDescription("The prompt (its words are joined with spaces)")
)

/**
 * The banner line of a session.
 *
 * @since 0.1.0
 * @category utils
 */
export const banner = (setup: Distribution.Setup): string =>
  `strata · ${setup.choice.banner}${setup.choice.skipped === undefined ? "" : ` · ${setup.choice.skipped}`}\n`

/**
 * @since 0.1.0
 * @category commands
 */
export const run = Command.make("run", { prompt, json, approval, yes, thread, model }, (options) =>
  Distribution.session(
    processOptions(Option.isSome(options.model) ? { model: options.model.value } : undefined),
    (setup) =>
      Effect.gen(function* () {
        const sink = Render.processSink()
        const text = options.prompt.join(" ").trim()
        if (text === "") {
          sink.err('strata run: nothing to run: give a prompt, e.g. strata run "list the files"\n')
          return yield* exit(2)
        }
        if (!options.json) sink.err(Render.dim(sink, banner(setup)))
        const response = yield* Session.runTurn({
          prompt: text,
          threadId: Option.getOrUndefined(options.thread),
          approval: Option.getOrUndefined(options.approval),
          onFrame: options.json ? Render.json(sink) : Render.text(sink),
          decide: (pending) =>
            Effect.sync(() => {
              if (options.yes) return { decision: "approve", reason: "--yes" } as const
              if (!options.json) {
                sink.err(
                  `approval pending ${pending.approval_id}: ${pending.command ?? pending.tool_name} (${pending.reason})\n` +
                    `  answer with: strata approvals approve ${pending.approval_id}  |  strata approvals deny ${pending.approval_id}\n`
                )
              }
              return "leave" as const
            })
        })
        const code = Session.exitCode(response.outcome)
        if (options.json) {
          sink.out(
            `${JSON.stringify({
              event: "run_result",
              thread_id: response.thread_id,
              outcome: response.outcome,
              output: response.output,
              model: response.model,
              usage: response.usage,
              exit_code: code
            })}\n`
          )
        }
        yield* exit(code)
      })
  )
).pipe(Command.withDescription("Run one turn non-interactively; the exit code says how it ended"))
