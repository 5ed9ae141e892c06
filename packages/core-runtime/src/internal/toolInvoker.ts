/** @internal */

import { ExecPolicy } from "@strata/exec-policy/ExecPolicy"
import { HookDispatcher } from "@strata/hooks/HookDispatcher"
import type { JsonValue } from "@strata/protocol/Common"
import type { Event } from "@strata/protocol/Event"
import * as Ids from "@strata/protocol/Ids"
import type { AskForApproval, ToolCall, ToolOutput } from "@strata/protocol/Tool"
import { Sandbox } from "@strata/sandbox/Sandbox"
import { StateStore } from "@strata/storage/StateStore"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ThreadManager } from "../ThreadManager.js"
import type * as TI from "../ToolInvoker.js"
import { type RuntimeTool, ToolRegistry } from "../ToolRegistry.js"

type Verdict = "allow" | "ask" | "deny"
const rank: Record<Verdict, number> = { allow: 0, ask: 1, deny: 2 }
const strictest = (a: Verdict, b: Verdict): Verdict => (rank[a] >= rank[b] ? a : b)

const truncate = (output: ToolOutput, max: number): ToolOutput => {
  let truncated = false
  const content = output.content.map((part) => {
    if (part.type !== "text" || part.text.length <= max) return part
    truncated = true
    const cut = part.text.length - max
    return { ...part, text: `${part.text.slice(0, max)}\n[... ${cut} characters cut: output over ${max} characters]` }
  })
  return truncated ? { ...output, content, truncated: true } : output
}

/** The sandbox's refusal a shell tool reported (`sandbox_denial` of its structured output). */
const sandboxDenial = (output: ToolOutput): string | undefined => {
  const structured = output.structured
  if (structured === null || typeof structured !== "object" || Array.isArray(structured)) return undefined
  const denial = (structured as Record<string, unknown>).sandbox_denial
  return typeof denial === "string" && denial !== "" ? denial : undefined
}

/** @internal */
export const make = (options: TI.Options = {}) =>
  Effect.gen(function* () {
    const registry = yield* ToolRegistry
    const hooks = yield* HookDispatcher
    const store = yield* StateStore
    const threads = yield* ThreadManager
    const policy = yield* Effect.serviceOption(ExecPolicy)
    const sandbox = yield* Effect.serviceOption(Sandbox)
    const defaultTimeout = options.defaultTimeout ?? Duration.minutes(10)
    const maxOutput = options.maxOutputChars ?? 100_000

    const journal = (call: ToolCall, events: ReadonlyArray<Event>) =>
      call.thread_id === undefined ? Effect.void : Effect.asVoid(threads.append(call.thread_id, events))

    const common = (call: ToolCall, cwd: string) => ({
      ...(call.thread_id === undefined ? {} : { thread_id: call.thread_id, session_id: call.thread_id }),
      cwd
    })

    const failed = (call: ToolCall, error: string): TI.InvokeResult => ({
      ok: false,
      status: "failed",
      call_id: call.id,
      tool_name: call.name,
      error
    })

    // Runs an accepted call: start event, dispatching, the tool under its
    // timeout, post hooks, the result event.
    // Runs the tool under its timeout; failures and defects become an outcome.
    const runTool = (call: ToolCall, tool: RuntimeTool, input: JsonValue, cwd: string, unsandboxed: boolean) =>
      tool
        .run(input, {
          call_id: call.id,
          cwd,
          ...(call.thread_id === undefined ? {} : { thread_id: call.thread_id }),
          ...(unsandboxed ? { unsandboxed: true } : {})
        })
        .pipe(
          Effect.timeoutFail({
            duration: tool.timeout ?? defaultTimeout,
            onTimeout: () => ({
              _tag: "ToolRunFailed" as const,
              detail: `timed out after ${Duration.format(Duration.decode(tool.timeout ?? defaultTimeout))}`
            })
          }),
          Effect.map((output) => ({ _tag: "ok" as const, output: truncate(output, maxOutput) })),
          Effect.catchAll((e) => Effect.succeed({ _tag: "error" as const, error: e.detail })),
          Effect.catchAllDefect((d) =>
            Effect.succeed({
              _tag: "error" as const,
              error: `tool crashed: ${d instanceof Error ? d.message : String(d)}`
            })
          )
        )
    type Outcome = Effect.Effect.Success<ReturnType<typeof runTool>>

    const dispatch = (
      call: ToolCall,
      tool: RuntimeTool,
      input: JsonValue,
      cwd: string,
      context: ReadonlyArray<string>,
      options: { readonly unsandboxed?: boolean; readonly attempt?: Outcome } = {}
    ) =>
      Effect.gen(function* () {
        yield* journal(call, [{ event: "tool_call_start", call_id: call.id, tool_name: call.name, arguments: input }])
        yield* hooks.notify({
          hook_event_name: "ToolLifecycle",
          ...common(call, cwd),
          phase: "dispatching",
          call_id: call.id,
          tool_name: call.name,
          arguments: input
        })
        const started = yield* Clock.currentTimeMillis
        const outcome = options.attempt ?? (yield* runTool(call, tool, input, cwd, options.unsandboxed === true))
        const duration_ms = (yield* Clock.currentTimeMillis) - started
        if (outcome._tag === "ok") {
          const post = yield* hooks.dispatch({
            hook_event_name: "PostToolUse",
            ...common(call, cwd),
            tool_name: call.name,
            tool_input: input,
            tool_use_id: call.id,
            tool_response: outcome.output
          })
          const result: TI.InvokeResult = {
            ok: true,
            status: "completed",
            call_id: call.id,
            tool_name: call.name,
            output: outcome.output,
            additional_context: [
              ...context,
              ...post.additionalContext,
              ...(post.decision === "deny" && post.reason ? [post.reason] : [])
            ]
          }
          yield* journal(call, [
            { event: "tool_call_result", call_id: call.id, tool_name: call.name, result: stripContext(result) }
          ])
          yield* hooks.notify({
            hook_event_name: "ToolLifecycle",
            ...common(call, cwd),
            phase: "completed",
            call_id: call.id,
            tool_name: call.name,
            output: outcome.output,
            duration_ms
          })
          return result
        }
        const post = yield* hooks.dispatch({
          hook_event_name: "PostToolUseFailure",
          ...common(call, cwd),
          tool_name: call.name,
          tool_input: input,
          tool_use_id: call.id,
          error: outcome.error
        })
        const result: TI.InvokeResult = {
          ...failed(call, outcome.error),
          additional_context: [...context, ...post.additionalContext]
        }
        yield* journal(call, [
          { event: "tool_call_result", call_id: call.id, tool_name: call.name, result: stripContext(result) }
        ])
        yield* hooks.notify({
          hook_event_name: "ToolLifecycle",
          ...common(call, cwd),
          phase: "failed",
          call_id: call.id,
          tool_name: call.name,
          error: outcome.error,
          duration_ms
        })
        return result
      })

    const stripContext = ({ additional_context: _ignored, ...result }: TI.InvokeResult) => result

    const invokeTool = (call: ToolCall, approval: AskForApproval, cwd: string) =>
      Effect.gen(function* () {
        const found = yield* registry.get(call.name)
        if (Option.isNone(found)) {
          const known = (yield* registry.list).map((t) => t.name)
          const result = failed(
            call,
            `unknown tool "${call.name}"; available tools: ${known.length === 0 ? "none" : known.join(", ")}`
          )
          yield* journal(call, [{ event: "tool_call_result", call_id: call.id, tool_name: call.name, result }])
          return result
        }
        const tool = found.value
        const validated = yield* Effect.either(tool.validate(call.arguments))
        if (validated._tag === "Left") {
          const result = failed(call, validated.left.message)
          yield* journal(call, [{ event: "tool_call_result", call_id: call.id, tool_name: call.name, result }])
          return result
        }
        let input = validated.right

        // 1. exec policy, for shell tools
        let verdict: Verdict = "allow"
        let reason: string | undefined
        let command: string | undefined
        if (tool.shellCommand !== undefined) {
          command = tool.shellCommand(input)
          if (command === undefined) {
            verdict = "ask"
            reason = "the command could not be read from the tool input"
          } else if (Option.isNone(policy)) {
            verdict = approval === "never" ? "deny" : "ask"
            reason = "no execution policy is configured"
          } else {
            const decision = yield* policy.value.check(command, { cwd, approval })
            verdict = decision.decision
            reason =
              decision.reasons.map((r) => r.message).join("; ") ||
              decision.commands
                .filter((c) => c.decision !== "allow")
                .map(
                  (c) =>
                    `${c.argv.join(" ")}: ${c.decision}${c.rule ? ` by ${c.rule.file}:${c.rule.line}` : " (no rule)"}`
                )
                .join("; ") ||
              `policy decision: ${decision.decision}`
          }
        }

        const policyVerdict = verdict

        // 2. precheck observer + PreToolUse hooks (which never loosen the policy)
        yield* hooks.notify({
          hook_event_name: "ToolLifecycle",
          ...common(call, cwd),
          phase: "precheck",
          call_id: call.id,
          tool_name: call.name,
          arguments: input
        })
        let context: ReadonlyArray<string> = []
        if (verdict !== "deny") {
          const pre = yield* hooks.dispatch(
            {
              hook_event_name: "PreToolUse",
              ...common(call, cwd),
              tool_name: call.name,
              tool_input: input,
              tool_use_id: call.id
            },
            { validateInput: (i) => tool.validate(i) }
          )
          context = pre.additionalContext
          if (pre.updatedInput !== undefined) {
            input = pre.updatedInput
            // a rewritten shell command is checked again
            if (tool.shellCommand !== undefined && Option.isSome(policy)) {
              const rewritten = tool.shellCommand(input)
              if (rewritten !== undefined && rewritten !== command) {
                command = rewritten
                const again = yield* policy.value.check(rewritten, { cwd, approval })
                verdict = again.decision
                reason =
                  again.reasons.map((r) => r.message).join("; ") ||
                  `policy decision on the rewritten command: ${again.decision}`
              }
            }
          }
          if (pre.decision === "deny" || pre.decision === "ask") {
            const before = verdict
            verdict = strictest(verdict, pre.decision)
            if (verdict !== before) reason = pre.reason ?? `a ${call.name} PreToolUse hook said ${pre.decision}`
          }
          if (!pre.continue) {
            verdict = "deny"
            reason = pre.stopReason ?? "a hook stopped the turn"
          }
        }
        // approval mode "on-failure" with a running sandbox (codex's): what the policy
        // allows or asks about runs in the sandbox without asking; only when the sandbox
        // refused it is the person asked to run it again outside, with the denial shown.
        let rerunUnsandboxed: string | undefined
        if (
          approval === "on-failure" &&
          command !== undefined &&
          policyVerdict !== "deny" &&
          verdict === policyVerdict &&
          Option.isSome(sandbox) &&
          sandbox.value.status.mechanism === "bwrap"
        ) {
          const attempt = yield* runTool(call, tool, input, cwd, false)
          const denial = attempt._tag === "ok" ? sandboxDenial(attempt.output) : undefined
          if (denial === undefined) return yield* dispatch(call, tool, input, cwd, context, { attempt })
          rerunUnsandboxed = denial
          verdict = "ask"
          reason = `the sandbox refused it (${denial}); approve to run it again without the sandbox`
        }
        if (verdict === "ask" && approval === "never") {
          verdict = "deny"
          reason = `${reason ?? "approval needed"} (approval mode "never": no one to ask)`
        }

        if (verdict === "deny") {
          const result: TI.InvokeResult = {
            ok: false,
            status: "denied",
            call_id: call.id,
            tool_name: call.name,
            reason: reason ?? "denied"
          }
          // As the seed: a call refused without asking is an approval denied.
          yield* hooks.notify({
            hook_event_name: "ApprovalLifecycle",
            ...common(call, cwd),
            phase: "denied",
            approval_id: Ids.make("ApprovalId"),
            call_id: call.id,
            tool_name: call.name,
            ...(command === undefined ? {} : { command }),
            reason: result.reason
          })
          yield* journal(call, [
            { event: "tool_call_result", call_id: call.id, tool_name: call.name, result },
            { event: "error", code: "tool_denied", message: result.reason }
          ])
          return result
        }
        if (verdict === "ask") {
          const approvalId = Ids.make("ApprovalId")
          const why = reason ?? "approval required"
          // A PermissionRequest hook may answer for the person.
          const permission = yield* hooks.dispatch(
            {
              hook_event_name: "PermissionRequest",
              ...common(call, cwd),
              tool_name: call.name,
              tool_input: input,
              tool_use_id: call.id,
              reason: why
            },
            { validateInput: (i) => tool.validate(i) }
          )
          if (permission.decision === "deny") {
            const result: TI.InvokeResult = {
              ok: false,
              status: "denied",
              call_id: call.id,
              tool_name: call.name,
              reason: permission.reason ?? "denied by a PermissionRequest hook"
            }
            yield* journal(call, [{ event: "tool_call_result", call_id: call.id, tool_name: call.name, result }])
            return result
          }
          if (permission.decision === "allow") {
            return yield* dispatch(
              call,
              tool,
              permission.updatedInput ?? input,
              cwd,
              [...context, ...permission.additionalContext],
              { unsandboxed: rerunUnsandboxed !== undefined }
            )
          }
          yield* store.putApproval({
            id: approvalId,
            thread_id: call.thread_id ?? null,
            call: { ...call, arguments: input },
            reason: why,
            ...(command === undefined ? {} : { command }),
            cwd,
            metadata: {
              approval_mode: approval,
              ...(rerunUnsandboxed === undefined ? {} : { unsandboxed: true, sandbox_denial: rerunUnsandboxed })
            }
          })
          yield* journal(call, [
            {
              event: "approval_requested",
              approval_id: approvalId,
              call_id: call.id,
              tool_name: call.name,
              ...(command === undefined ? {} : { command }),
              cwd,
              reason: why
            }
          ])
          yield* hooks.notify({
            hook_event_name: "ApprovalLifecycle",
            ...common(call, cwd),
            phase: "requested",
            approval_id: approvalId,
            call_id: call.id,
            tool_name: call.name,
            ...(command === undefined ? {} : { command }),
            reason: why
          })
          yield* hooks.notify({
            hook_event_name: "Notification",
            ...common(call, cwd),
            message: `Strata needs your approval to run ${call.name}${command === undefined ? "" : `: ${command}`}`,
            title: "Approval needed",
            notification_type: "permission_prompt"
          })
          const result: TI.InvokeResult = {
            ok: false,
            status: "approval_required",
            call_id: call.id,
            tool_name: call.name,
            approval_id: approvalId,
            reason: why
          }
          return result
        }
        return yield* dispatch(call, tool, input, cwd, context)
      }).pipe(Effect.withSpan("Runtime.invokeTool", { attributes: { tool: call.name, call_id: call.id } }))

    const resolveApproval: TI.Service["resolveApproval"] = (approvalId, decision, why) =>
      Effect.gen(function* () {
        const resolved = yield* store.resolveApproval(approvalId, decision, why === undefined ? {} : { reason: why })
        const call = resolved.call
        const cwd = resolved.cwd ?? "."
        const phase = decision === "approve" ? "approved" : "denied"
        yield* journal(call, [
          {
            event: "approval_decided",
            approval_id: resolved.id,
            decision: phase,
            ...(why === undefined ? {} : { reason: why })
          }
        ])
        yield* hooks.notify({
          hook_event_name: "ApprovalLifecycle",
          ...common(call, cwd),
          phase,
          approval_id: resolved.id,
          call_id: call.id,
          tool_name: call.name,
          ...(resolved.command === undefined ? {} : { command: resolved.command }),
          ...(why === undefined ? {} : { reason: why })
        })
        if (decision === "deny") {
          const result: TI.InvokeResult = {
            ok: false,
            status: "denied",
            call_id: call.id,
            tool_name: call.name,
            reason: why ?? "denied by the user"
          }
          yield* journal(call, [{ event: "tool_call_result", call_id: call.id, tool_name: call.name, result }])
          return result
        }
        const tool = yield* registry.get(call.name)
        if (Option.isNone(tool)) {
          const result = failed(call, `tool "${call.name}" is no longer registered`)
          yield* journal(call, [{ event: "tool_call_result", call_id: call.id, tool_name: call.name, result }])
          return result
        }
        // an approval to re-run outside the sandbox (approval mode "on-failure") runs it so
        return yield* dispatch(call, tool.value, call.arguments, cwd, [], {
          unsandboxed: resolved.metadata?.unsandboxed === true
        })
      }).pipe(Effect.withSpan("Runtime.resolveApproval", { attributes: { approval_id: approvalId, decision } }))

    return { invokeTool, resolveApproval } satisfies TI.Service
  })
