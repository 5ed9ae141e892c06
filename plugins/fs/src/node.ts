/**
 * The file-tools plugin on `@effect/platform-node` (runs on Node, Bun and Deno):
 * `plugins = ["@strata/plugin-fs/node"]`.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { make } from "./index.js"

/**
 * @since 0.1.0
 * @category plugins
 */
export default make(NodeContext.layer)
