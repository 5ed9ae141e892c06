/**
 * `@strata/plugin-shell`: the `exec` tool, built only on `@strata/plugin`.
 * `make(platform)` builds the plugin over any platform layer; the ready
 * plugin for Node, Bun and Deno is the default export of
 * `@strata/plugin-shell/node`.
 *
 * @since 0.1.0
 */
import { definePlugin } from "@strata/plugin"
import type { PluginDefinition } from "@strata/plugin/Plugin"
import * as Layer from "effect/Layer"
import * as Shell from "./Shell.js"

/** @since 0.1.0 */
export * as Shell from "./Shell.js"

/**
 * The plugin over a platform layer (FileSystem, Path, CommandExecutor).
 *
 * @since 0.1.0
 * @category plugins
 */
export const make = (
  platform: Layer.Layer<Shell.Platform>,
  options: Partial<Shell.Options> = {}
): PluginDefinition<Shell.Platform | Shell.ShellOptions> =>
  definePlugin({
    id: "shell",
    version: "0.1.0",
    description: "Runs shell commands in the workspace, checked by the execution policy.",
    tools: [Shell.Exec],
    layer: Layer.merge(platform, Shell.layerOptions(options))
  })
