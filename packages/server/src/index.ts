/**
 * @since 0.2.0
 */
/** @since 0.2.0 */

/** @since 0.2.0 */
export * as Acp from "./Acp.js"
export * as Auth from "./Auth.js"
/** @since 0.2.0 */
export * as Http from "./Http.js"
/** @since 0.2.0 */
export * as OpenApi from "./OpenApi.js"
/** @since 0.2.0 */
export * as RpcError from "./RpcError.js"
/** @since 0.2.0 */
export * as RpcServer from "./RpcServer.js"
