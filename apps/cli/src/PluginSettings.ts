/**
 * The config sections the built-in plugins read themselves (`[fs]`), through
 * Effect's `Config` from the layered config: their keys are found by running
 * each `Config` the plugin packages export against a provider that records
 * every path asked for. `strata config show` lists them, and `config
 * validate` does not call them unknown.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as PathPatch from "effect/ConfigProviderPathPatch"
import * as Effect from "effect/Effect"
import * as HashSet from "effect/HashSet"
import { builtinPlugins } from "./Choice.js"

/**
 * A key a plugin reads, and the package that reads it.
 *
 * @since 0.1.0
 * @category models
 */
export interface PluginSetting {
  readonly key: string
  readonly plugin: string
}

/**
 * The keys an Effect `Config` reads (defaults apply to every one).
 *
 * @since 0.1.0
 * @category utils
 */
export const keysOf = (config: Config.Config<unknown>): ReadonlyArray<string> => {
  const seen = new Set<string>()
  const provider = ConfigProvider.fromFlat(
    ConfigProvider.makeFlat({
      load: (path) => {
        seen.add(path.join("."))
        return Effect.fail(ConfigError.MissingData([...path], "recording the keys"))
      },
      enumerateChildren: () => Effect.succeed(HashSet.empty()),
      patch: PathPatch.empty
    })
  )
  Effect.runSync(Effect.either(Effect.withConfigProvider(config, provider)))
  return [...seen].sort()
}

/**
 * The `Config` values a module exports, one namespace deep (`FsConfig.config`).
 *
 * @since 0.1.0
 * @category utils
 */
export const exportedConfigs = (module: Record<string, unknown>): ReadonlyArray<Config.Config<unknown>> =>
  Object.values(module).flatMap((value) =>
    Config.isConfig(value)
      ? [value as Config.Config<unknown>]
      : typeof value === "object" && value !== null
        ? Object.values(value).filter((v): v is Config.Config<unknown> => Config.isConfig(v))
        : []
  )

/**
 * Every key the built-in plugins read from the config.
 *
 * @since 0.1.0
 * @category constructors
 */
export const settings: Effect.Effect<ReadonlyArray<PluginSetting>> = Effect.promise(async () => {
  const packages = [...new Set(builtinPlugins.map((spec) => spec.split("/").slice(0, 2).join("/")))]
  const out: Array<PluginSetting> = []
  for (const plugin of packages) {
    const module = (await import(plugin).catch(() => ({}))) as Record<string, unknown>
    for (const config of exportedConfigs(module)) for (const key of keysOf(config)) out.push({ key, plugin })
  }
  return out
})

/**
 * Whether a dotted path is one of the settings or a section holding some.
 *
 * @since 0.1.0
 * @category utils
 */
export const isPluginPath = (settings: ReadonlyArray<PluginSetting>, path: string): boolean =>
  settings.some((s) => s.key === path || s.key.startsWith(`${path}.`))
