/**
 * `strata plugins list`: the built-in and configured plugins, with their
 * tools and hooks.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import { PluginLoader } from "@strata/plugin"
import * as Effect from "effect/Effect"
import { json, print, processOptions } from "../common.js"
import * as Distribution from "../Distribution.js"

const list = Command.make("list", { json }, (o) =>
  Effect.gen(function* () {
    const options = processOptions()
    const loaded = yield* Distribution.loadConfig(options)
    const specs = [...Distribution.builtinPlugins, ...loaded.value.plugins]
    const result = yield* PluginLoader.load(specs, { baseDir: options.cwd })
    const plugins = result.plugins.map((p) => ({
      spec: p.spec,
      builtin: Distribution.builtinPlugins.includes(p.spec),
      ...p.plugin.manifest
    }))
    yield* print(o.json, { plugins, skipped: result.skipped.map((e) => e.message) }, (v) =>
      [
        ...v.plugins.map(
          (p) =>
            `${p.id} ${p.version}${p.builtin ? " (built-in)" : ""}  ${p.spec}\n    tools: ${p.tools.map((t) => t.name).join(", ") || "-"}\n    hooks: ${p.hooks.map((h) => `${h.id} (${[h.events].flat().join(",")})`).join(", ") || "-"}`
        ),
        ...v.skipped.map((s) => `skipped: ${s}`)
      ].join("\n")
    )
  })
).pipe(Command.withDescription("List the plugins a session loads, with their tools and hooks"))

/**
 * @since 0.1.0
 * @category commands
 */
export const plugins = Command.make("plugins").pipe(
  Command.withDescription("Plugins: built-in (shell, fs, audit-log) and from config (plugins = [...])"),
  Command.withSubcommands([list])
)
