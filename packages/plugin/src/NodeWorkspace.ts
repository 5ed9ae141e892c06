/// <reference types="node" />
/**
 * `@strata/plugin/NodeWorkspace`: the {@link Workspace.Workspace} port on
 * `node:fs`, for Node, Bun and Deno (all three run it unchanged).
 *
 * A host provides it to every plugin (`Plugin.HostPlatform`); a plugin
 * requires `Workspace.Workspace` and ships no layer for it:
 *
 * ```ts
 * import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
 * // in a host's composition, beside the platform
 * const host = Layer.mergeAll(NodeContext.layer, NodeWorkspace.layer())
 * ```
 *
 * ## The guarantee, per operating system
 *
 * **Linux with /proc mounted (`guarantee: "descriptor"`).** Every path is
 * walked one component at a time from an open descriptor of the workspace
 * root; each component is opened as `/proc/self/fd/<parent>/<name>` with
 * `O_NOFOLLOW`, which the kernel resolves as `openat(parent, name)`: a
 * directory renamed or swapped for a symlink (`renameat2(RENAME_EXCHANGE)`)
 * after the check cannot redirect the next step, because the next step
 * starts from the directory already open, not from a path. Symlinks met on
 * the way are read and resolved by hand while they stay inside the root;
 * one that leads out is refused. Reads open the file with `O_NOFOLLOW |
 * O_NONBLOCK`, check it is a regular file with one link, and check its real
 * path through the descriptor (`/proc/self/fd/N`) before reading. Writes go
 * to a temporary file created with `O_CREAT | O_EXCL | O_NOFOLLOW` in the
 * open parent directory and renamed over the target in that same directory
 * (so a hard link or symlink swapped in at the target is replaced, never
 * written through); after the rename the file's real path is read again
 * through its descriptor, and if its directory was moved out of the
 * workspace (or onto a protected path) in the meantime, the file is removed
 * and the call fails with `Changed`. Limits: a directory the model moves out
 * of the workspace *after* a call succeeded takes the file with it (the
 * model could move it anyway); bind mounts inside the workspace are
 * followed like directories (creating one needs privileges the model should
 * not have).
 *
 * **macOS, the BSDs, Linux without /proc (`guarantee: "path"`).** The same
 * walk runs on path strings: each component is opened with `O_NOFOLLOW`
 * and the descriptor is re-checked against the path (same device and
 * inode, and the path's real path is itself). A swap is detected when it is
 * still in place at the re-check; a process that swaps an ancestor and
 * swaps it back within the microseconds between the open and the re-check
 * can still win, and a write's rename is looked up by path (the post-rename
 * check then removes a misplaced file, but the file it replaced there is
 * gone). Node offers no `openat`; use Linux for untrusted models.
 *
 * **Windows**: not supported (POSIX paths only).
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as internal from "./internal/nodeWorkspace.js"
import * as Workspace from "./Workspace.js"

/**
 * Options: `mode` forces a mechanism (`"path"` to test the fallback on
 * Linux; default: `descriptor` when /proc works); `durable` syncs every
 * written file to disk before it replaces the old one (default true).
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  readonly mode?: "descriptor" | "path" | undefined
  readonly durable?: boolean | undefined
}

/**
 * The port, choosing the strongest mechanism available.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Workspace.Workspace["Type"]> =>
  Effect.map(
    options.mode === undefined ? internal.probeDescriptorMode : Effect.succeed(options.mode === "descriptor"),
    (descriptor) => internal.make(descriptor ? "descriptor" : "path", { durable: options.durable })
  )

/**
 * The port as a layer.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Workspace.Workspace> =>
  Layer.effect(Workspace.Workspace, make(options))
