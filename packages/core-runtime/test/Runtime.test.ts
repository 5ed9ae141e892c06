// End to end through the Runtime facade, composed from config by RuntimeLayer:
// a real scripted model server on 127.0.0.1, a real MCP server from npm
// (server-everything over stdio), a third-party plugin package, a bash command
// hook, the exec policy, and the file-system (or Redis) store.
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { FileSystem } from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Runtime, RuntimeConfig, ToolRegistry } from "@strata/core-runtime"
import * as ScriptedModelServer from "@strata/testkit/node/ScriptedModelServer"
import type { Turn as ScriptedTurn } from "@strata/testkit/ScriptedModel"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Add, makeExec } from "./tools.js"
import { configRuntime } from "./turnRuntime.js"

const require = createRequire(import.meta.url)
const everythingBin = require.resolve("@modelcontextprotocol/server-everything/dist/index.js")
const rewriteHook = fileURLToPath(new URL("./fixtures/rewrite-hook.sh", import.meta.url))

const { ran, runtimeTool: execTool } = makeExec()
const appTools = [execTool, ToolRegistry.fromPlugin("math", Add)]

const configFor = (server: ScriptedModelServer.ScriptedModelServer, storage: unknown, withMcp: boolean) =>
  Schema.decodeUnknownSync(RuntimeConfig.RuntimeConfig)({
    model: "scripted",
    storage,
    providers: { local: { kind: "openai-compatible", base_url: server.baseUrl("openai-compatible") } },
    models: [{ id: "scripted", provider: "local", context_window: 32000, max_output_tokens: 1000 }],
    mcp_servers: withMcp
      ? { everything: { command: process.execPath, args: [everythingBin, "stdio"], trust: "trusted" } }
      : {},
    hooks: { PreToolUse: [{ matcher: "math__add", command: rewriteHook }] },
    plugins: ["@strata/plugin-sample-guard"],
    policy: { builtin: false }
  })

const rules = (dir: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem
    const file = `${dir}/rules.toml`
    yield* fs.writeFileString(file, 'default = "ask"\n[[rule]]\nprefix = [["ls", "echo"]]\ndecision = "allow"\n')
    return file
  })

const runtime = (config: RuntimeConfig.RuntimeConfig, cwd: string, rulesFile: string) =>
  configRuntime(config, {
    cwd,
    cliVersion: "test",
    versions: { "@strata/core-runtime": "0.1.0" },
    rules: [rulesFile],
    tools: appTools
  })

const stores = {
  fs: (dir: string) => ({ kind: "fs", dir: `${dir}/state` }),
  redis: () => ({ kind: "redis", prefix: `strata-runtime-test:${globalThis.crypto.randomUUID()}` })
} as const

for (const [storeName, storage] of Object.entries(stores)) {
  describe(`Runtime facade / ${storeName}`, () => {
    it.live(
      "a multi-tool turn through a plugin tool, an MCP tool and a command hook that rewrites input",
      () =>
        Effect.gen(function* () {
          const dir = yield* (yield* FileSystem).makeTempDirectoryScoped({ prefix: "strata-runtime-" })
          const turns: ReadonlyArray<ScriptedTurn> = [
            {
              text: "Working on it.",
              toolCalls: [
                { name: "math__add", arguments: { a: 2, b: 3 } },
                { name: "mcp__everything__echo", arguments: { message: "hello mcp" } },
                { name: "sample-guard__check_command", arguments: { command: "ls" } }
              ],
              usage: { input_tokens: 10, output_tokens: 5 }
            },
            { text: "All done.", usage: { input_tokens: 20, output_tokens: 3 } }
          ]
          const server = yield* ScriptedModelServer.make({ turns })
          const layer = runtime(configFor(server, storage(dir), true), dir, yield* rules(dir))
          yield* Effect.gen(function* () {
            const rt = yield* Runtime.Runtime
            // No mcpStartup call: the configured servers start with the runtime and the prompt waits for them.
            const response = yield* rt.handlePrompt({ prompt: "add, echo and check" })
            expect(response).toMatchObject({ outcome: "completed", output: "All done." })
            const tools = server.requests[1]!.messages.filter((m) => m.role === "tool").map((m) => m.content)
            expect(tools.find((t) => t.includes("sum"))).toContain('{"sum":8}')
            expect(tools.find((t) => t.includes("sum"))).toContain("b was doubled by a hook")
            expect(tools.some((t) => t.includes("hello mcp"))).toBe(true)
            expect(tools.some((t) => /allow|pass|ok/i.test(t))).toBe(true)
            const toolNames = server.requests[0]!.tools
            expect(toolNames).toEqual(
              expect.arrayContaining([
                "math__add",
                "shell__exec",
                "mcp__everything__echo",
                "sample-guard__check_command"
              ])
            )

            // the rest of the seed's surface
            const status = yield* rt.appStatus
            expect(status.mcp_servers.map((s) => [s.server_name, s.status])).toStrictEqual([["everything", "ready"]])
            expect(status.threads.total).toBe(1)
            expect(status.runtime.name).toBe("node")
            expect(status.provider_default).toBe("local")
            expect(yield* rt.providerDefault).toBe("local")
            yield* rt.saveThreadCheckpoint(response.thread_id, "mine", { step: 3 })
            const mine = yield* rt.loadThreadCheckpoint(response.thread_id, "mine")
            expect(mine._tag === "Some" && mine.value.state).toStrictEqual({ step: 3 })
            const latest = yield* rt.loadThreadCheckpoint(response.thread_id)
            expect(latest._tag === "Some" && latest.value.id).toBe("mine")
            const read = yield* rt.handleThread({ kind: "read", thread_id: response.thread_id })
            expect(read.data.history?.map((m) => m.role)).toStrictEqual([
              "user",
              "assistant",
              "tool",
              "tool",
              "tool",
              "assistant"
            ])
            // invokeTool through the facade: a denied command and an allowed one
            const denied = yield* rt.invokeTool(
              { id: "call-deny" as never, name: "shell__exec", arguments: { command: "rm -rf /" } },
              "never",
              dir
            )
            expect(denied.status).toBe("denied")
            const allowed = yield* rt.invokeTool(
              { id: "call-ok" as never, name: "shell__exec", arguments: { command: "ls -la" } },
              "on-request",
              dir
            )
            expect(allowed.status).toBe("completed")
            // fork at a message
            const msgs = read.data.history!
            const fork = yield* rt.handleThread({
              kind: "fork",
              thread_id: response.thread_id,
              at_message_id: msgs[1]!.id
            })
            expect(fork.status).toBe("forked")
            expect(fork.data.history?.map((m) => m.role)).toStrictEqual(["user", "assistant"])
            expect(fork.thread?.forked_from?.thread_id).toBe(response.thread_id)
            const job = yield* rt.enqueueJob("index")
            yield* rt.setJobRunning(job.id)
            yield* rt.updateJobProgress(job.id, 50, "half")
            yield* rt.pauseJob(job.id)
            yield* rt.resumeJob(job.id)
            yield* rt.completeJob(job.id)
            expect((yield* rt.jobHistory(job.id)).map((h) => h.phase)).toStrictEqual([
              "created",
              "running",
              "progress",
              "paused",
              "resumed",
              "completed"
            ])
            const other = yield* rt.enqueueJob("other")
            yield* rt.cancelJob(other.id)
            const failing = yield* rt.enqueueJob("failing")
            yield* rt.setJobRunning(failing.id)
            yield* rt.failJob(failing.id, "broken")
            expect((yield* rt.listJobs).length).toBe(3)
            expect((yield* rt.appStatus).jobs.length).toBe(3)
          }).pipe(Effect.provide(layer))
        }).pipe(Effect.provide(NodeContext.layer), Effect.scoped),
      60_000
    )

    it.live(
      "an approval round trip across a restart: the turn pauses, a new runtime approves, the turn completes",
      () =>
        Effect.gen(function* () {
          const dir = yield* (yield* FileSystem).makeTempDirectoryScoped({ prefix: "strata-runtime-" })
          const server = yield* ScriptedModelServer.make({
            turns: [
              { toolCalls: [{ name: "shell__exec", arguments: { command: "touch notes.txt" } }] },
              { text: "Created notes.txt." }
            ]
          })
          const config = configFor(server, storage(dir), false)
          const rulesFile = yield* rules(dir)
          const paused = yield* Effect.gen(function* () {
            const rt = yield* Runtime.Runtime
            return yield* rt.handlePrompt({ prompt: "create notes.txt" })
          }).pipe(Effect.provide(runtime(config, dir, rulesFile)))
          expect(paused.outcome).toBe("awaiting_approval")
          const approvalEvent = paused.events.find((e) => e.event === "approval_requested")
          expect(approvalEvent).toBeDefined()
          const before = ran.length
          // a fresh runtime (a restarted process) on the same store
          const done = yield* Effect.gen(function* () {
            const rt = yield* Runtime.Runtime
            const thread = yield* rt.handleThread({ kind: "read", thread_id: paused.thread_id })
            expect(thread.thread?.status).toBe("paused")
            const approvalId = approvalEvent!.event === "approval_requested" ? approvalEvent!.approval_id : ""
            const outcome = yield* rt.resolveApproval(approvalId, "approve")
            const twice = yield* Effect.flip(rt.resolveApproval(approvalId, "approve"))
            expect(twice).toMatchObject({ reason: "Conflict" })
            return outcome
          }).pipe(Effect.provide(runtime(config, dir, rulesFile)))
          expect(done.result.status).toBe("completed")
          expect(done.turn).toMatchObject({ outcome: "completed", output: "Created notes.txt." })
          expect(ran.length).toBe(before + 1)
        }).pipe(Effect.provide(NodeContext.layer), Effect.scoped),
      60_000
    )
  })
}
