/**
 * The base of the analysis walker: its state (the simple commands found,
 * the reasons, the time budget) and the primitives every part of the walk
 * uses.
 *
 * The walker is one recursive descent over the bash syntax tree, split by
 * the part of the language it reads, as a chain of classes (the way Babel's
 * parser splits its one parser class): `WalkerCore` → `ShellGaps` (where
 * the grammar and bash read a command differently) → `ExpansionWalker`
 * (words, expansions, arithmetic) → `RedirectionWalker` →
 * `DeclarationWalker` (assignments, `declare`, `unset`) → `TestWalker`
 * (`[`, `[[`) → `CommandWalker` (simple commands, wrappers, `bash -c`) →
 * `Walker` (sources and statements, in `statements.ts`). A part calls a
 * later part only through the three abstract entries below.
 *
 * @internal
 */
import type { Found, Limits, Reason, ReasonCode, Tok } from "./model.js"
import type { BashSyntax, SyntaxNode } from "./syntax.js"

/** The high-resolution clock every supported runtime has (not in the ES lib). */
declare const performance: { now(): number }

/** Where the walk is: the source text its nodes point into. */
export interface Scope {
  readonly src: string
  /** For a nested `bash -c` script: the outer command's offset, used for every position inside. */
  readonly pin: number | undefined
  readonly shells: number
}

// ---------------------------------------------------------------------------
// The walker's state and primitives

export abstract class WalkerCore {
  readonly founds: Array<Found> = []
  readonly reasons: Array<Reason> = []
  private ticks = 0
  /** Inside double quotes (or an unquoted here-document body): single quotes in `${x:-…}` do not quote. */
  protected dq = 0
  private stopped = false
  protected deepReported = false

  constructor(
    protected readonly syntax: BashSyntax,
    protected readonly limits: Limits,
    protected readonly deadline: number
  ) {}

  /** Parses and walks one source (the top-level command, or a `bash -c` script): `statements.ts`. */
  abstract source(src: string, sc: Scope): void

  /** Walks a statement; returns the simple commands a redirection after it belongs to: `statements.ts`. */
  protected abstract stmt(n: SyntaxNode, sc: Scope, d: number): Array<Found>

  /** Applies a redirection to the commands it belongs to: `redirections.ts`. */
  protected abstract redirect(r: SyntaxNode, owners: ReadonlyArray<Found>, sc: Scope, d: number): void

  protected off(sc: Scope, n: SyntaxNode | number): number {
    return sc.pin ?? (typeof n === "number" ? n : n.start)
  }

  protected text(sc: Scope, n: SyntaxNode): string {
    return sc.src.slice(n.start, n.end)
  }

  protected reason(code: ReasonCode, message: string, offset: number, sink?: Array<Reason>): void {
    ;(sink ?? this.reasons).push({ code, message, offset })
  }

  protected tick(): boolean {
    if (this.stopped) return false
    if ((++this.ticks & 63) === 0 && performance.now() > this.deadline) {
      this.stopped = true
      this.reason("time-budget", `analysis passed its time budget of ${this.limits.timeBudgetMs} ms`, 0)
      return false
    }
    return true
  }

  protected found(
    argv: ReadonlyArray<Tok>,
    text: string,
    offset: number,
    via: ReadonlyArray<string>,
    wrappers: ReadonlyArray<ReadonlyArray<Tok>>,
    reasons: ReadonlyArray<Reason>,
    flags?: { transparent?: boolean; shell?: boolean }
  ): Found {
    const f: Found = {
      argv,
      text,
      offset,
      via: [...via],
      wrappers: [...wrappers],
      outputs: [],
      targets: [],
      reasons: [...reasons],
      transparent: flags?.transparent ?? false,
      shell: flags?.shell ?? false
    }
    this.founds.push(f)
    return f
  }
}
