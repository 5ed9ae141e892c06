/**
 * `@strata/policy-import`: reads codex, gemini-cli and Claude Code
 * permission rules and hooks and writes Strata's policy, never looser than
 * the source, with a report of every entry.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Claude from "./Claude.js"
/** @since 0.1.0 */
export * as Codex from "./Codex.js"
/** @since 0.1.0 */
export * as Emit from "./Emit.js"
/** @since 0.1.0 */
export * as Gemini from "./Gemini.js"
/** @since 0.1.0 */
export * as ImportError from "./ImportError.js"
/** @since 0.1.0 */
export * as Importer from "./Importer.js"
/** @since 0.1.0 */
export * as Model from "./Model.js"
