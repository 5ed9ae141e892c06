/**
 * Loading plugins from config:
 *
 * ```toml
 * plugins = ["@strata/plugin-sample-guard", "./plugins/local-plugin.js"]
 * # or, to go on without a plugin that fails:
 * [[plugins]]
 * spec = "./plugins/experimental.js"
 * required = false
 * ```
 *
 * A spec starting with `./`, `../`, `/` or `file:` is a file, resolved against
 * the config's directory (`baseDir`); anything else is a package name,
 * imported as the runtime resolves it (pass `importModule` to resolve from
 * elsewhere). The module's default export (or its `plugin` export) is the
 * plugin. A plugin that fails to load, validate or build gives a
 * `PluginLoadError` naming it; with `required = false` it is skipped (and
 * reported in `skipped`) and the others load. Plugin ids and tool names must
 * be unique: a collision is an error naming both owners.
 *
 * @since 0.1.0
 */
import * as Path from "@effect/platform/Path"
import type { HookDispatcher } from "@strata/hooks"
import { ProtocolError } from "@strata/protocol"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { messageOf } from "./internal/plugin.js"
import * as Plugin from "./Plugin.js"
import { PluginLoadError } from "./PluginError.js"

/**
 * A plugin in config: a spec string, or `{ spec, required }` (`required`
 * defaults to true).
 *
 * @since 0.1.0
 * @category schemas
 */
export const PluginSpec = Schema.Union(
  Schema.String.pipe(Schema.minLength(1)),
  Schema.Struct({ spec: Schema.String.pipe(Schema.minLength(1)), required: Schema.optional(Schema.Boolean) })
).annotations({ identifier: "PluginSpec" })
/** @since 0.1.0 @category models */
export type PluginSpec = typeof PluginSpec.Type

/**
 * Options of `load`: the directory relative specs are resolved against, and
 * how a module is imported (default: the runtime's dynamic `import()`).
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadOptions {
  readonly baseDir: string
  readonly importModule?: ((specifier: string) => Promise<unknown>) | undefined
}

/**
 * A loaded, validated plugin and how it was asked for.
 *
 * @since 0.1.0
 * @category models
 */
export interface Loaded {
  readonly spec: string
  readonly required: boolean
  readonly plugin: Plugin.Plugin
}

/**
 * What `load` returns: the plugins that loaded, in config order, and the
 * errors of the optional ones that did not.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadResult {
  readonly plugins: ReadonlyArray<Loaded>
  readonly skipped: ReadonlyArray<PluginLoadError>
}

/**
 * What `install` returns: the built plugins (tools for the `ToolRegistry`,
 * hooks registered) and the errors of the optional ones that were skipped.
 *
 * @since 0.1.0
 * @category models
 */
export interface InstallResult {
  readonly plugins: ReadonlyArray<Plugin.BuiltPlugin>
  readonly skipped: ReadonlyArray<PluginLoadError>
}

const isFile = (spec: string) => /^(\.{1,2}\/|\/|file:)/.test(spec)

const defaultImport = (specifier: string): Promise<unknown> => import(specifier)

/**
 * Whether an import failed because the plugin itself is missing. A plugin
 * that exists but imports a missing dependency fails with the same error
 * code, naming the plugin as the importer: only the first line of the
 * message, before "imported from" / "from" / "in", names the missing module
 * (Node, Bun, Deno and Vite all word it so).
 */
const notFound = (error: unknown, names: ReadonlyArray<string>) => {
  const code = typeof error === "object" && error !== null && "code" in error ? error.code : undefined
  const message = messageOf(error)
  const missing =
    code === "ERR_MODULE_NOT_FOUND" ||
    /Cannot find (module|package)|Module not found|not a dependency|Failed to load url|No such file/i.test(message)
  const head = message.split("\n")[0]!.split(/ imported from | from "| \(resolved id| in \//)[0]!
  return missing && names.some((n) => head.includes(n))
}

const importPlugin = (spec: string, options: LoadOptions) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    let specifier = spec
    const names = [spec]
    if (isFile(spec) && !spec.startsWith("file:")) {
      const absolute = path.resolve(options.baseDir, spec)
      specifier = (yield* path
        .toFileUrl(absolute)
        .pipe(
          Effect.mapError(
            (e) => new PluginLoadError({ plugin: spec, reason: "NotFound", detail: `invalid path: ${e.message}` })
          )
        )).href
      names.push(absolute, specifier)
    }
    const importModule = options.importModule ?? defaultImport
    const module = yield* Effect.tryPromise({
      try: () => importModule(specifier),
      catch: (error) =>
        new PluginLoadError({
          plugin: spec,
          reason: notFound(error, names) ? "NotFound" : "ImportFailed",
          detail: messageOf(error).split("\n")[0] ?? "",
          cause: error
        })
    })
    const exported =
      typeof module === "object" && module !== null
        ? ((module as Record<string, unknown>).default ?? (module as Record<string, unknown>).plugin)
        : undefined
    if (exported === undefined) {
      return yield* new PluginLoadError({
        plugin: spec,
        reason: "InvalidPlugin",
        detail: "the module has no default export (export default definePlugin({ ... }))"
      })
    }
    return yield* Plugin.validate(exported, spec)
  }).pipe(Effect.withSpan("PluginLoader.import", { attributes: { spec } }))

const collision = (spec: string, detail: string, other: string) =>
  new PluginLoadError({ plugin: spec, reason: "Collision", detail, other })

/**
 * Loads and validates the plugins named in config. Fails with the first
 * error of a required plugin; optional ones that fail are skipped.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = Effect.fn("PluginLoader.load")(function* (specs: unknown, options: LoadOptions) {
  const decoded = ProtocolError.decodeUnknownEither(Schema.Array(PluginSpec))(specs)
  if (Either.isLeft(decoded)) {
    return yield* new PluginLoadError({
      plugin: "<config>",
      reason: "InvalidPlugin",
      detail: decoded.left.message,
      path: `plugins${decoded.left.path === "" ? "" : decoded.left.path.startsWith("[") ? decoded.left.path : `.${decoded.left.path}`}`
    })
  }
  const plugins: Array<Loaded> = []
  const skipped: Array<PluginLoadError> = []
  const ids = new Map<string, string>()
  const tools = new Map<string, string>()
  for (const entry of decoded.right) {
    const spec = typeof entry === "string" ? entry : entry.spec
    const required = typeof entry === "string" ? true : entry.required !== false
    const result = yield* Effect.either(
      Effect.gen(function* () {
        const plugin = yield* importPlugin(spec, options)
        const owner = ids.get(plugin.id)
        if (owner !== undefined) {
          return yield* collision(spec, `plugin id "${plugin.id}" is used by both ${owner} and ${spec}`, owner)
        }
        for (const tool of plugin.manifest.tools) {
          const first = tools.get(tool.name)
          if (first !== undefined) {
            return yield* collision(spec, `tool "${tool.name}" is registered by both ${first} and ${spec}`, first)
          }
        }
        return plugin
      })
    )
    if (Either.isLeft(result)) {
      if (required) return yield* result.left
      skipped.push(result.left)
      continue
    }
    const plugin = result.right
    ids.set(plugin.id, spec)
    for (const tool of plugin.manifest.tools) tools.set(tool.name, spec)
    plugins.push({ spec, required, plugin })
  }
  return { plugins, skipped } satisfies LoadResult
})

/**
 * Loads the plugins named in config, builds them and registers their hooks,
 * for the lifetime of the scope. Optional plugins that fail at any step are
 * skipped.
 *
 * @since 0.1.0
 * @category constructors
 */
export const install = (
  specs: unknown,
  options: LoadOptions
): Effect.Effect<InstallResult, PluginLoadError, Path.Path | HookDispatcher.HookDispatcher | Scope.Scope> =>
  Effect.gen(function* () {
    const loaded = yield* load(specs, options)
    const plugins: Array<Plugin.BuiltPlugin> = []
    const skipped = [...loaded.skipped]
    for (const entry of loaded.plugins) {
      const built = yield* Effect.either(Plugin.install(entry.plugin))
      if (Either.isRight(built)) plugins.push(built.right)
      else if (entry.required) return yield* built.left
      else skipped.push(built.left)
    }
    return { plugins, skipped }
  }).pipe(Effect.withSpan("PluginLoader.install"))
