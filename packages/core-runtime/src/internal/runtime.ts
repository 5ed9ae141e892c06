/** @internal */

import { HookDispatcher } from "@strata/hooks/HookDispatcher"
import { InvalidTransition } from "@strata/jobs/JobError"
import { JobManager } from "@strata/jobs/JobManager"
import { McpManager } from "@strata/mcp/McpManager"
import type { AppStatus } from "@strata/protocol/App"
import type { JsonValue } from "@strata/protocol/Common"
import * as Ids from "@strata/protocol/Ids"
import { ModelRegistry } from "@strata/providers/ModelRegistry"
import { StateStore } from "@strata/storage/StateStore"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as R from "../Runtime.js"
import { ThreadManager } from "../ThreadManager.js"
import { ToolInvoker } from "../ToolInvoker.js"
import { type RuntimeTool, ToolRegistry, ToolRunFailed } from "../ToolRegistry.js"
import { TurnRunner } from "../Turn.js"

const detectRuntime = (): AppStatus["runtime"] => {
  const g = globalThis as {
    Bun?: { version: string }
    Deno?: { version: { deno: string } }
    process?: { versions?: { node?: string } }
  }
  if (g.Bun) return { name: "bun", version: g.Bun.version }
  if (g.Deno) return { name: "deno", version: g.Deno.version.deno }
  if (g.process?.versions?.node) return { name: "node", version: g.process.versions.node }
  return { name: "unknown", version: "" }
}

/** @internal */
export const make = (options: R.Options = {}) =>
  Effect.gen(function* () {
    const threads = yield* ThreadManager
    const turns = yield* TurnRunner
    const invoker = yield* ToolInvoker
    const registry = yield* ToolRegistry
    const hooks = yield* HookDispatcher
    const store = yield* StateStore
    const models = yield* ModelRegistry
    const jobs = yield* JobManager
    const mcp = yield* McpManager

    const mcpTool = (tool: {
      name: string
      server: string
      description?: string
      input_schema: unknown
    }): RuntimeTool => ({
      name: tool.name,
      owner: `mcp:${tool.server}`,
      description: tool.description ?? `${tool.server} tool`,
      inputSchema: tool.input_schema as JsonValue,
      // the server validates its own input
      validate: Effect.succeed,
      run: (input) =>
        mcp
          .callTool(tool.name, input)
          .pipe(Effect.mapError((e) => new ToolRunFailed({ tool: tool.name, detail: e.message, cause: e })))
    })

    // MCP tools live in their own scope, replaced whenever a tool list changes.
    let mcpScope: Scope.CloseableScope | undefined
    const syncMcpTools = Effect.gen(function* () {
      const next = yield* Scope.make()
      const tools = yield* mcp.tools
      const previous = mcpScope
      if (previous !== undefined) yield* Scope.close(previous, Exit.void)
      mcpScope = next
      yield* registry.register(tools.map(mcpTool)).pipe(Scope.extend(next))
    })

    const mcpStartup: R.Service["mcpStartup"] = Effect.gen(function* () {
      const forward = yield* mcp.subscribe
      // As the seed: every update and the summary go through the hooks.
      yield* Stream.fromQueue(forward).pipe(
        Stream.runForEach((event) => {
          switch (event._tag) {
            case "StartupUpdate":
              return hooks.notify({ hook_event_name: "McpStartupUpdate", ...event.update })
            case "StartupComplete":
              return hooks.notify({ hook_event_name: "McpStartupComplete", ...event.summary })
            case "ToolsChanged":
              return syncMcpTools.pipe(
                Effect.catchAll((e) => Effect.logWarning(`MCP tools not registered: ${e.message}`))
              )
            default:
              return Effect.void
          }
        }),
        Effect.forkScoped
      )
      const summary = yield* mcp.startAll.pipe(Effect.catchAll((error) => Effect.succeed(error.summary)))
      yield* syncMcpTools
      yield* Effect.addFinalizer(() => (mcpScope === undefined ? Effect.void : Scope.close(mcpScope, Exit.void)))
      return summary
    })

    const resolveApproval: R.Service["resolveApproval"] = (approvalId, decision, opts) =>
      turns.resolveApproval(approvalId, decision, {
        ...opts,
        ...(options.continueAfterApproval === false ? { continueTurn: false } : {})
      })

    const appStatus: R.Service["appStatus"] = Effect.gen(function* () {
      const all = yield* store.listThreads({})
      const archived = all.threads.filter((t) => t.archived === true).length
      const provider = yield* models.providerDefault.pipe(Effect.option)
      return {
        ok: true,
        versions: options.versions ?? {},
        runtime: detectRuntime(),
        ...(Option.isSome(provider) ? { provider_default: provider.value.id } : {}),
        jobs: yield* jobs.listJobs,
        mcp_servers: yield* mcp.status,
        threads: { total: all.threads.length, archived }
      }
    }).pipe(Effect.withSpan("Runtime.appStatus"))

    // SessionStart on start / resume / fork; its context goes to the model.
    const handleThread: R.Service["handleThread"] = Effect.fn("Runtime.handleThread")(function* (request) {
      if (request.kind === "resume") yield* turns.repair(request.thread_id).pipe(Effect.orElseSucceed(() => false))
      const response = yield* threads.handle(request)
      const source =
        request.kind === "start" || request.kind === "fork"
          ? "startup"
          : request.kind === "resume"
            ? "resume"
            : undefined
      if (source === undefined || response.thread === undefined) return response
      const started = yield* hooks.dispatch({
        hook_event_name: "SessionStart",
        thread_id: response.thread.id,
        session_id: response.thread.id,
        cwd: response.thread.cwd,
        source,
        ...(response.model === undefined ? {} : { model: response.model })
      })
      if (started.additionalContext.length > 0) {
        yield* threads.append(
          response.thread.id,
          started.additionalContext.map((text) => ({
            event: "message_appended" as const,
            message: { id: Ids.make("MessageId"), role: "system" as const, content: text, created_at: Date.now() }
          }))
        )
      }
      return response
    })

    const endSession: R.Service["endSession"] = Effect.fn("Runtime.endSession")(function* (threadId, reason) {
      const thread = yield* threads.get(threadId)
      if (Option.isNone(thread)) return
      yield* hooks.notify({
        hook_event_name: "SessionEnd",
        thread_id: thread.value.id,
        session_id: thread.value.id,
        cwd: thread.value.cwd,
        reason
      })
      yield* threads.touch(threadId, (t) => ({ ...t, status: t.status === "running" ? "idle" : t.status }))
    })

    const service: R.Service = {
      handleThread,
      endSession,
      handlePrompt: (request, overrides) => turns.handlePrompt(request, overrides),
      compactThread: (threadId, keep) => turns.compactThread(threadId, keep),
      invokeTool: (call, approval, cwd) => invoker.invokeTool(call, approval, cwd),
      resolveApproval,
      mcpStartup,
      appStatus,
      providerDefault: Effect.map(models.providerDefault, (p) => p.id),
      saveThreadCheckpoint: (threadId, checkpointId, state) => store.saveCheckpoint(threadId, checkpointId, state),
      loadThreadCheckpoint: (threadId, checkpointId) => store.loadCheckpoint(threadId, checkpointId ?? "latest"),
      enqueueJob: jobs.enqueueJob,
      setJobRunning: jobs.setJobRunning,
      updateJobProgress: jobs.updateJobProgress,
      completeJob: jobs.completeJob,
      failJob: jobs.failJob,
      cancelJob: jobs.cancelJob,
      pauseJob: jobs.pauseJob,
      resumeJob: jobs.resumeJob,
      jobHistory: jobs.jobHistory,
      listJobs: jobs.listJobs,
      restartMcpServer: (name) => mcp.restart(name),
      retryJob: Effect.fn("Runtime.retryJob")(function* (id) {
        const job = yield* jobs.getJob(id)
        if (job.status !== "failed" && job.status !== "cancelled") {
          return yield* new InvalidTransition({ jobId: id, from: job.status, to: "queued", operation: "retry" })
        }
        return yield* jobs.enqueueJob(job.name, job.input, { maxAttempts: job.retry.max_attempts })
      })
    }
    return service
  })
