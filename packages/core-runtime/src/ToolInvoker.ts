/**
 * `ToolInvoker`: the seed's `invoke_tool`, Effect-native. A call goes
 * through, in order:
 *
 * 1. lookup and input validation (an unknown tool or a bad input is a
 *    `failed` result written for the model);
 * 2. `ExecPolicy`, for tools that execute shell commands, with the approval
 *    mode applied (`never` turns `ask` into `deny`);
 * 3. the `ToolLifecycle` precheck observer and the `PreToolUse` hooks, which
 *    may deny, ask, rewrite the input (re-validated) or add context; the
 *    strictest of the policy's and the hooks' decisions wins;
 * 4. on `ask`, the `PermissionRequest` hooks, which may answer for the
 *    person; a rewrite of theirs is judged again by the policy exactly like
 *    a `PreToolUse` one (a hook never loosens the policy);
 * 5. `denied`, or `approval_required` (the pending approval is persisted
 *    with a SHA-256 digest of the exact call: tool, arguments, command,
 *    directory, the policy's reason and the approval mode;
 *    `resolveApproval` later runs or denies it exactly once, across
 *    restarts, and refuses to run a record whose digest no longer matches),
 *    or dispatch -> `completed` / `failed`, with the `PostToolUse` /
 *    `PostToolUseFailure` hooks.
 *
 * The verdict is one path (`internal/verdict.ts`, pure): every rewrite is
 * judged again, the strictest answer wins. Every call that reaches the
 * invoker gets exactly one `ToolLifecycle` end phase: `completed`,
 * `failed`, `denied` or `awaiting_approval`. A call refused without asking
 * has no approval id (no approval existed).
 *
 * Every step emits its events: `tool_call_start` / `tool_call_result` /
 * `approval_requested` / `approval_decided` on the thread's journal (when the
 * call names a thread) and the `ToolLifecycle` / `ApprovalLifecycle` hooks.
 *
 * @since 0.1.0
 */

import type { ExecPolicy } from "@strata/exec-policy/ExecPolicy"
import type { HookDispatcher } from "@strata/hooks/HookDispatcher"
import type { ApprovalId } from "@strata/protocol/Ids"
import type { ApprovalDecision, AskForApproval, ToolCall, ToolResult } from "@strata/protocol/Tool"
import type { Sandbox } from "@strata/sandbox/Sandbox"
import type { RecordError, StateStore } from "@strata/storage/StateStore"
import type { StorageError } from "@strata/storage/StorageError"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as internal from "./internal/toolInvoker.js"
import type { ThreadError, ThreadManager } from "./ThreadManager.js"
import type { ToolRegistry } from "./ToolRegistry.js"

/**
 * The result of a call, with what hooks added for the model.
 *
 * @since 0.1.0
 * @category models
 */
export type InvokeResult = ToolResult & {
  /** Texts hooks added for the model (`additionalContext`). */
  readonly additional_context?: ReadonlyArray<string> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Per-call limit for tools without their own (default 10 minutes). */
  readonly defaultTimeout?: Duration.DurationInput | undefined
  /** Text output beyond this many characters is cut, with a marker (default 100,000). */
  readonly maxOutputChars?: number | undefined
  /**
   * The trust of an MCP server (tools owned by `mcp:<server>`). An
   * `untrusted` server's tools are `ask` in every approval mode (so `deny`
   * under `never`) unless an exec-policy rule allows the tool by its name
   * (`prefix = ["mcp__fs__read_file"]`); a rule that denies it denies.
   * Without this option every MCP server is trusted.
   */
  readonly mcpTrust?: ((server: string) => "trusted" | "untrusted") | undefined
  /**
   * The key of pending approvals' digests (HMAC-SHA-256, at least 32 bytes;
   * see `ApprovalKey`). Every process that resolves another's approvals
   * needs the same key. Without it, a random key of this invoker: its
   * pending approvals cannot be approved by another invoker or after a restart.
   */
  readonly approvalKey?: Uint8Array | undefined
  /**
   * The user's home directory: its protected paths (`~/.config/strata/`,
   * `~/.strata/`, `~/.local/state/strata/`) join the workspace's.
   */
  readonly home?: string | undefined
  /**
   * Protected paths besides the defaults of the call's `cwd` and `home`
   * (absolute, or relative to the call's `cwd`; a trailing `/` covers a
   * directory). A tool call that declares access (`fileAccess`) to a
   * protected path is asked about (denied under `never`); the tool gets the
   * same check (`ToolContext.protectedPath`) for the real paths it reaches,
   * with `approved` when a person allowed the call.
   */
  readonly protectedPaths?: ReadonlyArray<string> | undefined
}

/**
 * A pending approval's record changed after it was requested (its keyed
 * digest no longer matches the call it holds, it has none, or it carries an
 * unkeyed `sha256:` digest of an older version, or one made under another
 * approval key): approving it would run something no one was asked about. Nothing ran; the record stays pending
 * and can still be denied.
 *
 * @since 0.2.0
 * @category errors
 */
export class ApprovalTampered extends Data.TaggedError("ApprovalTampered")<{
  readonly approvalId: string
  readonly detail: string
}> {
  override get message(): string {
    return `Approval ${this.approvalId} was not run: ${this.detail}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly invokeTool: (
    call: ToolCall,
    approval: AskForApproval,
    cwd: string
  ) => Effect.Effect<InvokeResult, ThreadError | RecordError>
  /**
   * Resolves a pending approval exactly once: `approve` runs the call (hooks
   * and policy are not asked again), `deny` records the denial. A second
   * resolution fails with `StorageError` reason `Conflict`; approving a
   * record that changed since it was requested fails with
   * `ApprovalTampered` and runs nothing.
   */
  readonly resolveApproval: (
    approvalId: ApprovalId | string,
    decision: ApprovalDecision,
    reason?: string
  ) => Effect.Effect<InvokeResult, ThreadError | RecordError | StorageError | ApprovalTampered>
  /**
   * The model named `toolName` in the reply it is streaming: starts loading,
   * in the background, what judging a call of it needs (for a shell tool,
   * the exec policy's grammar and the check of its rules' examples:
   * `ExecPolicy.ready`), so that the call does not wait for all of it. Never
   * fails and never waits; a load that fails fails the call's judgement
   * later, as it would have. Optional: an invoker without it loads on the
   * first call.
   */
  readonly prepare?: ((toolName: string) => Effect.Effect<void>) | undefined
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ToolInvoker extends Context.Tag("@strata/core-runtime/ToolInvoker")<ToolInvoker, Service>() {}

/**
 * What the invoker needs. `ExecPolicy` and `Sandbox` are requirements, not
 * optional lookups: a composition that leaves one out does not compile,
 * rather than running shell commands without the policy or tool output
 * without redaction. A distribution with no rules provides a policy that
 * asks (`ExecPolicy.layerSources([], ...)`); one without an OS sandbox,
 * `Sandbox.layerUnsandboxed` (the environment policy and redaction).
 *
 * @since 0.2.0
 * @category models
 */
export type Requirements = ToolRegistry | HookDispatcher | StateStore | ThreadManager | ExecPolicy | Sandbox

/**
 * Builds the invoker.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<Service, never, Requirements> = internal.make

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<ToolInvoker, never, Requirements> =>
  Layer.effect(ToolInvoker, make(options))
