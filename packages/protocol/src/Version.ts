/**
 * The protocol's version. Bumped on any incompatible wire change; stores and
 * clients compare it before reading.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category constants
 */
export const PROTOCOL_VERSION = 1
