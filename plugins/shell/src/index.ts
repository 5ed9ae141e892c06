/**
 * `@strata/plugin-shell`: the `exec` tool, built only on `@strata/plugin`.
 * The default export is the plugin (`plugins = ["@strata/plugin-shell"]`):
 * it runs on the host's platform (`FileSystem`, `Path`, `CommandExecutor`,
 * provided by the host: Node, Bun or Deno) and ships none of its own.
 * `make(options)` builds it with other settings.
 *
 * @since 0.1.0
 */

import type { PluginDefinition } from "@strata/plugin/Plugin"
import { define as definePlugin } from "@strata/plugin/Plugin"
import * as Layer from "effect/Layer"
import * as Shell from "./Shell.js"

/** @since 0.1.0 */
export * as Shell from "./Shell.js"

/**
 * The plugin with these settings, on the host's platform. The 0.1 form
 * `make(platform, options)` still works: the platform layer is ignored (the
 * host's is used).
 *
 * @since 0.1.0
 * @category plugins
 */
export const make: {
  (options?: Partial<Shell.Options>): PluginDefinition<Shell.Platform | Shell.ShellOptions>
  /** @deprecated the host provides the platform: use `make(options)` */
  (
    platform: Layer.Layer<Shell.Platform>,
    options?: Partial<Shell.Options>
  ): PluginDefinition<Shell.Platform | Shell.ShellOptions>
} = (
  first?: Partial<Shell.Options> | Layer.Layer<Shell.Platform>,
  second?: Partial<Shell.Options>
): PluginDefinition<Shell.Platform | Shell.ShellOptions> => {
  const options = Layer.isLayer(first) ? (second ?? {}) : ((first as Partial<Shell.Options> | undefined) ?? {})
  return definePlugin<Shell.Platform | Shell.ShellOptions>({
    id: "shell",
    version: "0.1.0",
    description: "Runs shell commands in the workspace, checked by the execution policy.",
    tools: [Shell.Exec],
    layer: Shell.layerOptions(options)
  })
}

/**
 * The shell plugin, on the host's platform: `plugins = ["@strata/plugin-shell"]`.
 *
 * @since 0.2.0
 * @category plugins
 */
export default make()
