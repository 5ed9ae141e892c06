// A whole Strata distribution: memory storage, one plugin (file tools), one model.
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Runtime, RuntimeConfig, RuntimeLayer } from "@strata/core-runtime"
import * as ScriptedModelServer from "@strata/demo/node/ScriptedModelServer"
import * as McpStdio from "@strata/mcp/stdio"
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import { Console, Effect, Layer, Schema } from "effect"

const demo = ScriptedModelServer.make({
  respond: (r) =>
    r.messages.at(-1)?.role === "tool"
      ? { text: `The workspace holds: ${r.messages.at(-1)?.content}` }
      : { toolCalls: [{ name: "fs__glob", arguments: { pattern: "*" } }] }
})
const program = Effect.gen(function* () {
  const url = process.env.MODEL_URL ?? (yield* demo).baseUrl("openai-compatible")
  const config = Schema.decodeUnknownSync(RuntimeConfig.RuntimeConfig)({
    model: process.env.MODEL ?? "demo",
    storage: { kind: "memory" },
    plugins: ["@strata/plugin-fs"],
    providers: { main: { kind: "openai-compatible", base_url: url } },
    models: [{ id: process.env.MODEL ?? "demo", provider: "main", context_window: 32000, max_output_tokens: 4000 }]
  })
  const platform = Layer.merge(McpStdio.layer, RuntimeLayer.layerUnsandboxed(config, { cwd: process.cwd() }))
  const layer = RuntimeLayer.layer(config, { cwd: process.cwd(), cliVersion: "0.1.0" }).pipe(Layer.provide(platform))
  const prompt = process.argv.slice(2).join(" ") || "What is in this directory?"
  const ask = Effect.flatMap(Runtime.Runtime, (rt) => rt.handlePrompt({ prompt }))
  yield* Console.log((yield* Effect.provide(ask, layer)).output)
}).pipe(Effect.scoped, Effect.provide([NodeContext.layer, NodeWorkspace.layer()]))
NodeRuntime.runMain(program)
