/**
 * @internal
 *
 * The wire-side helpers of `RpcServer`: an approval record as the wire shows
 * it, a params decoding error as a typed `InvalidParams`, the id of a
 * message that failed to decode, and picking the params a facade call takes.
 */
import type * as Rpc from "@strata/protocol/Rpc"
import type { ApprovalRecord } from "@strata/storage/StorageSchema"
import * as ParseResult from "effect/ParseResult"
import { RpcError } from "../RpcError.js"

/** @internal */
export const toApproval = (r: ApprovalRecord): Rpc.Approval => ({
  id: r.id,
  thread_id: r.thread_id,
  call: r.call,
  ...(r.command === undefined ? {} : { command: r.command }),
  ...(r.cwd === undefined ? {} : { cwd: r.cwd }),
  reason: r.reason,
  status: r.status,
  created_at: r.created_at,
  ...(r.resolved_at === undefined ? {} : { resolved_at: r.resolved_at }),
  ...(r.resolution_reason === undefined ? {} : { resolution_reason: r.resolution_reason })
})

/** @internal */
export const pathOf = (issue: ParseResult.ParseError): string | undefined => {
  const first = ParseResult.ArrayFormatter.formatErrorSync(issue)[0]
  return first === undefined ? undefined : first.path.map(String).join(".")
}

/** @internal */
export const invalidParams = (method: string, error: ParseResult.ParseError) => {
  const first = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  const path = pathOf(error)
  return new RpcError({
    type: "InvalidParams",
    detail: `${method}: invalid params${path ? ` at ${path}` : ""}: ${first?.message ?? "invalid"}`,
    ...(path === undefined || path === "" ? {} : { path })
  })
}

/** The `id` of a message that failed to decode, when it has a usable one. */
/** @internal */
export const readId = (message: unknown): Rpc.RequestId | null => {
  if (typeof message !== "object" || message === null || !("id" in message)) return null
  const id = (message as { id: unknown }).id
  return (typeof id === "string" && id.length <= 256) || (typeof id === "number" && Number.isInteger(id)) ? id : null
}

/** @internal */
export const pick = <T extends object, K extends keyof T>(value: T, keys: ReadonlyArray<K>): Partial<Pick<T, K>> => {
  const out: Partial<Pick<T, K>> = {}
  for (const key of keys) if (value[key] !== undefined) out[key] = value[key]
  return out
}
