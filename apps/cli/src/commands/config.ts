/**
 * `strata config show | validate`: the effective configuration, every value
 * with where it came from (`default`, `<file>:<line>`, `env VARIABLE`,
 * `cli`), and a check that names the file, line and field of the first
 * problem, then warns about unknown keys, hooks whose matcher matches no
 * tool, and the Claude Code settings files it loads hooks from.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import { Config, RuntimeConfig, RuntimeLayer } from "@strata/core-runtime"
import * as RuntimePolicy from "@strata/core-runtime/RuntimePolicy"
import * as Effect from "effect/Effect"
import { json, print, processOptions } from "../common.js"
import * as Distribution from "../Distribution.js"
import * as PluginSettings from "../PluginSettings.js"

/** The value at a dotted path of the merged config, if set. */
const at = (raw: Record<string, unknown>, key: string): unknown =>
  key
    .split(".")
    .reduce<unknown>(
      (node, k) => (typeof node === "object" && node !== null ? (node as Record<string, unknown>)[k] : undefined),
      raw
    )

/** Keys of the `[server]` section (`strata serve`'s own settings, not the runtime's). */
const isServerPath = (path: string) => path === "server" || path.startsWith("server.")

const show = Command.make("show", { json }, (o) =>
  Effect.gen(function* () {
    const loaded = yield* Distribution.loadConfig(processOptions())
    const entries = Config.effective(RuntimeConfig.RuntimeConfig, loaded)
    // The sections the plugins read themselves ([fs]): set values with their origin, else the plugin's default.
    const plugin = yield* PluginSettings.settings
    const pluginValues = plugin.map((s) => {
      const value = at(loaded.raw, s.key)
      return value === undefined
        ? { key: s.key, value: undefined, origin: `default (${s.plugin})` }
        : { key: s.key, value, origin: Config.originText(loaded.origins.get(s.key)) }
    })
    const warnings = loaded.warnings.filter(
      (w) => !PluginSettings.isPluginPath(plugin, w.path) && !isServerPath(w.path)
    )
    yield* print(
      o.json,
      {
        config: loaded.value,
        values: Object.fromEntries([
          ...entries.map((e) => [e.key, { value: e.value, origin: Config.originText(e.origin) }] as const),
          ...pluginValues.map((v) => [v.key, { value: v.value ?? null, origin: v.origin }] as const)
        ]),
        origins: Object.fromEntries(loaded.origins),
        warnings
      },
      () =>
        [
          Config.showEffective(RuntimeConfig.RuntimeConfig, loaded),
          ...pluginValues.map((v) =>
            v.value === undefined ? `${v.key}  # ${v.origin}` : `${v.key} = ${JSON.stringify(v.value)}  # ${v.origin}`
          ),
          ...warnings.map((w) => `warning: ${w.path}: ${w.message}`)
        ].join("\n")
    )
  })
).pipe(
  Command.withDescription("Show every effective setting, each with where it came from (default, file:line, env, cli)")
)

const validate = Command.make("validate", { json }, (o) =>
  Effect.gen(function* () {
    const options = processOptions()
    const loaded = yield* Distribution.loadConfig(options)
    const setup = { cwd: options.cwd, env: options.env, config: loaded.value }
    const hooks = yield* RuntimeLayer.commandHooks(loaded.value, { cwd: options.cwd, home: options.env.HOME })
    // The exec policy a session would use, every rule and its examples
    // checked (a session checks the examples on its first shell command).
    yield* RuntimePolicy.make(loaded.value.policy, Distribution.policyOptions(options))
    const plugin = yield* PluginSettings.settings
    // `[server]` is read by `strata serve`: checked here with its own schema (a bad value is an error).
    if (loaded.raw.server !== undefined) {
      const serve = yield* Effect.promise(() => import("./serve.js"))
      yield* serve.serverConfig(loaded.raw)
    }
    const warnings = [
      ...loaded.warnings
        .filter((w) => !PluginSettings.isPluginPath(plugin, w.path) && !isServerPath(w.path))
        .map((w) => `${w.path}: ${w.message}`),
      ...(yield* Distribution.hookWarnings(setup))
    ]
    yield* print(o.json, { ok: true, warnings, claude_settings: hooks.files }, (v) =>
      [
        `config ok${v.warnings.length === 0 ? "" : ` (${v.warnings.length} warning${v.warnings.length === 1 ? "" : "s"})`}`,
        ...v.claude_settings.map((f) => `hooks from ${f}`),
        ...v.warnings.map((w) => `warning: ${w}`)
      ].join("\n")
    )
  })
).pipe(
  Command.withDescription(
    "Check the configuration files (errors name the file, line and field) and the exec policy's rule files with their examples; warn about unknown keys and hooks that match no tool"
  )
)

/**
 * @since 0.1.0
 * @category commands
 */
export const config = Command.make("config").pipe(
  Command.withDescription("Show and validate the configuration (~/.strata/config.toml, .strata/config.toml, STRATA_*)"),
  Command.withSubcommands([show, validate])
)
