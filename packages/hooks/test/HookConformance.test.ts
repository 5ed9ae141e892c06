import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { Ids } from "@strata/protocol"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { HookDispatcher, HookEvent } from "../src/index.js"
import * as HookConformanceSuite from "./HookConformanceSuite.js"

const thread_id = Ids.unsafeMake("ThreadId", "thread-c")
const response_id = Ids.unsafeMake("ResponseId", "resp-c")
const call_id = Ids.unsafeMake("ToolCallId", "call-c")
const approval_id = Ids.unsafeMake("ApprovalId", "approval-c")
const job_id = Ids.unsafeMake("JobId", "job-c")

/**
 * A stand-in for the owners' code paths until they exist: dispatches every
 * event in the order a session would (start, prompt, a streamed response, a
 * tool call that needs approval, a failing one, compaction, MCP startup, a
 * job, stop, end). core-runtime, jobs and mcp rerun the suite with their
 * real code paths instead.
 */
const FakeRuntimeSession = (skip: ReadonlyArray<string> = []) =>
  Effect.gen(function* () {
    const hooks = yield* HookDispatcher.HookDispatcher
    const emit = (event: HookEvent.HookEvent) =>
      skip.includes(HookEvent.kindOf(event))
        ? Effect.void
        : hooks.notify({ ...event, session_id: thread_id, thread_id })
    const tool = { call_id, tool_name: "exec" }
    yield* emit(HookEvent.SessionStart.make({ source: "startup", model: "scripted" }))
    yield* emit(HookEvent.McpStartupUpdate.make({ server_name: "fs", status: "starting" }))
    yield* emit(HookEvent.McpStartupUpdate.make({ server_name: "fs", status: "ready" }))
    yield* emit(HookEvent.McpStartupComplete.make({ ready: ["fs"], failed: [], cancelled: [] }))
    yield* emit(HookEvent.UserPromptSubmit.make({ prompt: "list the files" }))
    const llm_request = {
      model: "scripted",
      messages: [{ role: "user" as const, content: "list the files" }],
      tools: ["exec"]
    }
    yield* emit(HookEvent.BeforeToolSelection.make({ model: "scripted", tools: ["exec"] }))
    yield* emit(HookEvent.BeforeModel.make({ model: "scripted", llm_request }))
    yield* emit(HookEvent.ResponseStart.make({ response_id, model: "scripted" }))
    yield* emit(HookEvent.ResponseDelta.make({ response_id, delta: "Let me look." }))
    yield* emit(
      HookEvent.AfterModel.make({
        model: "scripted",
        llm_request,
        llm_response: {
          text: "Let me look.",
          tool_calls: [{ id: call_id, name: "exec", arguments: { command: "ls" } }]
        }
      })
    )
    yield* emit(HookEvent.ToolLifecycle.make({ ...tool, phase: "precheck", arguments: { command: "ls" } }))
    yield* emit(HookEvent.PreToolUse.make({ tool_name: "exec", tool_input: { command: "ls" }, tool_use_id: call_id }))
    yield* emit(HookEvent.PermissionRequest.make({ tool_name: "exec", tool_input: { command: "ls" }, approval_id }))
    yield* emit(HookEvent.Notification.make({ message: "exec needs approval", notification_type: "permission_prompt" }))
    yield* emit(HookEvent.ApprovalLifecycle.make({ ...tool, approval_id, phase: "requested" }))
    yield* emit(HookEvent.ApprovalLifecycle.make({ ...tool, approval_id, phase: "approved" }))
    yield* emit(HookEvent.ToolLifecycle.make({ ...tool, phase: "dispatching" }))
    yield* emit(HookEvent.ToolLifecycle.make({ ...tool, phase: "completed", output: { content: [] } }))
    yield* emit(
      HookEvent.PostToolUse.make({
        tool_name: "exec",
        tool_input: { command: "ls" },
        tool_use_id: call_id,
        tool_response: { content: [{ type: "text", text: "a b" }] }
      })
    )
    yield* emit(HookEvent.ApprovalLifecycle.make({ ...tool, approval_id, phase: "denied" }))
    yield* emit(HookEvent.ToolLifecycle.make({ ...tool, phase: "failed", error: "denied" }))
    yield* emit(HookEvent.ToolLifecycle.make({ ...tool, phase: "denied", error: "by the policy" }))
    yield* emit(HookEvent.ToolLifecycle.make({ ...tool, phase: "awaiting_approval" }))
    yield* emit(
      HookEvent.PostToolUseFailure.make({ tool_name: "exec", tool_input: {}, tool_use_id: call_id, error: "denied" })
    )
    yield* emit(HookEvent.PreCompact.make({ trigger: "auto" }))
    yield* emit(
      HookEvent.JobLifecycle.make({
        job_id,
        name: "index",
        status: "queued",
        progress: null,
        entry: { at: 1, phase: "enqueue", from: null, to: "queued", progress: null, detail: null, attempt: 0 }
      })
    )
    yield* emit(HookEvent.ResponseEnd.make({ response_id, finish_reason: "stop" }))
    yield* emit(HookEvent.Stop.make({ stop_hook_active: false }))
    yield* emit(HookEvent.SessionEnd.make({ reason: "other" }))
  })

HookConformanceSuite.run("FakeRuntimeSession (in-process and command recorders)", {
  layer: Layer.mergeAll(HookDispatcher.HookDispatcher.Default, NodeContext.layer),
  session: FakeRuntimeSession(),
  commandRecorder: true
})

HookConformanceSuite.run("FakeRuntimeSession, jobs only", {
  layer: HookDispatcher.HookDispatcher.Default,
  session: FakeRuntimeSession(),
  owners: ["jobs"]
})

describe("hook conformance checker", () => {
  it("expects every kind, phases included, and filters by owner", () => {
    expect(HookConformanceSuite.expectedKinds()).toEqual(HookEvent.kinds)
    expect(HookConformanceSuite.expectedKinds()).toContain("ToolLifecycle.dispatching")
    expect(HookConformanceSuite.expectedKinds(["mcp"])).toEqual(["McpStartupUpdate", "McpStartupComplete"])
    expect(HookConformanceSuite.expectedKinds(["jobs"])).toEqual(["JobLifecycle"])
  })

  it.scopedLive("reports an event a session never dispatches", () =>
    Effect.gen(function* () {
      const recording = yield* HookConformanceSuite.record(FakeRuntimeSession(["ToolLifecycle.failed", "Stop"]))
      expect(
        HookConformanceSuite.missing(HookConformanceSuite.expectedKinds(), recording.hooked.map(HookEvent.kindOf))
      ).toEqual(["Stop", "ToolLifecycle.failed"])
    }).pipe(Effect.provide(HookDispatcher.HookDispatcher.Default))
  )
})
