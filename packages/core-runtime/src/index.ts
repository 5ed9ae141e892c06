/**
 * `@strata/core-runtime`: the Strata Runtime.
 *
 * @since 0.1.0
 */

/** @since 0.3.0 */
export * as ApprovalKey from "./ApprovalKey.js"
/** @since 0.1.0 */
export * as Config from "./Config.js"
/** @since 0.1.0 */
export * as ConfigAliases from "./ConfigAliases.js"
export * as ConfigError from "./ConfigError.js"
/** @since 0.2.0 */
export * as PluginLoader from "./PluginLoader.js"
/** @since 0.1.0 */
export * as Runtime from "./Runtime.js"
/** @since 0.1.0 */
export * as RuntimeConfig from "./RuntimeConfig.js"
/** @since 0.1.0 */
export * as RuntimeLayer from "./RuntimeLayer.js"
/** @since 0.2.0 */
export * as SandboxOptions from "./SandboxOptions.js"
/** @since 0.1.0 */
export * as ThreadManager from "./ThreadManager.js"
/** @since 0.1.0 */
export * as ToolInvoker from "./ToolInvoker.js"
/** @since 0.1.0 */
export * as ToolRegistry from "./ToolRegistry.js"
/** @since 0.1.0 */
export * as Tracing from "./Tracing.js"
/** @since 0.1.0 */
export * as Turn from "./Turn.js"
export * as TurnMachine from "./TurnMachine.js"
