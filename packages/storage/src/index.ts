/**
 * `@strata/storage`: the `StateStore` service and its backends. Redis and
 * PostgreSQL live behind the `@strata/storage/redis` and
 * `@strata/storage/sql` subpaths so that their clients load only when used.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as StateStore from "./StateStore.js"
/** @since 0.1.0 */
export * as StorageError from "./StorageError.js"
/** @since 0.1.0 */
export * as StorageSchema from "./StorageSchema.js"
