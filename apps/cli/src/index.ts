/**
 * `@strata/cli`: the `strata` command line, for embedding and tests.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Cli from "./cli.js"
/** @since 0.1.0 */
export * as PolicyCommand from "./commands/policy.js"
/** @since 0.1.0 */
export * as Demo from "./Demo.js"
/** @since 0.1.0 */
export * as Distribution from "./Distribution.js"
/** @since 0.1.0 */
export * as Layers from "./layers.js"
/** @since 0.1.0 */
export * as Render from "./Render.js"
/** @since 0.1.0 */
export * as Session from "./Session.js"
