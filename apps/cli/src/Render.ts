/**
 * How a session's events look in the terminal: the answer streamed as it
 * arrives, each tool call on its own line as it runs (`⏺ name(args)`) with
 * its result below (`⎿ ...`), approvals and errors; or, with `--json`, every
 * event frame as one JSON line.
 *
 * @since 0.1.0
 */
import { Decision } from "@strata/exec-policy"
import type { EventFrame } from "@strata/protocol/Event"
import * as Effect from "effect/Effect"

/**
 * Where output goes (stdout and stderr; injectable for tests).
 *
 * @since 0.1.0
 * @category models
 */
export interface Sink {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
  readonly color: boolean
}

/**
 * The process's stdout and stderr; colors when stdout is a terminal and
 * `NO_COLOR` is unset.
 *
 * @since 0.1.0
 * @category constructors
 */
export const processSink = (): Sink => ({
  out: (text) => {
    process.stdout.write(text)
  },
  err: (text) => {
    process.stderr.write(text)
  },
  color: process.stdout.isTTY === true && (process.env.NO_COLOR ?? "") === ""
})

const paint = (sink: Sink, code: string, text: string) => (sink.color ? `\x1b[${code}m${text}\x1b[0m` : text)

/**
 * Dim text (when colors are on).
 *
 * @since 0.1.0
 * @category utils
 */
export const dim = (sink: Sink, text: string): string => paint(sink, "2", text)
/**
 * Bold text (when colors are on).
 *
 * @since 0.1.0
 * @category utils
 */
export const bold = (sink: Sink, text: string): string => paint(sink, "1", text)

const oneLine = (text: string, max = 100) => {
  // Control characters (\r, ANSI escapes, bidi overrides) are shown, never acted on by the terminal.
  const line = Decision.escapeControls(text.replace(/[\t\n ]+/g, " ")).trim()
  return line.length > max ? `${line.slice(0, max - 1)}…` : line
}

/**
 * A tool call's arguments in one short line (`ls`, `src/a.ts`, or JSON).
 *
 * @since 0.1.0
 * @category utils
 */
export const describeArguments = (args: unknown): string => {
  if (typeof args === "object" && args !== null) {
    const record = args as Record<string, unknown>
    for (const key of ["command", "path", "pattern"]) {
      if (typeof record[key] === "string") return oneLine(record[key] as string)
    }
  }
  return oneLine(JSON.stringify(args) ?? "")
}

const summarizeOutput = (text: string) => {
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>
    if (typeof parsed.output === "string") {
      const lines = parsed.output.split("\n").filter((l) => l !== "")
      const code = parsed.exit_code === undefined ? "" : `exit ${String(parsed.exit_code)}, `
      return `${code}${lines.length} line${lines.length === 1 ? "" : "s"}${lines[0] === undefined ? "" : `: ${oneLine(lines[0], 70)}`}`
    }
  } catch {
    // not JSON: plain text output
  }
  const lines = text.split("\n").filter((l) => l !== "")
  return lines.length <= 1 ? oneLine(text, 90) : `${lines.length} lines: ${oneLine(lines[0]!, 70)}`
}

/**
 * A text renderer: returns `onFrame` for `Session.runTurn`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const text = (sink: Sink): ((frame: EventFrame) => Effect.Effect<void>) => {
  let midLine = false
  const line = (s: string) => {
    if (midLine) sink.out("\n")
    midLine = false
    sink.out(`${s}\n`)
  }
  return (frame) =>
    Effect.sync(() => {
      switch (frame.event) {
        case "response_delta":
          if (frame.channel === "reasoning") return
          sink.out(frame.delta)
          midLine = !frame.delta.endsWith("\n")
          return
        case "response_retry":
          // What streamed of the broken attempt is on screen already: say it is discarded.
          line(
            dim(
              sink,
              `(the model's answer broke off: ${oneLine(frame.message, 120)}; discarded, asking again, attempt ${frame.attempt} of ${frame.max_attempts})`
            )
          )
          return
        case "tool_call_start":
          line(`${bold(sink, "⏺")} ${frame.tool_name}(${describeArguments(frame.arguments)})`)
          return
        case "tool_call_result": {
          const r = frame.result
          const body =
            r.status === "completed"
              ? summarizeOutput(r.output.content.map((c) => ("text" in c ? c.text : "")).join(""))
              : r.status === "failed"
                ? `failed: ${oneLine(r.error)}`
                : r.status === "denied"
                  ? `denied: ${oneLine(r.reason)}`
                  : `needs approval: ${oneLine(r.reason)}`
          line(dim(sink, `  ⎿ ${body}`))
          return
        }
        case "error":
          if (frame.code === "tool_denied") return
          line(`${paint(sink, "31", "error")}: ${oneLine(frame.message, 200)}`)
          return
        case "turn_ended":
          if (midLine) sink.out("\n")
          midLine = false
          if (frame.outcome !== "completed" && frame.outcome !== "awaiting_approval") {
            line(dim(sink, `(turn ${frame.outcome}${frame.reason === undefined ? "" : `: ${frame.reason}`})`))
          }
          return
        default:
          return
      }
    })
}

/**
 * A JSON-lines renderer: each frame as one line on stdout.
 *
 * @since 0.1.0
 * @category constructors
 */
export const json =
  (sink: Sink): ((frame: EventFrame) => Effect.Effect<void>) =>
  (frame) =>
    Effect.sync(() => sink.out(`${JSON.stringify(frame)}\n`))
