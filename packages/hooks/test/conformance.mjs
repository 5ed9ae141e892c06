// Cross-runtime conformance for @strata/hooks: runs unchanged under Node, Bun
// and Deno on dist. In-process dispatch (order, strictest decision, chained
// rewrites, context, failures, timeouts) and real command hooks through
// NodeContext's CommandExecutor (exit 2 blocks, JSON rewrites, timeout kills
// the process group).
import assert from "node:assert/strict"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { CommandHook, Hook, HookDispatcher, HookEvent, HookOutput } from "@strata/hooks"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { run, test } from "../../../scripts/conformance.mjs"

const layer = Layer.mergeAll(HookDispatcher.HookDispatcher.Default, NodeContext.layer)
const runScoped = (effect) => Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(layer)))

const fixtures = new URL("./fixtures", import.meta.url).pathname

const pre = (command, tool_name = "exec") =>
  HookEvent.PreToolUse.make({ tool_name, tool_input: { command }, tool_use_id: "call-1", session_id: "s" })

test("hooks run by priority then registration; the strictest decision wins", () =>
  runScoped(
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      const log = []
      const hook = (name, output, priority = 0) =>
        Hook.define({
          event: "PreToolUse",
          name,
          priority,
          run: () =>
            Effect.sync(() => {
              log.push(name)
              return output
            })
        })
      yield* hooks.register([hook("a", HookOutput.allow()), hook("b", HookOutput.ask("check"), 5), hook("c")])
      const result = yield* hooks.dispatch(pre("ls"))
      assert.deepEqual(log, ["b", "a", "c"])
      assert.equal(result.decision, "ask")
      assert.equal(result.reason, "check")
    })
  ))

test("rewrites chain and context accumulates; a deny ends the chain", () =>
  runScoped(
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      yield* hooks.register([
        Hook.define({
          event: "PreToolUse",
          run: (e) => Effect.succeed(HookOutput.updateInput({ command: `${e.tool_input.command} -la` }))
        }),
        Hook.define({
          event: "PreToolUse",
          run: (e) =>
            Effect.succeed(
              e.tool_input.command.includes("rm")
                ? HookOutput.deny("no rm")
                : HookOutput.addContext(e.tool_input.command)
            )
        }),
        Hook.define({ event: "PreToolUse", run: () => Effect.die("never reached on deny") })
      ])
      const ok = yield* hooks.dispatch(pre("ls"), { validateInput: (input) => Effect.succeed(input) })
      assert.deepEqual(ok.event.tool_input, { command: "ls -la" })
      assert.deepEqual(ok.additionalContext, ["ls -la"])
      const denied = yield* hooks.dispatch(pre("rm"))
      assert.equal(denied.decision, "deny")
      assert.equal(denied.errors.length, 0)
    })
  ))

test("failing and hanging in-process hooks become hook errors; PreToolUse denies by default", () =>
  runScoped(
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      yield* hooks.register([
        Hook.define({ event: ["PreToolUse", "Stop"], timeout: "30 millis", run: () => Effect.never }),
        Hook.define({
          event: "Stop",
          run: () => {
            throw new Error("thrown")
          }
        })
      ])
      const pre1 = yield* hooks.dispatch(pre("ls"))
      assert.equal(pre1.decision, "deny")
      assert.equal(pre1.errors[0].reason, "Timeout")
      const stop = yield* hooks.dispatch(HookEvent.Stop.make({ stop_hook_active: false }))
      assert.equal(stop.decision, "none")
      assert.deepEqual(
        stop.errors.map((e) => e.reason),
        ["Timeout", "Defect"]
      )
    })
  ))

test("command hooks: exit 2 blocks with stderr, JSON rewrites, plain stdout is prompt context", () =>
  runScoped(
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      const specs = Either.getOrThrow(
        CommandHook.fromConfig({
          PreToolUse: [{ command: "./guard.sh" }, { command: "./rewrite.py" }],
          UserPromptSubmit: [{ command: "./context.sh" }]
        })
      )
      yield* CommandHook.register(specs, { cwd: fixtures })
      const blocked = yield* hooks.dispatch(pre("rm -rf /"))
      assert.equal(blocked.decision, "deny")
      assert.equal(blocked.reason, "rm -rf is not allowed here")
      const rewritten = yield* hooks.dispatch(pre("deploy prod"))
      assert.equal(rewritten.decision, "allow")
      assert.deepEqual(rewritten.event.tool_input, { command: "deploy prod --dry-run" })
      const prompt = yield* hooks.dispatch(HookEvent.UserPromptSubmit.make({ prompt: "hi" }))
      assert.deepEqual(prompt.additionalContext, ["Today is release day: keep changes small."])
    })
  ))

/** Whether a pid still runs (Linux /proc; a zombie left to PID 1 does not run). */
const running = (pid) => {
  const stat = `/proc/${pid}/stat`
  if (!existsSync(stat)) return false
  const text = readFileSync(stat, "utf8")
  return text.slice(text.lastIndexOf(")") + 2)[0] !== "Z"
}

test("command hooks: a hang times out, its process group is killed, and the runtime continues", () =>
  runScoped(
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "strata-hooks-"))
      const hooks = yield* HookDispatcher.HookDispatcher
      const specs = Either.getOrThrow(
        CommandHook.fromConfig({ PostToolUse: [{ command: "./hang.sh", timeout: 0.3 }, { command: "echo '{bad'" }] })
      )
      yield* CommandHook.register(specs, { cwd: fixtures, env: { PID_FILE: join(dir, "hang.pid") } })
      const result = yield* hooks.dispatch(
        HookEvent.PostToolUse.make({ tool_name: "x", tool_input: {}, tool_use_id: "c", tool_response: { content: [] } })
      )
      assert.deepEqual(
        result.errors.map((e) => e.reason),
        ["Timeout", "InvalidOutput"]
      )
      assert.equal(result.decision, "none")
      if (existsSync("/proc")) {
        const pids = ["hang.pid.leader", "hang.pid", "hang.pid.child"].map((f) =>
          Number(readFileSync(join(dir, f), "utf8"))
        )
        for (let i = 0; i < 100 && pids.some(running); i++) yield* Effect.sleep("20 millis")
        assert.deepEqual(pids.filter(running), [], "processes left running")
      }
      rmSync(dir, { recursive: true, force: true })
    })
  ))

await run("@strata/hooks")
