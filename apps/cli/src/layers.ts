/**
 * The platform layers of the `strata` distribution: the one place they are
 * provided. `NodeContext.layer` (FileSystem, Path, CommandExecutor, Terminal)
 * runs unchanged on Node, Bun and Deno.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import type * as Layer from "effect/Layer"

/**
 * Everything the commands need from the platform.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<NodeContext.NodeContext> = NodeContext.layer
