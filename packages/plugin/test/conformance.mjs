// Cross-runtime conformance for @strata/plugin: runs unchanged under Node, Bun
// and Deno on dist. Validates plugins and exercises the SDK's workspace
// helpers (loading plugins from config is the host's: see
// packages/core-runtime/test/conformance.mjs).
import assert from "node:assert/strict"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { HookDispatcher } from "@strata/hooks"
import { Plugin } from "@strata/plugin"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { run, test } from "../../../scripts/conformance.mjs"

const layer = Layer.mergeAll(HookDispatcher.HookDispatcher.Default, NodeContext.layer)
const runScoped = (effect) => Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(layer)))

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
