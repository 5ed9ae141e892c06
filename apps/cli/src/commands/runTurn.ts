/**
 * The `run` command's turn, given its parsed options: what `strata run`
 * does (see `run.ts` for the options and the contract). Needs no
 * command-line parser, so the `strata run` fast path (`runMain.ts`) runs it
 * without loading `@effect/cli`.
 *
 * @since 0.2.0
 */
import type { ThreadId } from "@strata/protocol/Ids"
import type { PromptResponse } from "@strata/protocol/Prompt"
import * as Sandbox from "@strata/sandbox/Sandbox"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { exit, processOptions } from "../Base.js"
import * as Distribution from "../Distribution.js"
import * as Notices from "../Notices.js"
import * as Render from "../Render.js"
import * as Session from "../Session.js"

/**
 * The options of one `strata run`, as the command line gives them.
 *
 * @since 0.2.0
 * @category models
 */
export interface RunOptions {
  readonly prompt: ReadonlyArray<string>
  readonly json: boolean
  readonly approval: Option.Option<"untrusted" | "on-failure" | "on-request" | "never">
  readonly yes: boolean
  readonly thread: Option.Option<ThreadId>
  readonly model: Option.Option<string>
  readonly sandbox: Option.Option<"workspace-write" | "read-only" | "off">
}

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
 * Runs one turn with these options.
 *
 * @since 0.2.0
 * @category constructors
 */
export const runTurn = (options: RunOptions) =>
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
          // --yes approves at once: the turn keeps its thread's lease through the approvals
          answersAtOnce: options.yes,
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

/** The words `@effect/cli` reads as a boolean flag's value when one follows the flag. */
const BOOLEAN_WORDS = new Set(["true", "1", "y", "yes", "on", "false", "0", "n", "no", "off"])

/**
 * The options of `strata run ARGS` when ARGS has one of the common forms,
 * else undefined (the command-line parser reads it).
 *
 * @since 0.2.0
 * @category utils
 */
export const simpleRun = (args: ReadonlyArray<string>): RunOptions | undefined => {
  if (args[0] !== "run") return undefined
  let json = false
  let yes = false
  let afterFlag = false
  const prompt: Array<string> = []
  for (const arg of args.slice(1)) {
    if (arg === "--verbose" || arg === "--profile-startup") continue
    if (arg.startsWith("-")) {
      if (prompt.length > 0) return undefined
      // (a flag given twice: the parser reads the second one as a word of the prompt)
      if (arg === "--json" && !json) json = true
      else if ((arg === "--yes" || arg === "-y") && !yes) yes = true
      else return undefined
      afterFlag = true
    } else {
      // the parser takes `--json false` as the flag's value, not the prompt's first word
      if (afterFlag && BOOLEAN_WORDS.has(arg)) return undefined
      afterFlag = false
      prompt.push(arg)
    }
  }
  return {
    prompt,
    json,
    yes,
    approval: Option.none(),
    thread: Option.none(),
    model: Option.none(),
    sandbox: Option.none()
  }
}
