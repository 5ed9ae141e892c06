/**
 * Plugins: what a third party ships to extend Strata. A plugin is a value
 * built with `define` (exported as `definePlugin`): an id, a version, tools,
 * hooks and, optionally, a layer providing the services its tools and hooks
 * need.
 *
 * Lifecycle: `validate` checks an untrusted value (a module's default export)
 * and computes its manifest; `build` builds its layer in a scope and returns
 * its tools, namespaced `plugin__tool`, ready for the `ToolRegistry`, and its
 * hooks, ready for the `HookDispatcher`; `install` also registers the hooks.
 *
 * @since 0.1.0
 */

import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type { Hook, HookDispatcher } from "@strata/hooks"
import * as HookCatalog from "@strata/hooks/HookCatalog"
import * as Common from "@strata/protocol/Common"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/plugin.js"
import type * as Job from "./Job.js"
import type { PluginLoadError, ToolFailure, ToolInputError, ToolOutputError } from "./PluginError.js"
import type * as Tool from "./Tool.js"
import type * as Workspace from "./Workspace.js"

/**
 * What a plugin id may be: lowercase letters and digits in `-`-separated
 * words (`git`, `sample-guard`), at most 32 characters.
 *
 * @since 0.1.0
 * @category utils
 */
export const ID_PATTERN: RegExp = /^[a-z0-9]+(?:-[a-z0-9]+)*$/

/**
 * How a plugin names itself: `id`, or `name` (accepted as the id).
 *
 * @since 0.1.0
 * @category models
 */
export type PluginIdentity =
  | { readonly id: string; readonly name?: string | undefined }
  | { readonly name: string; readonly id?: undefined }

/**
 * The services the host gives every plugin: `FileSystem`, `Path` and
 * `CommandExecutor` of `@effect/platform`, from the platform the host runs
 * on (Node, Bun, Deno), and the race-safe `Workspace.Workspace` port (in
 * `strata`: `@strata/plugin/NodeWorkspace`, descriptor-anchored on Linux). A
 * plugin's tools, hooks and layer may require them without providing them,
 * so a plugin ships no platform of its own.
 *
 * A plugin whose `layer` provides one of these services itself (its own
 * `Workspace`, say `NodeWorkspace.layer({ durable: false })`) uses its own:
 * what a plugin's layer provides shadows the host's, for that plugin's
 * tools, hooks and jobs only (other plugins still get the host's).
 *
 * @since 0.2.0
 * @category models
 */
export type HostPlatform = FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor | Workspace.Workspace

/**
 * A plugin, as its author writes it. `id` (or `name`) namespaces its tools;
 * `layer` provides the services (`R`) its tools and hooks require, apart
 * from the host's platform (`HostPlatform`), which the layer may itself
 * require.
 *
 * @since 0.1.0
 * @category models
 */
export type PluginDefinition<R = never> = PluginIdentity & {
  readonly version: string
  readonly description?: string | undefined
  readonly tools?: ReadonlyArray<Tool.Any<R>> | undefined
  readonly hooks?: ReadonlyArray<Hook.Any<R>> | undefined
  /** Background job kinds (`defineJob`), registered as `<id>__<kind>`; its tools start them (`context.jobs`). */
  readonly jobs?: ReadonlyArray<Job.Definition<R>> | undefined
  readonly layer?: Layer.Layer<Exclude<R, HostPlatform>, unknown, HostPlatform> | undefined
}

/**
 * Defines a plugin; the identity, typed so that what its tools and hooks
 * require (`R`) must be provided by its `layer`: a plugin whose tools need a
 * service has to ship the layer that provides it. The host's services
 * (`HostPlatform`: `FileSystem`, `Path`, `CommandExecutor`, `Workspace`) are the
 * exception: the host provides them, to the tools and hooks and to the layer.
 *
 * @example
 * ```ts
 * export default definePlugin({
 *   id: "git",
 *   version: "0.1.0",
 *   tools: [GitStatus],
 *   hooks: [defineHook({ event: "PreToolUse", matcher: "shell__exec", run: (e) => ... })],
 *   layer: GitClient.layer
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const define = <R = never>(
  plugin: PluginDefinition<R> &
    ([Exclude<R, HostPlatform>] extends [never]
      ? unknown
      : { readonly layer: Layer.Layer<Exclude<R, HostPlatform>, unknown, HostPlatform> })
): PluginDefinition<R> => plugin

/**
 * A tool in a plugin's manifest: its qualified name (`plugin__tool`), its
 * local name, its description and JSON Schemas.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolManifest = Schema.Struct({
  name: Schema.String,
  local_name: Schema.String,
  description: Schema.String,
  input_schema: Common.JsonValue,
  output_schema: Common.JsonValue
}).annotations({ identifier: "ToolManifest" })
/** @since 0.1.0 @category models */
export type ToolManifest = typeof ToolManifest.Type

/**
 * A hook in a plugin's manifest: its id (`plugin/name`), events, matcher and
 * priority.
 *
 * @since 0.1.0
 * @category schemas
 */
export const HookManifest = Schema.Struct({
  id: Schema.String,
  events: Schema.Union(Schema.Literal("*"), Schema.Array(HookCatalog.HookEventName)),
  matcher: Schema.optional(Schema.String),
  priority: Schema.Number
}).annotations({ identifier: "HookManifest" })
/** @since 0.1.0 @category models */
export type HookManifest = typeof HookManifest.Type

/**
 * A job kind in a plugin's manifest: its qualified name (`plugin__kind`),
 * its local kind and description.
 *
 * @since 0.1.0
 * @category schemas
 */
export const JobManifest = Schema.Struct({
  name: Schema.String,
  kind: Schema.String,
  description: Schema.optional(Schema.String)
}).annotations({ identifier: "JobManifest" })
/** @since 0.1.0 @category models */
export type JobManifest = typeof JobManifest.Type

/**
 * Everything a plugin registers, as data: what `strata plugins` lists and
 * what a reviewer reads before enabling a plugin.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PluginManifest = Schema.Struct({
  id: Schema.String,
  version: Schema.String,
  description: Schema.optional(Schema.String),
  tools: Schema.Array(ToolManifest),
  hooks: Schema.Array(HookManifest),
  jobs: Schema.Array(JobManifest),
  has_layer: Schema.Boolean
}).annotations({ identifier: "PluginManifest" })
/** @since 0.1.0 @category models */
export type PluginManifest = typeof PluginManifest.Type

/**
 * A validated plugin: its definition, its manifest and where it came from
 * (`source`: the config spec, or `inline`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Plugin {
  readonly id: string
  readonly version: string
  readonly source: string
  readonly manifest: PluginManifest
  readonly definition: PluginDefinition<any>
}

/**
 * Checks an untrusted value (a module's export) and computes its manifest.
 * Fails with `PluginLoadError` (`InvalidPlugin`, `path` naming the field):
 * bad id or version, a tool without a valid name, description, schemas or
 * `run`, an input field without a description, a schema that has no JSON
 * Schema form, a duplicate tool name, a hook on an unknown event or with an
 * invalid matcher, a `layer` that is not a Layer.
 *
 * @since 0.1.0
 * @category constructors
 */
export const validate: (value: unknown, source?: string) => Effect.Effect<Plugin, PluginLoadError> = internal.validate

/**
 * A plugin's tool, ready for the `ToolRegistry`: `invoke` decodes the raw
 * input, runs the tool with the plugin's services and returns the encoded
 * output; `validateInput` is the re-validation for `PreToolUse` rewrites.
 *
 * @since 0.1.0
 * @category models
 */
export interface RegisteredTool {
  readonly name: string
  readonly localName: string
  readonly owner: string
  readonly definition: Tool.Any<any>
  readonly description: Tool.Description
  readonly invoke: (
    input: unknown,
    context: Tool.ToolContext
  ) => Effect.Effect<unknown, ToolInputError | ToolOutputError | ToolFailure>
  readonly validateInput: (input: Common.JsonValue) => Effect.Effect<Common.JsonValue, ToolInputError>
}

/**
 * A plugin's job kind, ready for the job manager: `kind` qualified
 * (`plugin__kind`), `run` with the plugin's services provided.
 *
 * @since 0.1.0
 * @category models
 */
export interface RegisteredJob extends Omit<Job.Definition<never>, "run"> {
  readonly run: (job: Job.JobRun) => Effect.Effect<unknown, unknown, Scope.Scope>
}

/**
 * A built plugin: its tools and hooks with the plugin's services provided.
 *
 * @since 0.1.0
 * @category models
 */
export interface BuiltPlugin {
  readonly id: string
  readonly version: string
  readonly source: string
  readonly manifest: PluginManifest
  readonly tools: ReadonlyArray<RegisteredTool>
  readonly hooks: ReadonlyArray<Hook.Any>
  readonly jobs: ReadonlyArray<RegisteredJob>
}

/**
 * Builds a plugin's layer for the lifetime of the scope and returns its tools
 * and hooks with the layer's services and the host's (`HostPlatform`)
 * provided; a service the layer provides shadows the host's. Fails with
 * `LayerFailed`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const build: (plugin: Plugin) => Effect.Effect<BuiltPlugin, PluginLoadError, Scope.Scope | HostPlatform> =
  internal.build

/**
 * Builds a plugin and registers its hooks with the dispatcher (owner: the
 * plugin id), both for the lifetime of the scope: for a plugin's own tests.
 * A host registers plugins with `@strata/core-runtime/PluginLoader`
 * (`install`, `register`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const install: (
  plugin: Plugin
) => Effect.Effect<BuiltPlugin, PluginLoadError, HookDispatcher.HookDispatcher | Scope.Scope | HostPlatform> =
  internal.install
