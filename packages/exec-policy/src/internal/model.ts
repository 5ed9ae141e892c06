/**
 * Shared internal shapes of the analysis: tokens, forced-ask reasons and the
 * simple commands found in a command string.
 *
 * @internal
 */

/**
 * One argv word after quote removal. `value` is the literal word; it is
 * `undefined` when bash would compute the word at run time (a variable, a
 * substitution, a glob, a brace expansion), and `why` says which.
 */
export interface Tok {
  readonly value: string | undefined
  /** The word as written. */
  readonly text: string
  /** For an unquoted glob: a regular expression source of what it can match. */
  readonly pattern: string | undefined
  readonly why: string | undefined
}

/** The closed set of reasons that force at least `ask`. */
export type ReasonCode =
  | "empty"
  | "parse-error"
  | "too-large"
  | "too-deep"
  | "time-budget"
  | "unmodeled"
  | "dynamic-command"
  | "eval"
  | "dangerous-env"
  | "function-definition"
  | "arithmetic-variable"
  | "unsafe-expansion"
  | "output-redirection"
  | "heredoc-to-shell"
  | "shell-stdin"
  | "dynamic-script"
  | "wrapper-option"
  | "dynamic-argument"
  | "startup-file"
  | "protected-path"
  | "dialect"

/** A reason that forces `ask`, at an offset of the top-level command string. */
export interface Reason {
  readonly code: ReasonCode
  readonly message: string
  readonly offset: number
}

/** A simple command the shell would run, after unwrapping wrappers. */
export interface Found {
  argv: ReadonlyArray<Tok>
  /** Source text of the simple command (inside a `bash -c` script: the script's text). */
  readonly text: string
  /** Offset in the top-level command string (for a nested script: the outer command's). */
  readonly offset: number
  via: Array<string>
  /** The argv of each wrapper around the command, outermost first; a rule may match them too. */
  wrappers: Array<ReadonlyArray<Tok>>
  /** Targets of output redirections into files that belong to this command. */
  readonly outputs: Array<string>
  /** Every file a redirection of this command opens (read or write), for the protected-path check. */
  readonly targets: Array<Tok>
  readonly reasons: Array<Reason>
  /** A declaration builtin (`export`, `declare`, ...): decided by a rule if one matches, else allowed. */
  readonly transparent: boolean
  /** The command is, or runs inside, a shell reading code (a here-document fed to it is code). */
  shell: boolean
}

/** Limits that keep a decision bounded in time and memory. */
export interface Limits {
  /** Longer input is refused (`ask`) without parsing. */
  readonly maxInputLength: number
  /** Deeper syntax nesting is refused (`ask`). */
  readonly maxDepth: number
  /** Deeper `bash -c` nesting is refused (`ask`). */
  readonly maxShellDepth: number
  /** Wall-clock budget for one decision, in milliseconds; past it the decision is `ask`. */
  readonly timeBudgetMs: number
}

/** @internal */
export const defaultLimits: Limits = {
  maxInputLength: 32_768,
  maxDepth: 200,
  maxShellDepth: 8,
  timeBudgetMs: 100
}
