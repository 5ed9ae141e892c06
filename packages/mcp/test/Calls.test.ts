import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as McpConfig from "../src/McpConfig.js"
import * as McpManager from "../src/McpManager.js"
import * as McpStdio from "../src/stdio.js"
import { drain, fixtureServer, isAlive, takeUntil, waitGone } from "./helpers.js"

const manager = (servers: Record<string, unknown>, restart?: Record<string, unknown>) =>
  McpManager.make(McpConfig.make(servers, restart)).pipe(Effect.provide(McpStdio.layer))

const text = (out: { content: ReadonlyArray<{ type: string }> }) =>
  out.content.map((c) => (c.type === "text" ? (c as unknown as { text: string }).text : `<${c.type}>`)).join("")

const stats = (mcp: McpManager.Service, server: string) =>
  Effect.map(
    mcp.callServerTool(server, "stats"),
    (out) => JSON.parse(text(out)) as { cancelled: number; hanging: number; pid: number }
  )

describe("tool bridging", () => {
  it.scopedLive("names tools mcp__<server>__<tool>, sanitized, shortened, collisions resolved", () =>
    Effect.gen(function* () {
      const mcp = yield* manager({ "odd.server": fixtureServer(["--odd-names"]) })
      yield* mcp.startAll
      const tools = yield* mcp.tools
      const byTool = new Map(tools.map((t) => [t.tool, t]))
      expect(byTool.get("echo")!.name).toBe("mcp__odd_server__echo")
      expect(byTool.get("a_b")!.name).toBe("mcp__odd_server__a_b")
      expect(byTool.get("a.b")!.name).toMatch(/^mcp__odd_server__a_b_[0-9a-f]{12}$/)
      const long1 = byTool.get("x".repeat(80))!.name
      const long2 = byTool.get(`${"x".repeat(79)}y`)!.name
      expect(long1).toHaveLength(64)
      expect(long2).toHaveLength(64)
      expect(long1).not.toBe(long2)
      for (const t of tools) expect(t.name).toMatch(/^[A-Za-z0-9_-]{1,64}$/)
      // The input schema is passed through unchanged.
      expect(byTool.get("echo")!.input_schema).toEqual({
        type: "object",
        properties: { text: { type: "string" } },
        required: ["text"]
      })
      expect(byTool.get("echo")).toMatchObject({ server: "odd.server", description: "Echoes text" })
      // Calls by qualified name reach the right tool, including the renamed one.
      expect(text(yield* mcp.callTool(byTool.get("a.b")!.name))).toBe("called a.b")
      expect(text(yield* mcp.callTool("mcp__odd_server__a_b"))).toBe("called a_b")
      expect(text(yield* mcp.callTool(long2))).toBe(`called ${"x".repeat(79)}y`)
    })
  )

  it.scopedLive("maps results to Strata tool output: text, image, audio, resources, structured, is_error", () =>
    Effect.gen(function* () {
      const mcp = yield* manager({ fx: fixtureServer([], { disabled_tools: ["exit"] }) })
      yield* mcp.startAll
      const out = yield* mcp.callTool("mcp__fx__mixed")
      expect(out).toEqual({
        content: [
          { type: "text", text: "hello" },
          { type: "image", data: "iVBORw0KGgo=", mime_type: "image/png" },
          { type: "audio", data: "UklGRg==", mime_type: "audio/wav" },
          { type: "resource", uri: "file:///a.txt", mime_type: "text/plain", text: "A" },
          { type: "resource", uri: "file:///b.bin", mime_type: "application/octet-stream" }
        ],
        structured: { ok: true, n: 2 }
      })
      expect(yield* mcp.callTool("mcp__fx__fail")).toEqual({
        content: [{ type: "text", text: "it went wrong" }],
        is_error: true
      })
      // disabled_tools hides a tool from the bridge.
      expect((yield* mcp.tools).map((t) => t.tool)).not.toContain("exit")
    })
  )

  it.scopedLive("refreshes tools on notifications/tools/list_changed", () =>
    Effect.gen(function* () {
      const mcp = yield* manager({ fx: fixtureServer() })
      yield* mcp.startAll
      const queue = yield* mcp.subscribe
      expect(text(yield* mcp.callTool("mcp__fx__add_tool"))).toBe("extra_1")
      const events = yield* takeUntil(queue, (e) => e._tag === "ToolsChanged" && e.tools.includes("mcp__fx__extra_1"))
      expect(events.at(-1)).toMatchObject({ _tag: "ToolsChanged", server_name: "fx" })
      expect((yield* mcp.tools).map((t) => t.name)).toContain("mcp__fx__extra_1")
      expect(text(yield* mcp.callTool("mcp__fx__extra_1"))).toBe("called extra_1")
      expect((yield* mcp.status)[0]!.tools).toBe(10)
    })
  )

  it.scopedLive("rejects unknown tools, unknown servers and non-object arguments with typed errors", () =>
    Effect.gen(function* () {
      const mcp = yield* manager({ fx: fixtureServer() })
      yield* mcp.startAll
      expect(yield* Effect.flip(mcp.callTool("mcp__fx__nope"))).toMatchObject({
        reason: "UnknownTool",
        tool: "mcp__fx__nope"
      })
      const unknown = yield* Effect.flip(mcp.callServerTool("nope", "echo"))
      expect(unknown).toMatchObject({ reason: "UnknownServer", server: "nope" })
      expect(unknown.message).toContain("configured: fx")
      expect(yield* Effect.flip(mcp.callTool("mcp__fx__echo", [1, 2]))).toMatchObject({ reason: "InvalidArguments" })
      // A JSON-RPC error from the server (unknown tool on its side) is a ServerError with the code.
      const server = yield* Effect.flip(mcp.callServerTool("fx", "not_a_tool"))
      expect(server.reason === "ServerError" || server.reason === "Protocol").toBe(true)
    })
  )
})

describe("calls that go wrong", () => {
  it.scopedLive("a hanging call times out, the server gets notifications/cancelled", () =>
    Effect.gen(function* () {
      const mcp = yield* manager({ fx: fixtureServer([], { tool_timeout: "300ms" }) })
      yield* mcp.startAll
      const queue = yield* mcp.subscribe
      const error = yield* Effect.flip(mcp.callTool("mcp__fx__hang"))
      expect(error).toMatchObject({ _tag: "McpError", reason: "Timeout", server: "fx", tool: "hang" })
      expect(error.message).toBe(
        'MCP Timeout: server "fx" tools/call hang: no answer within 300ms; sent notifications/cancelled'
      )
      expect((yield* stats(mcp, "fx")).cancelled).toBe(1)
      const events = yield* drain(queue)
      expect(events).toContainEqual(
        expect.objectContaining({ _tag: "CallFailed", server_name: "fx", tool: "hang", reason: "Timeout" })
      )
      // A per-call timeout overrides the server's.
      const short = yield* Effect.flip(mcp.callTool("mcp__fx__slow", { ms: 2000 }, { timeout: "100 millis" }))
      expect(short.reason).toBe("Timeout")
    })
  )

  it.scopedLive("interrupting the calling fiber sends notifications/cancelled", () =>
    Effect.gen(function* () {
      const mcp = yield* manager({ fx: fixtureServer() })
      yield* mcp.startAll
      const fiber = yield* Effect.fork(mcp.callTool("mcp__fx__hang"))
      // Interrupt once the server is running the call, so there is something to cancel.
      for (let i = 0; i < 100 && (yield* stats(mcp, "fx")).hanging === 0; i++) yield* Effect.sleep("10 millis")
      yield* Fiber.interrupt(fiber)
      let cancelled = 0
      for (let i = 0; i < 50 && cancelled === 0; i++) {
        cancelled = (yield* stats(mcp, "fx")).cancelled
        if (cancelled === 0) yield* Effect.sleep("20 millis")
      }
      expect(cancelled).toBe(1)
    })
  )

  it.scopedLive("a server that exits mid-call: typed error, failed, restarted, tools re-listed", () =>
    Effect.gen(function* () {
      const mcp = yield* manager({ fx: fixtureServer() }, { initial_delay: "10ms", max_attempts: 3 })
      yield* mcp.startAll
      const firstPid = Option.getOrThrow(yield* mcp.pid("fx"))
      const queue = yield* mcp.subscribe
      const error = yield* Effect.flip(mcp.callTool("mcp__fx__exit"))
      expect(error).toMatchObject({ reason: "ConnectionClosed", server: "fx", tool: "exit" })
      const events = yield* takeUntil(queue, (e) => e._tag === "StatusChanged" && e.status.status === "ready")
      const statuses = events.flatMap((e) => (e._tag === "StatusChanged" ? [e.status.status] : []))
      expect(statuses).toEqual(["failed", "restarting", "ready"])
      expect(events.find((e) => e._tag === "StatusChanged")).toMatchObject({
        status: { status: "failed", error: expect.stringContaining("server exited") }
      })
      expect(
        events.filter((e) => e._tag === "ToolsChanged").map((e) => (e as { tools: ReadonlyArray<string> }).tools.length)
      ).toEqual([0, 9])
      expect(events).toContainEqual(expect.objectContaining({ _tag: "CallFailed", reason: "ConnectionClosed" }))
      const secondPid = Option.getOrThrow(yield* mcp.pid("fx"))
      expect(secondPid).not.toBe(firstPid)
      expect(yield* waitGone(firstPid)).toBe(true)
      expect(text(yield* mcp.callTool("mcp__fx__echo", { text: "back" }))).toBe("back")
      expect((yield* mcp.status)[0]).toMatchObject({ status: "ready", restarts: 1, tools: 9 })
    })
  )

  it.scopedLive("garbage on stdout fails the call in flight with a Protocol error and a status event", () =>
    Effect.gen(function* () {
      const mcp = yield* manager({ fx: fixtureServer([], { tool_timeout: "20s" }) })
      yield* mcp.startAll
      const queue = yield* mcp.subscribe
      const error = yield* Effect.flip(mcp.callTool("mcp__fx__garbage"))
      expect(error).toMatchObject({ reason: "Protocol", server: "fx", tool: "garbage" })
      expect(error.detail).toMatch(/^server wrote invalid JSON-RPC to stdout: .*not valid JSON/)
      const events = yield* drain(queue)
      expect(events).toContainEqual(
        expect.objectContaining({
          _tag: "StatusChanged",
          status: expect.objectContaining({ status: "ready", error: expect.stringContaining("invalid JSON-RPC") })
        })
      )
      expect(events).toContainEqual(expect.objectContaining({ _tag: "CallFailed", reason: "Protocol" }))
      // The server keeps serving.
      expect(text(yield* mcp.callTool("mcp__fx__echo", { text: "still here" }))).toBe("still here")
    })
  )

  it.scopedLive("stop closes the server and kills its process; restart brings it back", () =>
    Effect.gen(function* () {
      const mcp = yield* manager({ fx: fixtureServer() })
      yield* mcp.startAll
      const pid = Option.getOrThrow(yield* mcp.pid("fx"))
      const stopped = yield* mcp.stop("fx")
      expect(stopped).toMatchObject({ status: "stopped", tools: 0 })
      expect(yield* waitGone(pid)).toBe(true)
      expect(yield* mcp.tools).toEqual([])
      expect(yield* Effect.flip(mcp.callServerTool("fx", "echo", { text: "x" }))).toMatchObject({ reason: "NotReady" })
      const restarted = yield* mcp.restart("fx")
      expect(restarted).toMatchObject({ status: "ready", tools: 9, restarts: 1 })
      expect(Option.getOrThrow(yield* mcp.pid("fx"))).not.toBe(pid)
      const again = yield* mcp.restart("fx")
      expect(again.restarts).toBe(2)
      expect(text(yield* mcp.callTool("mcp__fx__echo", { text: "ok" }))).toBe("ok")
    })
  )
})

describe("shutdown", () => {
  it.live("closing the scope closes every client and leaves no child process behind", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const mcp = yield* Scope.extend(
        manager({ a: fixtureServer(), b: fixtureServer(), c: fixtureServer(["--init-delay", "20000"]) }),
        scope
      )
      const queue = yield* Scope.extend(mcp.subscribe, scope)
      const start = yield* Effect.fork(mcp.startAll)
      const ready = new Set<string>()
      yield* takeUntil(queue, (e) => {
        if (e._tag === "StatusChanged" && e.status.status === "ready") ready.add(e.status.server_name)
        return ready.size === 2
      })
      const pids = [Option.getOrThrow(yield* mcp.pid("a")), Option.getOrThrow(yield* mcp.pid("b"))]
      // A call in flight while the scope closes.
      const hanging = yield* Effect.fork(mcp.callTool("mcp__a__hang"))
      yield* Effect.yieldNow()
      for (const pid of pids) expect(isAlive(pid)).toBe(true)
      yield* Scope.close(scope, Exit.void)
      for (const pid of pids) expect(yield* waitGone(pid)).toBe(true)
      const call = yield* Fiber.await(hanging)
      expect(call._tag).toBe("Failure")
      yield* Fiber.interrupt(start)
    })
  )
})
