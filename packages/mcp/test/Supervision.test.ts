import { rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as McpConfig from "../src/McpConfig.js"
import type { McpEvent } from "../src/McpEvents.js"
import * as McpManager from "../src/McpManager.js"
import * as McpStdio from "../src/stdio.js"
import { fixtureServer, httpFixture, httpFixtureServer, spawnScoped, takeUntil, waitForOutput } from "./helpers.js"

const manager = (servers: Record<string, unknown>, restart?: Record<string, unknown>) =>
  McpManager.make(McpConfig.make(servers, restart)).pipe(Effect.provide(McpStdio.layer))

const text = (out: { content: ReadonlyArray<{ type: string }> }) =>
  out.content.map((c) => (c.type === "text" ? (c as unknown as { text: string }).text : "")).join("")

const statuses = (events: ReadonlyArray<McpEvent>, server: string) =>
  events.flatMap((e) => (e._tag === "StatusChanged" && e.status.server_name === server ? [e.status.status] : []))

const isStatus = (server: string, status: string) => (e: McpEvent) =>
  e._tag === "StatusChanged" && e.status.server_name === server && e.status.status === status

describe("supervision", () => {
  it.scopedLive("a killed server is marked failed, restarted and its tools re-listed", () =>
    Effect.gen(function* () {
      const mcp = yield* manager({ fx: fixtureServer(), other: fixtureServer() }, { initial_delay: "20ms" })
      yield* mcp.startAll
      const queue = yield* mcp.subscribe
      const pid = Option.getOrThrow(yield* mcp.pid("fx"))
      process.kill(pid, "SIGKILL")
      const events = yield* takeUntil(queue, isStatus("fx", "ready"))
      expect(statuses(events, "fx")).toEqual(["failed", "restarting", "ready"])
      expect(events.filter((e) => e._tag === "ToolsChanged")).toEqual([
        { _tag: "ToolsChanged", server_name: "fx", tools: [] },
        expect.objectContaining({
          _tag: "ToolsChanged",
          server_name: "fx",
          tools: expect.arrayContaining(["mcp__fx__echo"])
        })
      ])
      // The other server never noticed.
      expect(statuses(events, "other")).toEqual([])
      expect(Option.getOrThrow(yield* mcp.pid("fx"))).not.toBe(pid)
      expect(text(yield* mcp.callTool("mcp__fx__echo", { text: "again" }))).toBe("again")
      const status = yield* mcp.status
      expect(status[0]).toMatchObject({ server_name: "fx", status: "ready", restarts: 1, tools: 9 })
      expect(status[0]!.error).toBeUndefined()
    })
  )

  it.scopedLive("gives up after max_attempts with exponential backoff; restart() recovers", () =>
    Effect.gen(function* () {
      const flag = join(tmpdir(), `strata-mcp-crash-${process.pid}-${Date.now()}`)
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(flag, { force: true })))
      const mcp = yield* manager(
        { fx: fixtureServer(["--crash-if", flag]) },
        { initial_delay: "10ms", factor: 2, max_attempts: 3 }
      )
      yield* mcp.startAll
      const queue = yield* mcp.subscribe
      writeFileSync(flag, "crash")
      process.kill(Option.getOrThrow(yield* mcp.pid("fx")), "SIGKILL")
      const events = yield* takeUntil(
        queue,
        (e) => e._tag === "StatusChanged" && e.status.status === "failed" && /gave up/.test(e.status.error ?? "")
      )
      expect(statuses(events, "fx")).toEqual([
        "failed",
        "restarting",
        "failed",
        "restarting",
        "failed",
        "restarting",
        "failed",
        "failed"
      ])
      const last = (yield* mcp.status)[0]!
      expect(last).toMatchObject({ status: "failed", restarts: 3 })
      expect(last.error).toMatch(/^gave up after 3 restart attempt\(s\): .*crash requested/)
      rmSync(flag)
      const back = yield* mcp.restart("fx")
      expect(back).toMatchObject({ status: "ready", restarts: 4 })
      expect(text(yield* mcp.callTool("mcp__fx__echo", { text: "up" }))).toBe("up")
    })
  )
})

describe("streamable HTTP supervision", () => {
  it.scopedLive("re-initializes a session the server no longer knows and retries the call", () =>
    Effect.gen(function* () {
      const server = yield* httpFixtureServer()
      const mcp = yield* manager({ web: { url: server.url } })
      yield* mcp.startAll
      expect((yield* mcp.status)[0]).toMatchObject({ status: "ready", transport: "streamable-http", tools: 3 })
      const queue = yield* mcp.subscribe
      expect(text(yield* mcp.callTool("mcp__web__forget_sessions"))).toBe("forgotten")
      yield* Effect.sleep("20 millis")
      // The next call meets 404 Session not found; the manager re-initializes and retries it.
      expect(text(yield* mcp.callTool("mcp__web__echo", { text: "after" }))).toBe("after")
      const stats = JSON.parse(text(yield* mcp.callTool("mcp__web__stats")))
      expect(stats.initializations).toBe(2)
      const events = yield* takeUntil(queue, isStatus("web", "ready"))
      expect(statuses(events, "web")).toEqual(["restarting", "ready"])
      expect((yield* mcp.status)[0]).toMatchObject({ status: "ready", restarts: 1 })
    })
  )

  it.scopedLive("a dropped HTTP server is marked failed and reconnected when it comes back", () =>
    Effect.gen(function* () {
      const first = yield* httpFixtureServer()
      const mcp = yield* manager(
        { web: { url: first.url, tool_timeout: "5s" } },
        { initial_delay: "50ms", factor: 1.5, max_delay: "200ms", max_attempts: 50 }
      )
      yield* mcp.startAll
      const queue = yield* mcp.subscribe
      first.child.kill("SIGKILL")
      yield* Effect.async<void>((resume) => {
        if (first.child.exitCode !== null || first.child.signalCode !== null) resume(Effect.void)
        else first.child.once("exit", () => resume(Effect.void))
      })
      const error = yield* Effect.flip(mcp.callTool("mcp__web__echo", { text: "x" }))
      expect(error).toMatchObject({ reason: "Transport", server: "web", tool: "echo" })
      yield* takeUntil(queue, isStatus("web", "restarting"))
      const second = yield* spawnScoped(process.execPath, [httpFixture, "--port", String(first.port)])
      yield* waitForOutput(second, /PORT=\d+/)
      const events = yield* takeUntil(queue, isStatus("web", "ready"))
      expect(statuses(events, "web").at(-1)).toBe("ready")
      expect(text(yield* mcp.callTool("mcp__web__echo", { text: "back" }))).toBe("back")
    })
  )
})
