// Cross-runtime conformance for the plugin host (@strata/core-runtime's
// PluginLoader): runs unchanged under Node, Bun and Deno on dist. Loads
// plugins by package name and by relative path with the runtime's own dynamic
// import, validates them, installs their hooks and runs their tools.
import assert from "node:assert/strict"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as PluginLoader from "@strata/core-runtime/PluginLoader"
import { HookDispatcher } from "@strata/hooks"
import { HookEvent } from "@strata/plugin"
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { run, test } from "../../../scripts/conformance.mjs"

const layer = Layer.mergeAll(
  HookDispatcher.HookDispatcher.Default,
  NodeContext.layer,
  NodeWorkspace.layer({ durable: false })
)
const runScoped = (effect) => Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(layer)))
const baseDir = new URL("./fixtures/plugins/", import.meta.url).pathname

test("loads a package plugin and a local plugin, installs hooks, runs tools", () =>
  runScoped(
    Effect.gen(function* () {
      const result = yield* PluginLoader.install(["@strata/plugin-sample-guard", "./local-plugin.mjs"], { baseDir })
      assert.deepEqual(
        result.plugins.map((p) => p.id),
        ["sample-guard", "local"]
      )
      const hooks = yield* HookDispatcher.HookDispatcher
      const denied = yield* hooks.dispatch(
        HookEvent.PreToolUse.make({ tool_name: "exec", tool_input: { command: "rm -rf /" }, tool_use_id: "c1" })
      )
      assert.equal(denied.decision, "deny")
      const echo = result.plugins[1].tools[0]
      assert.equal(echo.name, "local__echo")
      assert.deepEqual(yield* echo.invoke({ text: "hi" }, { call_id: "c2" }), { text: "hi" })
      const bad = yield* Effect.flip(echo.invoke({ txt: "hi" }, { call_id: "c3" }))
      assert.equal(bad._tag, "ToolInputError")
    })
  ))

test("missing, throwing and colliding plugins give typed errors; optional ones are skipped", () =>
  runScoped(
    Effect.gen(function* () {
      const missing = yield* Effect.flip(PluginLoader.load(["./missing.mjs"], { baseDir }))
      assert.equal(missing.reason, "NotFound")
      const throws = yield* Effect.flip(PluginLoader.load(["./throws.mjs"], { baseDir }))
      assert.equal(throws.reason, "ImportFailed")
      const dependency = yield* Effect.flip(PluginLoader.load(["./missing-dependency.mjs"], { baseDir }))
      assert.equal(dependency.reason, "ImportFailed")
      const collision = yield* Effect.flip(PluginLoader.load(["./local-plugin.mjs", "./same-id.mjs"], { baseDir }))
      assert.equal(collision.reason, "Collision")
      assert.equal(collision.other, "./local-plugin.mjs")
      const optional = yield* PluginLoader.load([{ spec: "./throws.mjs", required: false }, "./local-plugin.mjs"], {
        baseDir
      })
      assert.deepEqual(
        optional.plugins.map((p) => p.plugin.id),
        ["local"]
      )
      assert.equal(optional.skipped.length, 1)
    })
  ))

test("a platform-free plugin loaded by package name runs on the host's platform", () =>
  runScoped(
    Effect.gen(function* () {
      const result = yield* PluginLoader.install(["@strata/plugin-shell"], { baseDir })
      const exec = result.plugins[0].tools.find((t) => t.name === "shell__exec")
      const out = yield* exec.invoke({ command: "echo from-host" }, { call_id: "c9", cwd: baseDir })
      assert.equal(out.exit_code, 0)
      assert.equal(out.output, "from-host\n")
    })
  ))

test("@strata/plugin-fs and its deprecated /node alias: one plugin, on the host's Workspace", () =>
  runScoped(
    Effect.gen(function* () {
      const { mkdtempSync, symlinkSync, readFileSync, readdirSync, rmSync } = yield* Effect.promise(
        () => import("node:fs")
      )
      const { tmpdir } = yield* Effect.promise(() => import("node:os"))
      const { join } = yield* Effect.promise(() => import("node:path"))
      const result = yield* PluginLoader.install(["@strata/plugin-fs", "@strata/plugin-fs/node"], { baseDir })
      assert.deepEqual(
        result.plugins.map((p) => p.id),
        ["fs"]
      )
      const write = result.plugins[0].tools.find((t) => t.name === "fs__write_file")
      const dir = mkdtempSync(join(tmpdir(), "strata-conf-fs-"))
      const outside = mkdtempSync(join(tmpdir(), "strata-conf-out-"))
      try {
        yield* write.invoke({ path: "a/b.txt", content: "hello\n" }, { call_id: "c10", cwd: dir })
        assert.equal(readFileSync(join(dir, "a", "b.txt"), "utf8"), "hello\n")
        symlinkSync(outside, join(dir, "out"))
        const refused = yield* Effect.flip(
          write.invoke({ path: "out/x.txt", content: "x" }, { call_id: "c11", cwd: dir })
        )
        assert.match(refused.message, /outside the workspace/)
        assert.deepEqual(readdirSync(outside), [])
      } finally {
        rmSync(dir, { recursive: true, force: true })
        rmSync(outside, { recursive: true, force: true })
      }
    })
  ))

await run("@strata/core-runtime")
