import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import * as McpConfig from "../src/McpConfig.js"
import type * as McpEvents from "../src/McpEvents.js"
import * as McpManager from "../src/McpManager.js"
import * as McpStdio from "../src/stdio.js"
import { drain, fixtureServer, startupUpdates, takeUntil } from "./helpers.js"

const manager = (servers: Record<string, unknown>, restart?: Record<string, unknown>) =>
  McpManager.make(McpConfig.make(servers, restart)).pipe(Effect.provide(McpStdio.layer))

describe("startAll", () => {
  it.scopedLive("starts five servers that each wait 1 s before initialize concurrently", () =>
    Effect.gen(function* () {
      const names = ["s1", "s2", "s3", "s4", "s5"]
      const mcp = yield* manager(Object.fromEntries(names.map((n) => [n, fixtureServer(["--init-delay", "1000"])])))
      const queue = yield* mcp.subscribe
      const summary = yield* mcp.startAll
      expect(summary).toEqual({ ready: names, failed: [], cancelled: [] })
      const order = startupUpdates(yield* drain(queue))
      // Concurrency shows in the order: every server is `starting` before any is `ready`
      // (in series, s1 would be ready before s2 starts).
      const firstReady = order.findIndex((u) => u.endsWith(":ready"))
      const lastStarting = order.map((u) => u.endsWith(":starting")).lastIndexOf(true)
      expect(lastStarting).toBeLessThan(firstReady)
      expect(order.filter((u) => u.endsWith(":ready")).sort()).toEqual(names.map((n) => `${n}:ready`))
      const status = yield* mcp.status
      expect(status.map((s) => s.status)).toEqual(["ready", "ready", "ready", "ready", "ready"])
      expect(status[0]).toMatchObject({ server_name: "s1", transport: "stdio", tools: 9, restarts: 0 })
    })
  )

  it.scopedLive("a slow or failing server never delays the others' ready events", () =>
    Effect.gen(function* () {
      const mcp = yield* manager({
        slow: fixtureServer(["--init-delay", "1500"]),
        crash: fixtureServer(["--crash-on-start"]),
        fast: fixtureServer()
      })
      const queue = yield* mcp.subscribe
      const summary = yield* mcp.startAll
      const order = startupUpdates(yield* drain(queue))
      expect(order.indexOf("fast:ready")).toBeLessThan(order.indexOf("slow:ready"))
      expect(order.findIndex((u) => u.startsWith("crash:failed"))).toBeLessThan(order.indexOf("slow:ready"))
      expect(summary.ready).toEqual(["slow", "fast"])
      expect(summary.failed).toHaveLength(1)
      expect(summary.failed[0]!.server_name).toBe("crash")
      // The error says what happened and carries the server's stderr.
      expect(summary.failed[0]!.error).toMatch(/ConnectionClosed.*crash.*initialize.*missing API key/)
      const crash = (yield* mcp.status).find((s) => s.server_name === "crash")
      expect(crash).toMatchObject({ status: "failed", tools: 0 })
      expect(crash!.error).toContain("missing API key")
    })
  )

  it.scopedLive("reports disabled servers as cancelled without starting them (seed semantics)", () =>
    Effect.gen(function* () {
      const mcp = yield* manager({ on: fixtureServer(), off: fixtureServer([], { enabled: false }) })
      const queue = yield* mcp.subscribe
      const summary = yield* mcp.startAll
      expect(summary).toEqual({ ready: ["on"], failed: [], cancelled: ["off"] })
      const events = yield* drain(queue)
      expect(startupUpdates(events).filter((u) => u.startsWith("off"))).toEqual(["off:cancelled"])
      expect(events.at(-1)).toEqual({ _tag: "StartupComplete", summary })
      expect((yield* mcp.status).find((s) => s.server_name === "off")!.status).toBe("disabled")
      const error = yield* Effect.flip(mcp.callServerTool("off", "echo", { text: "x" }))
      expect(error).toMatchObject({ reason: "Disabled", server: "off" })
    })
  )

  it.scopedLive("interrupting startup cancels the pending servers and still emits the summary", () =>
    Effect.gen(function* () {
      const mcp = yield* manager({
        fast: fixtureServer(),
        slow1: fixtureServer(["--init-delay", "20000"]),
        slow2: fixtureServer(["--init-delay", "20000"])
      })
      const queue = yield* mcp.subscribe
      const fiber = yield* Effect.fork(mcp.startAll)
      yield* takeUntil(queue, (e) => e._tag === "StartupUpdate" && e.update.status === "ready")
      yield* Fiber.interrupt(fiber)
      const events = yield* drain(queue)
      const order = startupUpdates(events)
      expect(order).toContain("slow1:cancelled")
      expect(order).toContain("slow2:cancelled")
      const complete = events.filter((e) => e._tag === "StartupComplete")
      expect(complete).toEqual([
        { _tag: "StartupComplete", summary: { ready: ["fast"], failed: [], cancelled: ["slow1", "slow2"] } }
      ])
      const status = yield* mcp.status
      expect(status.map((s) => s.status)).toEqual(["ready", "cancelled", "cancelled"])
      // A later startAll picks up where it left off: ready ones stay, cancelled ones start again.
    })
  )

  it.scopedLive("stop() during startup cancels that server; a second startAll shares the first's work", () =>
    Effect.gen(function* () {
      const mcp = yield* manager({
        slow: fixtureServer(["--init-delay", "20000"]),
        fast: fixtureServer(["--init-delay", "300"])
      })
      const queue = yield* mcp.subscribe
      const first = yield* Effect.fork(mcp.startAll)
      const second = yield* Effect.fork(mcp.startAll)
      yield* takeUntil(
        queue,
        (e) => e._tag === "StatusChanged" && e.status.server_name === "slow" && e.status.status === "starting"
      )
      yield* mcp.stop("slow")
      const [a, b] = [yield* Fiber.join(first), yield* Fiber.join(second)]
      expect(a).toEqual({ ready: ["fast"], failed: [], cancelled: ["slow"] })
      expect(b).toEqual(a)
      expect((yield* mcp.status).map((s) => s.status)).toEqual(["stopped", "ready"])
    })
  )

  it.scopedLive("a startup timeout fails that server with a Timeout error naming it", () =>
    Effect.gen(function* () {
      const mcp = yield* manager({ sleepy: fixtureServer(["--init-delay", "20000"], { startup_timeout: "300ms" }) })
      const summary = yield* mcp.startAll
      expect(summary.failed).toEqual([
        { server_name: "sleepy", error: 'MCP Timeout: server "sleepy" initialize: not ready within 300ms' }
      ])
    })
  )

  it.scopedLive("a missing command fails with the spawn error", () =>
    Effect.gen(function* () {
      const mcp = yield* manager({ nope: { command: "/nonexistent/strata-mcp-server" } })
      const summary = yield* mcp.startAll
      expect(summary.failed[0]!.error).toMatch(/Transport.*nope.*ENOENT/)
    })
  )

  it.scopedLive("a non-JSON banner on stdout before initialize is tolerated", () =>
    Effect.gen(function* () {
      const mcp = yield* manager({ chatty: fixtureServer(["--banner"]) })
      const summary = yield* mcp.startAll
      expect(summary.ready).toEqual(["chatty"])
    })
  )

  it.scopedLive("fails with McpStartupError when a required server is not ready, after the summary", () =>
    Effect.gen(function* () {
      const mcp = yield* manager({
        ok: fixtureServer(),
        must: fixtureServer(["--crash-on-start"], { required: true }),
        optional: fixtureServer(["--crash-on-start"])
      })
      const queue = yield* mcp.subscribe
      const error = yield* Effect.flip(mcp.startAll)
      expect(error._tag).toBe("McpStartupError")
      expect(error.servers).toEqual(["must"])
      expect(error.summary.ready).toEqual(["ok"])
      expect(error.message).toMatch(/^Required MCP server\(s\) did not start: must \(MCP ConnectionClosed/)
      const events = yield* drain(queue)
      expect(events.filter((e) => e._tag === "StartupComplete")).toHaveLength(1)
    })
  )

  it.scopedLive("sends every event to the McpEvents sink in the order of the stream", () =>
    Effect.gen(function* () {
      const seen = yield* Ref.make<ReadonlyArray<McpEvents.McpEvent>>([])
      const mcp = yield* McpManager.make(
        McpConfig.make({ a: fixtureServer(), b: fixtureServer(["--crash-on-start"]) }),
        {
          events: { emit: (e) => Ref.update(seen, (xs) => [...xs, e]) }
        }
      ).pipe(Effect.provide(McpStdio.layer))
      const queue = yield* mcp.subscribe
      yield* mcp.startAll
      const streamed = yield* drain(queue)
      expect(yield* Ref.get(seen)).toEqual(streamed)
      expect(streamed.map((e) => e._tag)).toContain("StatusChanged")
      expect(streamed.at(-1)!._tag).toBe("StartupComplete")
    })
  )
})
