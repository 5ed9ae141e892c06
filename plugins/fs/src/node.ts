/**
 * Deprecated alias, kept for one release: the same plugin as
 * `@strata/plugin-fs` (the host provides the `Workspace` now). Configs
 * naming `@strata/plugin-fs/node` keep working; name `@strata/plugin-fs`
 * instead.
 *
 * @since 0.1.0
 * @deprecated use `@strata/plugin-fs`
 */
export { default } from "./index.js"
