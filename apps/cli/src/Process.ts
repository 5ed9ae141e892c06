/**
 * The process side of `strata`, shared by its entries (`main.ts`, the whole
 * command line; `runMain.ts`, the `strata run` fast path): runs a command
 * line with the platform layers. A failure prints one line to stderr, what
 * went wrong and what to do, and exits with code 1 (2 for bad usage);
 * `--verbose` (anywhere on the command line) prints the full cause.
 * SIGINT / SIGTERM interrupt the command (its finalizers run) and exit 130.
 * Log lines (warnings from the runtime, the store, retries) go to stderr,
 * as JSON lines with `--json`: stdout carries only a command's output.
 *
 * @since 0.2.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { CliError } from "./Base.js"
import * as Layers from "./layers.js"
import * as Profile from "./Profile.js"

/**
 * A command line as `@effect/cli`'s `Command.run` makes it.
 *
 * @since 0.2.0
 * @category models
 */
/**
 * Whether an error says that what the command names does not exist, by its
 * tag and reason (never by its text): a thread, a stored record, a job, an
 * MCP server or tool.
 */
const isNotFound = (error: unknown): boolean => {
  if (typeof error !== "object" || error === null || !("_tag" in error)) return false
  const { _tag, reason } = error as { readonly _tag: unknown; readonly reason?: unknown }
  switch (_tag) {
    case "JobNotFound":
      return true
    case "TurnError":
      return reason === "ThreadNotFound"
    case "StorageError":
      return reason === "NotFound"
    case "McpError":
      return reason === "UnknownServer" || reason === "UnknownTool"
    default:
      return false
  }
}

export type CommandLine = (
  argv: ReadonlyArray<string>
) => Effect.Effect<void, unknown, Layer.Layer.Success<typeof Layers.layer>>

/**
 * Runs `run` on `process.argv` as the process's main program.
 *
 * @since 0.2.0
 * @category constructors
 */
export const start = (
  run: CommandLine,
  options: {
    /** Whether a failure is a usage error the parser has already printed (exit code 2, nothing more). */
    readonly isUsageError?: ((error: unknown) => boolean) | undefined
  } = {}
): void => {
  const verbose = process.argv.includes("--verbose")
  const profile = Profile.requested(process.argv, process.env)
    ? Profile.make(performance.timeOrigin, () => performance.now())
    : undefined
  profile?.mark("modules loaded")
  const argv = process.argv.filter((a) => a !== "--verbose" && a !== "--profile-startup")

  const messageOf = (error: unknown): string => {
    if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
      return error.message.split("\n")[0] ?? ""
    }
    return String(error)
  }

  /** A hint for well-known failures (by the error's tag), so the one line says what to do. */
  const hintFor = (error: unknown): string => {
    if (error instanceof CliError) return ""
    const tag = typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : ""
    if (tag === "ConfigError") return " (fix the file, or check it with: strata config validate)"
    if (tag === "RuleFileError") return " (fix the rule file, or check it with: strata policy check --rules FILE -- ls)"
    if (tag.startsWith("Plugin")) return " (check the plugins list in .strata/config.toml: strata plugins list)"
    if (tag === "ThreadBusy") return " (another process is running a turn on this thread: wait for it or stop it)"
    if (tag === "ApprovalTampered") return " (deny it with: strata approvals deny <id>, and ask again)"
    if (tag === "ApprovalKeyError") {
      return (error as { source?: unknown }).source === "STRATA_APPROVAL_KEY"
        ? " (set it to the output of: openssl rand -hex 32, the same on every machine)"
        : " (make it a regular file of yours with mode 600, or remove it for a new key; pending approvals are then asked again)"
    }
    if (isNotFound(error)) {
      const list: Record<string, string> = {
        run: "strata threads list",
        resume: "strata threads list",
        threads: "strata threads list",
        approvals: "strata approvals list",
        jobs: "strata jobs list",
        mcp: "strata mcp list"
      }
      const area = argv.slice(2).find((a) => !a.startsWith("-"))
      const where = area === undefined ? undefined : list[area]
      if (where !== undefined) return ` (see ${where})`
    }
    return " (run again with --verbose for details)"
  }

  /** Calls `k` once what was written to `stream` has been handed over (at once when nothing is pending or it is closed). */
  const flush = (stream: NodeJS.WriteStream, k: () => void) => {
    if (stream.writableEnded || stream.destroyed || stream.writableLength === 0) return k()
    stream.on("error", () => {})
    stream.write("", () => k())
  }

  const command = profile === undefined ? run(argv) : Effect.withTracer(run(argv), profile.tracer)

  const program = command.pipe(
    Effect.catchAllCause((cause) =>
      Effect.sync(() => {
        const failure = Cause.failureOption(cause)
        if (failure._tag === "Some" && options.isUsageError?.(failure.value) === true) {
          // @effect/cli has already printed what was wrong with the arguments.
          process.exitCode = 2
          return
        }
        if (Cause.isInterruptedOnly(cause)) {
          process.exitCode = 130
          return
        }
        const error = failure._tag === "Some" ? failure.value : Cause.squash(cause)
        process.stderr.write(`strata: ${messageOf(error)}${hintFor(error)}\n`)
        if (verbose) process.stderr.write(`${Cause.pretty(cause)}\n`)
        process.exitCode = error instanceof CliError ? (error.code ?? 1) : 1
      })
    ),
    Effect.provide(Layers.layer),
    Effect.provide(
      Logger.replace(
        Logger.defaultLogger,
        argv.includes("--json") ? Logger.withConsoleError(Logger.jsonLogger) : Logger.prettyLogger({ stderr: true })
      )
    )
  )

  NodeRuntime.runMain(program, {
    disableErrorReporting: true,
    disablePrettyLogger: true,
    // Interrupted (Ctrl-C, SIGTERM): 130; otherwise the code the command set
    // (process.exitCode: the process ends by itself, when its event loop is
    // empty). Pending output is flushed first: process.exit would drop what a
    // pipe has not taken yet.
    teardown: (exit, onExit) => {
      const code = Exit.isFailure(exit) ? (Cause.isInterruptedOnly(exit.cause) ? 130 : 1) : 0
      if (code !== 0) process.exitCode = code
      if (profile !== undefined) {
        const usage = typeof process.resourceUsage === "function" ? process.resourceUsage() : undefined
        process.stderr.write(profile.report({ peakRssBytes: usage === undefined ? undefined : usage.maxRSS * 1024 }))
      }
      flush(process.stdout, () =>
        flush(process.stderr, () => {
          // Ended by itself: once the event loop is empty (nothing pending
          // is cut short; the "exit" listeners still run), exit without Node's
          // teardown of the environment and its heap, which no one waits for.
          if (code === 0) process.once("beforeExit", () => process.exit())
          onExit(code)
        })
      )
    }
  })
}
