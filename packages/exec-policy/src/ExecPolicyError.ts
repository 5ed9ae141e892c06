/**
 * The errors of `@strata/exec-policy`. Deciding a command never fails (what
 * cannot be analysed is `ask`, with the reason); only loading does: a rule
 * file that cannot be read or is wrong, or a grammar that cannot be loaded.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Why a rule file was rejected:
 * - `NotFound`: a file named on the command line (or in `files`) does not exist;
 * - `Unreadable`: it exists but could not be read;
 * - `Syntax`: it is not valid TOML (`line` and `column` point at the error);
 * - `Invalid`: valid TOML with a wrong shape: an unknown key, an unknown
 *   decision, a bad prefix (`rule` names the rule);
 * - `ExampleFailed`: a `match` / `not_match` example of a rule disagrees
 *   with the rule (`rule` names it).
 *
 * @since 0.1.0
 * @category schemas
 */
export const RuleFileErrorReason = Schema.Literal("NotFound", "Unreadable", "Syntax", "Invalid", "ExampleFailed")
/** @since 0.1.0 @category models */
export type RuleFileErrorReason = typeof RuleFileErrorReason.Type

/**
 * A rule file could not be loaded. `file` is the path as given, `line` and
 * `column` (1-based) point at the problem when known, `rule` names the rule
 * (`rule #2 ["git", "push"]`) when the problem is inside one.
 *
 * @since 0.1.0
 * @category errors
 */
export class RuleFileError extends Schema.TaggedError<RuleFileError>("@strata/exec-policy/RuleFileError")(
  "RuleFileError",
  {
    reason: RuleFileErrorReason,
    file: Schema.String,
    line: Schema.optional(Schema.Number),
    column: Schema.optional(Schema.Number),
    rule: Schema.optional(Schema.String),
    detail: Schema.String,
    cause: Schema.optional(Schema.Defect)
  }
) {
  override get message(): string {
    const where =
      this.line === undefined
        ? this.file
        : `${this.file}:${this.line}${this.column === undefined ? "" : `:${this.column}`}`
    const rule = this.rule === undefined ? "" : ` ${this.rule}:`
    return `${where}:${rule} ${this.detail}`
  }
}

/**
 * Why the bash grammar could not be set up:
 * - `GrammarNotFound`: `tree-sitter-bash.wasm` could not be located or read;
 * - `GrammarInvalid`: the bytes are not a loadable grammar (wrong file, ABI).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ParserErrorReason = Schema.Literal("GrammarNotFound", "GrammarInvalid")
/** @since 0.1.0 @category models */
export type ParserErrorReason = typeof ParserErrorReason.Type

/**
 * The bash grammar could not be loaded. `path` is where it was looked for,
 * when it came from a file.
 *
 * @since 0.1.0
 * @category errors
 */
export class ParserError extends Schema.TaggedError<ParserError>("@strata/exec-policy/ParserError")("ParserError", {
  reason: ParserErrorReason,
  path: Schema.optional(Schema.String),
  detail: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return `${this.reason === "GrammarNotFound" ? "Bash grammar not found" : "Bash grammar invalid"}${
      this.path === undefined ? "" : ` (${this.path})`
    }: ${this.detail}`
  }
}
