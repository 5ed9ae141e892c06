/**
 * @internal
 *
 * `McpManager.startAll`: starts every enabled server at once, reports each
 * one's progress as a `StartupUpdate`, and summarizes who is ready, failed or
 * cancelled (also when interrupted). Fails when a required server is not ready.
 */
import type * as Mcp from "@strata/protocol/Mcp"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { McpError, McpStartupError } from "../McpError.js"
import type { McpEvent } from "../McpEvents.js"
import type { Conn, Handle, StartupResult, Status } from "./connection.js"
import type { makeTasks } from "./tasks.js"

/** What startup needs from the manager. */
export interface StartupDeps {
  readonly handles: ReadonlyArray<Handle>
  readonly emit: (event: McpEvent) => Effect.Effect<void>
  readonly setStatus: (h: Handle, status: Status, error?: string) => Effect.Effect<void>
  readonly runTask: ReturnType<typeof makeTasks>["runTask"]
  readonly connectAndInstall: (h: Handle) => Effect.Effect<Conn, McpError>
}

/** Builds `startAll` over the manager's handles. */
export const makeStartAll = ({
  handles,
  emit,
  setStatus,
  runTask,
  connectAndInstall
}: StartupDeps): Effect.Effect<Mcp.McpStartupCompleteEvent, McpStartupError> =>
  Effect.gen(function* () {
    const results = new Map<string, StartupResult>()
    const update = (h: Handle, status: Mcp.McpStartupStatus, error?: string) =>
      emit({
        _tag: "StartupUpdate",
        update: {
          server_name: h.config.name,
          status,
          ...(error === undefined ? {} : { error })
        }
      })
    const summarize = (): Mcp.McpStartupCompleteEvent => {
      const ready: Array<string> = []
      const failed: Array<Mcp.McpStartupFailure> = []
      const cancelled: Array<string> = []
      for (const h of handles) {
        const r = results.get(h.config.name)
        if (r?.status === "ready") ready.push(h.config.name)
        else if (r?.status === "failed") failed.push({ server_name: h.config.name, error: r.error })
        else cancelled.push(h.config.name)
      }
      return { ready, failed, cancelled }
    }
    const startOne = (h: Handle): Effect.Effect<void> => {
      const name = h.config.name
      if (!h.config.enabled) {
        return Effect.suspend(() => {
          results.set(name, { status: "cancelled" })
          return update(h, "cancelled")
        })
      }
      if (h.conn?.ready === true) {
        return Effect.suspend(() => {
          results.set(name, { status: "ready" })
          return update(h, "ready")
        })
      }
      return Effect.gen(function* () {
        yield* update(h, "starting")
        yield* setStatus(h, "starting")
        const exit = yield* runTask(
          h,
          "start",
          connectAndInstall(h).pipe(Effect.tapError((e) => setStatus(h, "failed", e.message))),
          // Two concurrent startAll calls share one startup per server.
          {
            share: true,
            propagateInterrupt: true,
            guard: () => h.status === "starting"
          }
        )
        if (Exit.isSuccess(exit)) {
          results.set(name, { status: "ready" })
          yield* update(h, "ready")
        } else if (Cause.isInterruptedOnly(exit.cause)) {
          results.set(name, { status: "cancelled" })
          yield* update(h, "cancelled")
        } else {
          const error = Cause.squash(exit.cause)
          const message = error instanceof McpError ? error.message : Cause.pretty(exit.cause)
          results.set(name, { status: "failed", error: message })
          yield* update(h, "failed", message)
        }
      }).pipe(
        Effect.onInterrupt(() =>
          Effect.suspend(() => {
            if (results.has(name)) return Effect.void
            results.set(name, { status: "cancelled" })
            return Effect.zipRight(setStatus(h, "cancelled"), update(h, "cancelled"))
          })
        )
      )
    }
    const summary = yield* Effect.forEach(handles, startOne, {
      concurrency: "unbounded",
      discard: true
    }).pipe(
      Effect.onInterrupt(() => emit({ _tag: "StartupComplete", summary: summarize() })),
      Effect.map(summarize)
    )
    yield* emit({ _tag: "StartupComplete", summary })
    const missing = handles
      .filter((h) => h.config.enabled && h.config.required && !summary.ready.includes(h.config.name))
      .map((h) => h.config.name)
    if (missing.length > 0) return yield* new McpStartupError({ servers: missing, summary })
    return summary
  }).pipe(Effect.withSpan("McpManager.startAll"))
