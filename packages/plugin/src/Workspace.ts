/**
 * Workspace helpers for plugin authors: everything a tool needs to touch
 * files the model names as safely as `@strata/plugin-fs` does.
 *
 * - Lexical checks, pure and portable: {@link confine} (a path stays under
 *   the workspace root, `..` folded), {@link checkName} (no newline or
 *   control character in a name), {@link printable} (a name made safe to print
 *   on one line of tool output).
 * - The {@link Workspace} port: reads, writes, deletes and walks that are
 *   safe against a model racing the tool (it can create symlinks and hard
 *   links anywhere in the workspace at any moment). The host provides it to
 *   every plugin (`Plugin.HostPlatform`): a tool requires it and the plugin
 *   ships no layer for it. Its implementation for Node, Bun and Deno is
 *   `@strata/plugin/NodeWorkspace`, which states its guarantee per
 *   operating system.
 * - {@link policyOf}: the access policy of a tool call (the runtime's
 *   protected paths, whether a person approved the call).
 *
 * ```ts
 * import { defineTool } from "@strata/plugin"
 * import * as Workspace from "@strata/plugin/Workspace"
 *
 * const Save = defineTool({
 *   name: "save",
 *   description: "Save a note",
 *   input: Schema.Struct({ path: Schema.String.annotations({ description: "Where, in the workspace" }) }),
 *   output: Schema.String,
 *   fileAccess: (input) => [{ path: input.path, access: "write" }],
 *   run: (input, context) =>
 *     Effect.flatMap(Workspace.Workspace, (ws) =>
 *       ws.writeFile(context.cwd, input.path, "hello\n", Workspace.policyOf(context))
 *     ).pipe(Effect.map((written) => `wrote ${Workspace.printable(written.relative)}`))
 * })
 * ```
 *
 * Paths are POSIX paths (`/`-separated).
 *
 * @since 0.2.0
 */
import * as Common from "@strata/protocol/Common"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { ToolContext } from "./Tool.js"

/**
 * Why a workspace operation was refused or failed:
 * - `NoWorkspace`: no root (the call has no `cwd`) or the root is missing;
 * - `OutsideWorkspace`: the path, or a symlink on the way, leads outside;
 * - `InvalidName`: a newline, control character or other unsafe character;
 * - `NotFound`, `NotAFile`, `NotADirectory`, `IsADirectory`;
 * - `HardLinked`: the file has more than one hard link (another name,
 *   possibly outside the workspace, shares its content);
 * - `Protected`: the real path is one of the runtime's protected paths and
 *   no person approved touching it (`pattern` names the rule);
 * - `SymlinkLoop`: too many symlinks to resolve;
 * - `Changed`: the file system changed under the operation in a way that
 *   would have let it land elsewhere (a race); nothing outside was touched;
 * - `TooLarge`: over the caller's size limit;
 * - `IoError`: anything else the operating system said.
 *
 * @since 0.2.0
 * @category models
 */
export type WorkspaceErrorReason =
  | "NoWorkspace"
  | "OutsideWorkspace"
  | "InvalidName"
  | "NotFound"
  | "NotAFile"
  | "NotADirectory"
  | "IsADirectory"
  | "HardLinked"
  | "Protected"
  | "SymlinkLoop"
  | "Changed"
  | "TooLarge"
  | "IoError"

/**
 * A workspace operation failed. `path` is the path as the caller named it;
 * `real` the real path when it was known; `pattern` the protected-path rule
 * for `Protected`. `message` is one line written for the model.
 *
 * @since 0.2.0
 * @category errors
 */
export class WorkspaceError extends Data.TaggedError("WorkspaceError")<{
  readonly reason: WorkspaceErrorReason
  readonly path: string
  readonly detail: string
  readonly real?: string | undefined
  readonly pattern?: string | undefined
  readonly cause?: unknown
}> {
  override get message(): string {
    return this.detail
  }
}

// C0 controls, DEL, C1 controls, the Unicode line and paragraph separators
// (they end a line in many readers) and the bidirectional formatting
// characters (they make a name display as another one).
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u

/**
 * The first unsafe character of a name or path (a newline, a control
 * character, a line separator, a bidirectional override), or `undefined`.
 *
 * @since 0.2.0
 * @category utils
 */
export const unsafeCharacter = (name: string): { readonly index: number; readonly code: number } | undefined => {
  const match = UNSAFE.exec(name)
  return match === null ? undefined : { index: match.index, code: match[0]!.codePointAt(0)! }
}

const hex = (code: number) => `U+${code.toString(16).toUpperCase().padStart(4, "0")}`

/**
 * Checks that a path names nothing unsafe: `Left` is an `InvalidName` error
 * naming the character and where it is.
 *
 * @since 0.2.0
 * @category utils
 */
export const checkName = (path: string): Either.Either<string, WorkspaceError> => {
  const bad = unsafeCharacter(path)
  if (bad === undefined) return Either.right(path)
  return Either.left(
    new WorkspaceError({
      reason: "InvalidName",
      path,
      detail: `${printable(path)}: names with newlines or control characters are refused (${hex(bad.code)} at character ${bad.index + 1})`
    })
  )
}

/**
 * A name made safe to print on one line: unchanged when it has no unsafe
 * character, else a JSON string literal (`"a\nb"`, `"\u202e"`), so it can
 * never start a fake line of output or hide its real spelling.
 *
 * @since 0.2.0
 * @category utils
 */
export const printable = (name: string): string => {
  if (unsafeCharacter(name) === undefined) return name
  return JSON.stringify(name).replace(
    /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu,
    (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`
  )
}

/**
 * Folds `.`, `..` and repeated `/` of an absolute POSIX path; `undefined`
 * when `path` is not absolute.
 *
 * @since 0.2.0
 * @category utils
 */
export const normalize: (path: string) => string | undefined = Common.normalizeAbsolutePath

/**
 * Whether the absolute, normalized `path` is `root` or lies under it.
 *
 * @since 0.2.0
 * @category utils
 */
export const isInside = (root: string, path: string): boolean =>
  path === root || root === "/" || path.startsWith(`${root}/`)

/**
 * A path confined to a workspace, lexically: `segments` from the root
 * (empty for the root itself), `relative` for display (`.` for the root).
 *
 * @since 0.2.0
 * @category models
 */
export interface Confined {
  readonly root: string
  readonly segments: ReadonlyArray<string>
  readonly relative: string
  /** `root` joined with `relative`: the absolute path as named. */
  readonly absolute: string
}

/**
 * Confines `input` (relative to `root`, or absolute) to the workspace,
 * lexically: `..` is folded first, and a path that leaves the root is an
 * `OutsideWorkspace` error; a path with an unsafe character is
 * `InvalidName`. Symlinks are not looked at: the {@link Workspace}
 * operations resolve them safely.
 *
 * @since 0.2.0
 * @category constructors
 */
export const confine = (root: string | undefined, input: string): Either.Either<Confined, WorkspaceError> => {
  if (root === undefined || normalize(root) === undefined) {
    return Either.left(
      new WorkspaceError({
        reason: "NoWorkspace",
        path: input,
        detail: `${printable(input)}: no workspace root (the call has no absolute working directory)`
      })
    )
  }
  const named = checkName(input)
  if (Either.isLeft(named)) return Either.left(named.left)
  if (input === "") {
    return Either.left(new WorkspaceError({ reason: "NotFound", path: input, detail: "empty path" }))
  }
  const base = normalize(root)!
  const absolute = normalize(input.startsWith("/") ? input : `${base}/${input}`)!
  if (!isInside(base, absolute)) {
    return Either.left(
      new WorkspaceError({
        reason: "OutsideWorkspace",
        path: input,
        detail: `${input} is outside the workspace (${base}); use a path inside it`
      })
    )
  }
  const relative = absolute === base ? "" : absolute.slice(base === "/" ? 1 : base.length + 1)
  return Either.right({
    root: base,
    segments: relative === "" ? [] : relative.split("/"),
    relative: relative === "" ? "." : relative,
    absolute
  })
}

/**
 * What a caller allows an operation: hard-linked files (refused unless
 * `allowHardlinks`), and the runtime's protected paths (`protectedPath`
 * returns the covering pattern, as {@link ToolContext.protectedPath}).
 *
 * The rule for a protected real path: a write is allowed only when the call
 * was `approved` by a person and the path as named is itself protected (so
 * the person saw it); a read only when the path as named is protected (the
 * runtime decided about it before the call). A symlink or a renamed
 * directory never leads a tool onto a protected path the runtime did not see.
 *
 * @since 0.2.0
 * @category models
 */
export interface AccessPolicy {
  readonly allowHardlinks?: boolean | undefined
  readonly protectedPath?: ((absolutePath: string) => string | undefined) | undefined
  readonly approved?: boolean | undefined
}

/**
 * The access policy of a tool call: its context's protected paths and
 * approval, plus the caller's own settings.
 *
 * @since 0.2.0
 * @category constructors
 */
export const policyOf = (context: ToolContext, options: { readonly allowHardlinks?: boolean } = {}): AccessPolicy => ({
  protectedPath: context.protectedPath,
  approved: context.approved,
  allowHardlinks: options.allowHardlinks
})

/**
 * The protected-path rule that refuses touching `real` (reached through the
 * path as named, `named`), or `undefined` when it is allowed. `root` and
 * `realRoot` are the workspace root as given and as resolved: the real path
 * is checked under both spellings, so a root reached through a symlink
 * (`/tmp` on macOS) cannot hide a protected path.
 *
 * @since 0.2.0
 * @category utils
 */
export const protectedBy = (
  policy: AccessPolicy,
  access: "read" | "write",
  paths: {
    readonly root: string
    readonly realRoot: string
    readonly named: string
    readonly real: string
  }
): string | undefined => {
  const check = policy.protectedPath
  if (check === undefined) return undefined
  const spellings = [paths.real]
  if (paths.root !== paths.realRoot && isInside(paths.realRoot, paths.real)) {
    spellings.push(`${paths.root}${paths.real.slice(paths.realRoot.length)}`)
  }
  const pattern = spellings.map(check).find((p) => p !== undefined)
  if (pattern === undefined) return undefined
  const namedProtected = check(paths.named) !== undefined
  if (access === "read") return namedProtected ? undefined : pattern
  return namedProtected && policy.approved === true ? undefined : pattern
}

/**
 * A file read: its bytes, and where it was (real path, path relative to the
 * workspace's real root).
 *
 * @since 0.2.0
 * @category models
 */
export interface FileRead {
  readonly bytes: Uint8Array
  readonly real: string
  readonly relative: string
}

/**
 * A file written or removed: its real path, relative path, and whether it
 * was created (did not exist before).
 *
 * @since 0.2.0
 * @category models
 */
export interface FileWritten {
  readonly real: string
  readonly relative: string
  readonly created: boolean
}

/**
 * What a path is, without following a final symlink.
 *
 * @since 0.2.0
 * @category models
 */
export interface EntryInfo {
  readonly real: string
  readonly relative: string
  readonly type: "file" | "directory" | "symlink" | "other"
  readonly size: number
  readonly links: number
}

/**
 * Options of reads: a size limit (`TooLarge` beyond it).
 *
 * @since 0.2.0
 * @category models
 */
export interface ReadOptions extends AccessPolicy {
  readonly maxBytes?: number | undefined
}

/**
 * Options of writes: create missing parent directories (default true), and
 * sync the data to disk before the file replaces the old one (default true).
 *
 * @since 0.2.0
 * @category models
 */
export interface WriteOptions extends AccessPolicy {
  readonly createParents?: boolean | undefined
  readonly durable?: boolean | undefined
}

/**
 * A file met by a walk. `read` reads it through the directory the walk holds
 * open (with the walk's hard-link policy: `HardLinked`, `TooLarge` and
 * `NotAFile` are worth skipping, not stopping for); `relative` is its path
 * from the workspace's real root, `local` from the walk's start directory
 * (print them with {@link printable}).
 *
 * @since 0.2.0
 * @category models
 */
export interface WalkFile {
  readonly relative: string
  readonly local: string
  readonly read: (maxBytes?: number) => Effect.Effect<Uint8Array, WorkspaceError>
}

/**
 * Options of walks. Directories named in `skip` (`.git`, `node_modules`)
 * are not entered; symlinks are never followed; protected paths are skipped
 * unless the walk starts on one the runtime already saw. A walk does not
 * enter directories more than `maxDepth` levels below its start and stops
 * after `maxEntries` entries, and says so in {@link WalkResult}.
 *
 * @since 0.2.0
 * @category models
 */
export interface WalkOptions extends AccessPolicy {
  readonly maxDepth: number
  readonly maxEntries: number
  readonly skip?: ReadonlySet<string> | undefined
  /**
   * How many files of a directory `onFile` may handle at once (default 1:
   * strictly one after the other, in sorted order). With more, calls start
   * in sorted order and may finish in any order.
   */
  readonly concurrency?: number | undefined
  /** Called for each regular file, in sorted order; `false` stops the walk. */
  readonly onFile: (file: WalkFile) => Effect.Effect<boolean, WorkspaceError>
}

/**
 * Some skipped entries: how many, and the first few (relative paths).
 *
 * @since 0.2.0
 * @category models
 */
export interface Skipped {
  readonly count: number
  readonly sample: ReadonlyArray<string>
}

/**
 * How a walk went: files handed to `onFile`, entries counted, whether it was
 * cut at `maxEntries` or stopped by `onFile`, and what it left out:
 * directories below `maxDepth` (`tooDeep`), `symlinks`, `protected` paths,
 * `unreadable` directories.
 *
 * @since 0.2.0
 * @category models
 */
export interface WalkResult {
  readonly files: number
  readonly entries: number
  readonly cutAtEntries: boolean
  readonly stopped: boolean
  readonly tooDeep: Skipped
  readonly symlinks: Skipped
  readonly protected: Skipped
  readonly unreadable: Skipped
}

/**
 * The workspace file port: every operation takes the workspace root (a
 * tool's `context.cwd`) and a path as the model named it, confines it
 * ({@link confine}), resolves symlinks only while they stay inside the root,
 * and never lets a symlink or directory swapped in by a racing process lead
 * a read or write outside the root or onto a protected path.
 *
 * - `readFile`: a regular file's bytes (`NotAFile` for a directory, FIFO or
 *   device: a FIFO never blocks the call).
 * - `writeFile`: replaces or creates a file atomically (a temporary file in
 *   the same verified directory, renamed over the target); the old file's
 *   permission bits are kept; a file with several hard links is refused
 *   unless `allowHardlinks`.
 * - `remove`: deletes a file (a symlink itself, never its target).
 * - `stat`: what a path is, without following a final symlink.
 * - `walk`: the regular files under a directory, sorted, with limits.
 *
 * `guarantee` says which mechanism the implementation runs on: `descriptor`
 * (every step is anchored to an open directory descriptor: no race can win)
 * or `path` (each step re-checked by path: a narrow race window remains; see
 * `NodeWorkspace`).
 *
 * @since 0.2.0
 * @category tags
 */
export class Workspace extends Context.Tag("@strata/plugin/Workspace")<
  Workspace,
  {
    readonly guarantee: "descriptor" | "path"
    readonly readFile: (
      root: string | undefined,
      path: string,
      options?: ReadOptions
    ) => Effect.Effect<FileRead, WorkspaceError>
    readonly writeFile: (
      root: string | undefined,
      path: string,
      data: Uint8Array | string,
      options?: WriteOptions
    ) => Effect.Effect<FileWritten, WorkspaceError>
    readonly remove: (
      root: string | undefined,
      path: string,
      options?: AccessPolicy
    ) => Effect.Effect<FileWritten, WorkspaceError>
    readonly stat: (root: string | undefined, path: string) => Effect.Effect<EntryInfo, WorkspaceError>
    readonly walk: (
      root: string | undefined,
      path: string,
      options: WalkOptions
    ) => Effect.Effect<WalkResult, WorkspaceError>
  }
>() {}
