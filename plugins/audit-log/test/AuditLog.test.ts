// The audit-log plugin installed into a real hook dispatcher, writing to a real temp dir.
import { FileSystem } from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { HookDispatcher } from "@strata/hooks"
import { Plugin } from "@strata/plugin"
import type { Ids } from "@strata/protocol"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { make } from "../src/index.js"
import nodePlugin from "../src/node.js"

const TestLayer = Layer.mergeAll(HookDispatcher.HookDispatcher.Default, NodeContext.layer)
const callId = "call_1" as Ids.ToolCallId
const approvalId = "appr_1" as Ids.ApprovalId

const readLines = (file: string) =>
  Effect.map(
    Effect.flatMap(FileSystem, (fs) => fs.readFileString(file)),
    (text) =>
      text
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>)
  )

describe("audit-log", () => {
  it.scoped("writes tool calls, decisions and approvals as JSON lines under <cwd>/.strata/audit.jsonl", () =>
    Effect.gen(function* () {
      const dir = yield* (yield* FileSystem).makeTempDirectoryScoped({ prefix: "strata-audit-" })
      yield* Plugin.install(yield* Plugin.validate(nodePlugin))
      const hooks = yield* HookDispatcher.HookDispatcher
      const common = { cwd: dir, call_id: callId, tool_name: "shell__exec" }
      yield* hooks.notify({
        hook_event_name: "ToolLifecycle",
        phase: "precheck",
        arguments: { command: "touch a" },
        ...common
      })
      yield* hooks.dispatch({
        hook_event_name: "PermissionRequest",
        cwd: dir,
        tool_name: "shell__exec",
        tool_input: { command: "touch a" },
        tool_use_id: callId,
        reason: "touch: ask by builtin rule"
      })
      yield* hooks.notify({
        hook_event_name: "ApprovalLifecycle",
        phase: "requested",
        approval_id: approvalId,
        command: "touch a",
        reason: "touch: ask by builtin rule",
        ...common
      })
      yield* hooks.notify({
        hook_event_name: "ApprovalLifecycle",
        phase: "approved",
        approval_id: approvalId,
        ...common
      })
      yield* hooks.notify({ hook_event_name: "ToolLifecycle", phase: "completed", duration_ms: 3, ...common })
      const lines = yield* readLines(`${dir}/.strata/audit.jsonl`)
      expect(lines.map((l) => [l.event, l.phase ?? l.decision])).toStrictEqual([
        ["tool_call", "precheck"],
        ["decision", "ask"],
        ["approval", "requested"],
        ["approval", "approved"],
        ["tool_call", "completed"]
      ])
      expect(lines[0]).toMatchObject({ tool_name: "shell__exec", arguments: { command: "touch a" } })
      expect(lines[1]).toMatchObject({ reason: "touch: ask by builtin rule" })
      expect(lines[2]).toMatchObject({ command: "touch a", approval_id: "appr_1" })
      expect(typeof lines[4]!.time).toBe("string")
    }).pipe(Effect.provide(TestLayer))
  )

  it.scoped("writes to a configured file; concurrent entries stay whole lines", () =>
    Effect.gen(function* () {
      const dir = yield* (yield* FileSystem).makeTempDirectoryScoped({ prefix: "strata-audit-" })
      yield* Plugin.install(yield* Plugin.validate(make(NodeContext.layer, { file: "logs/audit.jsonl" })))
      const hooks = yield* HookDispatcher.HookDispatcher
      yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) =>
          hooks.notify({
            hook_event_name: "ToolLifecycle",
            phase: "failed",
            error: `boom ${i}`,
            cwd: dir,
            call_id: callId,
            tool_name: "fs__read_file"
          }),
        { concurrency: "unbounded" }
      )
      const lines = yield* readLines(`${dir}/logs/audit.jsonl`)
      expect(lines.length).toBe(20)
      expect(new Set(lines.map((l) => l.error)).size).toBe(20)
    }).pipe(Effect.provide(TestLayer))
  )
})
