/**
 * Deprecated alias, kept for one release: the same plugin as
 * `@strata/plugin-audit-log` (the host provides the platform now). Configs
 * naming `@strata/plugin-audit-log/node` keep working; name
 * `@strata/plugin-audit-log` instead.
 *
 * @since 0.1.0
 * @deprecated use `@strata/plugin-audit-log`
 */
export { default } from "./index.js"
