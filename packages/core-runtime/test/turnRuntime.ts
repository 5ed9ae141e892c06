// The turn's runtime as the runtime tests compose it by hand: a turn runner
// (or a tool invoker alone) over the unsandboxed sandbox, the thread manager,
// the tool registry, the hook dispatcher, a store and an exec policy, the
// model reached over HTTP at a scripted server's base URL. And the whole
// runtime as `RuntimeLayer` composes it from a config, unsandboxed.
import { NodeContext } from "@effect/platform-node"
import { type RuntimeConfig, RuntimeLayer, ThreadManager, ToolInvoker, ToolRegistry, Turn } from "@strata/core-runtime"
import { ExecPolicy } from "@strata/exec-policy"
import { HookDispatcher } from "@strata/hooks"
import * as McpStdio from "@strata/mcp/stdio"
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import { LanguageModel, ModelRegistry } from "@strata/providers"
import * as Sandbox from "@strata/sandbox/Sandbox"
import * as StateStore from "@strata/storage/StateStore"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** The exec policy of one project rule file, `rules.toml`, with this text (no built-in rules). */
export const rulesPolicy = (text: string) =>
  Layer.unwrapEffect(
    Effect.map(ExecPolicy.loadGrammar, (grammar) =>
      ExecPolicy.layerSources([{ file: "rules.toml", layer: "project", text }], { grammar, builtin: false })
    )
  ).pipe(Layer.provide(NodeContext.layer))

/** The file store in `dir`. */
export const fileStore = (dir: string) =>
  Layer.orDie(StateStore.layerFileSystem(dir).pipe(Layer.provide(NodeContext.layer)))

export interface ToolRuntimeOptions<EP> {
  /** The exec policy. */
  readonly policy: Layer.Layer<ExecPolicy.ExecPolicy, EP>
  /** The store (unset: in memory). */
  readonly store?: Layer.Layer<StateStore.StateStore> | undefined
  /** The sandbox's workspace and the thread manager's cwd (unset: `/w`). */
  readonly workspace?: string | undefined
}

/**
 * The sandbox, thread manager, tool registry and hook dispatcher over `model`
 * (the model's layers, for a turn; `Layer.empty` for the invoker alone), the
 * store and the policy, each layer provided with all those below it.
 */
const services = <EP, M, EM>(options: ToolRuntimeOptions<EP>, model: Layer.Layer<M, EM>) => {
  const workspace = options.workspace ?? "/w"
  return Sandbox.layerUnsandboxed({ workspace }).pipe(
    Layer.provideMerge(ThreadManager.layer({ cwd: workspace, providerDefault: "local", cliVersion: "0" })),
    Layer.provideMerge(ToolRegistry.layer),
    Layer.provideMerge(HookDispatcher.HookDispatcher.Default),
    Layer.provideMerge(model),
    Layer.provideMerge(options.store ?? StateStore.layerMemory),
    Layer.provideMerge(options.policy)
  )
}

/** A tool invoker (`ToolInvoker.layer()`) and what it needs; no model. */
export const toolRuntime = <EP>(options: ToolRuntimeOptions<EP>) =>
  ToolInvoker.layer().pipe(Layer.provideMerge(services(options, Layer.empty)))

export interface TurnRuntimeOptions<EP, EI> extends ToolRuntimeOptions<EP> {
  /** The scripted model server's OpenAI-compatible base URL (`server.baseUrl("openai-compatible")`). */
  readonly baseUrl: string
  /** The turn runner's options. */
  readonly turn: Turn.Options
  /** The tool invoker (unset: `ToolInvoker.layer()`). */
  readonly invoker?: Layer.Layer<ToolInvoker.ToolInvoker, EI, ToolInvoker.Requirements> | undefined
  /** More of the provider `local`'s config (e.g. `stream_retries`). */
  readonly provider?: Record<string, unknown> | undefined
  /** More of the model `scripted`'s config (e.g. `price_per_mtok`). */
  readonly model?: Record<string, unknown> | undefined
}

/** A turn runner against the model `scripted` of the openai-compatible provider `local` at `baseUrl`. */
export const turnRuntime = <EP, EI = never>(options: TurnRuntimeOptions<EP, EI>) =>
  Turn.layer(options.turn).pipe(
    Layer.provideMerge(options.invoker ?? ToolInvoker.layer()),
    Layer.provideMerge(
      services(
        options,
        LanguageModel.layerFetch().pipe(
          Layer.provideMerge(
            ModelRegistry.layer({
              provider_default: "local",
              providers: { local: { kind: "openai-compatible", base_url: options.baseUrl, ...options.provider } },
              models: [
                { id: "scripted", provider: "local", context_window: 8000, max_output_tokens: 1000, ...options.model }
              ]
            })
          )
        )
      )
    )
  )

/** What a turn runtime provides. */
export type TurnServices = Layer.Layer.Success<ReturnType<typeof turnRuntime>>

/**
 * The runtime `RuntimeLayer.layer(config, options)` composes, over Node, a
 * non-durable Node workspace, MCP over stdio and no OS sandbox
 * (`RuntimeLayer.layerUnsandboxed` at `options.cwd`).
 */
export const configRuntime = (config: RuntimeConfig.RuntimeConfig, options: RuntimeLayer.Options) =>
  RuntimeLayer.layer(config, options).pipe(
    Layer.provide(
      Layer.mergeAll(
        NodeContext.layer,
        NodeWorkspace.layer({ durable: false }),
        McpStdio.layer,
        RuntimeLayer.layerUnsandboxed(config, { cwd: options.cwd })
      )
    )
  )
