/**
 * The audit log: one JSON line per tool call phase, approval request and
 * decision, and permission request (with the policy's reason), appended to
 * a JSONL file.
 *
 * Each line: `{"time": ISO-8601, "event": <hook event>, "phase"?: ...,
 * "thread_id"?, "call_id"?, "tool_name"?, "arguments"?, "command"?,
 * "reason"?, "error"?, "duration_ms"?, "approval_id"?}`.
 *
 * The file is `options.file` when set (relative paths against the event's
 * `cwd`), else `$STRATA_AUDIT_LOG`, else `<cwd>/.strata/audit.jsonl`.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { defineHook } from "@strata/plugin"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The log file; relative paths resolve against the event's cwd. */
  readonly file?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Appends one entry (never fails: a write error is logged as a warning). */
  readonly append: (cwd: string | undefined, entry: Record<string, unknown>) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class AuditLog extends Context.Tag("@strata/plugin-audit-log/AuditLog")<AuditLog, Service>() {}

/**
 * The writer: entries are appended one at a time, in order.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<AuditLog, never, FileSystem.FileSystem | Path.Path> =>
  Layer.effect(
    AuditLog,
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const fromEnv = yield* Config.string("STRATA_AUDIT_LOG").pipe(
        Config.option,
        Effect.orElseSucceed(() => Option.none())
      )
      const configured = options.file ?? Option.getOrUndefined(Option.filter(fromEnv, (s) => s !== ""))
      const lock = yield* Effect.makeSemaphore(1)
      const fileFor = (cwd: string | undefined) =>
        path.resolve(cwd ?? ".", configured ?? path.join(".strata", "audit.jsonl"))
      return {
        append: (cwd, entry) =>
          lock.withPermits(1)(
            Effect.gen(function* () {
              const file = fileFor(cwd)
              yield* fs.makeDirectory(path.dirname(file), { recursive: true })
              yield* fs.writeFileString(file, `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`, {
                flag: "a"
              })
            }).pipe(Effect.catchAll((e) => Effect.logWarning(`audit-log: cannot write: ${e.message}`)))
          )
      }
    })
  )

const defined = (record: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined))

/**
 * Logs every tool call phase (`precheck`, `dispatching`, `completed`,
 * `failed`).
 *
 * @since 0.1.0
 * @category hooks
 */
export const ToolCalls = defineHook({
  event: "ToolLifecycle",
  name: "tool-calls",
  run: (event) =>
    Effect.flatMap(AuditLog, (log) =>
      log.append(
        event.cwd,
        defined({
          event: "tool_call",
          phase: event.phase,
          thread_id: event.thread_id,
          call_id: event.call_id,
          tool_name: event.tool_name,
          arguments: event.phase === "precheck" ? event.arguments : undefined,
          error: event.error,
          duration_ms: event.duration_ms
        })
      )
    )
})

/**
 * Logs approvals: requested (with the policy's reason), approved, denied.
 *
 * @since 0.1.0
 * @category hooks
 */
export const Approvals = defineHook({
  event: "ApprovalLifecycle",
  name: "approvals",
  run: (event) =>
    Effect.flatMap(AuditLog, (log) =>
      log.append(
        event.cwd,
        defined({
          event: "approval",
          phase: event.phase,
          thread_id: event.thread_id,
          approval_id: event.approval_id,
          call_id: event.call_id,
          tool_name: event.tool_name,
          command: event.command,
          reason: event.reason
        })
      )
    )
})

/**
 * Logs the decisions that need a person (policy or hook said `ask`), with
 * the reason, before anyone answers.
 *
 * @since 0.1.0
 * @category hooks
 */
export const Decisions = defineHook({
  event: "PermissionRequest",
  name: "decisions",
  run: (event) =>
    Effect.flatMap(AuditLog, (log) =>
      log.append(
        event.cwd,
        defined({
          event: "decision",
          decision: "ask",
          thread_id: event.thread_id,
          call_id: event.tool_use_id,
          tool_name: event.tool_name,
          arguments: event.tool_input,
          reason: event.reason
        })
      )
    )
})

/**
 * Every hook of the plugin.
 *
 * @since 0.1.0
 * @category hooks
 */
export const hooks = [ToolCalls, Approvals, Decisions] as const
