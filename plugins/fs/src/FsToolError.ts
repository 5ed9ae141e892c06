/**
 * The errors of the file tools that are not about reaching a file (those
 * are `WorkspaceError`s of `@strata/plugin/Workspace`).
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * A file tool refused its input; `reason` says why and `message` is written
 * for the model (one line, naming the path or pattern):
 * - `NotUnique` / `NoMatch`: `edit`'s `old_string`;
 * - `InvalidPatch`: `apply_patch`'s diff (line, hunk or file named);
 * - `InvalidPattern`: a `grep` regular expression or `glob` pattern the
 *   linear-time engine cannot run (backreferences, lookahead) or cannot
 *   parse;
 * - `AlreadyExists`: a patch creates a file that exists.
 *
 * @since 0.1.0
 * @category errors
 */
export class FsToolError extends Data.TaggedError("FsToolError")<{
  readonly reason: "NotUnique" | "NoMatch" | "InvalidPatch" | "InvalidPattern" | "AlreadyExists"
  readonly path?: string | undefined
  readonly detail: string
}> {
  override get message(): string {
    return this.detail
  }
}
