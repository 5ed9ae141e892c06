/**
 * `Runtime.layer(config)` in one place: every package's layer composed from
 * the decoded `RuntimeConfig`, storage chosen by `config.storage`.
 *
 * What the composed runtime does with the config, beyond building services:
 * - MCP: the configured servers start with the runtime, in parallel, in the
 *   background (each bounded by its `startup_timeout`); a prompt waits for
 *   the startup to finish before its first model call, so the model is
 *   offered the servers' `mcp__server__tool` tools. A `required` server that
 *   does not start fails the layer (`McpStartupError`). `mcp: "on-demand"`
 *   starts them with the first prompt instead, `mcp: "manual"` leaves it to
 *   `Runtime.mcpStartup` (commands that run no turn).
 * - `approval_policy`: the approval mode of every prompt and continued turn
 *   that does not name one (a request's `approval_policy` and the CLI
 *   overrides come first).
 * - The exec policy: `RuntimePolicy` (built-in, the distribution's files,
 *   user, project, `[policy] rules`, `rules`).
 * - The approval key (`ApprovalKey`): pending approvals are signed with it;
 *   resolved when the layer is built (`approvalKey`, `STRATA_APPROVAL_KEY`,
 *   else the per-user key file, made on first use), `ApprovalKeyError` when
 *   it cannot be used.
 * - Hooks: `[hooks]`, and the Claude Code settings files `claude_hooks`
 *   names (default `.claude/settings.json`, `.claude/settings.local.json`,
 *   `~/.claude/settings.json`; files that do not exist are skipped).
 *
 * (Just over 600 lines: one composition, the config's settings each mapped
 * onto the layer that takes them; splitting it would scatter that map.)
 *
 * The result needs the platform: `FileSystem`, `Path` and `CommandExecutor`
 * (`NodeContext.layer`, which also runs on Bun and Deno), the `Workspace`
 * port the host gives plugins (`@strata/plugin/NodeWorkspace`), a
 * `StdioTransport` for MCP stdio servers (`@strata/mcp/stdio`) and a
 * `Sandbox` (`@strata/sandbox/node`, or `layerUnsandboxed(config, options)`
 * for the portable one). Apps provide them: a composition that leaves the
 * sandbox or the workspace out does not compile, rather than running tools
 * without them.
 *
 * @since 0.1.0
 */
import type { CommandExecutor } from "@effect/platform/CommandExecutor"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { type FileSystem, FileSystem as FileSystemTag } from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import { Path } from "@effect/platform/Path"
import type * as ExecPolicy from "@strata/exec-policy/ExecPolicy"
import type { ParserError, RuleFileError } from "@strata/exec-policy/ExecPolicyError"
import type * as CommandHook from "@strata/hooks/CommandHook"
import { HookDispatcher } from "@strata/hooks/HookDispatcher"
import type { HookConfigError } from "@strata/hooks/HookError"
import * as JobBackend from "@strata/jobs/JobBackend"
import type { JobConfigError } from "@strata/jobs/JobError"
import * as JobManager from "@strata/jobs/JobManager"
import { type McpConfigError, McpStartupError } from "@strata/mcp/McpError"
import * as McpManager from "@strata/mcp/McpManager"
import type { StdioTransport } from "@strata/mcp/McpTransport"
import type * as PluginJob from "@strata/plugin/Job"
import type { PluginLoadError } from "@strata/plugin/PluginError"
import { ToolFailure } from "@strata/plugin/PluginError"
import type { Workspace } from "@strata/plugin/Workspace"
import type { McpStartupCompleteEvent } from "@strata/protocol/Mcp"
import type { CliRuntimeOverrides } from "@strata/protocol/Prompt"
import type { DecodeError } from "@strata/protocol/ProtocolError"
import * as LanguageModel from "@strata/providers/LanguageModel"
import * as ModelRegistry from "@strata/providers/ModelRegistry"
import type { ModelRegistryError } from "@strata/providers/ProviderError"
import * as Sandbox from "@strata/sandbox/Sandbox"
import * as StateStore from "@strata/storage/StateStore"
import type { DriverUnavailable, StorageError, UnsupportedSchemaVersion } from "@strata/storage/StorageError"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as ApprovalKey from "./ApprovalKey.js"
import * as PluginLoader from "./PluginLoader.js"
import * as Runtime from "./Runtime.js"
import type { RuntimeConfig, StorageConfig } from "./RuntimeConfig.js"
import * as RuntimePolicy from "./RuntimePolicy.js"
import * as SandboxOptions from "./SandboxOptions.js"
import * as ThreadManager from "./ThreadManager.js"
import * as ToolInvoker from "./ToolInvoker.js"
import type { ToolNameCollision } from "./ToolRegistry.js"
import * as ToolRegistry from "./ToolRegistry.js"
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
  /** The distribution's own rule files, right above the built-in defaults (see `RuntimePolicy`). */
  readonly distributionRules?: ReadonlyArray<string> | undefined
  /** The home directory (user policy files, `~/` in config paths); default: `env.HOME`. */
  readonly home?: string | undefined
  /** The process environment (`HOME`, `XDG_CONFIG_HOME` for the user policy files). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /**
   * When the configured MCP servers start: `"start"` (default) with the
   * runtime, in the background (a `required` server that does not start
   * fails the layer); `"on-demand"` with the first prompt or continued turn
   * (a `required` server that does not start is a defect there); `"manual"`
   * only through `Runtime.mcpStartup`. In the first two, prompts wait for
   * the startup (bounded by each server's `startup_timeout`), so the model
   * is offered the servers' tools.
   */
  readonly mcp?: "start" | "on-demand" | "manual" | undefined
  /** Finds the line and column of a plugin's syntax error (see `PluginLoader.LoadOptions`). */
  readonly locateSyntaxError?: PluginLoader.LoadOptions["locateSyntaxError"]
  /** Plugins the distribution bundles, by spec (see `PluginLoader.LoadOptions.modules`). */
  readonly pluginModules?: PluginLoader.LoadOptions["modules"]
  /** Extra tools registered by the app (built-in tools of a distribution). */
  readonly tools?: ReadonlyArray<ToolRegistry.RuntimeTool> | undefined
  /**
   * With `[jobs] backend = "bullmq"`: run job handlers in this process (a
   * worker, `strata worker`). Otherwise the process only enqueues and
   * controls jobs.
   */
  readonly jobsWorker?: boolean | undefined
  /**
   * The HTTP client of model calls (default: `FetchHttpClient`, which runs
   * on Node, Bun and Deno). A distribution picks what starts fastest on its
   * runtime (the CLI: `node:http` on Node, see its `HttpClient` module).
   */
  readonly httpClient?: Layer.Layer<HttpClient.HttpClient> | undefined
  /**
   * The key of pending approvals' digests (at least 32 bytes). Without it:
   * `STRATA_APPROVAL_KEY` of `env`, else the per-user key file (see
   * `ApprovalKey`), created on first use.
   */
  readonly approvalKey?: Uint8Array | undefined
  /** A key file instead of the per-user one (checked the same way, created when missing). */
  readonly approvalKeyFile?: string | undefined
}

/**
 * How the store a config selects can fail to open.
 *
 * @since 0.2.0
 * @category errors
 */
export type StorageLayerError = StorageError | UnsupportedSchemaVersion | DriverUnavailable

/**
 * How the job manager a config selects can fail to start.
 *
 * @since 0.2.0
 * @category errors
 */
export type JobsLayerError = JobManager.JobError | JobConfigError

/**
 * Every way {@link layer} can fail to build, each a tagged error (match on
 * `_tag`, never on the message): the config's model section
 * (`DecodeError`, `ModelRegistryError`), rule files (`RuleFileError`,
 * `ParserError`), hooks (`HookConfigError`), MCP (`McpConfigError`, and
 * `McpStartupError` for a required server), plugins (`PluginLoadError`,
 * `ToolNameCollision`), the store and the job manager.
 *
 * @since 0.2.0
 * @category errors
 */
export type LayerError =
  | StorageLayerError
  | JobsLayerError
  | DecodeError
  | ModelRegistryError
  | RuleFileError
  | ParserError
  | HookConfigError
  | McpConfigError
  | McpStartupError
  | PluginLoadError
  | ToolNameCollision
  | ApprovalKey.ApprovalKeyError

/**
 * The job manager a config selects: local (in this process, over the
 * store), or on BullMQ (`@strata/jobs/bullmq`, imported only then). Its
 * transitions reach `JobLifecycle` hooks through the `HookDispatcher` it
 * requires.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerJobs = (
  config: Pick<RuntimeConfig, "jobs" | "storage">,
  options: { readonly worker?: boolean | undefined } = {}
): Layer.Layer<JobManager.JobManager, JobsLayerError, StateStore.StateStore | HookDispatcher> => {
  const jobs = config.jobs
  if (jobs.backend !== "bullmq") {
    return JobManager.layer({ concurrency: jobs.concurrency }).pipe(Layer.provide(JobBackend.layerStateStore))
  }
  const url = jobs.redis_url ?? (config.storage.kind === "redis" ? config.storage.url : "redis://127.0.0.1:6379")
  return Layer.unwrapEffect(
    Effect.promise(() => import("@strata/jobs/bullmq")).pipe(
      Effect.map((bull) =>
        bull.layer({
          url,
          prefix: jobs.prefix,
          worker: options.worker === true,
          concurrency: jobs.concurrency,
          lockMs: jobs.lock_ms,
          shutdownGraceMs: jobs.shutdown_grace_ms
        })
      )
    )
  ).pipe(Layer.provide(JobBackend.layerStateStore))
}

/** The option of unstorage drivers that names a local folder or file, taken from the project root when relative. */
const FILE_OPTION: Readonly<Record<string, string>> = {
  fs: "base",
  "fs-lite": "base",
  fsLite: "base",
  "deno-kv": "path",
  denoKV: "path"
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
): Layer.Layer<StateStore.StateStore, StorageLayerError, FileSystem | Path> => {
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
    case "unstorage":
      return Layer.unwrapEffect(
        Effect.gen(function* () {
          const path = yield* Path
          const Unstorage = yield* Effect.promise(() => import("@strata/storage/Unstorage"))
          // A driver file and the folder or file a local driver keeps its data in are the project's.
          const local = (s: string) => !/^[a-z][a-z0-9+.-]*:/i.test(s) && !path.isAbsolute(s)
          const options = { ...storage.options }
          // Only where the option names a local folder or file (for redis, `base` is a key prefix).
          const localKey = FILE_OPTION[storage.driver]
          const v = localKey === undefined ? undefined : options[localKey]
          if (localKey !== undefined && typeof v === "string" && v !== "" && local(v)) {
            options[localKey] = path.resolve(cwd, v)
          }
          const driver =
            storage.driver.startsWith("./") || storage.driver.startsWith("../")
              ? (yield* Effect.orDie(path.toFileUrl(path.resolve(cwd, storage.driver)))).href
              : storage.driver
          return Unstorage.layerDriver({ driver, options, ...common })
        })
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

const loadCommandHook = Effect.promise(() => import("@strata/hooks/CommandHook"))

/**
 * The command hooks of a config: `[hooks]`, then the Claude Code settings
 * files `claude_hooks` names (relative to the project root, `~/` to the home
 * directory; files that do not exist are skipped; events Strata does not have
 * are ignored). Each spec's `path` names its file for Claude's.
 *
 * @since 0.1.0
 * @category constructors
 */
export const commandHooks = Effect.fn("RuntimeLayer.commandHooks")(function* (
  config: RuntimeConfig,
  options: { readonly cwd: string; readonly home?: string | undefined }
) {
  const path = yield* Path
  const fs = yield* FileSystemTag
  const files: Array<string> = []
  for (const file of config.claude_hooks) {
    const absolute =
      options.home !== undefined && options.home !== "" && file.startsWith("~/")
        ? path.join(options.home, file.slice(2))
        : path.resolve(options.cwd, file)
    if (file.startsWith("~/") && (options.home === undefined || options.home === "")) continue
    if (!(yield* fs.exists(absolute).pipe(Effect.orElseSucceed(() => false)))) continue
    files.push(absolute)
  }
  // The command hook runtime (its schemas, the process runner) is imported
  // only when there are hooks to read: most projects have none.
  if (Object.keys(config.hooks).length === 0 && files.length === 0) {
    const none: ReadonlyArray<CommandHook.CommandHookSpec> = []
    return { specs: none, files: files as ReadonlyArray<string> }
  }
  const CommandHook = yield* loadCommandHook
  const specs = [
    ...(yield* Either.match(CommandHook.fromConfig(config.hooks, { source: "config" }), {
      onLeft: Effect.fail,
      onRight: Effect.succeed
    }))
  ]
  for (const absolute of files) {
    const claude = yield* CommandHook.loadClaudeSettings(absolute, { ignoreUnknownEvents: true })
    specs.push(
      ...claude.map((spec) => ({ ...spec, name: `${absolute}#${spec.path}`, path: `${absolute}: ${spec.path}` }))
    )
  }
  return { specs: specs as ReadonlyArray<CommandHook.CommandHookSpec>, files: files as ReadonlyArray<string> }
})

/** Command hooks from `[hooks]` and Claude Code settings files, registered for the layer's lifetime. */
const layerCommandHooks = (config: RuntimeConfig, options: Options) =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const { specs } = yield* commandHooks(config, { cwd: options.cwd, home: homeOf(options) })
      if (specs.length > 0) {
        const CommandHook = yield* loadCommandHook
        yield* CommandHook.register(specs, { cwd: options.cwd, owner: "config" })
      }
    })
  )

const homeOf = (options: Options) =>
  options.home !== undefined && options.home !== "" ? options.home : options.env?.HOME

/**
 * The `Runtime` facade of a session: MCP servers started with it (prompts
 * wait for the startup), the config's `approval_policy` as the default mode.
 */
const layerSession = (config: RuntimeConfig, options: Options) =>
  Layer.scoped(
    Runtime.Runtime,
    Effect.gen(function* () {
      const rt = yield* Runtime.make({ versions: options.versions })
      const manager = yield* McpManager.McpManager
      const scope = yield* Effect.scope
      const mode = options.mcp ?? "start"
      const servers = manager.config.servers.filter((s) => s.enabled)
      let ready: Effect.Effect<void> = Effect.void
      if (mode !== "manual" && servers.length > 0) {
        const done = yield* Deferred.make<McpStartupCompleteEvent | undefined>()
        // Started once, in the layer's scope: the servers and their tools live as long as the runtime.
        const launch = yield* Effect.once(
          rt.mcpStartup.pipe(
            Scope.extend(scope),
            Effect.tapErrorCause((cause) => Effect.logWarning("MCP startup failed", cause)),
            Effect.option,
            Effect.flatMap((summary) => Deferred.succeed(done, Option.getOrUndefined(summary))),
            Effect.forkIn(scope)
          )
        )
        const required = servers.filter((s) => s.required).map((s) => s.name)
        const missingRequired = Effect.gen(function* () {
          const summary = yield* Deferred.await(done)
          const missing = required.filter((name) => !summary?.ready.includes(name))
          return missing.length === 0
            ? undefined
            : new McpStartupError({
                servers: missing,
                summary: summary ?? { ready: [], failed: [], cancelled: missing }
              })
        })
        if (mode === "start") {
          yield* launch
          if (required.length > 0) {
            const error = yield* missingRequired
            if (error !== undefined) return yield* error
          }
          ready = Effect.asVoid(Deferred.await(done))
        } else {
          // On demand: the first prompt starts them; a required server that does not start is a defect there.
          ready = Effect.zipRight(
            launch,
            Effect.flatMap(missingRequired, (error) => (error === undefined ? Effect.void : Effect.die(error)))
          )
        }
      }
      const withApproval = (overrides: CliRuntimeOverrides | undefined): CliRuntimeOverrides =>
        overrides?.approval_policy !== undefined ? overrides : { ...overrides, approval_policy: config.approval_policy }
      return {
        ...rt,
        handlePrompt: (request, overrides) =>
          Effect.zipRight(
            ready,
            rt.handlePrompt(request, request.approval_policy === undefined ? withApproval(overrides) : overrides)
          ),
        resolveApproval: (approvalId, decision, opts) =>
          Effect.zipRight(
            ready,
            rt.resolveApproval(approvalId, decision, { ...opts, overrides: withApproval(opts?.overrides) })
          )
      } satisfies Runtime.Service
    })
  )

const terminal = new Set(["completed", "failed", "cancelled"])

/** What a plugin's tools get as `context.jobs`: its own job kinds, started and awaited. */
const pluginJobsOf = (jobs: JobManager.JobManager["Type"], pluginId: string): PluginJob.Jobs => ({
  enqueue: (kind, input) =>
    jobs.enqueueJob(`${pluginId}__${kind}`, input).pipe(
      Effect.map((record) => ({ id: record.id })),
      Effect.mapError((e) => new ToolFailure({ detail: `cannot start job ${pluginId}__${kind}: ${e.message}` }))
    ),
  await: (id) => {
    const poll: Effect.Effect<PluginJob.Ended, ToolFailure> = Effect.suspend(() =>
      jobs.getJob(id).pipe(
        Effect.mapError((e) => new ToolFailure({ detail: e.message })),
        Effect.flatMap((job) =>
          terminal.has(job.status)
            ? Effect.succeed({ id, status: job.status as PluginJob.Ended["status"], detail: job.detail })
            : Effect.zipRight(Effect.sleep("50 millis"), poll)
        )
      )
    )
    return poll
  }
})

/** Plugins from config: hooks registered, tools added to the registry, job kinds given to the job manager. */
/**
 * What the `Sandbox` needs from the config (see `SandboxOptions.make`).
 *
 * @since 0.2.0
 * @category constructors
 */
export const sandboxOptions = SandboxOptions.make

/**
 * The portable `Sandbox` for a distribution without an OS sandbox layer:
 * the config's environment policy and redaction, no OS sandbox
 * (`sandbox.required` refuses every command). Provide it to {@link layer}
 * where a platform sandbox (`@strata/sandbox/node`) is not wanted.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerUnsandboxed = (
  config: Pick<RuntimeConfig, "sandbox" | "shell_environment_policy" | "providers">,
  options: Pick<Options, "cwd" | "env" | "home">
): Layer.Layer<Sandbox.Sandbox> =>
  Sandbox.layerUnsandboxed({ ...sandboxOptions(config, options), reason: "the distribution provides no sandbox layer" })

/** The app's `Sandbox`, passed through into the result (status and commands read it there). */
const layerSandbox: Layer.Layer<Sandbox.Sandbox, never, Sandbox.Sandbox> = Layer.effect(
  Sandbox.Sandbox,
  Sandbox.Sandbox
)

const layerPlugins = (
  config: RuntimeConfig,
  cwd: string,
  extra: ReadonlyArray<ToolRegistry.RuntimeTool>,
  locateSyntaxError: Options["locateSyntaxError"],
  modules: Options["pluginModules"]
) =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const registry = yield* ToolRegistry.ToolRegistry
      const sandbox = yield* Sandbox.Sandbox
      if (extra.length > 0) yield* registry.register(extra)
      if (config.plugins.length === 0) return
      const installed = yield* PluginLoader.install(config.plugins, { baseDir: cwd, locateSyntaxError, modules })
      for (const skipped of installed.skipped) yield* Effect.logWarning(`plugin skipped: ${skipped.message}`)
      const jobs = yield* JobManager.JobManager
      for (const plugin of installed.plugins) {
        for (const job of plugin.jobs) {
          yield* jobs.registerHandler({
            kind: job.kind,
            run: (ctx) =>
              job.run({
                id: ctx.job.id,
                input: ctx.input,
                attempt: ctx.attempt,
                progress: (value, detail) => Effect.orDie(ctx.progress(value, detail)),
                checkpoint: ctx.checkpoint,
                idempotencyKey: ctx.idempotencyKey
              }),
            ...(job.timeout === undefined ? {} : { timeout: job.timeout }),
            ...(job.maxAttempts === undefined ? {} : { maxAttempts: job.maxAttempts }),
            ...(job.idempotent === undefined ? {} : { idempotent: job.idempotent })
          })
        }
      }
      for (const plugin of installed.plugins) {
        const pluginJobs = pluginJobsOf(jobs, plugin.id)
        // Plugin tools that run shell commands go through the exec policy (their `shellCommand`).
        yield* registry.register(
          plugin.tools.map((tool) => ToolRegistry.fromPlugin(plugin.id, tool, { jobs: pluginJobs, sandbox }))
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
  | Runtime.Runtime
  | Runtime.Requirements
  | ExecPolicy.ExecPolicy
  | RuntimePolicy.ApprovedRules
  | LanguageModel.LanguageModel
  | Sandbox.Sandbox,
  LayerError,
  FileSystem | Path | CommandExecutor | Workspace | StdioTransport | Sandbox.Sandbox
> => {
  // The approval key is read (or made) from the start, beside the rest of
  // the build, which waits for it only where the tool invoker needs it: its
  // file's reads overlap the store's opening and the policy's loading. Its
  // error surfaces there, as it did when it was resolved in turn.
  return Layer.unwrapScoped(
    Effect.map(
      Effect.forkScoped(
        ApprovalKey.resolve({
          key: options.approvalKey,
          keyFile: options.approvalKeyFile,
          env: options.env,
          home: options.home
        })
      ),
      (approvalKey) => layerWithKey(config, options, Fiber.join(approvalKey))
    )
  )
}

const layerWithKey = <E, R>(config: RuntimeConfig, options: Options, approvalKey: Effect.Effect<Uint8Array, E, R>) => {
  const storage = layerStorage(config.storage, options.cwd)
  const policy = RuntimePolicy.layer(config.policy, {
    cwd: options.cwd,
    home: options.home,
    env: options.env,
    distribution: options.distributionRules,
    rules: options.rules
  })
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
  const jobs = layerJobs(config, { worker: options.jobsWorker })
  const threads = Layer.unwrapEffect(
    Effect.map(
      Effect.flatMap(ModelRegistry.ModelRegistry, (r) =>
        Effect.orElseSucceed(r.providerDefault, () => ({ id: "none" }))
      ),
      (provider) =>
        ThreadManager.layer({ cwd: options.cwd, providerDefault: provider.id, cliVersion: options.cliVersion })
    )
  )
  return layerSession(config, options).pipe(
    Layer.provideMerge(
      Turn.layer({
        systemPrompt: config.system_prompt,
        maxTurns: config.max_turns,
        configModel: config.model,
        leaseTtlMs: config.jobs.turn_lease_ms
      })
    ),
    Layer.provideMerge(
      Layer.unwrapEffect(
        Effect.map(
          // the key of approval digests: the app's, STRATA_APPROVAL_KEY, or the per-user key file
          approvalKey,
          (approvalKey) =>
            ToolInvoker.layer({
              approvalKey,
              // the protected paths the sandbox knows (the workspace's, the home's, the approval key's
              // directory): a file tool's declared access to one is asked about, like a command's
              home: homeOf(options),
              protectedPaths: sandboxOptions(config, options).protectedPaths,
              // [mcp_servers.<name>] trust: untrusted (the default) or trusted
              mcpTrust: (server) =>
                Object.hasOwn(config.mcp_servers, server) && config.mcp_servers[server]?.trust === "trusted"
                  ? "trusted"
                  : "untrusted"
            })
        )
      )
    ),
    Layer.provideMerge(
      layerPlugins(config, options.cwd, options.tools ?? [], options.locateSyntaxError, options.pluginModules)
    ),
    Layer.provideMerge(layerSandbox),
    Layer.provideMerge(layerCommandHooks(config, options)),
    Layer.provideMerge(
      Layer.mergeAll(
        ToolRegistry.layer,
        threads,
        jobs,
        mcp,
        LanguageModel.layer().pipe(Layer.provide(options.httpClient ?? FetchHttpClient.layer))
      )
    ),
    // the store opens while the policy loads
    Layer.provideMerge(Layer.mergeAll(HookDispatcher.Default, policy, models, storage)),
    Layer.provideMerge(
      config.telemetry?.otlp_endpoint === undefined
        ? Layer.empty
        : // imported only when an endpoint is configured (the OTLP exporter is not small)
          Layer.unwrapEffect(
            Effect.map(
              Effect.promise(() => import("./Tracing.js")),
              (Tracing) =>
                Tracing.layerOtlp({
                  endpoint: config.telemetry!.otlp_endpoint!,
                  serviceName: config.telemetry!.service_name,
                  serviceVersion: options.cliVersion,
                  headers: config.telemetry!.headers
                })
            )
          )
    )
  )
}
