/**
 * The one error of the wire: a JSON-RPC error with its Strata `type` (a key
 * of `Rpc.ErrorCode`), a one-line message, and the `path` of the offending
 * field when params were invalid. `fromCause` maps the Runtime's typed
 * failures (a missing thread, job or approval; a conflict; an illegal job
 * transition) onto it, so a client never sees a stack trace.
 *
 * @since 0.2.0
 */
import { ErrorCode, type ErrorObject, type ErrorType } from "@strata/protocol/Rpc"
import * as Data from "effect/Data"

/**
 * @since 0.2.0
 * @category errors
 */
export class RpcError extends Data.TaggedError("RpcError")<{
  readonly type: ErrorType
  readonly detail: string
  readonly path?: string | undefined
  readonly reason?: string | undefined
}> {
  override get message(): string {
    return this.detail
  }
  /** The JSON-RPC `error` object. */
  toObject(): ErrorObject {
    return {
      code: ErrorCode[this.type],
      message: this.detail,
      data: {
        type: this.type,
        ...(this.path === undefined ? {} : { path: this.path }),
        ...(this.reason === undefined ? {} : { reason: this.reason })
      }
    }
  }
}

const firstLine = (text: string) => (text.split("\n")[0] ?? "").slice(0, 500)

/**
 * The wire error for a failure of the Runtime (or anything else): typed
 * failures keep their meaning, defects become `InternalError` with no
 * detail beyond the class name.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromFailure = (error: unknown): RpcError => {
  if (error instanceof RpcError) return error
  const e = error as { readonly _tag?: unknown; readonly reason?: unknown; readonly message?: unknown }
  const tag = typeof e?._tag === "string" ? e._tag : undefined
  const reason = typeof e?.reason === "string" ? e.reason : undefined
  const message = typeof e?.message === "string" && e.message !== "" ? firstLine(e.message) : (tag ?? "failed")
  const common = { detail: message, ...(reason === undefined ? {} : { reason }) }
  if (
    tag === "JobNotFound" ||
    reason === "NotFound" ||
    reason === "ThreadNotFound" ||
    reason === "Missing" ||
    reason === "UnknownServer"
  ) {
    return new RpcError({ type: "NotFound", ...common })
  }
  if (tag === "InvalidTransition" || tag === "ThreadBusy" || reason === "Conflict" || reason === "NothingToContinue") {
    return new RpcError({ type: "Conflict", ...common })
  }
  if (tag === "JobConfigError" || tag === "InvalidProgress" || reason === "InvalidKey" || reason === "InvalidId") {
    return new RpcError({ type: "InvalidParams", ...common })
  }
  if (tag !== undefined) return new RpcError({ type: "InternalError", ...common })
  return new RpcError({ type: "InternalError", detail: "internal error" })
}
