/**
 * Deprecated alias, kept for one release: the same plugin as
 * `@strata/plugin-shell` (the host provides the platform now). Configs
 * naming `@strata/plugin-shell/node` keep working; name
 * `@strata/plugin-shell` instead.
 *
 * @since 0.1.0
 * @deprecated use `@strata/plugin-shell`
 */
export { default } from "./index.js"
