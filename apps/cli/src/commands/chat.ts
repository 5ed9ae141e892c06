/**
 * `strata` / `strata chat`: the interactive session. Each line you type is a
 * turn; the answer streams as it arrives, tool calls show as they run, and
 * when the policy asks, you answer: `y` approve once, `a` approve always
 * (each simple command of it becomes an allow rule on its exact argv, shown
 * when added, for this session: see Remembered.ts), `n` deny. The command
 * is shown with control characters escaped. Ctrl-C interrupts the
 * running turn (not the program); Ctrl-C at the prompt twice, Ctrl-D or
 * `/exit` quits. `/new` starts a new thread.
 *
 * `strata resume [THREAD] [--last]` continues a thread.
 *
 * MCP servers start with the session, in the background; their progress
 * shows as `mcp: <server> starting` / `ready (N tools)` / `failed: ...`, and
 * a prompt sent before they are up waits for them (at most each server's
 * `startup_timeout`). Hooks whose matcher matches no tool are warned about
 * at the start; a hook that fails without blocking is shown as a warning.
 *
 * When stdin is not a terminal, each line read from it is a prompt (on the
 * resumed thread for `strata resume THREAD`), approvals are answered "deny"
 * (no one to ask), and the exit code is the last turn's. With nothing on
 * stdin, `strata` runs one demo turn (`npm start` in CI) and exits 0;
 * `strata resume THREAD` shows the thread's last messages and exits 0.
 *
 * @since 0.1.0
 */
import * as readline from "node:readline/promises"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Runtime as StrataRuntime } from "@strata/core-runtime"
import { Decision, ExecPolicy } from "@strata/exec-policy"
import { ThreadId } from "@strata/protocol/Ids"
import type { AskForApproval } from "@strata/protocol/Tool"
import * as Sandbox from "@strata/sandbox/Sandbox"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import { CliError, exit, processOptions } from "../common.js"
import * as Distribution from "../Distribution.js"
import * as Notices from "../Notices.js"
import * as Remembered from "../Remembered.js"
import * as Render from "../Render.js"
import * as Session from "../Session.js"
import { approval, banner, cliConfig, model, sandbox } from "./run.js"

/**
 * The prompt of the non-interactive demo turn.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEMO_PROMPT = "Show me what you can do in this workspace."

/** A command's approval prefix: its first word (`touch`, `git`+subcommand). */
const interactive = (
  setup: Distribution.Setup,
  startThread: ThreadId | undefined,
  approvalMode: AskForApproval | undefined
) =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>()
    const sink = Render.processSink()
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: true })
    // "Always" answers become exact-prefix allow rules, decided per simple command.
    const remembered = yield* ExecPolicy.loadGrammar.pipe(Effect.flatMap(Remembered.make), Effect.option)
    let threadId = startThread
    let current: Fiber.RuntimeFiber<unknown, unknown> | undefined
    let quitArmed = false
    rl.on("SIGINT", () => {
      if (current !== undefined) {
        const fiber = current
        current = undefined
        sink.out(`\n${Render.dim(sink, "(interrupting the turn)")}\n`)
        Runtime.runFork(runtime)(Fiber.interrupt(fiber))
        return
      }
      if (quitArmed) {
        rl.close()
        return
      }
      quitArmed = true
      sink.out(`\n${Render.dim(sink, "(Ctrl-C again, Ctrl-D or /exit to quit)")}\n`)
      rl.prompt()
    })
    let closed = false
    // Lines typed while a turn runs are kept for the next prompt (type-ahead).
    const typed: Array<string> = []
    let waiter: ((line: string | undefined) => void) | undefined
    rl.on("line", (line) => {
      const w = waiter
      waiter = undefined
      if (w !== undefined) w(line)
      else typed.push(line)
    })
    rl.on("close", () => {
      closed = true
      const w = waiter
      waiter = undefined
      w?.(undefined)
    })
    const nextLine = (prompt: string, signal?: AbortSignal) =>
      new Promise<string | undefined>((resolve) => {
        if (closed) return resolve(undefined)
        rl.setPrompt(prompt)
        rl.prompt()
        const queued = typed.shift()
        if (queued !== undefined) return resolve(queued)
        waiter = resolve
        signal?.addEventListener("abort", () => {
          if (waiter === resolve) waiter = undefined
          resolve(undefined)
        })
      })
    sink.out(Render.dim(sink, banner(setup)))
    sink.out(Render.dim(sink, `sandbox · ${Sandbox.describe((yield* Sandbox.Sandbox).status)}\n`))
    for (const warning of yield* Distribution.hookWarnings(setup)) {
      Notices.warn({ sink, json: false, write: sink.out }, { source: "config", message: warning })
    }
    yield* Notices.watch({ sink, json: false, write: sink.out })
    sink.out(
      Render.dim(
        sink,
        `${threadId === undefined ? "new session" : `resuming ${threadId}`} · /exit to quit, /new for a new thread, Ctrl-C interrupts a turn\n`
      )
    )
    if (setup.choice.kind === "demo") sink.out(Render.dim(sink, `try: ${DEMO_PROMPT}\n`))
    const decide = (pending: Session.PendingApproval) =>
      Effect.promise(async (signal): Promise<Session.Answer> => {
        const command = pending.command ?? pending.tool_name
        const rules = remembered._tag === "Some" ? remembered.value : undefined
        const covered = pending.command === undefined ? undefined : rules?.covers(pending.command)
        if (covered !== undefined) {
          sink.out(
            Render.dim(sink, `  ⎿ approved by remembered rules: ${Decision.escapeControls(covered.join("; "))}\n`)
          )
          return { decision: "approve", reason: "remembered approval rules" }
        }
        sink.out(
          `\n${Render.bold(sink, "approval needed")}: ${Decision.escapeControls(command)}\n  ${Render.dim(sink, Decision.escapeControls(pending.reason))}\n`
        )
        const offerAlways = pending.command !== undefined && rules !== undefined
        for (;;) {
          const answer = (
            await rl.question(
              offerAlways
                ? "  approve? [y] once  [a] always (exactly these commands, this session)  [n] deny › "
                : "  approve? [y] once  [n] deny › ",
              { signal }
            )
          )
            .trim()
            .toLowerCase()
          if (answer === "y" || answer === "yes") return { decision: "approve", reason: "approved at the prompt" }
          if (answer === "a" && offerAlways) {
            const added = await Runtime.runPromise(runtime)(rules!.add(pending.command!))
            sink.out(
              Render.dim(
                sink,
                added.length === 0
                  ? "  ⎿ nothing to remember: every command here needs a person each time\n"
                  : `  ⎿ rule${added.length === 1 ? "" : "s"} added for this session:\n${added
                      .map((r) => Decision.escapeControls(r).replace(/^/gm, "      "))
                      .join("")}`
              )
            )
            return { decision: "approve", reason: "approved always at the prompt" }
          }
          if (answer === "n" || answer === "no") return { decision: "deny", reason: "denied at the prompt" }
        }
      })
    for (;;) {
      if (closed) break
      const line = yield* Effect.promise(() => nextLine("› "))
      if (line === undefined || closed) break
      quitArmed = false
      const text = line.trim()
      if (text === "") continue
      if (text === "/exit" || text === "/quit") break
      if (text === "/new") {
        threadId = undefined
        sink.out(Render.dim(sink, "(new thread)\n"))
        continue
      }
      const id = threadId ?? (yield* Session.startThread)
      threadId = id
      const fiber = yield* Effect.fork(
        Session.runTurn({
          prompt: text,
          threadId: id,
          approval: approvalMode,
          onFrame: Render.text(sink),
          decide
        })
      )
      current = fiber
      const exitValue = yield* Fiber.await(fiber)
      current = undefined
      if (exitValue._tag === "Failure") {
        const interrupted = Cause.isInterruptedOnly(exitValue.cause)
        sink.out(
          interrupted
            ? `${Render.dim(sink, "(turn interrupted)")}\n`
            : `error: ${Cause.squash(exitValue.cause) instanceof Error ? (Cause.squash(exitValue.cause) as Error).message : Cause.pretty(exitValue.cause)}\n`
        )
      } else if (exitValue.value.outcome === "awaiting_approval") {
        sink.out(Render.dim(sink, "(the turn is paused on an approval: strata approvals list)\n"))
      }
    }
    rl.close()
    if (threadId !== undefined) {
      const rt = yield* StrataRuntime.Runtime
      yield* rt.endSession(threadId, "prompt_input_exit").pipe(Effect.ignore)
      sink.out(Render.dim(sink, `thread ${threadId} · resume with: strata resume ${threadId}\n`))
    }
  })

/** Answers an approval when no one is there to ask. */
const denyUnattended = (sink: Render.Sink) => (pending: Session.PendingApproval) =>
  Effect.sync(() => {
    sink.out(`\napproval needed: ${pending.command ?? pending.tool_name} (${pending.reason}) → deny\n`)
    return { decision: "deny", reason: "no terminal to ask (stdin is not a TTY)" } as const
  })

/** The prompts piped on stdin: its non-empty lines. */
const stdinLines = Effect.promise(async () => {
  const chunks: Array<Buffer> = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
    .toString("utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
})

const unattended = (
  setup: Distribution.Setup,
  resumed: ThreadId | undefined,
  approvalMode: AskForApproval | undefined
) =>
  Effect.gen(function* () {
    const sink = Render.processSink()
    sink.out(banner(setup))
    sink.out(`sandbox · ${Sandbox.describe((yield* Sandbox.Sandbox).status)}\n`)
    for (const warning of yield* Distribution.hookWarnings(setup)) {
      Notices.warn({ sink, json: false }, { source: "config", message: warning })
    }
    yield* Notices.watch({ sink, json: false })
    const prompts = yield* stdinLines
    if (prompts.length === 0 && resumed !== undefined) {
      sink.out(Render.dim(sink, `thread ${resumed}: nothing to send (stdin is empty and not a terminal)\n`))
      return
    }
    const demo = prompts.length === 0
    sink.out(
      Render.dim(
        sink,
        demo
          ? "stdin is not a terminal: running one demo turn; approvals are denied (no one to ask)\n"
          : `stdin is not a terminal: ${prompts.length} prompt${prompts.length === 1 ? "" : "s"} from stdin${resumed === undefined ? "" : ` on ${resumed}`}; approvals are denied (no one to ask)\n`
      )
    )
    let threadId = resumed
    let code = 0
    for (const prompt of demo ? [DEMO_PROMPT] : prompts) {
      sink.out(`› ${prompt}\n`)
      const response = yield* Session.runTurn({
        prompt,
        threadId,
        approval: approvalMode,
        onFrame: Render.text(sink),
        decide: denyUnattended(sink)
      })
      threadId = response.thread_id
      code = Session.exitCode(response.outcome)
      if (demo) {
        sink.out(
          Render.dim(
            sink,
            `\nthread ${response.thread_id} (${response.outcome}) · run \`strata\` in a terminal for a chat, \`strata --help\` for every command\n`
          )
        )
      }
    }
    if (!demo && threadId !== undefined)
      sink.out(Render.dim(sink, `thread ${threadId} · resume with: strata resume ${threadId}\n`))
    yield* exit(code)
  })

/**
 * The root command's session: interactive in a terminal, one demo turn
 * otherwise.
 *
 * @since 0.1.0
 * @category constructors
 */
export const session = (options: {
  readonly threadId?: ThreadId | undefined
  readonly approval: Option.Option<AskForApproval>
  readonly model: Option.Option<string>
  readonly sandbox?: Option.Option<string> | undefined
}) =>
  Distribution.session(
    processOptions(cliConfig({ model: options.model, sandbox: options.sandbox ?? Option.none() })),
    (setup) =>
      Effect.if(process.stdin.isTTY === true, {
        onTrue: () => interactive(setup, options.threadId, Option.getOrUndefined(options.approval)),
        onFalse: () => unattended(setup, options.threadId, Option.getOrUndefined(options.approval))
      }),
    // The servers warm up while the person types.
    { mcp: process.stdin.isTTY === true ? "start" : "on-demand" }
  )

/**
 * @since 0.1.0
 * @category commands
 */
export const chat = Command.make("chat", { approval, model, sandbox }, (options) => session(options)).pipe(
  Command.withDescription("Start an interactive session (the default command)")
)

const last = Options.boolean("last").pipe(Options.withDescription("Resume the most recently updated thread"))
const threadArg = Args.text({ name: "thread" }).pipe(Args.withSchema(ThreadId), Args.optional)

/**
 * @since 0.1.0
 * @category commands
 */
export const resume = Command.make("resume", { thread: threadArg, last, approval, model, sandbox }, (options) =>
  Distribution.session(processOptions(), () =>
    Effect.gen(function* () {
      const rt = yield* StrataRuntime.Runtime
      let id = Option.getOrUndefined(options.thread)
      if (id === undefined) {
        if (!options.last) {
          return yield* new CliError({ detail: "which thread?", hint: "give a thread id, or --last" })
        }
        const list = yield* rt.handleThread({ kind: "list", limit: 1000 })
        const latest = [...list.threads].sort((a, b) => b.updated_at - a.updated_at)[0]
        if (latest === undefined) return yield* new CliError({ detail: "no thread yet", hint: "start one with strata" })
        id = latest.id
      }
      const resumed = yield* rt.handleThread({ kind: "resume", thread_id: id })
      if (resumed.status === "missing") {
        return yield* new CliError({ detail: `no thread ${id}`, hint: "see strata threads list" })
      }
      const history = resumed.data.history ?? []
      const sink = Render.processSink()
      for (const message of history.slice(-6)) {
        const content = message.content.trim()
        if (content !== "") sink.out(Render.dim(sink, `${message.role}: ${content.slice(0, 200)}\n`))
      }
      return id
    })
  ).pipe(
    Effect.flatMap((id) =>
      session({ threadId: id, approval: options.approval, model: options.model, sandbox: options.sandbox })
    )
  )
).pipe(Command.withDescription("Continue a thread interactively: strata resume THREAD, or --last"))
