// Cross-runtime conformance for @strata/plugin: runs unchanged under Node, Bun
// and Deno on dist. Loads plugins by package name and by relative path with
// the runtime's own dynamic import, validates them, installs their hooks and
// runs their tools.
import assert from "node:assert/strict"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { HookDispatcher } from "@strata/hooks"
import { HookEvent, Plugin, PluginLoader } from "@strata/plugin"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { run, test } from "../../../scripts/conformance.mjs"

const layer = Layer.mergeAll(HookDispatcher.HookDispatcher.Default, NodeContext.layer)
const runScoped = (effect) => Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(layer)))
const baseDir = new URL("./fixtures/", import.meta.url).pathname

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

test("validation names the bad field", () =>
  runScoped(
    Effect.gen(function* () {
      const error = yield* Effect.flip(Plugin.validate({ id: "ok", version: "1", tools: [{ name: "a__b" }] }))
      assert.equal(error.reason, "InvalidPlugin")
      assert.equal(error.path, "tools[0].name")
    })
  ))

test("NodeWorkspace: descriptor-anchored on Linux, confined, refuses hard links and unsafe names", async () => {
  const { mkdtempSync, writeFileSync, symlinkSync, linkSync, rmSync } = await import("node:fs")
  const { tmpdir } = await import("node:os")
  const { join } = await import("node:path")
  const NodeWorkspace = await import("@strata/plugin/NodeWorkspace")
  const dir = mkdtempSync(join(tmpdir(), "strata-ws-conf-"))
  try {
    const ws = await Effect.runPromise(NodeWorkspace.make({ durable: false }))
    if (process.platform === "linux") assert.equal(ws.guarantee, "descriptor")
    await Effect.runPromise(ws.writeFile(dir, "a/b.txt", "hello\n"))
    const read = await Effect.runPromise(ws.readFile(dir, "a/b.txt"))
    assert.equal(new TextDecoder().decode(read.bytes), "hello\n")
    symlinkSync(tmpdir(), join(dir, "out"))
    const reason = (effect) => Effect.runPromise(Effect.flip(effect)).then((e) => e.reason)
    assert.equal(await reason(ws.readFile(dir, "out/x")), "OutsideWorkspace")
    linkSync(join(dir, "a", "b.txt"), join(dir, "hard"))
    assert.equal(await reason(ws.writeFile(dir, "hard", "x")), "HardLinked")
    assert.equal(await reason(ws.writeFile(dir, "x\ny", "x")), "InvalidName")
    writeFileSync(join(dir, "c.txt"), "c")
    const seen = []
    await Effect.runPromise(
      ws.walk(dir, ".", {
        maxDepth: 5,
        maxEntries: 100,
        allowHardlinks: true,
        onFile: (f) => Effect.sync(() => seen.push(f.relative)).pipe(Effect.as(true))
      })
    )
    assert.deepEqual(seen, ["a/b.txt", "c.txt", "hard"])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

await run("@strata/plugin")
