/**
 * @internal
 *
 * Runs a prepared process to its end with `node:child_process` directly
 * (Node-only: imported from `@strata/sandbox/node` alone). The shell tool ran
 * its commands through `@effect/platform`'s `Command`, whose streams, timers
 * and errors cost about 7 ms of CPU a command; this does the same work with
 * the process's own events:
 *
 * - stdin is empty (`/dev/null`), stdout and stderr are merged in arrival
 *   order and capped at `maxOutputBytes` (the rest counted);
 * - the process leads its own process group; when it exits or times out,
 *   the group is killed (SIGKILL) and the containment released (`release`:
 *   the cgroup killed, the tagged processes ended), then the output is read
 *   for at most `drainMs` more;
 * - interrupted (the call cancelled), the group is killed and the
 *   containment released all the same.
 */
import { Buffer } from "node:buffer"
import { type ChildProcess, spawn } from "node:child_process"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Sandbox from "../Sandbox.js"

interface Running {
  readonly child: ChildProcess
  readonly kept: Array<Buffer>
  size: number
  dropped: number
  exit: { readonly code: number | null } | undefined
  error: Error | undefined
  /** Streams (stdout, stderr) not yet closed. */
  open: number
  onExit: (() => void) | undefined
  onClosed: (() => void) | undefined
}

const killGroup = (running: Running) => {
  const pid = running.child.pid
  if (pid === undefined) return
  try {
    process.kill(-pid, "SIGKILL")
  } catch {
    // the group is gone: the process is reaped and had no descendants left
    try {
      running.child.kill("SIGKILL")
    } catch {
      // gone
    }
  }
}

const start = (prepared: Sandbox.Prepared, maxOutputBytes: number): Running => {
  const child = spawn(prepared.command, [...prepared.args], {
    cwd: prepared.cwd,
    env: prepared.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: process.platform !== "win32"
  })
  const running: Running = {
    child,
    kept: [],
    size: 0,
    dropped: 0,
    exit: undefined,
    error: undefined,
    open: 2,
    onExit: undefined,
    onClosed: undefined
  }
  const collect = (chunk: Buffer) => {
    const room = maxOutputBytes - running.size
    if (room >= chunk.length) {
      running.kept.push(chunk)
      running.size += chunk.length
    } else {
      if (room > 0) running.kept.push(chunk.subarray(0, room))
      running.size += Math.max(room, 0)
      running.dropped += chunk.length - Math.max(room, 0)
    }
  }
  const closed = () => {
    running.open--
    if (running.open === 0) running.onClosed?.()
  }
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) {
      running.open--
      continue
    }
    stream.on("data", collect)
    stream.on("close", closed)
    stream.on("error", () => {})
  }
  child.on("error", (error) => {
    running.error = error
    running.onExit?.()
  })
  child.on("exit", (code) => {
    running.exit = { code }
    running.onExit?.()
  })
  return running
}

/** Resolves when the process has exited (or failed to start). */
const exited = (running: Running): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (running.exit !== undefined || running.error !== undefined) return resume(Effect.void)
    running.onExit = () => resume(Effect.void)
  })

/** Resolves when stdout and stderr are both closed. */
const drained = (running: Running): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (running.open <= 0) return resume(Effect.void)
    running.onClosed = () => resume(Effect.void)
  })

/**
 * Runs `prepared` to its end; `release` (the call's containment) runs
 * whatever happens.
 */
export const runPrepared = (
  prepared: Sandbox.Prepared,
  options: Sandbox.RunOptions
): Effect.Effect<Sandbox.RunResult, Sandbox.SandboxError> =>
  Effect.acquireUseRelease(
    Effect.try({
      try: () => start(prepared, options.maxOutputBytes),
      catch: (e) =>
        new Sandbox.SandboxError({
          reason: "SpawnFailed",
          detail: `cannot start ${prepared.command}: ${e instanceof Error ? e.message : String(e)}`,
          cause: e
        })
    }).pipe(Effect.tapError(() => prepared.release)),
    (running) =>
      Effect.gen(function* () {
        const inTime = yield* Effect.timeoutOption(exited(running), options.timeoutMs)
        if (running.error !== undefined) {
          return yield* new Sandbox.SandboxError({
            reason: "SpawnFailed",
            detail: `cannot start ${prepared.command}: ${running.error.message}`,
            cause: running.error
          })
        }
        // The call ends here: whatever the command started ends with it.
        killGroup(running)
        yield* prepared.release
        yield* Effect.timeoutOption(drained(running), options.drainMs)
        const timedOut = Option.isNone(inTime)
        return {
          exitCode: timedOut ? null : (running.exit?.code ?? null),
          output: Buffer.concat(running.kept, running.size),
          dropped: running.dropped,
          timedOut,
          sandboxed: prepared.sandboxed
        }
      }),
    (running) =>
      Effect.suspend(() => {
        // interrupted before the exit: the group is killed; in every case the containment is released
        if (running.exit === undefined && running.error === undefined) killGroup(running)
        running.child.stdout?.destroy()
        running.child.stderr?.destroy()
        return prepared.release
      })
  )
