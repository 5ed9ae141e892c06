/**
 * The `Runtime` facade: the seed's `Runtime`, Effect-native. It holds the
 * services (config, model registry, threads, tools, MCP, exec policy, hooks,
 * jobs) and exposes every seed method:
 *
 * `handleThread`, `handlePrompt`, `invokeTool`, `mcpStartup`, `appStatus`,
 * `providerDefault`, `saveThreadCheckpoint`, `loadThreadCheckpoint`, and the
 * ten job methods (delegating to `JobManager`), plus `resolveApproval`
 * (which continues the paused turn once nothing is pending).
 *
 * `mcpStartup` forwards every startup update and the summary to the
 * `HookDispatcher` (as the seed) and registers the servers' tools in the
 * `ToolRegistry` as `mcp__<server>__<tool>`, refreshed when a server's tool
 * list changes.
 *
 * @since 0.1.0
 */

import type { HookDispatcher } from "@strata/hooks/HookDispatcher"
import type { InvalidTransition, JobConfigError, JobNotFound } from "@strata/jobs/JobError"
import type { JobError, JobManager } from "@strata/jobs/JobManager"
import type { McpError } from "@strata/mcp/McpError"
import type { McpManager } from "@strata/mcp/McpManager"
import type { AppStatus } from "@strata/protocol/App"
import type { JsonValue } from "@strata/protocol/Common"
import type { JobRecord } from "@strata/protocol/Job"
import type { McpServerStatus, McpStartupCompleteEvent } from "@strata/protocol/Mcp"
import type { CliRuntimeOverrides, PromptRequest, PromptResponse } from "@strata/protocol/Prompt"
import type { ThreadRequest, ThreadResponse } from "@strata/protocol/Thread"
import type { ApprovalDecision, AskForApproval, ToolCall } from "@strata/protocol/Tool"
import type { ModelRegistry } from "@strata/providers/ModelRegistry"
import type { ModelRegistryError } from "@strata/providers/ProviderError"
import type { RecordError, StateStore } from "@strata/storage/StateStore"
import type { StorageError } from "@strata/storage/StorageError"
import type { Checkpoint, CheckpointInfo } from "@strata/storage/StorageSchema"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/runtime.js"
import type { ThreadError, ThreadManager } from "./ThreadManager.js"
import type { InvokeResult, ToolInvoker } from "./ToolInvoker.js"
import type { ToolNameCollision, ToolRegistry } from "./ToolRegistry.js"
import type { TurnFailure, TurnRunner } from "./Turn.js"

/**
 * What `resolveApproval` returns: the call's result and, when it was the
 * last pending approval of a paused turn, the continued turn.
 *
 * @since 0.1.0
 * @category models
 */
export interface ApprovalOutcome {
  readonly result: InvokeResult
  readonly turn?: PromptResponse | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Package versions reported by `appStatus`. */
  readonly versions?: Readonly<Record<string, string>> | undefined
  /** Continue a paused turn when its last approval is resolved (default true). */
  readonly continueAfterApproval?: boolean | undefined
}

type JobsService = JobManager["Type"]

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Dispatches a thread request; `start`, `resume` and `fork` also dispatch `SessionStart`. */
  readonly handleThread: (request: ThreadRequest) => Effect.Effect<ThreadResponse, ThreadError>
  /** Ends an interactive session on a thread (dispatches `SessionEnd`). */
  readonly endSession: (
    threadId: string,
    reason: "clear" | "logout" | "prompt_input_exit" | "other"
  ) => Effect.Effect<void, ThreadError>
  readonly handlePrompt: (
    request: PromptRequest,
    overrides?: CliRuntimeOverrides
  ) => Effect.Effect<PromptResponse, TurnFailure>
  readonly invokeTool: (
    call: ToolCall,
    approval: AskForApproval,
    cwd: string
  ) => Effect.Effect<InvokeResult, ThreadError | RecordError>
  /** Compacts a thread's older messages into a summary now (dispatches `PreCompact`). */
  readonly compactThread: (threadId: string, keep?: number) => Effect.Effect<string | undefined, TurnFailure>
  readonly resolveApproval: (
    approvalId: string,
    decision: ApprovalDecision,
    options?: { readonly reason?: string | undefined; readonly overrides?: CliRuntimeOverrides | undefined }
  ) => Effect.Effect<ApprovalOutcome, TurnFailure | StorageError>
  /** Restarts one configured MCP server (its tools are refreshed); its status after the restart. */
  readonly restartMcpServer: (name: string) => Effect.Effect<McpServerStatus, McpError>
  /** Starts every configured MCP server; the summary is also dispatched to hooks. */
  readonly mcpStartup: Effect.Effect<McpStartupCompleteEvent, ToolNameCollision, Scope.Scope>
  readonly appStatus: Effect.Effect<AppStatus, RecordError>
  readonly providerDefault: Effect.Effect<string, ModelRegistryError>
  readonly saveThreadCheckpoint: (
    threadId: string,
    checkpointId: string,
    state: JsonValue
  ) => Effect.Effect<CheckpointInfo, RecordError>
  /** A named checkpoint, or the latest when none is named. */
  readonly loadThreadCheckpoint: (
    threadId: string,
    checkpointId?: string
  ) => Effect.Effect<Option.Option<Checkpoint>, RecordError>
  readonly enqueueJob: JobsService["enqueueJob"]
  readonly setJobRunning: JobsService["setJobRunning"]
  readonly updateJobProgress: JobsService["updateJobProgress"]
  readonly completeJob: JobsService["completeJob"]
  readonly failJob: JobsService["failJob"]
  readonly cancelJob: JobsService["cancelJob"]
  readonly pauseJob: JobsService["pauseJob"]
  readonly resumeJob: JobsService["resumeJob"]
  readonly jobHistory: JobsService["jobHistory"]
  readonly listJobs: JobsService["listJobs"]
  /**
   * Runs a `failed` or `cancelled` job again as a new job of the same kind
   * and input (the old one keeps its record and history); another status is
   * an `InvalidTransition` naming it.
   */
  readonly retryJob: (
    id: string
  ) => Effect.Effect<JobRecord, JobNotFound | InvalidTransition | JobConfigError | JobError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Runtime extends Context.Tag("@strata/core-runtime/Runtime")<Runtime, Service>() {}

/**
 * The services the facade is made of.
 *
 * @since 0.1.0
 * @category models
 */
export type Requirements =
  | ThreadManager
  | TurnRunner
  | ToolInvoker
  | ToolRegistry
  | HookDispatcher
  | StateStore
  | ModelRegistry
  | JobManager
  | McpManager

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<Service, never, Requirements> = internal.make

/**
 * The facade over services already in context (see `RuntimeLayer` for the
 * whole composition from config).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFacade = (options?: Options): Layer.Layer<Runtime, never, Requirements> =>
  Layer.effect(Runtime, make(options))
