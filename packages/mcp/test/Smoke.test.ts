import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as McpConfig from "../src/McpConfig.js"
import * as McpManager from "../src/McpManager.js"
import * as McpStdio from "../src/stdio.js"
import { fixtureServer } from "./helpers.js"

describe("smoke", () => {
  it.scoped("starts a fixture and calls echo", () =>
    Effect.gen(function* () {
      const mcp = yield* McpManager.make(McpConfig.make({ fx: fixtureServer() }))
      const summary = yield* mcp.startAll
      expect(summary.ready).toEqual(["fx"])
      const tools = yield* mcp.tools
      expect(tools.map((t) => t.name)).toContain("mcp__fx__echo")
      const out = yield* mcp.callTool("mcp__fx__echo", { text: "hi" })
      expect(out.content).toEqual([{ type: "text", text: "hi" }])
    }).pipe(Effect.provide(McpStdio.layer))
  )
})
