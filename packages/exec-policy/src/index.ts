/**
 * `@strata/exec-policy`: decides `allow` / `ask` / `deny` for the shell
 * commands a model wants to run, from layered TOML rules and a real bash
 * parse, with the explanation.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Decision from "./Decision.js"
/** @since 0.1.0 */
export * as ExecPolicy from "./ExecPolicy.js"
/** @since 0.1.0 */
export * as ExecPolicyError from "./ExecPolicyError.js"
/** @since 0.2.0 */
export * as ProtectedPaths from "./ProtectedPaths.js"
/** @since 0.2.0 */
export * as Remembered from "./Remembered.js"
