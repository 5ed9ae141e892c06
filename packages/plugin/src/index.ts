/**
 * `@strata/plugin`: the plugin author's SDK. `definePlugin`, `defineTool`,
 * `defineHook` and `defineJob` build a plugin as a value; `Plugin` and `Tool`
 * are what the host uses to validate and run them. Loading plugins from
 * config is the host's job: `@strata/core-runtime/PluginLoader`.
 *
 * A plugin needs no other Strata package: the hook events and outputs are
 * re-exported here.
 *
 * @since 0.1.0
 */
import * as Hook from "@strata/hooks/Hook"
import * as Job from "./Job.js"
import * as Plugin from "./Plugin.js"
import * as Tool from "./Tool.js"

/** @since 0.1.0 */
export * as HookEvent from "@strata/hooks/HookEvent"
/** @since 0.1.0 */
export * as HookOutput from "@strata/hooks/HookOutput"
/** @since 0.1.0 */
export * as Job from "./Job.js"
/** @since 0.1.0 */
export * as Plugin from "./Plugin.js"
/** @since 0.1.0 */
export * as PluginError from "./PluginError.js"
/** @since 0.1.0 */
export * as Tool from "./Tool.js"
/** @since 0.2.0 */
export * as Workspace from "./Workspace.js"

/**
 * Defines a plugin (`Plugin.define`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const definePlugin: typeof Plugin.define = Plugin.define

/**
 * Defines a tool (`Tool.define`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const defineTool: typeof Tool.define = Tool.define

/**
 * Defines a hook (`Hook.define` of `@strata/hooks`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const defineHook: typeof Hook.define = Hook.define

/**
 * Defines a background job kind (`Job.define`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const defineJob: typeof Job.define = Job.define
