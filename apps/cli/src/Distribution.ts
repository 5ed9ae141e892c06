/**
 * The `strata` distribution: what it composes on top of `@strata/core-runtime`.
 *
 * - Config: layered TOML (`~/.strata/config.toml` < `.strata/config.toml` <
 *   `STRATA_*` environment < command line), decoded as `RuntimeConfig`;
 *   storage defaults to files under `.strata/`.
 * - Plugins: `@strata/plugin-shell`, `@strata/plugin-fs` and
 *   `@strata/plugin-audit-log` first, then the config's `plugins`. Plugins
 *   read their own config sections (`[fs]`) through Effect's `Config`: the
 *   layered config is the `ConfigProvider`, the environment after it.
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
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import type { Config, Runtime, RuntimeConfig } from "@strata/core-runtime"
import { RuntimeLayer } from "@strata/core-runtime"
import * as McpStdio from "@strata/mcp/stdio"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { builtinPlugins, chooseModel, loadConfig, type ModelChoice, type Options } from "./Choice.js"
import * as Demo from "./Demo.js"
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
  readonly loaded: Config.Loaded<RuntimeConfig.RuntimeConfig>
  readonly config: RuntimeConfig.RuntimeConfig
  readonly choice: ModelChoice
}

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
  }).pipe(
    Layer.provide(Layer.mergeAll(NodeContext.layer, McpStdio.layer)),
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
