// Cross-runtime conformance for @strata/mcp: runs unchanged under Node, Bun and Deno on dist.
// Config decoding, tool-name sanitizing, and a stdio round trip against the fixture server.
import assert from "node:assert/strict"
import { fileURLToPath } from "node:url"
import { McpConfig, McpManager, McpToolName } from "@strata/mcp"
import * as McpStdio from "@strata/mcp/stdio"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { run, test } from "../../../scripts/conformance.mjs"

const fixture = fileURLToPath(new URL("./fixtures/server.mjs", import.meta.url))

test("config decodes stdio and http servers with defaults", () => {
  const config = McpConfig.make({
    fs: { command: "node", args: ["x.js"], startup_timeout: "500ms" },
    web: { url: "http://127.0.0.1:9/mcp", tool_timeout: 2 }
  })
  assert.deepEqual(
    config.servers.map((s) => [s.name, s.transport]),
    [
      ["fs", "stdio"],
      ["web", "http"]
    ]
  )
  assert.equal(Duration.toMillis(config.servers[0].startup_timeout), 500)
  assert.equal(Duration.toMillis(config.servers[1].tool_timeout), 2000)
  assert.equal(config.servers[0].enabled, true)
})

test("bad config names the server and the field", () => {
  const bad = McpConfig.decodeEither({ servers: { fs: { command: "node", startup_timeout: "soon" } } })
  assert.ok(Either.isLeft(bad))
  assert.equal(bad.left._tag, "McpConfigError")
  assert.equal(bad.left.server, "fs")
  assert.equal(bad.left.field, "startup_timeout")
  const both = McpConfig.decodeEither({ servers: { x: { command: "a", url: "http://h" } } })
  assert.equal(both.left.reason, "Conflict")
  const typo = McpConfig.decodeEither({ servers: { x: { command: "a", argz: [] } } })
  assert.equal(typo.left.message, 'Invalid MCP config: server "x": argz: unknown key')
})

test("tool names are sanitized, shortened with the same hash everywhere", () => {
  assert.equal(McpToolName.qualify("my server", "read.file"), "mcp__my_server__read_file")
  assert.equal(McpToolName.stableHash("abc"), "1a47e90bbdd5")
  const long = McpToolName.qualify("server", "x".repeat(80))
  assert.equal(long.length, 64)
  assert.match(long, /^[A-Za-z0-9_-]+$/)
  const names = McpToolName.assign([
    { server: "s", tool: "a.b" },
    { server: "s", tool: "a_b" }
  ])
  assert.equal(names[1], "mcp__s__a_b")
  assert.match(names[0], /^mcp__s__a_b_[0-9a-f]{12}$/)
})

test("stdio round trip: start, bridge, call, shut down with no child left", async () => {
  const program = Effect.gen(function* () {
    const scope = yield* Scope.make()
    const mcp = yield* Scope.extend(
      McpManager.make(McpConfig.make({ fx: { command: "node", args: [fixture] } })),
      scope
    ).pipe(Effect.provide(McpStdio.layer))
    const summary = yield* mcp.startAll
    assert.deepEqual(summary, { ready: ["fx"], failed: [], cancelled: [] })
    const tools = yield* mcp.tools
    assert.ok(tools.some((t) => t.name === "mcp__fx__echo"))
    const out = yield* mcp.callTool("mcp__fx__echo", { text: "héllo 🙂" })
    assert.deepEqual(out, { content: [{ type: "text", text: "héllo 🙂" }] })
    const mixed = yield* mcp.callTool("mcp__fx__mixed")
    assert.deepEqual(mixed.structured, { ok: true, n: 2 })
    const pid = Option.getOrThrow(yield* mcp.pid("fx"))
    yield* Scope.close(scope, Exit.void)
    let alive = true
    for (let i = 0; i < 100 && alive; i++) {
      try {
        process.kill(pid, 0)
        yield* Effect.sleep("30 millis")
      } catch {
        alive = false
      }
    }
    assert.equal(alive, false, `child ${pid} still alive after shutdown`)
  })
  await Effect.runPromise(program)
})

await run("@strata/mcp")
