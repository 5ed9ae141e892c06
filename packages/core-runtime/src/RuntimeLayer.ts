/**
 * `Runtime.layer(config)` in one place: every package's layer composed from
 * the decoded `RuntimeConfig`, storage chosen by `config.storage`.
 *
 * The result needs the platform: `FileSystem`, `Path` and `CommandExecutor`
 * (`NodeContext.layer`, which also runs on Bun and Deno) and a `StdioTransport`
 * for MCP stdio servers (`@strata/mcp/stdio`). Apps provide them.
 *
 * @since 0.1.0
 */
import type { CommandExecutor } from "@effect/platform/CommandExecutor"
import type { FileSystem } from "@effect/platform/FileSystem"
import { Path } from "@effect/platform/Path"
import * as ExecPolicy from "@strata/exec-policy/ExecPolicy"
import * as CommandHook from "@strata/hooks/CommandHook"
import { HookDispatcher } from "@strata/hooks/HookDispatcher"
import * as JobBackend from "@strata/jobs/JobBackend"
import * as JobManager from "@strata/jobs/JobManager"
import * as McpManager from "@strata/mcp/McpManager"
import type { StdioTransport } from "@strata/mcp/McpTransport"
import * as PluginLoader from "@strata/plugin/PluginLoader"
import * as LanguageModel from "@strata/providers/LanguageModel"
import * as ModelRegistry from "@strata/providers/ModelRegistry"
import * as StateStore from "@strata/storage/StateStore"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Runtime from "./Runtime.js"
import type { RuntimeConfig, StorageConfig } from "./RuntimeConfig.js"
import * as ThreadManager from "./ThreadManager.js"
import * as ToolInvoker from "./ToolInvoker.js"
import * as ToolRegistry from "./ToolRegistry.js"
import * as Tracing from "./Tracing.js"
import * as Turn from "./Turn.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The working directory: relative paths in config resolve against it. */
  readonly cwd: string
  readonly cliVersion: string
  readonly versions?: Readonly<Record<string, string>> | undefined
  /** Extra rule files (the CLI's `--rules`), after the config's. */
  readonly rules?: ReadonlyArray<string> | undefined
  /** Extra tools registered by the app (built-in tools of a distribution). */
  readonly tools?: ReadonlyArray<ToolRegistry.RuntimeTool> | undefined
}

/**
 * The store a config selects. Redis and PostgreSQL are imported lazily, so a
 * distribution on files never loads their clients. `readOnly` opens it for
 * commands that only look (nothing is written, nothing repaired).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStorage = (
  storage: StorageConfig,
  cwd: string,
  options: { readonly readOnly?: boolean | undefined } = {}
): Layer.Layer<StateStore.StateStore, unknown, FileSystem | Path> => {
  const common = {
    ...(storage.durability === undefined ? {} : { durability: storage.durability }),
    ...(options.readOnly === true ? { readOnly: true } : {})
  }
  switch (storage.kind) {
    case "memory":
      return storage.durability === "strict"
        ? Layer.effect(StateStore.StateStore, StateStore.makeMemory(common))
        : StateStore.layerMemory
    case "fs":
      return Layer.unwrapEffect(
        Effect.map(Path, (path) => StateStore.layerFileSystem(path.resolve(cwd, storage.dir), common))
      )
    case "redis":
      return Layer.unwrapEffect(
        Effect.promise(() => import("@strata/storage/redis")).pipe(
          Effect.map((redis) =>
            redis.layerRedis({
              url: storage.url,
              ...(storage.prefix === undefined ? {} : { prefix: storage.prefix }),
              ...common
            })
          )
        )
      )
    case "postgres":
      return Layer.unwrapEffect(
        Effect.promise(() => import("@strata/storage/sql")).pipe(
          Effect.map((sql) =>
            sql.layerPostgres({
              connectionString: storage.url,
              ...(storage.schema === undefined ? {} : { schema: storage.schema }),
              ...common
            })
          )
        )
      )
  }
}

/** Command hooks from `[hooks]` and Claude Code settings files, registered for the layer's lifetime. */
const layerCommandHooks = (config: RuntimeConfig, cwd: string) =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const path = yield* Path
      const specs = [
        ...(yield* Either.match(CommandHook.fromConfig(config.hooks, { source: "config" }), {
          onLeft: Effect.fail,
          onRight: Effect.succeed
        }))
      ]
      for (const file of config.claude_hooks)
        specs.push(...(yield* CommandHook.loadClaudeSettings(path.resolve(cwd, file))))
      if (specs.length > 0) yield* CommandHook.register(specs, { cwd, owner: "config" })
    })
  )

/** Plugins from config: hooks registered, tools added to the registry. */
const layerPlugins = (config: RuntimeConfig, cwd: string, extra: ReadonlyArray<ToolRegistry.RuntimeTool>) =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const registry = yield* ToolRegistry.ToolRegistry
      if (extra.length > 0) yield* registry.register(extra)
      if (config.plugins.length === 0) return
      const installed = yield* PluginLoader.install(config.plugins, { baseDir: cwd })
      for (const skipped of installed.skipped) yield* Effect.logWarning(`plugin skipped: ${skipped.message}`)
      for (const plugin of installed.plugins) {
        yield* registry.register(
          plugin.tools.map((tool) => {
            // Plugin tools that run shell commands go through the exec policy.
            const shellCommand = tool.definition.shellCommand as ToolRegistry.RuntimeTool["shellCommand"]
            return {
              name: tool.name,
              owner: `plugin:${plugin.id}`,
              description: tool.definition.description,
              inputSchema: tool.description.input_schema,
              shellCommand,
              validate: (input) =>
                tool
                  .validateInput(input)
                  .pipe(
                    Effect.mapError((e) => new ToolRegistry.ToolInputInvalid({ tool: tool.name, detail: e.message }))
                  ),
              run: (input, context) =>
                tool.invoke(input, context).pipe(
                  Effect.map(ToolRegistry.toOutput),
                  Effect.mapError(
                    (e) => new ToolRegistry.ToolRunFailed({ tool: tool.name, detail: e.message, cause: e })
                  )
                )
            } satisfies ToolRegistry.RuntimeTool
          })
        )
      }
    })
  )

/**
 * Every service of the runtime, composed from config.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  config: RuntimeConfig,
  options: Options
): Layer.Layer<
  Runtime.Runtime | Runtime.Requirements | ExecPolicy.ExecPolicy | LanguageModel.LanguageModel,
  unknown,
  FileSystem | Path | CommandExecutor | StdioTransport
> => {
  const storage = layerStorage(config.storage, options.cwd)
  const policy = Layer.unwrapEffect(
    Effect.map(Path, (path) =>
      ExecPolicy.layer({
        files: [...config.policy.rules, ...(options.rules ?? [])].map((f) => path.resolve(options.cwd, f)),
        builtin: config.policy.builtin
      })
    )
  )
  const models = ModelRegistry.layer({
    ...(config.provider_default === undefined ? {} : { provider_default: config.provider_default }),
    ...(config.model === undefined ? {} : { model: config.model }),
    providers: config.providers,
    models: config.models
  })
  const mcp = McpManager.layerDecode({
    servers: config.mcp_servers,
    ...(config.mcp?.restart === undefined ? {} : { restart: config.mcp.restart })
  })
  const jobs = JobManager.layer({ concurrency: config.jobs.concurrency }).pipe(
    Layer.provide(JobBackend.layerStateStore)
  )
  const threads = Layer.unwrapEffect(
    Effect.map(
      Effect.flatMap(ModelRegistry.ModelRegistry, (r) =>
        Effect.orElseSucceed(r.providerDefault, () => ({ id: "none" }))
      ),
      (provider) =>
        ThreadManager.layer({ cwd: options.cwd, providerDefault: provider.id, cliVersion: options.cliVersion })
    )
  )
  return Runtime.layerFacade({ versions: options.versions }).pipe(
    Layer.provideMerge(
      Turn.layer({ systemPrompt: config.system_prompt, maxTurns: config.max_turns, configModel: config.model })
    ),
    Layer.provideMerge(ToolInvoker.layer()),
    Layer.provideMerge(layerPlugins(config, options.cwd, options.tools ?? [])),
    Layer.provideMerge(layerCommandHooks(config, options.cwd)),
    Layer.provideMerge(Layer.mergeAll(ToolRegistry.layer, threads, jobs, mcp, LanguageModel.layerFetch())),
    Layer.provideMerge(Layer.mergeAll(HookDispatcher.Default, policy, models)),
    Layer.provideMerge(storage),
    Layer.provideMerge(
      config.telemetry?.otlp_endpoint === undefined
        ? Layer.empty
        : Tracing.layerOtlp({
            endpoint: config.telemetry.otlp_endpoint,
            serviceName: config.telemetry.service_name,
            serviceVersion: options.cliVersion,
            headers: config.telemetry.headers
          })
    )
  )
}
