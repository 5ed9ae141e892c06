/**
 * The `strata` distribution: what it composes on top of `@strata/core-runtime`.
 *
 * - Config: layered TOML (`~/.strata/config.toml` < `.strata/config.toml` <
 *   `STRATA_*` environment < command line), decoded as `RuntimeConfig`;
 *   storage defaults to files under `.strata/`.
 * - Plugins: `@strata/plugin-shell`, `@strata/plugin-fs` and
 *   `@strata/plugin-audit-log` first, then the config's `plugins`.
 * - Exec policy: the distribution's `policy/strata.toml` (a few read-only
 *   commands allowed, everything else asks) after the built-in layer, then
 *   the config's rule files (`[policy] rules`); `builtin = false` drops both
 *   built-in layers.
 * - Model, in order: the configured provider when its API key variable is
 *   set (or it needs none); else a local Ollama if one answers on
 *   127.0.0.1:11434; else the built-in demo model (`Demo`), announced as
 *   such. `STRATA_DEMO=1` forces the demo model.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Config, type Runtime, RuntimeConfig, RuntimeLayer } from "@strata/core-runtime"
import * as McpStdio from "@strata/mcp/stdio"
import { defaultApiKeyEnv } from "@strata/providers/ModelConfig"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Demo from "./Demo.js"
import { version } from "./version.js"

/**
 * The plugins every `strata` session loads, before the config's.
 *
 * @since 0.1.0
 * @category constants
 */
export const builtinPlugins: ReadonlyArray<string> = [
  "@strata/plugin-shell/node",
  "@strata/plugin-fs/node",
  "@strata/plugin-audit-log/node"
]

/**
 * The distribution's policy file.
 *
 * @since 0.1.0
 * @category constants
 */
export const policyFile: string = decodeURIComponent(new URL("../policy/strata.toml", import.meta.url).pathname)

/**
 * Which model a session talks to, and why.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelChoice {
  readonly kind: "configured" | "ollama" | "demo"
  readonly provider: string
  readonly model: string
  /** One line for the banner. */
  readonly banner: string
  /** Why a configured provider was not used, if one was skipped. */
  readonly skipped?: string | undefined
}

/**
 * Everything a command needs to build the runtime.
 *
 * @since 0.1.0
 * @category models
 */
export interface Setup {
  readonly cwd: string
  readonly loaded: Config.Loaded<RuntimeConfig.RuntimeConfig>
  readonly config: RuntimeConfig.RuntimeConfig
  readonly choice: ModelChoice
}

/**
 * Options common to the commands.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly cwd: string
  readonly env: Readonly<Record<string, string | undefined>>
  /** Values from the command line (`--model`, ...), the highest layer. */
  readonly cli?: Record<string, unknown> | undefined
}

/**
 * Loads the layered configuration.
 *
 * @since 0.1.0
 * @category constructors
 */
export const loadConfig = (options: Options, overlay: Record<string, unknown> = {}) =>
  Effect.flatMap(
    Config.standardSources({
      cwd: options.cwd,
      home: options.env.HOME,
      env: options.env,
      cli: { ...overlay, ...options.cli }
    }),
    (sources) => Config.load(RuntimeConfig.RuntimeConfig, sources)
  )

/** The provider the config selects, if any. */
const configured = (config: RuntimeConfig.RuntimeConfig) => {
  const fromModel = config.model === undefined ? undefined : config.models.find((m) => m.id === config.model)?.provider
  const id = config.provider_default ?? fromModel ?? Object.keys(config.providers)[0]
  const provider = id === undefined ? undefined : config.providers[id]
  return id === undefined || provider === undefined ? undefined : { id, provider }
}

/**
 * The first model of a local Ollama, if one answers quickly on
 * 127.0.0.1:11434.
 *
 * @since 0.1.0
 * @category constructors
 */
export const probeOllama = (url = "http://127.0.0.1:11434"): Effect.Effect<string | undefined> =>
  Effect.promise(async () => {
    try {
      const response = await fetch(`${url}/api/tags`, { signal: AbortSignal.timeout(300) })
      if (!response.ok) return undefined
      const body = (await response.json()) as { models?: Array<{ name?: unknown }> }
      const name = body.models?.[0]?.name
      return typeof name === "string" ? name : undefined
    } catch {
      return undefined
    }
  })

/**
 * The model a session would use, decided from the loaded config and the
 * environment: the configured provider when its key variable is set (or it
 * needs none), else a local Ollama, else the demo model. Starts nothing.
 *
 * @since 0.1.0
 * @category constructors
 */
export const chooseModel = Effect.fn("Distribution.chooseModel")(function* (
  options: Options,
  config: RuntimeConfig.RuntimeConfig
) {
  const forceDemo = options.env.STRATA_DEMO === "1"
  let skipped: string | undefined
  const selected = configured(config)
  if (!forceDemo && selected !== undefined) {
    const keyEnv = selected.provider.api_key_env ?? defaultApiKeyEnv[selected.provider.kind]
    const model = config.model ?? selected.provider.default_model
    if ((keyEnv === undefined || (options.env[keyEnv] ?? "") !== "") && model !== undefined) {
      return {
        kind: "configured",
        provider: selected.id,
        model,
        banner: `model: ${model} (provider ${selected.id})`
      } satisfies ModelChoice
    }
    skipped =
      model === undefined
        ? `provider ${selected.id} is configured but no model is (set model = "...")`
        : `provider ${selected.id} is configured but $${keyEnv} is not set`
  }
  const ollama = forceDemo ? undefined : yield* probeOllama()
  if (ollama !== undefined) {
    return {
      kind: "ollama",
      provider: "ollama",
      model: ollama,
      banner: `model: ${ollama} (local Ollama on 127.0.0.1:11434)`,
      skipped
    } satisfies ModelChoice
  }
  return {
    kind: "demo",
    provider: "demo",
    model: Demo.MODEL,
    banner: "demo model: no provider configured (scripted answers, real tools)",
    skipped
  } satisfies ModelChoice
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
  if (choice.kind === "configured") {
    return { cwd: options.cwd, loaded: first, config: first.value, choice } satisfies Setup
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
  return { cwd: options.cwd, loaded, config: loaded.value, choice } satisfies Setup
})

/**
 * The runtime of a session: every service composed from the config, with
 * the built-in plugins and the distribution's policy, on the Node platform
 * (which runs on Bun and Deno too).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  setup: Setup
): Layer.Layer<Runtime.Runtime | Runtime.Requirements, unknown, FileSystem.FileSystem | Path.Path> => {
  // The distribution's policy file comes right after the built-in layer, so
  // the config's rule files (and their `default`) are above it.
  const config: RuntimeConfig.RuntimeConfig = {
    ...setup.config,
    plugins: [...builtinPlugins, ...setup.config.plugins],
    policy: {
      ...setup.config.policy,
      rules: [...(setup.config.policy.builtin ? [policyFile] : []), ...setup.config.policy.rules]
    }
  }
  return RuntimeLayer.layer(config, {
    cwd: setup.cwd,
    cliVersion: version,
    versions: { "@strata/cli": version }
  }).pipe(Layer.provide(Layer.mergeAll(NodeContext.layer, McpStdio.layer)))
}

/**
 * The session's setup and runtime together, for a command body.
 *
 * @since 0.1.0
 * @category constructors
 */
export const session = <A, E, R>(
  options: Options,
  body: (setup: Setup) => Effect.Effect<A, E, R>
): Effect.Effect<
  A,
  unknown,
  Exclude<Exclude<R, Runtime.Runtime | Runtime.Requirements>, Scope.Scope> | FileSystem.FileSystem | Path.Path
> => Effect.scoped(Effect.flatMap(setup(options), (s) => Effect.provide(body(s), layer(s))))
