/** @internal */

import { ExecPolicy } from "@strata/exec-policy/ExecPolicy"
import * as ProtectedPaths from "@strata/exec-policy/ProtectedPaths"
import { HookDispatcher } from "@strata/hooks/HookDispatcher"
import type { JsonValue } from "@strata/protocol/Common"
import type { Event } from "@strata/protocol/Event"
import * as Ids from "@strata/protocol/Ids"
import { type AskForApproval, type ToolCall, ToolOutput } from "@strata/protocol/Tool"
import * as Redact from "@strata/sandbox/Redact"
import { Sandbox } from "@strata/sandbox/Sandbox"
import { StateStore } from "@strata/storage/StateStore"
import type * as StorageSchema from "@strata/storage/StorageSchema"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { ThreadManager } from "../ThreadManager.js"
import * as TI from "../ToolInvoker.js"
import { type RuntimeTool, ToolRegistry } from "../ToolRegistry.js"
import * as Digest from "./digest.js"
import * as V from "./verdict.js"

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
const decodeToolOutput = Schema.decodeUnknownEither(ToolOutput)

/** A PostToolUse rewrite: a string (the text the model reads) or a whole tool output. */
const rewrittenOutput = (input: JsonValue): Effect.Effect<JsonValue, Error> => {
  if (typeof input === "string") return Effect.succeed({ content: [{ type: "text", text: input }] })
  const decoded = decodeToolOutput(input)
  return decoded._tag === "Right"
    ? Effect.succeed(input)
    : Effect.fail(new Error("updatedToolOutput must be a string or a tool output ({ content: [...] })"))
}

export const make = (options: TI.Options = {}) =>
  Effect.gen(function* () {
    const registry = yield* ToolRegistry
    const hooks = yield* HookDispatcher
    const store = yield* StateStore
    const threads = yield* ThreadManager
    const policy = yield* ExecPolicy
    const sandbox = yield* Sandbox
    const defaultTimeout = options.defaultTimeout ?? Duration.minutes(10)
    const maxOutput = options.maxOutputChars ?? 100_000
    // the key of approval digests; without one, this invoker's own (its approvals do not outlive it)
    const approvalKey = yield* options.approvalKey === undefined
      ? Digest.randomKey()
      : Digest.importKey(options.approvalKey)

    // The runtime's protected paths for a call's `cwd`: the workspace's and the home's
    // defaults, and the composer's extra ones (the approval key's directory, ...).
    const protectedCache = new Map<string, ProtectedPaths.ProtectedPaths>()
    const protectedOf = (cwd: string) => {
      let paths = protectedCache.get(cwd)
      if (paths === undefined) {
        paths = ProtectedPaths.extend(
          ProtectedPaths.defaults({ workspace: cwd, home: options.home }),
          cwd,
          options.protectedPaths ?? []
        )
        if (protectedCache.size > 64) protectedCache.clear()
        protectedCache.set(cwd, paths)
      }
      return paths
    }
    /** The declared accesses of a call that touch a protected path; `undefined` when they cannot be read. */
    const protectedAccess = (tool: RuntimeTool, input: JsonValue, cwd: string) => {
      if (tool.fileAccess === undefined) return []
      let accesses: ReadonlyArray<{ readonly path: string; readonly access: string }>
      try {
        accesses = tool.fileAccess(input)
      } catch {
        return undefined
      }
      const paths = protectedOf(cwd)
      return accesses.flatMap((a) => {
        const pattern = ProtectedPaths.match(paths, ProtectedPaths.resolve(cwd, a.path, options.home))
        return pattern === undefined ? [] : [`${a.access} ${JSON.stringify(a.path)} (protected: ${pattern})`]
      })
    }

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

    // Runs the tool under its timeout; failures and defects become an outcome.
    const redactText = (text: string) => sandbox.redact(text)
    const redact = (output: ToolOutput): ToolOutput => Redact.deep(sandbox.redact, output)
    const runTool = (
      call: ToolCall,
      tool: RuntimeTool,
      input: JsonValue,
      cwd: string,
      unsandboxed: boolean,
      approved = false
    ) =>
      tool
        .run(input, {
          call_id: call.id,
          cwd,
          ...(call.thread_id === undefined ? {} : { thread_id: call.thread_id }),
          // the real paths a tool reaches (through symlinks) are checked again by the tool
          protectedPath: (absolutePath: string) => ProtectedPaths.match(protectedOf(cwd), absolutePath),
          ...(approved ? { approved: true } : {}),
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
          // Whatever tool answered (shell, plugin, MCP server, app tool), the
          // parent's secret values never reach the model, the journal or a hook.
          // Redacted before the cut, so a secret the cut splits leaves no half behind.
          Effect.map((output) => ({ _tag: "ok" as const, output: truncate(redact(output), maxOutput) })),
          Effect.catchAll((e) => Effect.succeed({ _tag: "error" as const, error: redactText(e.detail) })),
          Effect.catchAllDefect((d) =>
            Effect.succeed({
              _tag: "error" as const,
              error: redactText(`tool crashed: ${d instanceof Error ? d.message : String(d)}`)
            })
          )
        )
    type Outcome = Effect.Effect.Success<ReturnType<typeof runTool>>

    // Runs an accepted call: start event, dispatching, the tool under its
    // timeout (or the outcome of an attempt already made), post hooks, the result event.
    const dispatch = (
      call: ToolCall,
      tool: RuntimeTool,
      input: JsonValue,
      cwd: string,
      context: ReadonlyArray<string>,
      options: { readonly unsandboxed?: boolean; readonly approved?: boolean; readonly attempt?: Outcome } = {}
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
        const outcome =
          options.attempt ??
          (yield* runTool(call, tool, input, cwd, options.unsandboxed === true, options.approved === true))
        const duration_ms = (yield* Clock.currentTimeMillis) - started
        if (outcome._tag === "ok") {
          const post = yield* hooks.dispatch(
            {
              hook_event_name: "PostToolUse",
              ...common(call, cwd),
              tool_name: call.name,
              tool_input: input,
              tool_use_id: call.id,
              tool_response: outcome.output
            },
            { validateInput: rewrittenOutput }
          )
          // A PostToolUse hook's `updatedToolOutput` replaces what the model reads (redaction, summaries).
          const output =
            post.updatedInput !== undefined && post.event.hook_event_name === "PostToolUse"
              ? post.event.tool_response
              : outcome.output
          const result: TI.InvokeResult = {
            ok: true,
            status: "completed",
            call_id: call.id,
            tool_name: call.name,
            output,
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
            output,
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

    const lifecycle = (
      call: ToolCall,
      cwd: string,
      phase: "precheck" | "denied" | "awaiting_approval" | "failed",
      extra: { readonly arguments?: JsonValue; readonly error?: string } = {}
    ) =>
      hooks.notify({
        hook_event_name: "ToolLifecycle",
        ...common(call, cwd),
        phase,
        call_id: call.id,
        tool_name: call.name,
        ...extra
      })

    // The result builders: every outcome that does not run the tool.
    const fail = (call: ToolCall, cwd: string, error: string) =>
      Effect.gen(function* () {
        const result = failed(call, error)
        yield* journal(call, [{ event: "tool_call_result", call_id: call.id, tool_name: call.name, result }])
        yield* lifecycle(call, cwd, "failed", { error })
        return result
      })

    const deny = (call: ToolCall, cwd: string, j: V.Judgement, byPerson = false) =>
      Effect.gen(function* () {
        const result: TI.InvokeResult = {
          ok: false,
          status: "denied",
          call_id: call.id,
          tool_name: call.name,
          reason: j.reason ?? "denied"
        }
        yield* journal(call, [
          { event: "tool_call_result", call_id: call.id, tool_name: call.name, result },
          ...(byPerson ? [] : [{ event: "error" as const, code: "tool_denied", message: result.reason }])
        ])
        yield* lifecycle(call, cwd, "denied", { error: result.reason })
        return result
      })

    // An MCP tool: its server's trust, or a rule naming the tool.
    const judgeMcp = (tool: RuntimeTool, approval: AskForApproval, cwd: string) =>
      Effect.gen(function* (): Effect.fn.Return<V.Judgement> {
        const server = tool.owner.slice("mcp:".length)
        if (options.mcpTrust?.(server) === "trusted") return { verdict: "allow", source: "none" }
        const decision = yield* policy.check(tool.name, { cwd, approval })
        const ruled = decision.commands.length === 1 ? decision.commands[0]!.rule : undefined
        if (ruled !== undefined && ruled !== null && decision.decision !== "ask") {
          return {
            verdict: decision.decision,
            source: "policy",
            reason: `${tool.name}: ${decision.decision} by ${ruled.file}:${ruled.line}`
          }
        }
        return {
          verdict: "ask",
          source: "policy",
          reason: `MCP server "${server}" is untrusted (set trust = "trusted" on it, or allow ${tool.name} with a rule)`
        }
      })

    // The policy's judgement of one input: the exec policy for shell tools
    // (with the approval mode), nothing for the others.
    const judge = (tool: RuntimeTool, input: JsonValue, approval: AskForApproval, cwd: string) =>
      Effect.gen(function* (): Effect.fn.Return<V.Judgement> {
        if (tool.owner.startsWith("mcp:") && options.mcpTrust !== undefined) return yield* judgeMcp(tool, approval, cwd)
        // a declared access to a protected path (the runtime's own control files) is asked about
        const touched = protectedAccess(tool, input, cwd)
        if (touched === undefined) {
          return { verdict: "ask", source: "policy", reason: "the paths the call touches could not be read" }
        }
        if (touched.length > 0) {
          return { verdict: "ask", source: "policy", reason: `protected path: ${touched.join("; ")}` }
        }
        if (tool.shellCommand === undefined) return { verdict: "allow", source: "none" }
        const command = tool.shellCommand(input)
        if (command === undefined) {
          return { verdict: "ask", source: "policy", reason: "the command could not be read from the tool input" }
        }
        // judged where it runs (its workdir), against the workspace's and the home's protected paths
        let workdir: string | undefined
        try {
          workdir = tool.shellWorkdir?.(input)
        } catch {
          return {
            verdict: "ask",
            source: "policy",
            reason: "the command's directory could not be read from the tool input"
          }
        }
        const commandCwd = workdir === undefined ? cwd : ProtectedPaths.resolve(cwd, workdir)
        // a command run inside a protected directory (or one holding protected paths, `.git`) names
        // them by bare words the policy reads as plain arguments: asked about whatever it is
        const inProtected =
          commandCwd === (ProtectedPaths.normalize(cwd) ?? cwd)
            ? undefined
            : ProtectedPaths.touches(protectedOf(cwd), commandCwd)
        if (inProtected !== undefined) {
          return {
            verdict: "ask",
            source: "policy",
            reason: `the command runs in ${JSON.stringify(workdir)}, which holds protected paths (${inProtected})`,
            command
          }
        }
        const decision = yield* policy.check(command, {
          cwd: commandCwd,
          approval,
          home: options.home,
          protectedPaths: protectedOf(cwd)
        })
        const reason =
          decision.reasons.map((r) => r.message).join("; ") ||
          decision.commands
            .filter((c) => c.decision !== "allow")
            .map(
              (c) => `${c.argv.join(" ")}: ${c.decision}${c.rule ? ` by ${c.rule.file}:${c.rule.line}` : " (no rule)"}`
            )
            .join("; ") ||
          `policy decision: ${decision.decision}`
        return { verdict: decision.decision, source: "policy", reason, command }
      })

    const invokeTool = (call: ToolCall, approval: AskForApproval, cwd: string) =>
      Effect.gen(function* () {
        const found = yield* registry.get(call.name)
        if (Option.isNone(found)) {
          const known = (yield* registry.list).map((t) => t.name)
          return yield* fail(
            call,
            cwd,
            `unknown tool "${call.name}"; available tools: ${known.length === 0 ? "none" : known.join(", ")}`
          )
        }
        const tool = found.value
        const validated = yield* Effect.either(tool.validate(call.arguments))
        if (validated._tag === "Left") return yield* fail(call, cwd, validated.left.message)
        let input = validated.right

        // 1. the policy, 2. the PreToolUse hooks (whose rewrite is judged
        // again by the policy: a hook never loosens it).
        let policyJ = yield* judge(tool, input, approval, cwd)
        yield* lifecycle(call, cwd, "precheck", { arguments: input })
        let pre: V.HookAnswer | undefined
        let context: ReadonlyArray<string> = []
        if (policyJ.verdict !== "deny") {
          const answered = yield* hooks.dispatch(
            {
              hook_event_name: "PreToolUse",
              ...common(call, cwd),
              tool_name: call.name,
              tool_input: input,
              tool_use_id: call.id
            },
            { validateInput: (i) => tool.validate(i) }
          )
          pre = answered
          context = answered.additionalContext
          if (answered.updatedInput !== undefined) {
            input = answered.updatedInput
            policyJ = yield* judge(tool, input, approval, cwd)
            if (policyJ.reason !== undefined && policyJ.source === "policy") {
              policyJ = { ...policyJ, reason: `${policyJ.reason} (on the input a PreToolUse hook rewrote)` }
            }
          }
        }
        let verdict = V.beforeApproval(policyJ, pre, approval, call.name)
        if (verdict.verdict === "deny") return yield* deny(call, cwd, verdict)
        // Approval mode "on-failure" with a running sandbox (codex's): what the
        // policy allows or asks about runs in the sandbox without asking; only
        // when the sandbox refused it is the person asked to run it again
        // outside, with the refusal shown (hooks that changed the verdict win).
        let rerunUnsandboxed: string | undefined
        if (
          approval === "on-failure" &&
          policyJ.command !== undefined &&
          policyJ.verdict !== "deny" &&
          verdict.verdict === policyJ.verdict &&
          sandbox.status.mechanism === "bwrap"
        ) {
          const attempt = yield* runTool(call, tool, input, cwd, false)
          const denial = attempt._tag === "ok" ? sandboxDenial(attempt.output) : undefined
          if (denial === undefined) return yield* dispatch(call, tool, input, cwd, context, { attempt })
          rerunUnsandboxed = denial
          verdict = {
            ...verdict,
            verdict: "ask",
            reason: `the sandbox refused it (${denial}); approve to run it again without the sandbox`
          }
        }
        if (verdict.verdict === "allow") return yield* dispatch(call, tool, input, cwd, context)

        // 3. ask: a PermissionRequest hook may answer for the person; its
        // rewrite is judged again by the policy like a PreToolUse one.
        const why = verdict.reason ?? "approval required"
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
        const rewritten = permission.decision === "allow" ? permission.updatedInput : undefined
        const recheck = rewritten === undefined ? undefined : yield* judge(tool, rewritten, approval, cwd)
        verdict = V.afterPermission(verdict, permission, recheck)
        if (rewritten !== undefined) input = rewritten
        if (verdict.verdict === "deny") return yield* deny(call, cwd, verdict)
        if (verdict.verdict === "allow") {
          return yield* dispatch(call, tool, input, cwd, [...context, ...permission.additionalContext], {
            unsandboxed: rerunUnsandboxed !== undefined,
            approved: true
          })
        }

        // 4. a person decides: the pending approval, with a digest of the exact call.
        const approvalId = Ids.make("ApprovalId")
        const reason = verdict.reason ?? why
        const command = verdict.command
        const stored = { ...call, arguments: input }
        const digest = yield* Digest.ofApproval(approvalKey, {
          call: stored,
          reason,
          ...(command === undefined ? {} : { command }),
          cwd,
          thread_id: call.thread_id ?? null,
          approval_mode: approval,
          unsandboxed: rerunUnsandboxed !== undefined
        })
        yield* store.putApproval({
          id: approvalId,
          thread_id: call.thread_id ?? null,
          call: stored,
          reason,
          ...(command === undefined ? {} : { command }),
          cwd,
          metadata: {
            approval_mode: approval,
            digest,
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
            reason
          }
        ])
        yield* lifecycle(call, cwd, "awaiting_approval", { arguments: input })
        yield* hooks.notify({
          hook_event_name: "ApprovalLifecycle",
          ...common(call, cwd),
          phase: "requested",
          approval_id: approvalId,
          call_id: call.id,
          tool_name: call.name,
          ...(command === undefined ? {} : { command }),
          reason
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
          reason
        }
        return result
      }).pipe(Effect.withSpan("Runtime.invokeTool", { attributes: { tool: call.name, call_id: call.id } }))

    // An approved call runs only if its record is the one that was asked
    // about: the digest covers the tool, its arguments, the command, the
    // directory, the policy's reason and the approval mode.
    const digestOf = (a: StorageSchema.ApprovalRecord) => {
      const mode = a.metadata?.approval_mode
      return Digest.ofApproval(approvalKey, {
        call: a.call,
        reason: a.reason,
        ...(a.command === undefined ? {} : { command: a.command }),
        ...(a.cwd === undefined ? {} : { cwd: a.cwd }),
        thread_id: a.thread_id,
        approval_mode: typeof mode === "string" ? mode : undefined,
        unsandboxed: a.metadata?.unsandboxed === true
      })
    }
    const intact = (a: StorageSchema.ApprovalRecord) =>
      Effect.map(digestOf(a), (expected) => Digest.equal(a.metadata?.digest, expected))

    const verify = (approvalId: string) =>
      Effect.gen(function* () {
        const record = yield* store.getApproval(approvalId)
        if (Option.isNone(record) || record.value.status !== "pending") return
        if (!(yield* intact(record.value))) {
          return yield* new TI.ApprovalTampered({
            approvalId: record.value.id,
            detail:
              typeof record.value.metadata?.digest !== "string"
                ? "it carries no digest of the call it asks about"
                : !record.value.metadata.digest.startsWith(Digest.PREFIX)
                  ? "it predates keyed approval digests (or its digest was replaced); ask again"
                  : "its tool, arguments, command, directory or reason changed after it was requested, or it was made under another approval key"
          })
        }
      })

    const resolveApproval: TI.Service["resolveApproval"] = (approvalId, decision, why) =>
      Effect.gen(function* () {
        // Denying a changed record is safe; running one is not.
        if (decision === "approve") yield* verify(approvalId)
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
        if (decision === "deny")
          return yield* deny(call, cwd, { verdict: "deny", source: "none", reason: why ?? "denied by the user" }, true)
        // The record as resolved is what would run: checked again, so that an
        // edit between the check above and the resolution runs nothing.
        if (!(yield* intact(resolved))) {
          return yield* fail(call, cwd, `approval ${resolved.id} changed while it was being approved; nothing ran`)
        }
        const tool = yield* registry.get(call.name)
        if (Option.isNone(tool)) return yield* fail(call, cwd, `tool "${call.name}" is no longer registered`)
        // an approval to re-run outside the sandbox (approval mode "on-failure") runs it so
        return yield* dispatch(call, tool.value, call.arguments, cwd, [], {
          unsandboxed: resolved.metadata?.unsandboxed === true,
          approved: true
        })
      }).pipe(Effect.withSpan("Runtime.resolveApproval", { attributes: { approval_id: approvalId, decision } }))

    // Once per invoker: the policy's load is cached by the policy itself (its `ready`).
    let prepared = false
    const prepare: NonNullable<TI.Service["prepare"]> = (toolName) =>
      prepared
        ? Effect.void
        : Effect.flatMap(registry.get(toolName), (found) => {
            if (prepared || Option.isNone(found)) return Effect.void
            const tool = found.value
            const judged =
              tool.shellCommand !== undefined ||
              (tool.owner.startsWith("mcp:") &&
                options.mcpTrust !== undefined &&
                options.mcpTrust(tool.owner.slice("mcp:".length)) !== "trusted")
            if (!judged) return Effect.void
            prepared = true
            return Effect.asVoid(Effect.forkDaemon(Effect.ignore(policy.ready)))
          })

    return { invokeTool, resolveApproval, prepare } satisfies TI.Service
  })
