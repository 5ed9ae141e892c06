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
import type { PromptResponse } from "@strata/protocol/Prompt"
import * as Sandbox from "@strata/sandbox/Sandbox"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as common from "../common.js"
import { exit, json, processOptions } from "../common.js"
import * as Distribution from "../Distribution.js"
import * as Notices from "../Notices.js"
import * as Render from "../Render.js"
import * as Session from "../Session.js"

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

/**
 * The command-line layer of the config from `--model` and `--sandbox`.
 *
 * @since 0.2.0
 * @category utils
 */
export const cliConfig = (options: {
  readonly model: Option.Option<string>
  readonly sandbox: Option.Option<string>
}): Record<string, unknown> | undefined => {
  const out: Record<string, unknown> = {}
  if (Option.isSome(options.model)) out.model = options.model.value
  if (Option.isSome(options.sandbox)) out.sandbox = { mode: options.sandbox.value }
  return Object.keys(out).length === 0 ? undefined : out
}

/**
 * A line for the banner when tool commands do not run sandboxed although the
 * config asks for it: what runs instead, and why.
 *
 * @since 0.2.0
 * @category utils
 */
export const sandboxNotice = (status: Sandbox.Status): string | undefined =>
  status.configured !== "off" && status.mechanism === "none" ? `sandbox: ${Sandbox.describe(status)}\n` : undefined

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
 * The banner line of a session.
 *
 * @since 0.1.0
 * @category utils
 */
export const banner = (setup: Distribution.Setup): string =>
  `strata · ${setup.choice.banner}${setup.choice.skipped === undefined ? "" : ` · ${setup.choice.skipped}`}\n`

/**
 * The `error` of a failed run's `run_result`: the error's tag, its
 * `reason` when it has one, and its message.
 *
 * @since 0.1.0
 * @category utils
 */
export const errorObject = (
  cause: Cause.Cause<unknown>
): { type: string; reason?: string; phase?: string; message: string } => {
  const error = Cause.squash(cause) as
    | { _tag?: unknown; reason?: unknown; phase?: unknown; message?: unknown }
    | undefined
  const type = typeof error?._tag === "string" ? error._tag : error instanceof Error ? error.name : "Error"
  const message =
    typeof error?.message === "string" && error.message !== "" ? error.message.split("\n")[0]! : Cause.pretty(cause)
  return {
    type,
    ...(typeof error?.reason === "string" ? { reason: error.reason } : {}),
    ...(typeof error?.phase === "string" ? { phase: error.phase } : {}),
    message
  }
}

/**
 * @since 0.1.0
 * @category commands
 */
export const run = Command.make("run", { prompt, json, approval, yes, thread, model, sandbox }, (options) =>
  Effect.suspend(() => {
    const sink = Render.processSink()
    const text = options.prompt.join(" ").trim()
    if (text === "") {
      sink.err('strata run: nothing to run: give a prompt, e.g. strata run "list the files"\n')
      return exit(2)
    }
    let threadId = Option.getOrUndefined(options.thread)
    let response: PromptResponse | undefined
    const body = Distribution.session(processOptions(cliConfig(options)), (setup) =>
      Effect.gen(function* () {
        if (!options.json) sink.err(Render.dim(sink, banner(setup)))
        if (!options.json) {
          // reading the status probes bubblewrap: only for the text form, which shows it
          const notice = sandboxNotice((yield* Sandbox.Sandbox).status)
          if (notice !== undefined) sink.err(notice)
        }
        yield* Notices.watch({ sink, json: options.json })
        threadId ??= yield* Session.startThread
        response = yield* Session.runTurn({
          prompt: text,
          threadId,
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
        yield* exit(Session.exitCode(response.outcome))
      })
    )
    if (!options.json) return body
    // Exactly one run_result line, however the run ends.
    return body.pipe(
      Effect.onExit((result) =>
        Effect.sync(() => {
          const interrupted = Exit.isFailure(result) && Cause.isInterruptedOnly(result.cause)
          const outcome =
            response?.outcome ?? (interrupted ? "interrupted" : Exit.isFailure(result) ? "failed" : "completed")
          const code = Exit.isSuccess(result) ? Session.exitCode(outcome) : interrupted ? 130 : 1
          sink.out(
            `${JSON.stringify({
              event: "run_result",
              thread_id: response?.thread_id ?? threadId ?? null,
              outcome,
              output: response?.output ?? "",
              model: response?.model ?? null,
              usage: response?.usage ?? null,
              exit_code: code,
              ...(Exit.isFailure(result) && !interrupted ? { error: errorObject(result.cause) } : {})
            })}\n`
          )
        })
      )
    )
  })
).pipe(Command.withDescription("Run one turn non-interactively; the exit code says how it ended"))
