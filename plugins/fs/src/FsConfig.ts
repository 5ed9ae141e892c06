/**
 * The file tools' settings, the `[fs]` section of the config:
 *
 * ```toml
 * [fs]
 * allow_hardlinks = false   # read/write files that have more than one hard link
 * max_depth = 64            # glob/grep: directory levels entered below the start
 * max_entries = 50000       # glob/grep: entries looked at before the walk stops
 * ```
 *
 * `layerConfig` reads them through Effect's `Config` (the host's
 * `ConfigProvider`: the `strata` CLI serves its layered config there);
 * `layer(options)` sets them in code.
 *
 * @since 0.2.0
 */
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /**
   * A file with several hard links shares its content with another name,
   * possibly outside the workspace or a protected file: refused (reads and
   * writes) unless true.
   */
  readonly allowHardlinks: boolean
  /** Directory levels a walk enters below its start. */
  readonly maxDepth: number
  /** Entries a walk looks at before it stops (and says so). */
  readonly maxEntries: number
}

/**
 * @since 0.2.0
 * @category tags
 */
export class FsConfig extends Context.Tag("@strata/plugin-fs/FsConfig")<FsConfig, Options>() {}

/**
 * The defaults.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaults: Options = { allowHardlinks: false, maxDepth: 64, maxEntries: 50_000 }

const positive = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: `${name} must be a positive integer`, validation: (n) => n > 0 }),
    Config.withDefault(fallback)
  )

/**
 * The `[fs]` section as an Effect `Config`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const config: Config.Config<Options> = Config.all({
  allowHardlinks: Config.boolean("allow_hardlinks").pipe(Config.withDefault(defaults.allowHardlinks)),
  maxDepth: positive("max_depth", defaults.maxDepth),
  maxEntries: positive("max_entries", defaults.maxEntries)
}).pipe(Config.nested("fs"))

/**
 * Settings in code (unset fields keep their defaults).
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: Partial<Options> = {}): Layer.Layer<FsConfig> =>
  Layer.succeed(FsConfig, { ...defaults, ...options })

/**
 * Settings from the `ConfigProvider` (`fs.allow_hardlinks`, `fs.max_depth`,
 * `fs.max_entries`); a bad value fails the layer with an error naming the key.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig: Layer.Layer<FsConfig, ConfigError.ConfigError> = Layer.effect(FsConfig, config)
