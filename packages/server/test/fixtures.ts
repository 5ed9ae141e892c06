// The runtime under the server tests: composed from config by RuntimeLayer
// (memory store), a real scripted model server on 127.0.0.1, a shell-flagged
// tool the exec policy asks about, and the HTTP app on a real Node server.
import { createServer } from "node:http"
import { FileSystem } from "@effect/platform/FileSystem"
import * as HttpServer from "@effect/platform/HttpServer"
import { NodeContext, NodeHttpServer } from "@effect/platform-node"
import { RuntimeConfig, RuntimeLayer, ToolRegistry } from "@strata/core-runtime"
import * as McpStdio from "@strata/mcp/stdio"
import { Tool as PluginTool } from "@strata/plugin"
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import * as ScriptedModelServer from "@strata/testkit/node/ScriptedModelServer"
import type { Turn } from "@strata/testkit/ScriptedModel"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Auth from "../src/Auth.js"
import * as Http from "../src/Http.js"
import * as RpcServer from "../src/RpcServer.js"

export const ran: Array<string> = []

const Exec = PluginTool.define({
  name: "exec",
  description: "Run a shell command",
  input: Schema.Struct({ command: Schema.String.annotations({ description: "the command" }) }),
  output: Schema.String,
  shellCommand: ({ command }) => command,
  run: ({ command }) =>
    Effect.sync(() => {
      ran.push(command)
      return `ran: ${command}`
    })
})

/** The runtime (and the RpcServer over it) for a scripted model; `plugins` are bundled modules the config loads. */
export const runtimeLayer = (
  turns: ReadonlyArray<Turn>,
  options: { readonly plugins?: Readonly<Record<string, unknown>> } = {}
) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "strata-server-" })
      yield* fs.writeFileString(
        `${dir}/rules.toml`,
        'default = "ask"\n[[rule]]\nprefix = [["ls", "echo"]]\ndecision = "allow"\n[[rule]]\nprefix = ["curl"]\ndecision = "deny"\njustification = "no network from tests"\n'
      )
      const model = yield* ScriptedModelServer.make({ turns })
      const config = Schema.decodeUnknownSync(RuntimeConfig.RuntimeConfig)({
        model: "scripted",
        storage: { kind: "memory" },
        providers: { local: { kind: "openai-compatible", base_url: model.baseUrl("openai-compatible") } },
        models: [{ id: "scripted", provider: "local", context_window: 32000, max_output_tokens: 1000 }],
        policy: { builtin: false },
        ...(options.plugins === undefined ? {} : { plugins: Object.keys(options.plugins) })
      })
      return RpcServer.layer.pipe(
        Layer.provideMerge(
          RuntimeLayer.layer(config, {
            cwd: dir,
            cliVersion: "test",
            rules: [`${dir}/rules.toml`],
            tools: [ToolRegistry.fromPlugin("shell", Exec)],
            ...(options.plugins === undefined
              ? {}
              : {
                  pluginModules: Object.fromEntries(
                    Object.entries(options.plugins).map(([spec, plugin]) => [
                      spec,
                      () => Promise.resolve({ default: plugin })
                    ])
                  )
                })
          })
        ),
        Layer.provide(
          Layer.mergeAll(
            NodeContext.layer,
            NodeWorkspace.layer({ durable: false }),
            McpStdio.layer,
            RuntimeLayer.layerUnsandboxed(config, { cwd: dir })
          )
        )
      )
    }).pipe(Effect.provide(NodeContext.layer))
  )

/** The HTTP app on a real server on 127.0.0.1 (a free port); yields its base URL. */
export const serve = (
  options: { readonly tokens?: ReadonlyArray<Auth.TokenConfig>; readonly rate?: number; readonly maxBody?: number } = {}
) =>
  Effect.gen(function* () {
    const app = Http.make({
      auth: Auth.make({ tokens: options.tokens ?? [], ratePerMinute: options.rate ?? 100_000 }),
      maxBodyBytes: options.maxBody ?? 64 * 1024
    })
    const context = yield* Layer.build(NodeHttpServer.layer(() => createServer(), { host: "127.0.0.1", port: 0 }))
    return yield* Effect.gen(function* () {
      yield* HttpServer.serveEffect()(app)
      return yield* HttpServer.addressWith((a) =>
        Effect.succeed(a._tag === "TcpAddress" ? `http://127.0.0.1:${a.port}` : "")
      )
    }).pipe(Effect.provide(context))
  })
