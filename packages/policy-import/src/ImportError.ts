/**
 * The importers' error: a source file that cannot be read as its format.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * A malformed source file: `file`, `line` (1-based, 0 when unknown),
 * `column`, the `field` at fault (`rule[2].decision`, `permissions.allow[3]`)
 * and what is wrong. Nothing is written when an import fails.
 *
 * @since 0.1.0
 * @category errors
 */
export class ImportError extends Data.TaggedError("ImportError")<{
  readonly reason: "Syntax" | "Invalid" | "Unreadable"
  readonly file: string
  readonly line: number
  readonly column: number
  readonly field: string
  readonly detail: string
}> {
  override get message(): string {
    const at = this.line > 0 ? `${this.file}:${this.line}:${this.column}` : this.file
    return `${at}: ${this.field === "" ? "" : `${this.field}: `}${this.detail}`
  }
}
