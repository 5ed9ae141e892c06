/**
 * `@strata/plugin-fs`: file tools confined to the workspace, built only on
 * `@strata/plugin`. `make(platform)` builds the plugin over any platform
 * layer; the ready plugin for Node, Bun and Deno is the default export of
 * `@strata/plugin-fs/node`.
 *
 * @since 0.1.0
 */
import { definePlugin } from "@strata/plugin"
import type { PluginDefinition } from "@strata/plugin/Plugin"
import type * as Layer from "effect/Layer"
import * as FsTools from "./FsTools.js"

/** @since 0.1.0 */
export * as FsTools from "./FsTools.js"
/** @since 0.1.0 */
export * as Patch from "./Patch.js"
/** @since 0.1.0 */
export * as Workspace from "./Workspace.js"

/**
 * The plugin over a platform layer (FileSystem, Path).
 *
 * @since 0.1.0
 * @category plugins
 */
export const make = (platform: Layer.Layer<FsTools.Platform>): PluginDefinition<FsTools.Platform> =>
  definePlugin({
    id: "fs",
    version: "0.1.0",
    description: "Reads, writes, edits, patches and searches files inside the workspace.",
    tools: [...FsTools.all],
    layer: platform
  })
