/**
 * Path confinement: every path a file tool touches is resolved against the
 * workspace root (the tool context's `cwd`) and must stay inside it.
 * `..` escapes, absolute paths outside the root and symlinks pointing out of
 * it are refused with a `FsToolError` naming the path.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"

/**
 * A file tool failed; `reason` says why and `message` is written for the
 * model (one line, naming the path).
 *
 * @since 0.1.0
 * @category errors
 */
export class FsToolError extends Data.TaggedError("FsToolError")<{
  readonly reason:
    | "OutsideWorkspace"
    | "NoWorkspace"
    | "NotFound"
    | "NotAFile"
    | "NotUnique"
    | "NoMatch"
    | "InvalidPatch"
    | "InvalidPattern"
    | "IoError"
  readonly path?: string | undefined
  readonly detail: string
}> {
  override get message(): string {
    return this.detail
  }
}

/**
 * A path inside the workspace: `absolute` (symlinks of its existing part
 * resolved) and `relative` to the root (for display).
 *
 * @since 0.1.0
 * @category models
 */
export interface Resolved {
  readonly root: string
  readonly absolute: string
  readonly relative: string
}

const inside = (path: Path.Path, root: string, target: string) => {
  const rel = path.relative(root, target)
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel))
}

/**
 * Resolves `input` against `root`, refusing anything outside it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolve = Effect.fn("Workspace.resolve")(function* (root: string | undefined, input: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  if (root === undefined) return yield* new FsToolError({ reason: "NoWorkspace", detail: "no workspace root" })
  const realRoot = yield* fs
    .realPath(root)
    .pipe(
      Effect.mapError(() => new FsToolError({ reason: "NoWorkspace", detail: `workspace root ${root} does not exist` }))
    )
  const refuse = () =>
    new FsToolError({
      reason: "OutsideWorkspace",
      path: input,
      detail: `${input} is outside the workspace (${realRoot}); use a path inside it`
    })
  const lexical = path.resolve(realRoot, input)
  if (!inside(path, realRoot, lexical)) return yield* refuse()
  // Resolve symlinks on the longest existing prefix; the rest does not exist yet.
  let existing = lexical
  const rest: Array<string> = []
  while (!(yield* fs.exists(existing).pipe(Effect.orElseSucceed(() => false)))) {
    // A dangling symlink would be written through to wherever it points.
    const link = yield* fs.readLink(existing).pipe(Effect.option)
    if (link._tag === "Some") return yield* refuse()
    rest.unshift(path.basename(existing))
    const parent = path.dirname(existing)
    if (parent === existing) break
    existing = parent
  }
  const real = yield* fs.realPath(existing).pipe(Effect.orElseSucceed(() => existing))
  const absolute = rest.length === 0 ? real : path.join(real, ...rest)
  if (!inside(path, realRoot, absolute)) return yield* refuse()
  return { root: realRoot, absolute, relative: path.relative(realRoot, absolute) || "." } satisfies Resolved
})
