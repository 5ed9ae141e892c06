/**
 * The file-tools plugin on `node:fs` (runs on Node, Bun and Deno), with the
 * `[fs]` settings from the host's config:
 * `plugins = ["@strata/plugin-fs/node"]`.
 *
 * @since 0.1.0
 */
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import { make } from "./index.js"

/**
 * @since 0.1.0
 * @category plugins
 */
export default make(NodeWorkspace.layer())
