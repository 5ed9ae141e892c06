/**
 * Walks the bash syntax tree of a command string and finds every simple
 * command the shell would run, with the words it would run it with, and
 * every construct that forces `ask`. It fails closed: a node type it does not
 * model, an error node, a word the grammar left with a metacharacter in it,
 * all become reasons to ask.
 *
 * The walker is split by the part of bash it reads (see `walker.ts`):
 * `statements.ts`, `commands.ts` (with `wrappers.ts` and `vocabulary.ts`),
 * `testCommand.ts`, `declarations.ts`, `redirections.ts`, `expansions.ts`,
 * `shellGaps.ts`.
 *
 * @internal
 */
import type { Found, Limits, Reason } from "./model.js"
import { Walker } from "./statements.js"
import type { BashSyntax } from "./syntax.js"

/** The high-resolution clock every supported runtime has (not in the ES lib). */
declare const performance: { now(): number }

/** The result of analysing one command string. */
export interface Analysis {
  /** Simple commands, in source order. */
  readonly founds: ReadonlyArray<Found>
  /** Reasons not tied to one simple command (parse errors, function definitions, limits, ...). */
  readonly reasons: ReadonlyArray<Reason>
}

/**
 * Analyses one command string. Never throws on any input: whatever cannot
 * be analysed within the limits becomes a reason.
 */
export const analyze = (syntax: BashSyntax, source: string, limits: Limits): Analysis => {
  const walker = new Walker(syntax, limits, performance.now() + limits.timeBudgetMs)
  walker.source(source, { src: source, pin: undefined, shells: 0 })
  const founds = walker.founds
  // Source order; ties (commands of one nested script) keep discovery order.
  const sorted =
    founds.length < 2
      ? founds
      : founds
          .map((f, i) => [f, i] as const)
          .sort((a, b) => a[0].offset - b[0].offset || a[1] - b[1])
          .map(([f]) => f)
  return { founds: sorted, reasons: walker.reasons }
}
