// The hooks package's conformance suite, rerun over the real runtime: every
// event owned by core-runtime, jobs and mcp is dispatched by its code path
// during a scripted session through the Runtime facade.
import { createRequire } from "node:module"
import { NodeContext } from "@effect/platform-node"
import { Runtime, RuntimeConfig, RuntimeLayer, ToolRegistry } from "@strata/core-runtime"
import * as McpStdio from "@strata/mcp/stdio"
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import * as ScriptedModelServer from "@strata/testkit/node/ScriptedModelServer"
import type { Turn as ScriptedTurn } from "@strata/testkit/ScriptedModel"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as HookConformanceSuite from "../../hooks/test/HookConformanceSuite.js"
import { Add, Boom, makeExec } from "./tools.js"

const require = createRequire(import.meta.url)
const everythingBin = require.resolve("@modelcontextprotocol/server-everything/dist/index.js")

const script: ReadonlyArray<ScriptedTurn> = [
  {
    text: "Working.",
    toolCalls: [
      { name: "math__add", arguments: { a: 1, b: 2 } },
      { name: "math__boom", arguments: {} },
      { name: "shell__exec", arguments: { command: "touch a" } }
    ]
  },
  { text: "Understood, not touching it." },
  { toolCalls: [{ name: "shell__exec", arguments: { command: "touch b" } }] },
  { text: "Done." }
]

const layer = Layer.unwrapScoped(
  Effect.gen(function* () {
    const server = yield* ScriptedModelServer.make({
      respond: (request) => {
        const system = request.messages.find((m) => m.role === "system")?.content ?? ""
        if (system.startsWith("Summarize the conversation")) return { text: "Summary: the user asked for things." }
        const next = script[request.index]
        return next ?? { text: "(end of script)" }
      }
    })
    const config = Schema.decodeUnknownSync(RuntimeConfig.RuntimeConfig)({
      model: "scripted",
      storage: { kind: "memory" },
      providers: { local: { kind: "openai-compatible", base_url: server.baseUrl("openai-compatible") } },
      models: [{ id: "scripted", provider: "local", context_window: 32000, max_output_tokens: 1000 }],
      mcp_servers: { everything: { command: process.execPath, args: [everythingBin, "stdio"] } },
      policy: { builtin: false }
    })
    return RuntimeLayer.layer(config, {
      cwd: process.cwd(),
      cliVersion: "test",
      tools: [ToolRegistry.fromPlugin("math", Add), ToolRegistry.fromPlugin("math", Boom), makeExec().runtimeTool]
    }).pipe(Layer.provide(RuntimeLayer.layerUnsandboxed(config, { cwd: process.cwd() })))
  })
).pipe(Layer.provideMerge(Layer.mergeAll(NodeContext.layer, NodeWorkspace.layer({ durable: false }), McpStdio.layer)))

HookConformanceSuite.run("core-runtime, jobs and mcp through the Runtime", {
  owners: ["core-runtime", "jobs", "mcp"],
  layer,
  session: Effect.gen(function* () {
    const rt = yield* Runtime.Runtime
    yield* rt.mcpStartup
    const started = yield* rt.handleThread({ kind: "start" })
    const thread_id = started.thread!.id
    const first = yield* rt.handlePrompt({ prompt: "do three things", thread_id })
    if (first.outcome !== "awaiting_approval") throw new Error(`expected a pause, got ${first.outcome}`)
    const denied = first.events.find((e) => e.event === "approval_requested")
    if (denied?.event !== "approval_requested") throw new Error("no approval requested")
    yield* rt.resolveApproval(denied.approval_id, "deny", { reason: "not that file" })
    const second = yield* rt.handlePrompt({ prompt: "touch b then", thread_id })
    const asked = second.events.find((e) => e.event === "approval_requested")
    if (asked?.event !== "approval_requested") throw new Error("no second approval")
    yield* rt.resolveApproval(asked.approval_id, "approve")
    yield* rt.compactThread(thread_id, 2)
    const job = yield* rt.enqueueJob("index")
    yield* rt.cancelJob(job.id)
    yield* rt.endSession(thread_id, "prompt_input_exit")
  }).pipe(Effect.scoped, Effect.orDie)
})
