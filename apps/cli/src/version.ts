/**
 * The version `strata --version` prints (kept equal to package.json by a test).
 *
 * @since 0.1.0
 */
export const version = "0.1.0"
