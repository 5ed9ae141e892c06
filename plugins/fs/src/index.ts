/**
 * `@strata/plugin-fs`: file tools confined to the workspace, built only on
 * `@strata/plugin` (its `Workspace` helpers do the confinement).
 * `make(workspace)` builds the plugin over a `Workspace` layer; the ready
 * plugin for Node, Bun and Deno is the default export of
 * `@strata/plugin-fs/node`.
 *
 * @since 0.1.0
 */
import { definePlugin } from "@strata/plugin"
import type { PluginDefinition } from "@strata/plugin/Plugin"
import type * as Workspace from "@strata/plugin/Workspace"
import * as Layer from "effect/Layer"
import * as FsConfig from "./FsConfig.js"
import * as FsTools from "./FsTools.js"

/** @since 0.2.0 */
export * as FsConfig from "./FsConfig.js"
/** @since 0.2.0 */
export { FsToolError } from "./FsToolError.js"
/** @since 0.1.0 */
export * as FsTools from "./FsTools.js"
/** @since 0.1.0 */
export * as Patch from "./Patch.js"
/** @since 0.2.0 */
export * as Search from "./Search.js"

/**
 * The plugin over a `Workspace` layer. Its settings are `options` when
 * given, else the `[fs]` section read from the host's `ConfigProvider`
 * (`FsConfig.layerConfig`).
 *
 * @since 0.1.0
 * @category plugins
 */
export const make = (
  workspace: Layer.Layer<Workspace.Workspace>,
  options?: Partial<FsConfig.Options>
): PluginDefinition<FsTools.Platform> =>
  definePlugin({
    id: "fs",
    version: "0.2.0",
    description: "Reads, writes, edits, patches and searches files inside the workspace.",
    tools: [...FsTools.all],
    layer: Layer.merge(workspace, options === undefined ? FsConfig.layerConfig : FsConfig.layer(options))
  })
