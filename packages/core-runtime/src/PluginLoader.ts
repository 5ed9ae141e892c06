/**
 * Loading plugins from config:
 *
 * ```toml
 * plugins = ["@acme/strata-word-count", "./plugins/local-plugin.js"]
 * # or, to go on without a plugin that fails:
 * [[plugins]]
 * spec = "./plugins/experimental.js"
 * required = false
 * ```
 *
 * Specs are resolved from the project root (`baseDir`, the directory holding
 * `.strata/`), as Node resolves an import there:
 * - a spec starting with `./`, `../` or `/` (or a `file:` URL) is a file or
 *   a package folder, relative to the project root (not to the config file);
 * - anything else is a package name (`@acme/strata-git`, `@acme/strata-git/node`)
 *   looked up in `node_modules` from the project root upwards. A package not
 *   installed there is imported as the runtime resolves it from Strata's own
 *   install (how the first-party plugins load).
 * A package folder's `package.json` `exports` (conditions `import`, `node`,
 * `default`) or else `main` (else `index.js`) names the module. The module's
 * default export (or its `plugin` export) is the plugin.
 *
 * A plugin that fails to load, validate or build gives a `PluginLoadError`
 * naming it (a syntax error or a throw at import names `file:line:column`);
 * with `required = false` it is skipped (and reported in `skipped`) and the
 * others load. Plugin ids and tool names must be unique: a collision is an
 * error naming both owners. A spec that loads a plugin already loaded (the
 * same plugin object: the same module named twice, or a deprecated alias
 * such as `@strata/plugin-fs/node` next to `@strata/plugin-fs`) is that
 * plugin, loaded once, not a collision. `inspect` loads every plugin and
 * reports each one's result, for listings.
 *
 * The host gives the plugins its services (`Plugin.HostPlatform`:
 * `FileSystem`, `Path`, `CommandExecutor` and the `Workspace` port):
 * `install` and `register` require them, so every composition provides a
 * `Workspace` (`@strata/plugin/NodeWorkspace` on Node, Bun and Deno).
 *
 * The loader is the host's: it moved from `@strata/plugin/PluginLoader` to
 * `@strata/core-runtime/PluginLoader` in 0.2.0, so the plugin SDK is types
 * and helpers only.
 *
 * @since 0.2.0
 */
import * as Path from "@effect/platform/Path"
import type { HookDispatcher } from "@strata/hooks"
import * as Plugin from "@strata/plugin/Plugin"
import { PluginLoadError } from "@strata/plugin/PluginError"
import * as ProtocolError from "@strata/protocol/ProtocolError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { PluginSpec } from "./internal/pluginSpec.js"
import { resolvePackage, resolveRelative } from "./internal/resolve.js"

/**
 * A plugin in config: a spec string, or `{ spec, required }` (`required`
 * defaults to true). Defined apart (internal/pluginSpec.ts) so that reading
 * the config does not load the loader.
 *
 * @since 0.1.0
 * @category schemas
 */
export { PluginSpec } from "./internal/pluginSpec.js"

/**
 * Where an import failed: the file, line and column (1-based).
 *
 * @since 0.1.0
 * @category models
 */
export interface SourceLocation {
  readonly file: string
  readonly line: number
  readonly column?: number | undefined
}

/**
 * Options of `load`: the project root specs are resolved from, how a module
 * is imported (default: the runtime's dynamic `import()`), and how to find
 * the line and column of a syntax error when the runtime's error does not
 * carry them (Node's does not; `node --check` does: the CLI passes one).
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadOptions {
  readonly baseDir: string
  readonly importModule?: ((specifier: string) => Promise<unknown>) | undefined
  readonly locateSyntaxError?: ((file: string) => Effect.Effect<SourceLocation | undefined>) | undefined
  /**
   * Plugins the distribution ships inside itself, by spec: a spec found here
   * is imported through its function (a bundled module, no lookup in
   * `node_modules`), so a bundled distribution loads its built-in plugins
   * without loading a second copy of their dependencies. Any other spec is
   * resolved as usual.
   */
  readonly modules?: Readonly<Record<string, () => Promise<unknown>>> | undefined
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

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const isRelative = (spec: string) => /^(\.{1,2}\/|\/|file:)/.test(spec)

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

const fromUrl = (s: string) => (s.startsWith("file://") ? decodeURIComponent(s.slice("file://".length)) : s)

/**
 * The location an import error carries, if any: Bun's build messages
 * (`errors[].position`), Deno's `at file:///x.js:3:8`, or the first stack
 * frame inside the plugin's folder (a throw at import time).
 */
const locationOf = (error: unknown, within: string): SourceLocation | undefined => {
  if (typeof error !== "object" || error === null) return undefined
  const errors = (error as { errors?: unknown }).errors
  if (Array.isArray(errors)) {
    for (const e of errors) {
      type At = { file?: unknown; line?: unknown; column?: unknown }
      // Bun: `position` (1-based column); esbuild (Vite): `location` (0-based column).
      const bun = (e as { position?: At } | null)?.position
      const esbuild = (e as { location?: At } | null)?.location
      const p = bun ?? esbuild
      if (p !== undefined && typeof p.file === "string" && typeof p.line === "number") {
        const column = typeof p.column === "number" ? p.column + (bun === undefined ? 1 : 0) : undefined
        return { file: p.file, line: p.line, ...(column === undefined ? {} : { column }) }
      }
    }
  }
  const text = `${messageOf(error)}\n${(error as { stack?: unknown }).stack ?? ""}`
  for (const m of text.matchAll(/(file:\/\/[^\s()]+?|\/[^\s():]+?):(\d+):(\d+)/g)) {
    const file = fromUrl(m[1]!)
    if (file.startsWith(within)) return { file, line: Number(m[2]), column: Number(m[3]) }
  }
  return undefined
}

/** One line for an import error; whether it is a syntax error (each runtime words it its own way). */
const describe = (error: unknown): { readonly syntax: boolean; readonly text: string } => {
  const errors = typeof error === "object" && error !== null ? (error as { errors?: unknown }).errors : undefined
  const inner = Array.isArray(errors) && errors.length > 0 ? errors[0] : undefined
  const name = error instanceof Error ? error.name : ""
  const text =
    typeof inner === "object" && inner !== null && typeof (inner as { text?: unknown }).text === "string"
      ? (inner as { text: string }).text
      : messageOf(inner ?? error)
  const line = (text.split("\n")[0] ?? "").trim()
  // Node: a SyntaxError; Deno: "SyntaxError: ..." in a TypeError; Bun: build messages in an AggregateError.
  const syntax = name === "SyntaxError" || line.startsWith("SyntaxError: ") || inner !== undefined
  if (syntax) return { syntax, text: `SyntaxError: ${line.replace(/^SyntaxError: /, "")}` }
  return { syntax, text: name !== "" && name !== "Error" && !line.startsWith(name) ? `${name}: ${line}` : line }
}

const where = (l: SourceLocation) => `${l.file}:${l.line}${l.column === undefined ? "" : `:${l.column}`}`

const importPlugin = (spec: string, options: LoadOptions) =>
  Effect.gen(function* () {
    const bundled =
      options.modules !== undefined && Object.hasOwn(options.modules, spec) ? options.modules[spec] : undefined
    if (bundled !== undefined) {
      const module = yield* Effect.tryPromise({
        try: bundled,
        catch: (error) =>
          new PluginLoadError({ plugin: spec, reason: "ImportFailed", detail: describe(error).text, cause: error })
      })
      return yield* fromModule(spec, module)
    }
    const path = yield* Path.Path
    const names = [spec]
    let specifier = spec
    let file: string | undefined
    let within: string | undefined
    const resolution = isRelative(spec)
      ? yield* resolveRelative(spec.startsWith("file:") ? fromUrl(spec) : spec, options.baseDir)
      : yield* resolvePackage(spec, options.baseDir)
    if (resolution._tag === "Unresolvable") {
      return yield* new PluginLoadError({ plugin: spec, reason: "NotFound", detail: resolution.detail })
    }
    if (resolution._tag === "File") {
      file = resolution.file
      within = resolution.packageDir ?? path.dirname(resolution.file)
      specifier = (yield* path
        .toFileUrl(resolution.file)
        .pipe(
          Effect.mapError(
            (e) => new PluginLoadError({ plugin: spec, reason: "NotFound", detail: `invalid path: ${e.message}` })
          )
        )).href
      names.push(resolution.file, specifier)
    }
    const importModule = options.importModule ?? defaultImport
    const module = yield* Effect.tryPromise({
      try: () => importModule(specifier),
      catch: (error) => error
    }).pipe(
      Effect.catchAll((error) =>
        Effect.gen(function* () {
          if (notFound(error, names)) {
            const looked = resolution._tag === "NotInProject" ? ` (looked in ${resolution.looked.join(", ")})` : ""
            return yield* new PluginLoadError({
              plugin: spec,
              reason: "NotFound",
              detail: `${(messageOf(error).split("\n")[0] ?? "").trim()}${looked}`,
              cause: error
            })
          }
          let location = within === undefined ? undefined : locationOf(error, within)
          const described = describe(error)
          if (location === undefined && described.syntax && file !== undefined && options.locateSyntaxError) {
            location = yield* options.locateSyntaxError(file)
          }
          return yield* new PluginLoadError({
            plugin: spec,
            reason: "ImportFailed",
            detail: `${location === undefined ? (file === undefined ? "" : `${file}: `) : `${where(location)}: `}${described.text}`,
            ...(location === undefined ? {} : { file: location.file, line: location.line, column: location.column }),
            cause: error
          })
        })
      )
    )
    return yield* fromModule(spec, module)
  }).pipe(Effect.withSpan("PluginLoader.import", { attributes: { spec } }))

/** The plugin a module exports (`default`, or `plugin`), validated. */
const fromModule = (spec: string, module: unknown) => {
  const exported =
    typeof module === "object" && module !== null
      ? ((module as Record<string, unknown>).default ?? (module as Record<string, unknown>).plugin)
      : undefined
  if (exported === undefined) {
    return Effect.fail(
      new PluginLoadError({
        plugin: spec,
        reason: "InvalidPlugin",
        detail: "the module has no default export (export default definePlugin({ ... }))"
      })
    )
  }
  return Plugin.validate(exported, spec)
}

const collision = (spec: string, detail: string, other: string) =>
  new PluginLoadError({ plugin: spec, reason: "Collision", detail, other })

const decodeSpecs = (specs: unknown) => {
  const decoded = ProtocolError.decodeUnknownEither(Schema.Array(PluginSpec))(specs)
  if (Either.isRight(decoded)) return Effect.succeed(decoded.right)
  return Effect.fail(
    new PluginLoadError({
      plugin: "<config>",
      reason: "InvalidPlugin",
      detail: decoded.left.message,
      path: `plugins${decoded.left.path === "" ? "" : decoded.left.path.startsWith("[") ? decoded.left.path : `.${decoded.left.path}`}`
    })
  )
}

interface Seen {
  readonly ids: Map<string, string>
  readonly tools: Map<string, string>
  /** The plugin objects loaded so far (a module's default export), to the spec that loaded each. */
  readonly definitions: Map<unknown, string>
}

const makeSeen = (): Seen => ({ ids: new Map(), tools: new Map(), definitions: new Map() })

/**
 * Imports and validates one plugin; checks its id and tools against the ones
 * loaded before it (and records them). `undefined` when it is a plugin
 * already loaded (the same object, under another spec or the same one).
 */
const loadOne = (spec: string, options: LoadOptions, seen: Seen) =>
  Effect.gen(function* () {
    const plugin = yield* importPlugin(spec, options)
    if (seen.definitions.has(plugin.definition)) return undefined
    const owner = seen.ids.get(plugin.id)
    if (owner !== undefined) {
      return yield* collision(spec, `plugin id "${plugin.id}" is used by both ${owner} and ${spec}`, owner)
    }
    for (const tool of plugin.manifest.tools) {
      const first = seen.tools.get(tool.name)
      if (first !== undefined) {
        return yield* collision(spec, `tool "${tool.name}" is registered by both ${first} and ${spec}`, first)
      }
    }
    seen.ids.set(plugin.id, spec)
    seen.definitions.set(plugin.definition, spec)
    for (const tool of plugin.manifest.tools) seen.tools.set(tool.name, spec)
    return plugin
  })

/**
 * Loads and validates the plugins named in config. Fails with the first
 * error of a required plugin; optional ones that fail are skipped. A plugin
 * named again (the same object, under an alias or the same spec) is listed
 * once, under the spec that named it first.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = Effect.fn("PluginLoader.load")(function* (specs: unknown, options: LoadOptions) {
  const decoded = yield* decodeSpecs(specs)
  const plugins: Array<Loaded> = []
  const skipped: Array<PluginLoadError> = []
  const seen = makeSeen()
  for (const entry of decoded) {
    const spec = typeof entry === "string" ? entry : entry.spec
    const required = typeof entry === "string" ? true : entry.required !== false
    const result = yield* Effect.either(loadOne(spec, options, seen))
    if (Either.isLeft(result)) {
      if (required) return yield* result.left
      skipped.push(result.left)
      continue
    }
    if (result.right !== undefined) plugins.push({ spec, required, plugin: result.right })
  }
  return { plugins, skipped } satisfies LoadResult
})

/**
 * One plugin as `inspect` reports it: loaded, or the error that stopped it.
 *
 * @since 0.1.0
 * @category models
 */
export type Inspected =
  | { readonly _tag: "Loaded"; readonly spec: string; readonly required: boolean; readonly plugin: Plugin.Plugin }
  | { readonly _tag: "Failed"; readonly spec: string; readonly required: boolean; readonly error: PluginLoadError }

/**
 * Loads every plugin named in config and reports each one, in config order,
 * without failing on the broken ones (for `strata plugins list`). Id and
 * tool name collisions are reported on the later plugin; a plugin named
 * again (the same object) is reported once, under its first spec. Fails
 * only when the list itself is not a list of specs.
 *
 * @since 0.1.0
 * @category constructors
 */
export const inspect = Effect.fn("PluginLoader.inspect")(function* (specs: unknown, options: LoadOptions) {
  const decoded = yield* decodeSpecs(specs)
  const out: Array<Inspected> = []
  const seen = makeSeen()
  for (const entry of decoded) {
    const spec = typeof entry === "string" ? entry : entry.spec
    const required = typeof entry === "string" ? true : entry.required !== false
    const result = yield* Effect.either(loadOne(spec, options, seen))
    if (Either.isLeft(result)) out.push({ _tag: "Failed", spec, required, error: result.left })
    else if (result.right !== undefined) out.push({ _tag: "Loaded", spec, required, plugin: result.right })
  }
  return out as ReadonlyArray<Inspected>
})

/**
 * Builds a validated plugin (its layer on the host's services) and registers
 * its hooks with the `HookDispatcher` under the plugin id, both for the
 * lifetime of the scope. The host's step, so the SDK's `Plugin.install` is
 * no longer needed by hosts.
 *
 * @since 0.2.0
 * @category constructors
 */
export const register = (
  plugin: Plugin.Plugin
): Effect.Effect<
  Plugin.BuiltPlugin,
  PluginLoadError,
  Plugin.HostPlatform | HookDispatcher.HookDispatcher | Scope.Scope
> =>
  // One routine builds a plugin and registers its hooks: the SDK's, which a
  // plugin's own tests use too (the host adds only its span).
  Plugin.install(plugin).pipe(Effect.withSpan("PluginLoader.register", { attributes: { plugin: plugin.id } }))

/**
 * Loads the plugins named in config, builds them and registers their hooks,
 * for the lifetime of the scope. Optional plugins that fail at any step are
 * skipped. The plugins get the host's services (`Plugin.HostPlatform`:
 * `FileSystem`, `Path`, `CommandExecutor`, `Workspace`), from the layers the
 * host provides; a plugin's own layer may shadow them for itself.
 *
 * @since 0.1.0
 * @category constructors
 */
export const install = (
  specs: unknown,
  options: LoadOptions
): Effect.Effect<InstallResult, PluginLoadError, Plugin.HostPlatform | HookDispatcher.HookDispatcher | Scope.Scope> =>
  Effect.gen(function* () {
    const loaded = yield* load(specs, options)
    const plugins: Array<Plugin.BuiltPlugin> = []
    const skipped = [...loaded.skipped]
    for (const entry of loaded.plugins) {
      const built = yield* Effect.either(register(entry.plugin))
      if (Either.isRight(built)) plugins.push(built.right)
      else if (entry.required) return yield* built.left
      else skipped.push(built.left)
    }
    return { plugins, skipped }
  }).pipe(Effect.withSpan("PluginLoader.install"))
