/**
 * `@strata/demo`: the scripted model behind the CLI's built-in demo model
 * and the testkit's model servers. The HTTP server lives in the
 * `@strata/demo/node/ScriptedModelServer` subpath (it uses `node:http`,
 * which Node, Bun and Deno provide).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as ScriptedModel from "./ScriptedModel.js"
