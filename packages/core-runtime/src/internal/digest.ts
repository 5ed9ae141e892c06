/**
 * The digest of a pending approval: SHA-256 over a canonical JSON of the
 * exact call it asks about (keys sorted at every depth), with the Web
 * Crypto API every runtime has.
 *
 * @internal
 */

import type { ToolCall } from "@strata/protocol/Tool"
import * as Effect from "effect/Effect"

/** JSON with object keys sorted at every depth: equal values, equal text. @internal */
export const canonical = (value: unknown): string => {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null"
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(record[k])}`).join(",")}}`
}

const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("")

/** `sha256:<hex>` of the canonical JSON of `value`. @internal */
export const sha256 = (value: unknown): Effect.Effect<string> =>
  Effect.promise(() => globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical(value)))).pipe(
    Effect.map((d) => `sha256:${hex(d)}`)
  )

/** What an approval's digest covers. @internal */
export interface ApprovalFacts {
  readonly call: ToolCall
  readonly reason: string
  readonly command?: string | undefined
  readonly cwd?: string | undefined
  readonly thread_id: string | null
  readonly approval_mode: string | undefined
  /** Approving runs the call outside the sandbox (approval mode `on-failure`, after the sandbox refused it). */
  readonly unsandboxed?: boolean | undefined
}

/** @internal */
export const ofApproval = (facts: ApprovalFacts): Effect.Effect<string> =>
  sha256({
    v: 1,
    tool: facts.call.name,
    call_id: facts.call.id,
    arguments: facts.call.arguments,
    thread_id: facts.thread_id,
    command: facts.command ?? null,
    cwd: facts.cwd ?? null,
    reason: facts.reason,
    approval_mode: facts.approval_mode ?? null,
    // only when set, so the digests of ordinary approvals keep their value
    ...(facts.unsandboxed === true ? { unsandboxed: true } : {})
  })
