/**
 * `@strata/sandbox`: the port through which tools start processes
 * (environment policy, secret redaction, sandbox, containment). The
 * platform implementation is `@strata/sandbox/node`.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as EnvPolicy from "./EnvPolicy.js"
/** @since 0.1.0 */
export * as Redact from "./Redact.js"
/** @since 0.1.0 */
export * as Sandbox from "./Sandbox.js"
