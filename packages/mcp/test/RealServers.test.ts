// Against real MCP servers from npm: server-everything (stdio, streamable HTTP, legacy SSE),
// server-memory and server-filesystem. One server-everything per describe block: it takes
// about 0.5 s of CPU to start.

import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it, type Vitest } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as McpConfig from "../src/McpConfig.js"
import * as McpManager from "../src/McpManager.js"
import * as McpStdio from "../src/stdio.js"
import { everythingBin, everythingHttp, filesystemBin, memoryBin } from "./helpers.js"

const text = (out: { content: ReadonlyArray<{ type: string }> }) =>
  out.content.map((c) => (c.type === "text" ? (c as unknown as { text: string }).text : "")).join("")

/** The manager as a layer, started, for one describe block. */
const started = (servers: Record<string, unknown>) =>
  Layer.scoped(
    McpManager.McpManager,
    Effect.gen(function* () {
      const mcp = yield* McpManager.make(McpConfig.make(servers))
      const summary = yield* mcp.startAll
      if (summary.ready.length !== Object.keys(servers).length) throw new Error(JSON.stringify(summary))
      return mcp
    })
  ).pipe(Layer.provide(McpStdio.layer))

/** The same checks over every transport server-everything speaks. */
const everythingSuite = (it: Vitest.MethodsNonLive<McpManager.McpManager>, name: string) => {
  it.effect(`${name}: bridges the tools with their input schemas`, () =>
    Effect.gen(function* () {
      const mcp = yield* McpManager.McpManager
      const tools = yield* mcp.tools
      const echo = tools.find((t) => t.name === "mcp__everything__echo")!
      expect(echo).toMatchObject({ server: "everything", tool: "echo" })
      expect(echo.input_schema).toMatchObject({ type: "object", properties: { message: { type: "string" } } })
      expect(tools.map((t) => t.name)).toEqual(
        expect.arrayContaining(["mcp__everything__get-sum", "mcp__everything__get-tiny-image"])
      )
    })
  )

  it.effect(`${name}: calls tools and maps text, images, resources and structured content`, () =>
    Effect.gen(function* () {
      const mcp = yield* McpManager.McpManager
      expect(text(yield* mcp.callTool("mcp__everything__echo", { message: "hi" }))).toBe("Echo: hi")
      expect(text(yield* mcp.callTool("mcp__everything__get-sum", { a: 2, b: 3 }))).toMatch(/5/)
      const image = yield* mcp.callTool("mcp__everything__get-tiny-image")
      expect(image.content).toContainEqual(expect.objectContaining({ type: "image", mime_type: "image/png" }))
      const ref = yield* mcp.callTool("mcp__everything__get-resource-reference", {
        resourceType: "Text",
        resourceId: 1
      })
      expect(ref.content).toContainEqual(
        expect.objectContaining({
          type: "resource",
          uri: expect.stringMatching(/^demo:\/\//),
          text: expect.any(String)
        })
      )
      const structured = yield* mcp.callTool("mcp__everything__get-structured-content", { location: "Chicago" })
      expect(structured.structured).toMatchObject({ temperature: expect.any(Number) })
      // Arguments the server's schema rejects come back as a tool error, not a crash.
      const bad = yield* Effect.either(mcp.callTool("mcp__everything__get-sum", { a: "two" }))
      expect(bad._tag === "Left" || bad.right.is_error === true).toBe(true)
    })
  )

  it.effect(`${name}: lists and reads resources and prompts`, () =>
    Effect.gen(function* () {
      const mcp = yield* McpManager.McpManager
      const resources = yield* mcp.listResources("everything")
      expect(resources.length).toBeGreaterThan(0)
      const doc = resources.find((r) => r.mime_type === "text/markdown")!
      const contents = yield* mcp.readResource("everything", doc.uri)
      expect(contents[0]).toMatchObject({ type: "resource", uri: doc.uri, text: expect.any(String) })
      const templates = yield* mcp.listResourceTemplates()
      expect(templates.map((t) => t.uri_template)).toContain("demo://resource/dynamic/text/{resourceId}")
      const prompts = yield* mcp.listPrompts()
      const args = prompts.find((p) => p.name === "args-prompt")!
      expect(args.arguments).toContainEqual({ name: "city", description: "Name of the city", required: true })
      const rendered = yield* mcp.getPrompt("everything", "args-prompt", { city: "Lyon" })
      expect(rendered.messages[0]).toMatchObject({ role: "user", content: { type: "text" } })
      expect(JSON.stringify(rendered.messages)).toContain("Lyon")
      const missing = yield* Effect.flip(mcp.readResource("everything", "demo://nope"))
      expect(missing).toMatchObject({ _tag: "McpError", server: "everything", operation: "resources/read" })
    })
  )
}

describe("server-everything over stdio", () => {
  it.layer(started({ everything: { command: process.execPath, args: [everythingBin, "stdio"] } }), {
    timeout: 30_000
  })((it) => {
    everythingSuite(it, "stdio")
    it.effect("status reports the stdio transport", () =>
      Effect.gen(function* () {
        const [status] = yield* (yield* McpManager.McpManager).status
        expect(status).toMatchObject({ server_name: "everything", status: "ready", transport: "stdio", restarts: 0 })
        expect(status!.tools).toBeGreaterThan(5)
      })
    )
  })
})

const overHttp = (mode: "streamableHttp" | "sse", path: string) =>
  Layer.unwrapScoped(
    Effect.map(everythingHttp(mode), (server) => started({ everything: { url: `${server.base}${path}` } }))
  )

describe("server-everything over streamable HTTP", () => {
  it.layer(overHttp("streamableHttp", "/mcp"), { timeout: 30_000 })((it) => {
    everythingSuite(it, "streamable HTTP")
    it.effect("status reports streamable HTTP", () =>
      Effect.gen(function* () {
        const [status] = yield* (yield* McpManager.McpManager).status
        expect(status).toMatchObject({ status: "ready", transport: "streamable-http" })
      })
    )
  })
})

describe("server-everything over legacy SSE (fallback from streamable HTTP)", () => {
  it.layer(overHttp("sse", "/sse"), { timeout: 30_000 })((it) => {
    it.effect("falls back to SSE and calls tools", () =>
      Effect.gen(function* () {
        const mcp = yield* McpManager.McpManager
        const [status] = yield* mcp.status
        expect(status).toMatchObject({ status: "ready", transport: "sse" })
        expect(text(yield* mcp.callTool("mcp__everything__echo", { message: "sse" }))).toBe("Echo: sse")
      })
    )
  })
})

describe("server-memory and server-filesystem", () => {
  it.scopedLive("memory: creates entities and reads the graph back", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const mcp = yield* McpManager.make(
        McpConfig.make({
          memory: { command: process.execPath, args: [memoryBin], env: { MEMORY_FILE_PATH: `${dir}/memory.jsonl` } }
        })
      )
      expect((yield* mcp.startAll).ready).toEqual(["memory"])
      yield* mcp.callTool("mcp__memory__create_entities", {
        entities: [{ name: "Strata", entityType: "project", observations: ["composes agent runtimes"] }]
      })
      const graph = yield* mcp.callTool("mcp__memory__read_graph")
      expect(text(graph)).toContain("composes agent runtimes")
      const found = yield* mcp.callTool("mcp__memory__search_nodes", { query: "Strata" })
      expect(text(found)).toContain("project")
    }).pipe(Effect.provide(Layer.merge(McpStdio.layer, NodeContext.layer)))
  )

  it.scopedLive("filesystem: writes, reads and lists inside a temp dir, refuses outside", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.realPath(yield* fs.makeTempDirectoryScoped())
      const mcp = yield* McpManager.make(
        McpConfig.make({ files: { command: process.execPath, args: [filesystemBin, dir] } })
      )
      expect((yield* mcp.startAll).ready).toEqual(["files"])
      yield* mcp.callTool("mcp__files__write_file", { path: `${dir}/note.txt`, content: "hello from strata" })
      expect(yield* fs.readFileString(`${dir}/note.txt`)).toBe("hello from strata")
      expect(text(yield* mcp.callTool("mcp__files__read_text_file", { path: `${dir}/note.txt` }))).toBe(
        "hello from strata"
      )
      expect(text(yield* mcp.callTool("mcp__files__list_directory", { path: dir }))).toContain("note.txt")
      const outside = yield* mcp.callTool("mcp__files__read_text_file", { path: "/etc/hostname" })
      expect(outside.is_error).toBe(true)
      expect(text(outside)).toMatch(/denied|outside/i)
    }).pipe(Effect.provide(Layer.merge(McpStdio.layer, NodeContext.layer)))
  )
})
