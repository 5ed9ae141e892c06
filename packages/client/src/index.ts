/**
 * @since 0.2.0
 */
/** @since 0.2.0 */
export * as StrataClient from "./StrataClient.js"
