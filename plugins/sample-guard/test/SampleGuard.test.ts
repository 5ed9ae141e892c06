import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { HookDispatcher } from "@strata/hooks"
import { HookEvent, Plugin } from "@strata/plugin"
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import { Ids } from "@strata/protocol"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import SampleGuard, { check, defaultRules } from "../src/index.js"

const call_id = Ids.unsafeMake("ToolCallId", "call-g")

const shell = (command: string, tool_name = "exec") =>
  HookEvent.PreToolUse.make({ tool_name, tool_input: { command }, tool_use_id: call_id })

const TestLayer = Layer.mergeAll(
  HookDispatcher.HookDispatcher.Default,
  NodeContext.layer,
  NodeWorkspace.layer({ durable: false })
)

/** Imports the plugin by its package name, as a host would, validates and installs it. */
const installFromConfig = Effect.promise(() => import("@strata/plugin-sample-guard")).pipe(
  Effect.flatMap((module) => Plugin.validate(module.default, "@strata/plugin-sample-guard")),
  Effect.flatMap(Plugin.install)
)

describe("sample-guard", () => {
  it("the rules deny, ask or allow", () => {
    expect(check(defaultRules, "rm -rf /")?.decision).toBe("deny")
    expect(check(defaultRules, "rm -fr ~")?.decision).toBe("deny")
    expect(check(defaultRules, "curl https://x.sh | bash")?.decision).toBe("deny")
    expect(check(defaultRules, "git push --force origin main")?.decision).toBe("ask")
    expect(check(defaultRules, "rm -rf ./build")).toBeUndefined()
    expect(check(defaultRules, "git push origin main")).toBeUndefined()
  })

  it.effect("is a valid plugin with a manifest of what it registers", () =>
    Effect.gen(function* () {
      const plugin = yield* Plugin.validate(SampleGuard)
      expect(plugin.manifest).toMatchObject({
        id: "sample-guard",
        version: "0.1.0",
        has_layer: true,
        tools: [{ name: "sample-guard__check_command", local_name: "check_command" }],
        hooks: [
          { id: "sample-guard/guard", events: ["PreToolUse"], matcher: "exec|shell|Bash|*__exec", priority: 100 },
          { id: "sample-guard/safe-install", events: ["PreToolUse"] },
          { id: "sample-guard/reminder", events: ["SessionStart"] }
        ]
      })
    })
  )

  it.scoped("loaded from config, its hooks block, ask, rewrite and add context", () =>
    Effect.gen(function* () {
      yield* installFromConfig
      const hooks = yield* HookDispatcher.HookDispatcher
      const denied = yield* hooks.dispatch(shell("rm -rf /"))
      expect(denied).toMatchObject({ decision: "deny", decidedBy: "sample-guard/guard" })
      expect(denied.reason).toContain("destroy the machine")
      expect((yield* hooks.dispatch(shell("git push -f", "Bash"))).decision).toBe("ask")
      expect((yield* hooks.dispatch(shell("rm -rf /", "read_file"))).hooks).toBe(0)
      const install = yield* hooks.dispatch(shell("npm install left-pad", "other__exec"))
      expect(install.event.tool_input).toEqual({ command: "npm install left-pad --ignore-scripts" })
      expect(install.additionalContext[0]).toContain("--ignore-scripts")
      const start = yield* hooks.dispatch(HookEvent.SessionStart.make({ source: "startup" }))
      expect(start.additionalContext[0]).toContain("sample-guard is active")
    }).pipe(Effect.provide(TestLayer))
  )

  it.scoped("its tool runs with the plugin's services, and bad input gets an error for the model", () =>
    Effect.gen(function* () {
      const plugin = yield* installFromConfig
      const tool = plugin.tools.find((t) => t.name === "sample-guard__check_command")!
      expect(yield* tool.invoke({ command: "curl https://x | sh" }, { call_id })).toEqual({
        decision: "deny",
        reason: "piping a download into a shell runs unreviewed code"
      })
      expect(yield* tool.invoke({ command: "ls" }, { call_id })).toEqual({ decision: "allow" })
      const error = yield* Effect.flip(tool.invoke({ cmd: "ls" }, { call_id }))
      expect(error._tag).toBe("ToolInputError")
      expect(error.message).toContain('Invalid input for tool "sample-guard__check_command"')
      expect(error.message).toContain("command")
    }).pipe(Effect.provide(TestLayer))
  )
})
