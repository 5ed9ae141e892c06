/**
 * Configuration: TOML files layered `defaults < user (~/.strata/config.toml)
 * < project (.strata/config.toml) < STRATA_* environment < CLI overrides`,
 * decoded with `effect/Schema` into one typed value. Each package contributes
 * the schema of its section; errors name the file, line, column and field
 * path; unknown keys are warnings naming the key; every value keeps its
 * origin for `config show`.
 *
 * Environment variables map to paths with `__` between segments:
 * `STRATA_MODEL=x` sets `model`, `STRATA_PROVIDERS__OPENAI__BASE_URL=...`
 * sets `providers.openai.base_url`. Values are read as TOML values when they
 * parse as one (`42`, `true`, `["a"]`), else as strings.
 *
 * @since 0.1.0
 */
import type { FileSystem } from "@effect/platform/FileSystem"
import type { Path } from "@effect/platform/Path"
import type * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type { ConfigError } from "./ConfigError.js"
import * as internal from "./internal/config.js"

/**
 * Where a value came from.
 *
 * @since 0.1.0
 * @category models
 */
export interface Origin {
  /** `defaults`, a file path, `env` or `cli`. */
  readonly source: string
  readonly line?: number | undefined
  /** For `env`, the variable name. */
  readonly variable?: string | undefined
}

/**
 * One configuration layer, lowest precedence first.
 *
 * @since 0.1.0
 * @category models
 */
export type Source =
  | { readonly _tag: "Defaults"; readonly value: Record<string, unknown> }
  | { readonly _tag: "File"; readonly path: string; readonly optional: boolean }
  | { readonly _tag: "Text"; readonly name: string; readonly text: string }
  | { readonly _tag: "Env"; readonly env: Readonly<Record<string, string | undefined>>; readonly prefix?: string }
  | { readonly _tag: "Cli"; readonly value: Record<string, unknown> }

/**
 * A warning found while loading (an unknown key, a shadowed value).
 *
 * @since 0.1.0
 * @category models
 */
export interface Warning {
  readonly path: string
  readonly message: string
  readonly origin?: Origin | undefined
}

/**
 * The result of loading: the decoded value, the raw merged object, the
 * origin of every leaf (by dotted path) and the warnings.
 *
 * @since 0.1.0
 * @category models
 */
export interface Loaded<A> {
  readonly value: A
  readonly raw: Record<string, unknown>
  readonly origins: ReadonlyMap<string, Origin>
  readonly warnings: ReadonlyArray<Warning>
}

/**
 * The standard layering for a working directory and home directory: user
 * file, project file, `STRATA_*` environment, CLI overrides.
 *
 * @since 0.1.0
 * @category constructors
 */
export const standardSources: (options: {
  readonly cwd: string
  readonly home?: string | undefined
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  readonly cli?: Record<string, unknown> | undefined
  readonly defaults?: Record<string, unknown> | undefined
  readonly extraFiles?: ReadonlyArray<string> | undefined
}) => Effect.Effect<ReadonlyArray<Source>, never, Path> = internal.standardSources

/**
 * Loads and decodes the sources, in order. Fails with `ConfigError` naming
 * file, line, column and field on the first source that cannot be read or
 * parsed, or on values the schema rejects; unknown keys become warnings.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load: <A, I>(
  schema: Schema.Schema<A, I, never>,
  sources: ReadonlyArray<Source>
) => Effect.Effect<Loaded<A>, ConfigError, FileSystem> = internal.load

/**
 * Renders the values the layers set (the raw merged object) as TOML-like
 * lines, each value followed by its origin. See {@link showEffective} for
 * every effective value, defaults included.
 *
 * @since 0.1.0
 * @category utils
 */
export const show: (loaded: Loaded<unknown>) => string = internal.show

/**
 * One effective value: its dotted key, its value (encoded, as it would be
 * written in TOML) and where it came from (`{ source: "defaults" }` for a
 * default).
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  readonly key: string
  readonly value: unknown
  readonly origin: Origin
}

/**
 * Every effective value of a loaded configuration, defaults included, each
 * with its origin; arrays are single values.
 *
 * @since 0.1.0
 * @category utils
 */
export const effective: <A, I>(schema: Schema.Schema<A, I, never>, loaded: Loaded<A>) => ReadonlyArray<Entry> =
  internal.effective

/**
 * An origin as `strata config show` writes it: `default`, `<file>:<line>`,
 * `env <VARIABLE>` or `cli`.
 *
 * @since 0.1.0
 * @category utils
 */
export const originText: (origin: Origin | undefined) => string = internal.originText

/**
 * Renders every effective value (see {@link effective}) as TOML-like lines,
 * `key = value  # origin`: what `strata config show` prints.
 *
 * @since 0.1.0
 * @category utils
 */
export const showEffective: <A, I>(schema: Schema.Schema<A, I, never>, loaded: Loaded<A>) => string =
  internal.showEffective

/**
 * Parses a TOML document, with errors that carry line and column.
 *
 * @since 0.1.0
 * @category utils
 */
export const parseToml: (name: string, text: string) => Effect.Effect<Record<string, unknown>, ConfigError> =
  internal.parseToml

/**
 * Finds the 1-based line of a field path inside a TOML text (its key, its
 * table header, or its array-of-tables entry); `undefined` when not found.
 *
 * @since 0.1.0
 * @category utils
 */
export const locate: (text: string, path: ReadonlyArray<string | number>) => number | undefined = internal.locate
