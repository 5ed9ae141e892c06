/**
 * The light part of the distribution, shared by every command and by the
 * `strata status` fast path: the layered config and the model choice
 * (which starts nothing).
 *
 * @since 0.1.0
 */
import * as Config from "@strata/core-runtime/Config"
import * as RuntimeConfig from "@strata/core-runtime/RuntimeConfig"
import { defaultApiKeyEnv } from "@strata/providers/ModelConfig"
import * as Effect from "effect/Effect"

/**
 * The plugins every `strata` session loads, before the config's, by
 * package name: they run on the host's platform and `Workspace` (the
 * session's layer provides them).
 *
 * @since 0.1.0
 * @category constants
 */
export const builtinPlugins: ReadonlyArray<string> = [
  "@strata/plugin-shell",
  "@strata/plugin-fs",
  "@strata/plugin-audit-log"
]

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
  /**
   * Why the configured provider cannot be used (its key variable is unset,
   * no model is set): a session refuses to start, naming the variable.
   */
  readonly unavailable?: string | undefined
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
  // The model's own provider first: provider_default only says which provider serves when no model is named.
  const id = fromModel ?? config.provider_default ?? Object.keys(config.providers)[0]
  const provider = id === undefined ? undefined : config.providers[id]
  return id === undefined || provider === undefined ? undefined : { id, provider }
}

/**
 * The first model of a local Ollama, if one answers within `timeoutMs`
 * (300 ms) on 127.0.0.1:11434.
 *
 * @since 0.1.0
 * @category constructors
 */
export const probeOllama = (url = "http://127.0.0.1:11434", timeoutMs = 300): Effect.Effect<string | undefined> =>
  Effect.promise(async () => {
    try {
      // A TCP connection first: where nothing listens (the common case) it is
      // refused at once, without loading the runtime's HTTP client (`fetch`
      // costs tens of milliseconds the first time). Both within `timeoutMs`.
      const deadline = Date.now() + timeoutMs
      if (!(await listening(new URL(url), timeoutMs))) return undefined
      const response = await fetch(`${url}/api/tags`, {
        signal: AbortSignal.timeout(Math.max(1, deadline - Date.now()))
      })
      if (!response.ok) return undefined
      const body = (await response.json()) as { models?: Array<{ name?: unknown }> }
      const name = body.models?.[0]?.name
      return typeof name === "string" ? name : undefined
    } catch {
      return undefined
    }
  })

/** Whether something accepts a TCP connection at the URL's host and port within `ms`. */
const listening = async (url: URL, ms: number): Promise<boolean> => {
  const net = await import("node:net")
  return new Promise((resolve) => {
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80))
    const socket = net.connect({ host: url.hostname.replace(/^\[|\]$/g, ""), port })
    const done = (ok: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), ms)
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
  })
}

/**
 * The model a session would use, decided from the loaded config and the
 * environment: the configured provider (with `unavailable` saying why when
 * its key variable is unset or no model is set: a session then refuses to
 * start rather than quietly using another model); with no provider
 * configured, a local Ollama, else the demo model. `STRATA_DEMO=1` forces
 * the demo model. Starts nothing.
 *
 * @since 0.1.0
 * @category constructors
 */
export const chooseModel = Effect.fn("Distribution.chooseModel")(function* (
  options: Options,
  config: RuntimeConfig.RuntimeConfig
) {
  const forceDemo = options.env.STRATA_DEMO === "1"
  const selected = configured(config)
  if (!forceDemo && selected !== undefined) {
    const keyEnv = selected.provider.api_key_env ?? defaultApiKeyEnv[selected.provider.kind]
    const model = config.model ?? selected.provider.default_model
    const unavailable =
      model === undefined
        ? `provider ${selected.id} is configured but no model is: set model = "..." in .strata/config.toml (or default_model in [providers.${selected.id}])`
        : keyEnv !== undefined && (options.env[keyEnv] ?? "") === ""
          ? `model ${model} (provider ${selected.id}) needs an API key in $${keyEnv}, which is not set: export ${keyEnv}=..., or run the demo model with STRATA_DEMO=1`
          : undefined
    return {
      kind: "configured",
      provider: selected.id,
      model: model ?? "",
      banner: `model: ${model ?? "(none)"} (provider ${selected.id})`,
      ...(unavailable === undefined ? {} : { unavailable, skipped: unavailable })
    } satisfies ModelChoice as ModelChoice
  }
  const ollama = forceDemo ? undefined : yield* probeOllama()
  if (ollama !== undefined) {
    return {
      kind: "ollama",
      provider: "ollama",
      model: ollama,
      banner: `model: ${ollama} (local Ollama on 127.0.0.1:11434)`
    } satisfies ModelChoice as ModelChoice
  }
  return {
    kind: "demo",
    provider: "demo",
    model: "demo",
    banner: "demo model: no provider configured (scripted answers, real tools)"
  } satisfies ModelChoice as ModelChoice
})
