/**
 * `strata plugins list`: every plugin a session loads (built-in, then the
 * config's), with its tools and hooks; a plugin that fails to load is listed
 * with its error (`file:line:column` for a syntax error) and marked
 * `broken` (exit code 1 when it is required: a session would not start).
 * Specs resolve from the project root:
 * relative paths against it, package names from its `node_modules`.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as PluginLoader from "@strata/core-runtime/PluginLoader"
import * as Effect from "effect/Effect"
import { exit, json, print, processOptions } from "../common.js"
import * as Distribution from "../Distribution.js"

const list = Command.make("list", { json }, (o) =>
  Effect.gen(function* () {
    const options = processOptions()
    const loaded = yield* Distribution.loadConfig(options)
    const specs = [...Distribution.builtinPlugins, ...loaded.value.plugins]
    const result = yield* PluginLoader.inspect(specs, {
      baseDir: options.cwd,
      locateSyntaxError: Distribution.locateSyntaxError,
      modules: Distribution.pluginModules
    })
    const plugins = result.map((p) =>
      p._tag === "Loaded"
        ? {
            spec: p.spec,
            status: "loaded" as const,
            builtin: Distribution.builtinPlugins.includes(p.spec),
            required: p.required,
            ...p.plugin.manifest
          }
        : {
            spec: p.spec,
            status: "broken" as const,
            builtin: Distribution.builtinPlugins.includes(p.spec),
            required: p.required,
            error: {
              reason: p.error.reason,
              message: p.error.message,
              file: p.error.file,
              line: p.error.line,
              column: p.error.column
            }
          }
    )
    yield* print(o.json, { plugins }, (v) =>
      v.plugins
        .map((p) =>
          p.status === "broken"
            ? `${p.spec}  BROKEN${p.required ? "" : " (optional, skipped)"}\n    ${p.error.message}`
            : `${p.id} ${p.version}${p.builtin ? " (built-in)" : ""}  ${p.spec}\n    tools: ${p.tools.map((t) => t.name).join(", ") || "-"}\n    hooks: ${p.hooks.map((h) => `${h.id} (${[h.events].flat().join(",")})`).join(", ") || "-"}`
        )
        .join("\n")
    )
    // A broken required plugin: a session would not start.
    if (plugins.some((p) => p.status === "broken" && p.required)) yield* exit(1)
  })
).pipe(Command.withDescription("List the plugins a session loads, with their tools and hooks; broken ones are marked"))

/**
 * @since 0.1.0
 * @category commands
 */
export const plugins = Command.make("plugins").pipe(
  Command.withDescription("Plugins: built-in (shell, fs, audit-log) and from config (plugins = [...])"),
  Command.withSubcommands([list])
)
