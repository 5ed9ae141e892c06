/**
 * `@strata/hooks`: lifecycle hook events, the `HookDispatcher`, in-process
 * hooks and Claude Code compatible command hooks.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as ClaudeCode from "./ClaudeCode.js"
/** @since 0.1.0 */
export * as CommandHook from "./CommandHook.js"
/** @since 0.2.0 */
export * as CommandHookConfig from "./CommandHookConfig.js"
/** @since 0.2.0 */
export * as Dialects from "./Dialects.js"
/** @since 0.1.0 */
export * as Hook from "./Hook.js"
/** @since 0.1.0 */
export * as HookActivity from "./HookActivity.js"
/** @since 0.3.0 */
export * as HookCatalog from "./HookCatalog.js"
/** @since 0.1.0 */
export * as HookDispatcher from "./HookDispatcher.js"
/** @since 0.1.0 */
export * as HookError from "./HookError.js"
/** @since 0.1.0 */
export * as HookEvent from "./HookEvent.js"
/** @since 0.1.0 */
export * as HookOutput from "./HookOutput.js"
/** @since 0.1.0 */
export * as Matcher from "./Matcher.js"
