/**
 * `@strata/jobs`: durable background jobs.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as JobBackend from "./JobBackend.js"
/** @since 0.1.0 */
export * as JobError from "./JobError.js"
/** @since 0.1.0 */
export * as JobManager from "./JobManager.js"
/** @since 0.1.0 */
export * as JobState from "./JobState.js"
