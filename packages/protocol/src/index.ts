/**
 * `@strata/protocol`: every wire type of the Strata runtime as an
 * `effect/Schema`.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as App from "./App.js"
/** @since 0.1.0 */
export * as Common from "./Common.js"
/** @since 0.1.0 */
export * as Event from "./Event.js"
/** @since 0.1.0 */
export * as Ids from "./Ids.js"
/** @since 0.1.0 */
export * as Job from "./Job.js"
/** @since 0.1.0 */
export * as Mcp from "./Mcp.js"
/** @since 0.1.0 */
export * as Message from "./Message.js"
/** @since 0.1.0 */
export * as Model from "./Model.js"
/** @since 0.1.0 */
export * as Prompt from "./Prompt.js"
/** @since 0.1.0 */
export * as ProtocolError from "./ProtocolError.js"
/** @since 0.1.0 */
export * as Schemas from "./Schemas.js"
/** @since 0.1.0 */
export * as Thread from "./Thread.js"
/** @since 0.1.0 */
export * as Tool from "./Tool.js"
/** @since 0.1.0 */
export * as Version from "./Version.js"
