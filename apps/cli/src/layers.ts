/**
 * The platform layers of the `strata` distribution: the one place they are
 * provided. FileSystem, Path, CommandExecutor and Terminal from
 * `@effect/platform-node`, which run unchanged on Node, Bun and Deno; not
 * its `NodeContext.layer`, which adds the worker manager (`node:worker_threads`
 * and the platform's worker runtime: about 600 kB of the bundle and 2 ms of
 * every start-up) that no command uses.
 *
 * @since 0.1.0
 */
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as Terminal from "@effect/platform/Terminal"
import * as NodeCommandExecutor from "@effect/platform-node/NodeCommandExecutor"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import * as Layer from "effect/Layer"
import * as SyncFileSystem from "./SyncFileSystem.js"

/**
 * What the platform gives the commands.
 *
 * @since 0.2.0
 * @category models
 */
export type Platform = FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor | Terminal.Terminal

/** Path, command executor and terminal over the file system given. */
const withFileSystem = (fileSystem: Layer.Layer<FileSystem.FileSystem>): Layer.Layer<Platform> =>
  Layer.mergeAll(NodePath.layer, NodeCommandExecutor.layer, NodeTerminal.layer).pipe(Layer.provideMerge(fileSystem))

/**
 * Everything the commands need from the platform.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Platform> = withFileSystem(NodeFileSystem.layer)

/**
 * {@link layer} with the synchronous file system (`SyncFileSystem`): for the
 * runtime of a one-shot command, whose event loop no other session shares.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerOneShot: Layer.Layer<Platform> = withFileSystem(SyncFileSystem.layer)
