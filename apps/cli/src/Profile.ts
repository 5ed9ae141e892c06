/**
 * The start-up profile: `strata --profile-startup ...` (or
 * `STRATA_PROFILE_STARTUP=1`) prints to stderr, when the command ends, where
 * the time went since the process started: module loading, then every
 * traced phase (the spans the packages already open: config and model
 * choice, store, plugins, policy, MCP, the turn, the model call), each with
 * its start and duration, and the peak RSS. The profile is an Effect
 * `Tracer` that records spans: nothing is recorded when it is off.
 *
 * @since 0.2.0
 */
import type * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"

/**
 * Whether the profile was asked for on this command line / environment.
 *
 * @since 0.2.0
 * @category utils
 */
export const requested = (argv: ReadonlyArray<string>, env: Readonly<Record<string, string | undefined>>): boolean =>
  argv.includes("--profile-startup") ||
  ((env.STRATA_PROFILE_STARTUP ?? "") !== "" && env.STRATA_PROFILE_STARTUP !== "0")

/**
 * One recorded phase.
 *
 * @since 0.2.0
 * @category models
 */
export interface Phase {
  readonly name: string
  readonly depth: number
  /** ms since the process started */
  readonly start: number
  end: number | undefined
}

/**
 * A recorder: the tracer to run the program with, and the report.
 *
 * @since 0.2.0
 * @category models
 */
export interface Recorder {
  readonly tracer: Tracer.Tracer
  readonly phases: ReadonlyArray<Phase>
  /** Marks a moment (ms since the process started) under a name. */
  readonly mark: (name: string) => void
  readonly report: (options: { readonly peakRssBytes?: number | undefined }) => string
}

let counter = 0
const id = () => (++counter).toString(16).padStart(16, "0")

/**
 * A recorder whose times are relative to `origin` (the epoch ms at which
 * the process started: `performance.timeOrigin`).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (origin: number, now: () => number): Recorder => {
  const phases: Array<Phase> = []
  const marks: Array<{ readonly name: string; readonly at: number }> = []
  const since = (nanos: bigint) => Number(nanos) / 1e6 - origin
  const depthOf = new WeakMap<object, number>()
  const tracer = Tracer.make({
    span(name, parent, context, links, startTime, kind, options) {
      const parentDepth = Option.isSome(parent) ? (depthOf.get(parent.value) ?? 0) : -1
      // The plugin or spec a span is about is part of its name in the report.
      const about = options?.attributes?.plugin ?? options?.attributes?.spec
      const phase: Phase = {
        name: typeof about === "string" ? `${name} ${about}` : name,
        depth: parentDepth + 1,
        start: since(startTime),
        end: undefined
      }
      phases.push(phase)
      const attributes = new Map<string, unknown>()
      const spanLinks = [...links]
      let status: Tracer.SpanStatus = { _tag: "Started", startTime }
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: id(),
        traceId: Option.isSome(parent) ? parent.value.traceId : id(),
        parent,
        context,
        get status() {
          return status
        },
        attributes,
        get links() {
          return spanLinks
        },
        sampled: true,
        kind,
        end(endTime: bigint, exit: Exit.Exit<unknown, unknown>) {
          status = { _tag: "Ended", startTime, endTime, exit }
          phase.end = since(endTime)
        },
        attribute(key, value) {
          attributes.set(key, value)
        },
        event() {},
        addLinks(more) {
          spanLinks.push(...more)
        }
      }
      depthOf.set(span, phase.depth)
      return span
    },
    context: (f) => f()
  })
  const fmt = (ms: number) => ms.toFixed(1).padStart(8)
  return {
    tracer,
    phases,
    mark: (name) => marks.push({ name, at: now() }),
    report: ({ peakRssBytes }) => {
      const lines = ["startup profile (ms since the process started)", "     start  duration  phase"]
      const rows: Array<{ readonly at: number; readonly text: string }> = []
      for (const m of marks) rows.push({ at: m.at, text: `${fmt(m.at)}            ${m.name}` })
      // Each span name once per depth: the first time it started, with the
      // time of that first occurrence (store calls repeat by the dozen).
      const seen = new Map<string, { phase: Phase; count: number; total: number }>()
      for (const p of phases) {
        if (p.depth > 4) continue
        const key = `${p.depth}:${p.name}`
        const entry = seen.get(key)
        const took = p.end === undefined ? 0 : p.end - p.start
        if (entry === undefined) seen.set(key, { phase: p, count: 1, total: took })
        else {
          entry.count++
          entry.total += took
        }
      }
      for (const { phase, count, total } of seen.values()) {
        const took = phase.end === undefined ? "    open" : fmt(phase.end - phase.start)
        const repeat = count > 1 ? `  (x${count}, ${total.toFixed(1)} ms in all)` : ""
        rows.push({
          at: phase.start,
          text: `${fmt(phase.start)}  ${took}  ${"  ".repeat(phase.depth)}${phase.name}${repeat}`
        })
      }
      rows.sort((a, b) => a.at - b.at)
      lines.push(...rows.map((r) => r.text))
      const firstModelCall = phases.find((p) => p.name === "Runtime.modelCall")
      if (firstModelCall !== undefined)
        lines.push(`first request to the model at ${firstModelCall.start.toFixed(1)} ms`)
      lines.push(`ended at ${now().toFixed(1)} ms`)
      if (peakRssBytes !== undefined) lines.push(`peak RSS ${(peakRssBytes / 1024 / 1024).toFixed(1)} MiB`)
      return `${lines.join("\n")}\n`
    }
  }
}
