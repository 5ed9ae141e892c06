/**
 * The one verdict of a tool call, as pure functions: the invoker gathers the
 * facts (the policy's judgement of the input the call will really run with,
 * what the hooks said) and these decide. A hook may make a call stricter,
 * never looser; any rewrite of the input is judged again by the policy
 * before it counts.
 *
 * @internal
 */

import type { JsonValue } from "@strata/protocol/Common"
import type { AskForApproval } from "@strata/protocol/Tool"

/** @internal */
export type Verdict = "allow" | "ask" | "deny"

const rank: Record<Verdict, number> = { allow: 0, ask: 1, deny: 2 }

/** @internal */
export const strictest = (a: Verdict, b: Verdict): Verdict => (rank[a] >= rank[b] ? a : b)

/** What decided, for the record and the message. */
export type Source = "policy" | "hook" | "permission" | "mode" | "none"

/** @internal */
export interface Judgement {
  readonly verdict: Verdict
  readonly reason?: string | undefined
  readonly source: Source
  /** The shell command the verdict is about, when the tool runs one. */
  readonly command?: string | undefined
}

/** What the `PreToolUse` hooks answered (the dispatcher's combined result). */
export interface HookAnswer {
  readonly decision: "allow" | "deny" | "ask" | "none" | string
  readonly reason?: string | undefined
  readonly continue: boolean
  readonly stopReason?: string | undefined
  readonly updatedInput?: JsonValue | undefined
}

/**
 * The verdict before any person or permission hook is asked: the policy's
 * judgement of the (possibly rewritten) input, made stricter by the
 * `PreToolUse` hooks, then the approval mode (`never` has no one to ask).
 *
 * `policy` must already be the judgement of the input after the hooks'
 * rewrite; `hooks` is undefined when they were not asked (the policy denied).
 *
 * @internal
 */
export const beforeApproval = (
  policy: Judgement,
  hooks: HookAnswer | undefined,
  mode: AskForApproval,
  toolName: string
): Judgement => {
  let j = policy
  if (hooks !== undefined) {
    if (hooks.decision === "deny" || hooks.decision === "ask") {
      const v = strictest(j.verdict, hooks.decision)
      if (v !== j.verdict) {
        j = { ...j, verdict: v, source: "hook", reason: hooks.reason ?? `a ${toolName} PreToolUse hook said ${v}` }
      }
    }
    if (!hooks.continue)
      j = { ...j, verdict: "deny", source: "hook", reason: hooks.stopReason ?? "a hook stopped the turn" }
  }
  return applyMode(j, mode)
}

/** `never`: an `ask` has no one to answer it, so it is a denial. @internal */
export const applyMode = (j: Judgement, mode: AskForApproval): Judgement =>
  j.verdict === "ask" && mode === "never"
    ? {
        ...j,
        verdict: "deny",
        source: "mode",
        reason: `${j.reason ?? "approval needed"} (approval mode "never": no one to ask)`
      }
    : j

/**
 * After a `PermissionRequest` hook answered an `ask`: `deny` denies; `allow`
 * runs, unless the hook also rewrote the input and the policy's judgement
 * of the rewritten input (`recheck`) is `deny` (a hook cannot loosen the
 * policy); a rewritten input the policy would ask about is asked again of
 * the person, never run on the hook's word. No answer leaves the `ask`.
 *
 * @internal
 */
export const afterPermission = (
  asked: Judgement,
  permission: HookAnswer,
  recheck: Judgement | undefined
): Judgement => {
  if (permission.decision === "deny") {
    return {
      ...asked,
      verdict: "deny",
      source: "permission",
      reason: permission.reason ?? "denied by a PermissionRequest hook"
    }
  }
  if (permission.decision !== "allow") return asked
  if (recheck === undefined) return { ...asked, verdict: "allow", source: "permission" }
  if (recheck.verdict === "allow") return { ...recheck, source: "permission" }
  if (recheck.verdict === "deny") {
    return {
      ...recheck,
      source: "policy",
      reason: `the PermissionRequest hook's rewritten input is denied: ${recheck.reason ?? "policy decision: deny"}`
    }
  }
  return {
    ...recheck,
    reason: `the PermissionRequest hook's rewritten input needs approval: ${recheck.reason ?? "policy decision: ask"}`
  }
}
