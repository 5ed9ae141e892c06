/**
 * `@strata/plugin-fs`: file tools confined to the workspace, built only on
 * `@strata/plugin` (its `Workspace` helpers do the confinement). The default
 * export is the plugin, on the host's `Workspace` (`Plugin.HostPlatform`:
 * `strata` provides `@strata/plugin/NodeWorkspace`, on Node, Bun and Deno):
 * `plugins = ["@strata/plugin-fs"]`. `make(options)` builds it with other
 * settings; `make(workspace, options)` over a `Workspace` layer of its own,
 * which shadows the host's. `@strata/plugin-fs/node` is a deprecated alias
 * of the default export.
 *
 * @since 0.1.0
 */

import type { PluginDefinition } from "@strata/plugin/Plugin"
import { define as definePlugin } from "@strata/plugin/Plugin"
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
 * The plugin. Its settings are `options` when given, else the `[fs]` section
 * read from the host's `ConfigProvider` (`FsConfig.layerConfig`). Its
 * `Workspace` is the host's, unless a `Workspace` layer is given first: that
 * one is the plugin's own and shadows the host's, for this plugin's tools.
 *
 * @since 0.1.0
 * @category plugins
 */
export const make: {
  (options?: Partial<FsConfig.Options>): PluginDefinition<FsTools.Platform>
  (workspace: Layer.Layer<Workspace.Workspace>, options?: Partial<FsConfig.Options>): PluginDefinition<FsTools.Platform>
} = (
  first?: Partial<FsConfig.Options> | Layer.Layer<Workspace.Workspace>,
  second?: Partial<FsConfig.Options>
): PluginDefinition<FsTools.Platform> => {
  const workspace = Layer.isLayer(first) ? (first as Layer.Layer<Workspace.Workspace>) : undefined
  const options = Layer.isLayer(first) ? second : (first as Partial<FsConfig.Options> | undefined)
  const config = options === undefined ? FsConfig.layerConfig : FsConfig.layer(options)
  return definePlugin<FsTools.Platform>({
    id: "fs",
    version: "0.2.0",
    description: "Reads, writes, edits, patches and searches files inside the workspace.",
    tools: [...FsTools.all],
    layer: workspace === undefined ? config : Layer.merge(workspace, config)
  })
}

/**
 * The file-tools plugin on the host's `Workspace`, with the `[fs]` settings
 * from the host's config.
 *
 * @since 0.2.0
 * @category plugins
 */
export default make()
