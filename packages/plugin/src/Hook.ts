/**
 * Hooks for plugin authors: `define` (exported as `defineHook` by the
 * package's index), from `@strata/hooks/Hook`, on a subpath of its own so a
 * plugin that imports only what it uses (`@strata/plugin/Plugin`,
 * `@strata/plugin/Tool`, `@strata/plugin/Hook`) does not load the hook
 * events' schemas the index re-exports.
 *
 * @since 0.3.0
 */
import * as Hook from "@strata/hooks/Hook"

/**
 * Defines a hook (`Hook.define` of `@strata/hooks`).
 *
 * @since 0.3.0
 * @category constructors
 */
export const define: typeof Hook.define = Hook.define
