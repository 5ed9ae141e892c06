/**
 * The `strata` distribution: what it composes on top of `@strata/core-runtime`.
 *
 * - Config: layered TOML (`~/.strata/config.toml` < `.strata/config.toml` <
 *   `STRATA_*` environment < command line), decoded as `RuntimeConfig`;
 *   storage defaults to files under `.strata/`.
 * - Plugins: `@strata/plugin-shell`, `@strata/plugin-fs` and
 *   `@strata/plugin-audit-log` first, then the config's `plugins` (one that
 *   names a built-in again, or its deprecated `/node` alias, is that same
 *   plugin, loaded once). Plugins get the host's platform and `Workspace`
 *   (`@strata/plugin/NodeWorkspace`: descriptor-anchored on Linux, durable
 *   writes). Plugins read their own config sections (`[fs]`) through
 *   Effect's `Config`: the layered config is the `ConfigProvider`, the
 *   environment after it.
 * - Exec policy (`RuntimePolicy`, the same for every command): built-in <
 *   the distribution's `policy/strata.toml` (a few read-only commands
 *   allowed, everything else asks) < user (`~/.config/strata/policy.toml`,
 *   `~/.strata/policy.toml`) < project (`.strata/policy.toml`) < the
 *   config's `[policy] rules` < `--rules`; `builtin = false` drops both
 *   built-in layers.
 * - Model: the configured provider (a session refuses to start, naming the
 *   variable, when its API key variable is unset); with no provider
 *   configured, a local Ollama if one answers on 127.0.0.1:11434, else the
 *   built-in demo model (`Demo`), announced as such. `STRATA_DEMO=1` forces
 *   the demo model.
 * - MCP servers: started by the first prompt (`on-demand`; the chat starts
 *   them with the session, `strata mcp` by hand), so management commands
 *   never spawn them.
 *
 * @since 0.1.0
 */
import { execFile } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { resolve as pathResolve } from "node:path"
import { fileURLToPath } from "node:url"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as ApprovalKey from "@strata/core-runtime/ApprovalKey"
import type * as Config from "@strata/core-runtime/Config"
import * as ConfigError from "@strata/core-runtime/ConfigError"
import * as PluginLoader from "@strata/core-runtime/PluginLoader"
import type * as Runtime from "@strata/core-runtime/Runtime"
import type * as RuntimeConfig from "@strata/core-runtime/RuntimeConfig"
import * as RuntimeLayer from "@strata/core-runtime/RuntimeLayer"
import type * as RuntimePolicy from "@strata/core-runtime/RuntimePolicy"
import type * as ExecPolicy from "@strata/exec-policy/ExecPolicy"
import { StdioTransport } from "@strata/mcp/McpTransport"
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import type * as Workspace from "@strata/plugin/Workspace"
import * as SandboxNode from "@strata/sandbox/node"
import * as Sandbox from "@strata/sandbox/Sandbox"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { CliError } from "./Base.js"
import { builtinPlugins, chooseModel, loadConfig, type ModelChoice, type Options } from "./Choice.js"
import * as Demo from "./Demo.js"
import * as HttpClient from "./HttpClient.js"
import * as Layers from "./layers.js"
import { version } from "./version.js"

export {
  /** @since 0.1.0 */
  builtinPlugins,
  /** @since 0.1.0 */
  chooseModel,
  /** @since 0.1.0 */
  loadConfig,
  /** @since 0.1.0 */
  type ModelChoice,
  /** @since 0.1.0 */
  type Options,
  /** @since 0.1.0 */
  probeOllama
} from "./Choice.js"

/**
 * The built-in plugins' modules, imported from inside the distribution (the
 * bundle carries them, sharing its one copy of Effect and the SDK) instead
 * of being looked up in `node_modules` by spec.
 *
 * @since 0.2.0
 * @category constants
 */
export const pluginModules: Readonly<Record<string, () => Promise<unknown>>> = {
  "@strata/plugin-shell": () => import("@strata/plugin-shell"),
  "@strata/plugin-fs": () => import("@strata/plugin-fs"),
  // the same plugin with its lines written by node:fs's synchronous calls (Node, Bun and Deno have them):
  // a dozen file operations a line without the thread pool's round trips
  "@strata/plugin-audit-log": () => import("@strata/plugin-audit-log/NodeAuditLog"),
  "@strata/plugin-audit-log/NodeAuditLog": () => import("@strata/plugin-audit-log/NodeAuditLog"),
  // deprecated aliases of the same plugins, for configs written before 0.2
  "@strata/plugin-shell/node": () => import("@strata/plugin-shell/node"),
  "@strata/plugin-fs/node": () => import("@strata/plugin-fs/node"),
  "@strata/plugin-audit-log/node": () => import("@strata/plugin-audit-log/NodeAuditLog")
}

/**
 * The built-in plugins of a process that runs many sessions on one event
 * loop (`strata serve`, `strata worker`): the audit log writes through the
 * asynchronous file system, so that one session's audit line (a dozen file
 * operations, a rename that flushes) never holds up the others' streams.
 *
 * @since 0.2.0
 * @category constructors
 */
export const sharedLoopPluginModules: Readonly<Record<string, () => Promise<unknown>>> = {
  ...pluginModules,
  "@strata/plugin-audit-log": () => import("@strata/plugin-audit-log"),
  "@strata/plugin-audit-log/node": () => import("@strata/plugin-audit-log/node")
}

/**
 * The distribution's policy file.
 *
 * @since 0.1.0
 * @category constants
 */
export const policyFile: string =
  ["../policy/strata.toml", "../../policy/strata.toml"]
    .map((relative) => fileURLToPath(new URL(relative, import.meta.url)))
    // from dist/ (tsc output) or dist/bundle/ (the esbuild bundle)
    .find((file) => existsSync(file)) ?? fileURLToPath(new URL("../policy/strata.toml", import.meta.url))

/**
 * Everything a command needs to build the runtime.
 *
 * @since 0.1.0
 * @category models
 */
export interface Setup {
  readonly cwd: string
  readonly env: Readonly<Record<string, string | undefined>>
  readonly loaded: Config.Loaded<RuntimeConfig.RuntimeConfig>
  readonly config: RuntimeConfig.RuntimeConfig
  readonly choice: ModelChoice
}

/**
 * Where the exec policy's files come from for a working directory and
 * environment: what `RuntimeLayer` and `strata policy check` both hand to
 * `RuntimePolicy`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const policyOptions = (
  options: Pick<Options, "cwd" | "env">,
  extra: {
    readonly rules?: ReadonlyArray<string> | undefined
    readonly isolated?: boolean | undefined
    readonly approved?: boolean | undefined
  } = {}
): RuntimePolicy.Options => ({
  cwd: options.cwd,
  env: options.env,
  distribution: [policyFile],
  ...extra
})

/**
 * Finds the line and column of a plugin's syntax error by checking the file
 * as an ES module with `node --input-type=module --check` (Node's import
 * error carries neither; Bun's and Deno's do).
 *
 * @since 0.1.0
 * @category utils
 */
export const locateSyntaxError: NonNullable<PluginLoader.LoadOptions["locateSyntaxError"]> = (file) =>
  "Bun" in globalThis || "Deno" in globalThis
    ? Effect.succeed(undefined)
    : Effect.async((resume) => {
        const child = execFile(
          process.execPath,
          ["--input-type=module", "--check"],
          { timeout: 10_000 },
          (error, _stdout, stderr) => {
            if (error === null) return resume(Effect.succeed(undefined))
            // "[stdin]:<line>" / the source line / a caret under the column
            const lines = String(stderr).split("\n")
            const line = Number(/:(\d+)\s*$/.exec(lines[0] ?? "")?.[1])
            const caret = (lines[2] ?? "").indexOf("^")
            resume(
              Effect.succeed(
                Number.isInteger(line) && line > 0
                  ? { file, line, ...(caret < 0 ? {} : { column: caret + 1 }) }
                  : undefined
              )
            )
          }
        )
        child.stdin?.on("error", () => {})
        child.stdin?.end(readFileSync(file))
      })

/**
 * Loads the config and chooses the model (starting the demo server, for the
 * lifetime of the scope, when it is the choice).
 *
 * @since 0.1.0
 * @category constructors
 */
export const setup = Effect.fn("Distribution.setup")(function* (options: Options) {
  const first = yield* loadConfig(options)
  const choice = yield* chooseModel(options, first.value)
  if (choice.unavailable !== undefined) return yield* new CliError({ detail: choice.unavailable })
  if (choice.kind === "configured") {
    return { cwd: options.cwd, env: options.env, loaded: first, config: first.value, choice } satisfies Setup
  }
  let overlay: Record<string, unknown>
  if (choice.kind === "ollama") {
    overlay = {
      provider_default: "ollama",
      model: choice.model,
      providers: { ollama: { kind: "ollama" } },
      models: [{ id: choice.model, provider: "ollama", context_window: 32768, max_output_tokens: 4096 }]
    }
  } else {
    const server = yield* Demo.start
    overlay = {
      provider_default: "demo",
      model: Demo.MODEL,
      providers: { demo: { kind: "openai-compatible", base_url: server.baseUrl("openai-compatible") } },
      models: [{ id: Demo.MODEL, provider: "demo", context_window: 32000, max_output_tokens: 2000 }]
    }
  }
  const loaded = yield* loadConfig(options, overlay)
  return { cwd: options.cwd, env: options.env, loaded, config: loaded.value, choice } satisfies Setup
})

/**
 * When a session's MCP servers start (see `RuntimeLayer.Options.mcp`).
 *
 * @since 0.1.0
 * @category models
 */
export type McpMode = "start" | "on-demand" | "manual"

/**
 * How a command's runtime is built.
 *
 * @since 0.2.0
 * @category models
 */
export interface LayerOptions {
  readonly mcp?: McpMode | undefined
  /** Run job handlers here (`strata worker`, with `[jobs] backend = "bullmq"`). */
  readonly jobsWorker?: boolean | undefined
  /**
   * Many sessions share this process's event loop (`strata serve`, `strata worker`, `strata acp`): the asynchronous
   * file system and audit log writer (see `platformLayer`, `sharedLoopPluginModules`).
   */
  readonly sharedEventLoop?: boolean | undefined
}

/**
 * With `[jobs] backend = "bullmq"` the jobs' records must be in a store every
 * process shares: a located error when `[storage]` is a local one.
 *
 * @since 0.2.0
 * @category utils
 */
export const clusterCheck = (setup: Pick<Setup, "config" | "loaded">): ConfigError.ConfigError | undefined => {
  if (setup.config.jobs.backend !== "bullmq") return undefined
  if (setup.config.storage.kind === "redis" || setup.config.storage.kind === "postgres") return undefined
  const origin = setup.loaded.origins.get("jobs.backend")
  return new ConfigError.ConfigError({
    reason: "InvalidValue",
    file: origin?.source ?? "config",
    ...(origin?.line === undefined ? {} : { line: origin.line }),
    path: "jobs.backend",
    detail: `"bullmq" runs jobs on other processes, which need a shared store: [storage] kind is "${setup.config.storage.kind}"; set it to "redis" or "postgres"`
  })
}

/**
 * How a session's runtime can fail to build: the runtime's own errors
 * (`RuntimeLayer.LayerError`) and a config whose stores cannot be shared
 * (`ConfigError`, see {@link clusterCheck}). Every one is tagged: the CLI
 * maps them by `_tag`.
 *
 * @since 0.2.0
 * @category errors
 */
export type LayerError =
  | RuntimeLayer.LayerError
  | ConfigError.ConfigError
  | Layer.Layer.Error<ReturnType<typeof sandboxLayer>>

/**
 * How a session's setup can fail (config, model choice, the demo server).
 *
 * @since 0.2.0
 * @category errors
 */
export type SetupError = Effect.Effect.Error<ReturnType<typeof setup>>

/**
 * What a session's runtime provides: the facade, the services under it, the
 * sandbox and the policy (with its "approve always" rules).
 *
 * @since 0.2.0
 * @category models
 */
export type Services =
  | Runtime.Runtime
  | Runtime.Requirements
  | Sandbox.Sandbox
  | ExecPolicy.ExecPolicy
  | RuntimePolicy.ApprovedRules

/**
 * The runtime of a session: every service composed from the config, with
 * the built-in plugins and the distribution's policy, on the Node platform
 * (which runs on Bun and Deno too).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  setup: Setup,
  options: LayerOptions = {}
): Layer.Layer<Services, LayerError, FileSystem.FileSystem | Path.Path> => {
  const shared = clusterCheck(setup)
  if (shared !== undefined) return Layer.fail(shared)
  const config: RuntimeConfig.RuntimeConfig = {
    ...setup.config,
    plugins: [...builtinPlugins, ...setup.config.plugins]
  }
  const policy = policyOptions(setup)
  return RuntimeLayer.layer(config, {
    cwd: setup.cwd,
    cliVersion: version,
    versions: { "@strata/cli": version },
    env: setup.env,
    distributionRules: policy.distribution,
    mcp: options.mcp ?? "on-demand",
    locateSyntaxError,
    pluginModules: options.sharedEventLoop === true ? sharedLoopPluginModules : pluginModules,
    jobsWorker: options.jobsWorker,
    httpClient: HttpClient.layer(setup.env)
  }).pipe(
    Layer.provide(
      Layer.mergeAll(
        platformLayer(options),
        workspaceLayer,
        mcpStdioLayer(setup).pipe(Layer.provideMerge(sandboxLayer(setup)))
      )
    ),
    // Plugins read their own sections (`[fs]`, ...) of the layered config
    // through Effect's Config; everything else still comes from the environment.
    Layer.provide(
      Layer.setConfigProvider(
        ConfigProvider.fromJson(setup.loaded.raw).pipe(ConfigProvider.orElse(() => ConfigProvider.fromEnv()))
      )
    )
  )
}

/**
 * The platform of a session's runtime: a one-shot command's with the
 * synchronous file system (`SyncFileSystem`: the store's appends, leases and
 * records without a round trip through the thread pool each), a process
 * whose event loop many sessions share (`sharedEventLoop`) with
 * `@effect/platform-node`'s, so that one session's slow disk holds no other up.
 *
 * @since 0.3.0
 * @category layers
 */
export const platformLayer = (options: LayerOptions = {}): Layer.Layer<Layers.Platform> =>
  options.sharedEventLoop === true ? Layers.layer : Layers.layerOneShot

/**
 * The `Workspace` the session gives plugins (`Plugin.HostPlatform`): the
 * SDK's `node:fs` port, which runs on Node, Bun and Deno, with its defaults:
 * the strongest mechanism the system has (descriptor-anchored where
 * `/proc` works, path re-checks elsewhere) and durable writes (each file
 * synced before it replaces the old one).
 *
 * @since 0.2.0
 * @category layers
 */
export const workspaceLayer: Layer.Layer<Workspace.Workspace> = NodeWorkspace.layer({ durable: true })

/**
 * The sandbox of a session (`@strata/sandbox/node`: bubblewrap on Linux
 * when it starts, the strongest containment), from the config's `[sandbox]`
 * and `[shell_environment_policy]`. With process-group containment, calls
 * are recorded under the store's directory (file storage) so a restarted
 * `strata` reaps what a killed one left.
 *
 * @since 0.2.0
 * @category layers
 */
export const sandboxLayer = (setup: Pick<Setup, "cwd" | "env" | "config">) => {
  const options = RuntimeLayer.sandboxOptions(setup.config, { cwd: setup.cwd, env: setup.env })
  // the approval key's directory: hidden from commands, protected by the exec policy
  const keyDir = ApprovalKey.directory({ env: options.env, home: options.home })
  return SandboxNode.layer({
    ...options,
    ...(setup.config.storage.kind === "fs" ? { stateDir: pathResolve(setup.cwd, setup.config.storage.dir) } : {}),
    ...(keyDir === undefined ? {} : { probeRecord: `${keyDir}/sandbox-probe.json` })
  })
}

/**
 * The stdio transport of MCP servers through the session's sandbox: the
 * environment policy and containment always, the OS sandbox when
 * `sandbox.mcp = true`. `@strata/mcp/stdio` (and the MCP SDK) load when the
 * first stdio server starts: a session without MCP servers never loads them.
 *
 * @since 0.2.0
 * @category layers
 */
export const mcpStdioLayer = (setup: Pick<Setup, "config">): Layer.Layer<StdioTransport, never, Sandbox.Sandbox> =>
  Layer.effect(
    StdioTransport,
    Effect.map(Sandbox.Sandbox, (sandbox) =>
      StdioTransport.of({
        make: (config) =>
          Effect.promise(() => import("@strata/mcp/stdio")).pipe(
            Effect.flatMap((stdio) =>
              Effect.provide(
                StdioTransport,
                stdio.layerWith({
                  prepare: (spec) =>
                    sandbox.prepare({
                      ...spec,
                      sandboxed: setup.config.sandbox.mcp,
                      // the server's program comes from config: its files stay readable
                      programFiles: [spec.command, ...spec.args]
                    })
                })
              )
            ),
            Effect.flatMap((transport) => transport.make(config))
          )
      })
    )
  )

/**
 * The session's setup and runtime together, for a command body. MCP servers
 * start on demand (the first prompt) unless `mcp` says otherwise.
 *
 * @since 0.1.0
 * @category constructors
 */
export const session = <A, E, R>(
  options: Options,
  body: (setup: Setup) => Effect.Effect<A, E, R>,
  layerOptions: LayerOptions = {}
): Effect.Effect<
  A,
  E | SetupError | LayerError,
  Exclude<Exclude<R, Services>, Scope.Scope> | FileSystem.FileSystem | Path.Path
> => Effect.scoped(Effect.flatMap(setup(options), (s) => Effect.provide(body(s), layer(s, layerOptions))))

/**
 * The tools a session offers (its plugins' tools; MCP tools are known only
 * once their servers run), loaded without starting anything.
 *
 * @since 0.1.0
 * @category constructors
 */
export const toolNames = (setup: Pick<Setup, "cwd" | "config">) =>
  Effect.map(
    PluginLoader.inspect([...builtinPlugins, ...setup.config.plugins], {
      baseDir: setup.cwd,
      locateSyntaxError,
      modules: pluginModules
    }),
    (plugins) => plugins.flatMap((p) => (p._tag === "Loaded" ? p.plugin.manifest.tools.map((t) => t.name) : []))
  )

/**
 * Warnings about the config's command hooks (`[hooks]` and Claude Code
 * settings files): a matcher on a tool event that matches no tool the
 * session offers (`matcher = "exec"` where the tool is `shell__exec`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const hookWarnings = Effect.fn("Distribution.hookWarnings")(function* (
  setup: Pick<Setup, "cwd" | "config" | "env">,
  tools?: ReadonlyArray<string>
) {
  const { specs } = yield* RuntimeLayer.commandHooks(setup.config, { cwd: setup.cwd, home: setup.env.HOME })
  if (specs.length === 0) return []
  const names = tools ?? (yield* toolNames(setup))
  // imported only when there are hooks (the hook runtime is not small)
  const CommandHook = yield* Effect.promise(() => import("@strata/hooks/CommandHook"))
  return CommandHook.unmatched(specs, names).map((u) => u.message)
})
