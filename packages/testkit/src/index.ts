/**
 * `@strata/testkit`: test helpers for Strata. The scripted model server
 * lives in the `@strata/testkit/node/ScriptedModelServer` subpath (it uses
 * `node:http`, which Node, Bun and Deno provide).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as ScriptedModel from "./ScriptedModel.js"
