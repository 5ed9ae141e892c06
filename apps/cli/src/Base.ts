/**
 * What the commands share that needs no command-line parser: the session
 * options from the process, printing a value as JSON or text, the exit
 * code, and user-facing errors. `common.ts` re-exports it with the shared
 * options; the `strata run` fast path (`runMain.ts`) uses it without
 * loading `@effect/cli`.
 *
 * @since 0.2.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as Distribution from "./Distribution.js"

/**
 * The session options of this process: its working directory and
 * environment.
 *
 * @since 0.1.0
 * @category constructors
 */
export const processOptions = (cli?: Record<string, unknown>): Distribution.Options => ({
  cwd: process.cwd(),
  env: process.env,
  ...(cli === undefined ? {} : { cli })
})

/**
 * Prints `value` as JSON (with `--json`) or as the text `render` makes.
 *
 * @since 0.1.0
 * @category utils
 */
export const print = <A>(asJson: boolean, value: A, render: (value: A) => string): Effect.Effect<void> =>
  Effect.sync(() => {
    const text = asJson ? JSON.stringify(value, null, 2) : render(value)
    if (text !== "") process.stdout.write(text.endsWith("\n") ? text : `${text}\n`)
  })

/**
 * Sets the process exit code.
 *
 * @since 0.1.0
 * @category utils
 */
export const exit = (code: number): Effect.Effect<void> =>
  Effect.sync(() => {
    process.exitCode = code
  })

/**
 * A failure written for a person: what went wrong and what to do, on one
 * line; `code` is the exit code (default 1).
 *
 * @since 0.1.0
 * @category errors
 */
export class CliError extends Data.TaggedError("CliError")<{
  readonly detail: string
  readonly hint?: string | undefined
  readonly code?: number | undefined
}> {
  override get message(): string {
    return this.hint === undefined ? this.detail : `${this.detail} (${this.hint})`
  }
}

/**
 * A short relative time (`5m ago`).
 *
 * @since 0.1.0
 * @category utils
 */
export const ago = (timestamp: number, now = Date.now()): string => {
  const s = Math.max(0, Math.round((now - timestamp) / 1000))
  if (s < 60) return `${s}s ago`
  if (s < 3600) return `${Math.round(s / 60)}m ago`
  if (s < 86400) return `${Math.round(s / 3600)}h ago`
  return `${Math.round(s / 86400)}d ago`
}
