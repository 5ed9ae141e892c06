/**
 * The `exec` tool: runs a shell command line with bash (`bash --noprofile
 * --norc -c`, non-interactive): through the call's sandbox (`Sandbox.run`, the
 * platform's process API) when it has one, else `@effect/platform`'s `Command`. Bash is
 * the dialect `ExecPolicy` parses: the shell that runs is the shell that was
 * checked, never `/bin/sh` (dash on Debian reads `$'…'` and `&>` differently).
 * `BASH_ENV` and `ENV` are emptied so no start-up file runs.
 *
 * - It is marked with `shellCommand`, so the runtime checks the command
 *   with `ExecPolicy` (allow / ask / deny) before the tool runs.
 * - The process is prepared by the call's sandbox (`ToolContext.sandbox`):
 *   the environment policy (no secrets), the OS sandbox when one runs
 *   (bubblewrap on Linux: no writes outside the workspace, no network) and
 *   containment: when the command exits (or times out), everything it
 *   started ends too, `(sleep 300 &)` and `setsid` included. Without a
 *   sandbox (the tool run on its own), its process group is killed.
 * - stdout and stderr are merged and capped at `maxOutputBytes`; the rest is
 *   drained and counted, and the output ends with a marker saying how much
 *   was dropped.
 * - `workdir` is resolved against the workspace root (the tool context's
 *   `cwd`) and must stay inside it (symlinks included).
 *
 * @since 0.1.0
 */
import * as Command from "@effect/platform/Command"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { define as defineTool } from "@strata/plugin/Tool"
import * as Workspace from "@strata/plugin/Workspace"
import type * as Sandbox from "@strata/sandbox/Sandbox"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

/**
 * Limits of the `exec` tool.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default per-command timeout (default 60 s). */
  readonly timeout: Duration.DurationInput
  /** Largest timeout a call may ask for (default 10 min). */
  readonly maxTimeout: Duration.DurationInput
  /** Output kept per call, in bytes (default 30,000). */
  readonly maxOutputBytes: number
  /**
   * The bash binary (default: the first of `/bin/bash`, `/usr/bin/bash`,
   * `/usr/local/bin/bash`, `/opt/homebrew/bin/bash` that exists). It must be
   * bash: the policy parses bash.
   */
  readonly shell?: string | undefined
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ShellOptions extends Context.Tag("@strata/plugin-shell/ShellOptions")<ShellOptions, Options>() {}

/**
 * The default limits.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: Options = {
  timeout: "60 seconds",
  maxTimeout: "10 minutes",
  maxOutputBytes: 30_000
}

/**
 * Where bash is looked for when `shell` is not set.
 *
 * @since 0.2.0
 * @category utils
 */
export const bashCandidates: ReadonlyArray<string> = [
  "/bin/bash",
  "/usr/bin/bash",
  "/usr/local/bin/bash",
  "/opt/homebrew/bin/bash"
]

/**
 * The bash to run: `configured` when set (it must exist), else the first of
 * {@link bashCandidates}. Fails with `ShellError` `BashMissing` naming where
 * it looked.
 *
 * @since 0.2.0
 * @category utils
 */
export const findBash = Effect.fn("Shell.findBash")(function* (configured?: string | undefined) {
  const fs = yield* FileSystem.FileSystem
  const candidates = configured === undefined ? bashCandidates : [configured]
  for (const candidate of candidates) {
    if (yield* fs.exists(candidate).pipe(Effect.orElseSucceed(() => false))) return candidate
  }
  return yield* new ShellError({
    reason: "BashMissing",
    detail: `bash is required to run commands (the policy checks bash syntax) and was not found at ${candidates.join(", ")}`
  })
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layerOptions = (options: Partial<Options> = {}): Layer.Layer<ShellOptions> =>
  Layer.succeed(ShellOptions, { ...defaults, ...options })

/**
 * The command could not run: `reason` says why (`OutsideWorkspace`,
 * `NoWorkspace`, `SpawnFailed`, `BashMissing`).
 *
 * @since 0.1.0
 * @category errors
 */
export class ShellError extends Data.TaggedError("ShellError")<{
  readonly reason: "OutsideWorkspace" | "NoWorkspace" | "SpawnFailed" | "BashMissing"
  readonly detail: string
}> {
  override get message(): string {
    return `exec: ${this.detail}`
  }
}

/**
 * The marker appended when output was cut.
 *
 * @since 0.1.0
 * @category utils
 */
export const truncationMarker = (dropped: number): string => `\n[output truncated: ${dropped} more bytes not shown]`

/**
 * The directory a command runs in: `workdir` resolved against `root`, which
 * must stay inside `root` once symlinks are resolved (checked with the SDK's
 * `Workspace.isInside`).
 *
 * @since 0.1.0
 * @category utils
 */
export const confine = Effect.fn("Shell.confine")(function* (root: string, workdir: string | undefined) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const realRoot = yield* fs
    .realPath(root)
    .pipe(
      Effect.mapError(() => new ShellError({ reason: "NoWorkspace", detail: `workspace root ${root} does not exist` }))
    )
  const target = path.resolve(realRoot, workdir ?? ".")
  // the root itself (no workdir, or "."): already resolved, one file-system round trip less
  if (target === realRoot) return realRoot
  const real = yield* fs
    .realPath(target)
    .pipe(
      Effect.mapError(
        () => new ShellError({ reason: "OutsideWorkspace", detail: `workdir ${workdir ?? "."} does not exist` })
      )
    )
  // the SDK's containment check (a directory named `..x` is inside; `/w2` is not inside `/w`)
  if (!Workspace.isInside(realRoot, real)) {
    return yield* new ShellError({
      reason: "OutsideWorkspace",
      detail: `workdir ${workdir ?? "."} is outside the workspace ${realRoot}`
    })
  }
  return real
})

/**
 * What a command did. `sandbox_denial` is set when the command failed
 * inside the sandbox with an error the sandbox causes (a read-only file
 * system, no network): the line that shows it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ExecResult = Schema.Struct({
  exit_code: Schema.NullOr(Schema.Number),
  output: Schema.String,
  timed_out: Schema.Boolean,
  truncated: Schema.Boolean,
  sandboxed: Schema.optional(Schema.Boolean),
  sandbox_denial: Schema.optional(Schema.String)
})
/** @since 0.1.0 @category models */
export type ExecResult = typeof ExecResult.Type

/**
 * How long the output of a command that has exited may still be drained
 * (descendants that kept the pipes open are ended first when the call has a
 * sandbox; without one, this bounds the wait).
 */
const DRAIN = Duration.millis(500)

/**
 * Runs one command line in `cwd` with the limits. With a `sandbox` (the
 * call's `ToolContext.sandbox`), the process is prepared by it (environment
 * policy, sandbox, containment) and everything the command started is ended
 * when it exits; without one, the command's process group is killed when it
 * exits. On timeout the whole group is killed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = Effect.fn("Shell.run")(function* (
  command: string,
  cwd: string,
  limits: { readonly timeout: Duration.DurationInput; readonly maxOutputBytes: number; readonly shell: string },
  processes: { readonly sandbox?: Sandbox.Service | undefined; readonly unsandboxed?: boolean | undefined } = {}
) {
  const args = ["--noprofile", "--norc", "-c", command]
  // non-interactive bash sources $BASH_ENV (and sh mode $ENV) before the command
  const quiet = { BASH_ENV: "", ENV: "" }
  const sandbox = processes.sandbox
  if (sandbox?.run !== undefined) {
    // the sandbox's platform runs it: prepared, run to its end, contained, released
    const ran = yield* sandbox
      .run(
        { command: limits.shell, args, cwd, env: quiet, sandboxed: processes.unsandboxed !== true },
        {
          timeoutMs: Duration.toMillis(Duration.decode(limits.timeout)),
          maxOutputBytes: limits.maxOutputBytes,
          drainMs: Duration.toMillis(DRAIN)
        }
      )
      .pipe(Effect.mapError((e) => new ShellError({ reason: "SpawnFailed", detail: e.message })))
    return result(sandbox, limits, {
      exitCode: ran.exitCode,
      bytes: ran.output,
      dropped: ran.dropped,
      timedOut: ran.timedOut,
      sandboxed: ran.sandboxed
    })
  }
  return yield* Effect.scoped(
    Effect.gen(function* () {
      const prepared =
        sandbox === undefined
          ? undefined
          : yield* sandbox
              .prepare({ command: limits.shell, args, cwd, env: quiet, sandboxed: processes.unsandboxed !== true })
              .pipe(Effect.mapError((e) => new ShellError({ reason: "SpawnFailed", detail: e.message })))
      if (prepared !== undefined) yield* Effect.addFinalizer(() => prepared.release)
      const spawn =
        prepared === undefined
          ? Command.make(limits.shell, ...args).pipe(Command.workingDirectory(cwd), Command.env(quiet))
          : Command.make(prepared.command, ...prepared.args).pipe(
              Command.workingDirectory(prepared.cwd),
              Command.env(prepared.env, { extendEnv: false })
            )
      const proc = yield* spawn.pipe(
        Command.feed(""),
        Command.start,
        Effect.mapError((e) => new ShellError({ reason: "SpawnFailed", detail: e.message }))
      )
      const kept: Array<Uint8Array> = []
      let size = 0
      let dropped = 0
      const collector = yield* Stream.merge(proc.stdout, proc.stderr).pipe(
        Stream.runForEach((chunk) =>
          Effect.sync(() => {
            const room = limits.maxOutputBytes - size
            if (room >= chunk.length) {
              kept.push(chunk)
              size += chunk.length
            } else {
              if (room > 0) kept.push(chunk.subarray(0, room))
              size += Math.max(room, 0)
              dropped += chunk.length - Math.max(room, 0)
            }
          })
        ),
        Effect.ignore,
        Effect.forkScoped
      )
      const exit = yield* Effect.timeoutOption(proc.exitCode.pipe(Effect.orElseSucceed(() => null)), limits.timeout)
      // The call ends here: whatever the command started ends with it.
      yield* proc.kill("SIGKILL").pipe(Effect.ignore)
      if (prepared !== undefined) yield* prepared.release
      yield* Fiber.join(collector).pipe(Effect.timeoutOption(DRAIN))
      const bytes = new Uint8Array(size)
      let at = 0
      for (const chunk of kept) {
        bytes.set(chunk, at)
        at += chunk.length
      }
      return result(sandbox, limits, {
        exitCode: Option.isSome(exit) ? (exit.value as number | null) : null,
        bytes,
        dropped,
        timedOut: Option.isNone(exit),
        sandboxed: prepared?.sandboxed
      })
    })
  )
})

/** The tool's result from what the process did. */
const result = (
  sandbox: Sandbox.Service | undefined,
  limits: { readonly timeout: Duration.DurationInput },
  ran: {
    readonly exitCode: number | null
    readonly bytes: Uint8Array
    readonly dropped: number
    readonly timedOut: boolean
    /** `undefined`: no sandbox prepared the process. */
    readonly sandboxed: boolean | undefined
  }
): ExecResult => {
  let output = new TextDecoder().decode(ran.bytes)
  if (ran.dropped > 0) output += truncationMarker(ran.dropped)
  if (ran.timedOut) output += `\n[timed out after ${Duration.format(Duration.decode(limits.timeout))}]`
  const denial =
    ran.sandboxed === true && ran.exitCode !== 0 && sandbox !== undefined ? sandbox.denial(output) : undefined
  return {
    exit_code: ran.exitCode,
    output,
    timed_out: ran.timedOut,
    truncated: ran.dropped > 0,
    ...(ran.sandboxed === undefined ? {} : { sandboxed: ran.sandboxed }),
    ...(denial === undefined ? {} : { sandbox_denial: denial })
  }
}

/**
 * The `exec` tool (exposed as `shell__exec`).
 *
 * @since 0.1.0
 * @category tools
 */
export const Exec = defineTool({
  name: "exec",
  description:
    "Run a bash command line in the workspace (bash -c, non-interactive). Returns the exit code and the combined stdout/stderr (capped). Commands are checked by the execution policy; some need a person's approval.",
  input: Schema.Struct({
    command: Schema.String.pipe(Schema.minLength(1)).annotations({ description: "The shell command line to run" }),
    workdir: Schema.optional(
      Schema.String.annotations({ description: "Directory to run in, relative to the workspace root (default: root)" })
    ),
    timeout_ms: Schema.optional(
      Schema.Number.pipe(Schema.int(), Schema.positive()).annotations({ description: "Time limit in milliseconds" })
    )
  }),
  output: ExecResult,
  shellCommand: (input) => input.command,
  shellWorkdir: (input) => input.workdir,
  run: (input, context) =>
    Effect.gen(function* () {
      const options = yield* ShellOptions
      if (context.cwd === undefined) {
        return yield* new ShellError({ reason: "NoWorkspace", detail: "no workspace root (the call has no cwd)" })
      }
      const dir = yield* confine(context.cwd, input.workdir)
      const max = Duration.toMillis(Duration.decode(options.maxTimeout))
      const timeout = input.timeout_ms === undefined ? options.timeout : Math.min(input.timeout_ms, max)
      const shell = yield* findBash(options.shell)
      return yield* run(
        input.command,
        dir,
        { ...options, shell, timeout },
        { sandbox: context.sandbox, unsandboxed: context.unsandboxed }
      )
    })
})

/**
 * What the tool needs from the platform.
 *
 * @since 0.1.0
 * @category models
 */
export type Platform = CommandExecutor.CommandExecutor | FileSystem.FileSystem | Path.Path
