/**
 * Runs the built `strata` as a child process in a directory, with HOME set
 * to it (no user config applies): what the end-to-end tests of the file
 * tools and the audit log use.
 */
import * as Command from "@effect/platform/Command"
import { NodeContext } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { bin } from "./build.js"

export interface Run {
  readonly stdout: string
  readonly stderr: string
  readonly code: number
}

/** What a run reads on stdin (default nothing) and its HOME (default the run's directory). */
export interface RunOptions {
  readonly stdin?: string | undefined
  readonly home?: string | undefined
}

/** A runner whose environment starts from `defaults` (then HOME = dir, no XDG config, no colour, then `env`). */
export const runner =
  (defaults: Readonly<Record<string, string>>) =>
  (dir: string, args: ReadonlyArray<string>, env: Record<string, string> = {}, options: RunOptions = {}) =>
    Effect.scoped(
      Effect.gen(function* () {
        const proc = yield* Command.make(process.execPath, bin, ...args).pipe(
          Command.workingDirectory(dir),
          Command.env({ ...defaults, HOME: options.home ?? dir, XDG_CONFIG_HOME: "", NO_COLOR: "1", ...env }),
          Command.feed(options.stdin ?? ""),
          Command.start
        )
        const text = (s: Stream.Stream<Uint8Array, unknown>) => s.pipe(Stream.decodeText(), Stream.mkString)
        const [stdout, stderr, code] = yield* Effect.all([text(proc.stdout), text(proc.stderr), proc.exitCode], {
          concurrency: 3
        })
        return { stdout, stderr, code: Number(code) } satisfies Run
      })
    ).pipe(Effect.provide(NodeContext.layer))

/** `strata` with the audit log's variable cleared (the file tools' and audit log's tests). */
export const strata = runner({ STRATA_AUDIT_LOG: "" })

/** `strata` on the built-in demo model (`STRATA_DEMO=1`). */
export const strataDemo = runner({ STRATA_DEMO: "1" })
