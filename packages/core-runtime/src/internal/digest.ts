/**
 * The digest of a pending approval: HMAC-SHA-256, under the approval key
 * (see `ApprovalKey`), over a canonical JSON of the exact call it asks about
 * (keys sorted at every depth), with the Web Crypto API every runtime has.
 * Keyed, so that whoever can write the store cannot recompute it for a
 * changed call. `hmac-sha256:<hex>`; the unkeyed `sha256:` digests of older
 * versions never match.
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

/** The prefix of keyed digests. @internal */
export const PREFIX = "hmac-sha256:"

/** A Web Crypto key (the type is not named without the DOM library). @internal */
export type Key = Awaited<ReturnType<typeof globalThis.crypto.subtle.importKey>>

/** An HMAC-SHA-256 key for {@link hmac}. @internal */
export const importKey = (bytes: Uint8Array): Effect.Effect<Key> =>
  Effect.promise(() =>
    globalThis.crypto.subtle.importKey("raw", new Uint8Array(bytes), { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
  )

/** A key of random bytes, for an invoker given none (its approvals do not outlive it). @internal */
export const randomKey = (): Effect.Effect<Key> =>
  Effect.suspend(() => importKey(globalThis.crypto.getRandomValues(new Uint8Array(32))))

/** `hmac-sha256:<hex>` of the canonical JSON of `value` under `key`. @internal */
export const hmac = (key: Key, value: unknown): Effect.Effect<string> =>
  Effect.promise(() => globalThis.crypto.subtle.sign("HMAC", key, new TextEncoder().encode(canonical(value)))).pipe(
    Effect.map((d) => `${PREFIX}${hex(d)}`)
  )

/** Constant-time comparison of two digests. @internal */
export const equal = (a: unknown, b: string): boolean => {
  if (typeof a !== "string" || a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

/** @internal */
export const ofApproval = (key: Key, facts: ApprovalFacts): Effect.Effect<string> =>
  hmac(key, {
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
