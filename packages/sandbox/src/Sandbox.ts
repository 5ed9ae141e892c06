/**
 * The `Sandbox` port: how a tool starts a process. Every tool process (the
 * shell tool's commands, stdio MCP servers when `sandbox.mcp = true`) goes
 * through {@link Service.prepare}, which
 *
 * 1. applies the environment policy (`EnvPolicy`: a minimal environment,
 *    no secrets unless included);
 * 2. wraps the command in the sandbox when one runs (`@strata/sandbox/node`:
 *    bubblewrap on Linux; read-only root, the workspace writable, the
 *    protected paths read-only, credential stores hidden, no network, its own
 *    PID namespace);
 * 3. contains the process tree: `release` ends the command and everything it
 *    started (`(sleep 300 &)`, `setsid`, double forks), by the strongest
 *    mechanism available (cgroup v2, else a PID namespace, else process
 *    group + environment tag tracking).
 *
 * Platform implementations: `@strata/sandbox/node` (bubblewrap on Linux;
 * elsewhere it says why not and only contains). A macOS implementation
 * would build a `sandbox-exec` profile in `prepare` (deny `file-write*` but
 * the workspace and the writable roots, deny `network*`); the port needs no
 * change for it. {@link layerUnsandboxed} is the portable fallback:
 * environment policy and redaction only.
 *
 * ```toml
 * [sandbox]
 * mode = "workspace-write"      # | "read-only" | "off"; default workspace-write where it works
 * network = false
 * writable_roots = ["/var/cache/build"]
 * hide = ["~/.ssh", "~/.aws"]   # replaced by empty tmpfs (default: the credential stores)
 * required = false              # true: refuse to run tools when no sandbox can start
 * mcp = false                   # true: stdio MCP servers run sandboxed too
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as EnvPolicy from "./EnvPolicy.js"
import * as Redact from "./Redact.js"

/**
 * `workspace-write`: the workspace (and `writable_roots`) writable, the rest
 * read-only; `read-only`: nothing writable but a private `/tmp`; `off`: no
 * sandbox (the environment policy and containment still apply).
 *
 * @since 0.1.0
 * @category schemas
 */
export const SandboxMode = Schema.Literal("workspace-write", "read-only", "off").annotations({
  identifier: "SandboxMode"
})
/** @since 0.1.0 @category models */
export type SandboxMode = typeof SandboxMode.Type

/**
 * The `[sandbox]` section.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SandboxConfig = Schema.Struct({
  mode: Schema.optionalWith(SandboxMode, { default: () => "workspace-write" as const }),
  network: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  writable_roots: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  hide: Schema.optional(Schema.Array(Schema.String)),
  required: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  mcp: Schema.optionalWith(Schema.Boolean, { default: () => false })
}).annotations({ identifier: "SandboxConfig" })
/** @since 0.1.0 @category models */
export type SandboxConfig = typeof SandboxConfig.Type

/**
 * The `[sandbox]` defaults.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultConfig: SandboxConfig = {
  mode: "workspace-write",
  network: false,
  writable_roots: [],
  required: false,
  mcp: false
}

/**
 * The credential stores hidden (replaced by an empty tmpfs, or an empty
 * file) by default, relative to the home directory.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultHide: ReadonlyArray<string> = [
  "~/.ssh",
  "~/.aws",
  "~/.azure",
  "~/.config/gcloud",
  "~/.config/gh",
  "~/.config/hub",
  "~/.docker/config.json",
  "~/.kube",
  "~/.gnupg",
  "~/.netrc",
  "~/.git-credentials",
  "~/.npmrc",
  "~/.pypirc",
  "~/.cargo/credentials.toml",
  "~/.cargo/credentials",
  "~/.password-store",
  "~/.local/share/keyrings",
  "~/.strata",
  "~/.config/strata",
  // the key of approval digests (`$XDG_STATE_HOME/strata` is added by the runtime when set)
  "~/.local/state/strata"
]

/**
 * How a tool's process tree is ended when the call ends.
 *
 * @since 0.1.0
 * @category models
 */
export type Containment = "cgroup" | "pid-namespace" | "process-group"

/**
 * What runs: said by `strata status` and the chat banner.
 *
 * @since 0.1.0
 * @category models
 */
export interface Status {
  /** The mode that applies (`off` when the configured one cannot start). */
  readonly mode: SandboxMode
  /** The configured mode. */
  readonly configured: SandboxMode
  /** `bwrap` when commands run in bubblewrap, `none` otherwise. */
  readonly mechanism: "bwrap" | "none"
  readonly network: boolean
  /**
   * What ends the process tree of a command run outside bubblewrap (mode
   * `off`, or a call approved to run unsandboxed); a command in bubblewrap
   * is contained by its PID namespace.
   */
  readonly containment: Containment
  /** Why the configured sandbox does not run (not Linux, no bwrap, no user namespaces, ...). */
  readonly reason?: string | undefined
  /** `sandbox.required`: tools refuse to run when no sandbox runs. */
  readonly required: boolean
}

/**
 * One line for a person: `bwrap (workspace-write, network off), processes
 * contained by pid-namespace (cgroup outside the sandbox)`. A command in
 * bubblewrap is contained by its PID namespace whatever `containment` says;
 * `containment` is what contains the commands that run outside it.
 *
 * @since 0.1.0
 * @category utils
 */
export const describe = (status: Status): string =>
  status.mechanism === "bwrap"
    ? `${status.mechanism} (${status.mode}, network ${status.network ? "on" : "off"}), processes contained by pid-namespace${status.containment === "pid-namespace" ? "" : ` (${status.containment} outside the sandbox)`}`
    : `${status.configured === "off" ? "off" : `NOT sandboxed: ${status.reason ?? "unavailable"}`}${status.required && status.configured !== "off" ? " (sandbox.required: tools refuse to run)" : ""}, processes contained by ${status.containment}`

/**
 * A process to start.
 *
 * @since 0.1.0
 * @category models
 */
export interface Spec {
  readonly command: string
  readonly args: ReadonlyArray<string>
  /** The working directory (absolute). */
  readonly cwd: string
  /** Variables the caller sets on top of the environment policy's. */
  readonly env?: Readonly<Record<string, string>> | undefined
  /**
   * `false`: run outside the sandbox (a person approved re-running it so);
   * the environment policy and containment still apply. Default `true`.
   */
  readonly sandboxed?: boolean | undefined
  /**
   * Files the configured program is made of (an MCP server's command and
   * script), set by callers whose command comes from config, never from the
   * model: under `/tmp` (a fresh tmpfs inside the sandbox) their top
   * directory is bound again, read-only.
   */
  readonly programFiles?: ReadonlyArray<string> | undefined
}

/**
 * The process to spawn instead: run `command` with `args` in `cwd` with
 * exactly `env` (do not merge the parent's environment). `release` ends
 * every process it started (idempotent); call it when the call ends.
 *
 * @since 0.1.0
 * @category models
 */
export interface Prepared {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly cwd: string
  readonly env: Readonly<Record<string, string>>
  /** Whether it runs inside the sandbox. */
  readonly sandboxed: boolean
  readonly release: Effect.Effect<void>
}

/**
 * How {@link Service.run} runs a process to its end.
 *
 * @since 0.3.0
 * @category models
 */
export interface RunOptions {
  /** Time limit in milliseconds: past it, the process and everything it started are killed. */
  readonly timeoutMs: number
  /** Output kept (stdout and stderr merged in arrival order), in bytes; the rest is counted, not kept. */
  readonly maxOutputBytes: number
  /** How long output may still be read once the command has ended and its processes were killed (ms). */
  readonly drainMs: number
}

/**
 * What {@link Service.run} saw.
 *
 * @since 0.3.0
 * @category models
 */
export interface RunResult {
  /** The exit code, `null` when the process ended by a signal or did not end in time. */
  readonly exitCode: number | null
  /** The kept output (at most `maxOutputBytes`). */
  readonly output: Uint8Array
  /** Bytes of output past `maxOutputBytes`, not kept. */
  readonly dropped: number
  readonly timedOut: boolean
  /** Whether it ran inside the sandbox. */
  readonly sandboxed: boolean
}

/**
 * A process cannot start: `Required` when `sandbox.required = true` and no
 * sandbox runs; `SpawnFailed` when the containment could not be set up.
 *
 * @since 0.1.0
 * @category errors
 */
export class SandboxError extends Data.TaggedError("SandboxError")<{
  readonly reason: "Required" | "SpawnFailed"
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `sandbox: ${this.detail}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly status: Status
  /** Wraps a process: environment policy, sandbox, containment. */
  readonly prepare: (spec: Spec) => Effect.Effect<Prepared, SandboxError>
  /** The environment a tool process gets (the policy applied), plus `extra`. */
  readonly environment: (extra?: Readonly<Record<string, string>>) => Record<string, string>
  /** Removes the secrets of the parent environment (and their encodings) from a text. */
  readonly redact: (text: string) => string
  /**
   * When a sandboxed command failed, the sandbox's part in it: the first
   * line of `output` that shows a refusal (a read-only file system, an
   * unreachable network), or `undefined`.
   */
  readonly denial: (output: string) => string | undefined
  /**
   * Prepares `spec` and runs it to its end with the platform's process API
   * (stdin empty, stdout and stderr merged and capped): when it exits or
   * times out, its process group is killed and the containment released,
   * so nothing it started outlives the call; interrupted, the same. Optional:
   * without it, a caller spawns the {@link Prepared} process itself.
   */
  readonly run?: ((spec: Spec, options: RunOptions) => Effect.Effect<RunResult, SandboxError>) | undefined
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Sandbox extends Context.Tag("@strata/sandbox/Sandbox")<Sandbox, Service>() {}

/**
 * What every implementation needs: the config and the parent environment.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The workspace root (absolute). */
  readonly workspace: string
  readonly config?: SandboxConfig | undefined
  readonly envPolicy?: EnvPolicy.EnvPolicyConfig | undefined
  /** The parent environment (default: none). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /** Variables that hold secrets whatever their name (providers' `api_key_env`). */
  readonly secretNames?: ReadonlyArray<string> | undefined
  /** Absolute protected-path patterns (`ProtectedPaths`): read-only inside the sandbox. */
  readonly protectedPaths?: ReadonlyArray<string> | undefined
}

const denialPatterns: ReadonlyArray<RegExp> = [
  /read-only file system/i,
  /network is unreachable/i,
  /could not resolve host/i,
  /temporary failure in name resolution/i,
  /name or service not known/i,
  /connection refused/i,
  /operation not permitted/i,
  /permission denied/i
]

/**
 * The shared {@link Service.denial}.
 *
 * @since 0.1.0
 * @category utils
 */
export const findDenial = (output: string): string | undefined => {
  for (const line of output.split("\n")) {
    if (denialPatterns.some((p) => p.test(line))) return line.trim().slice(0, 300)
  }
  return undefined
}

/**
 * The environment policy and redaction of `options`, shared by the
 * implementations.
 *
 * @since 0.1.0
 * @category constructors
 */
export const environmentOf = (options: Options) => {
  const parent = options.env ?? {}
  const policy = options.envPolicy ?? EnvPolicy.defaults
  const base = EnvPolicy.apply(parent, policy, options.secretNames ?? [])
  const redact = Redact.make(EnvPolicy.secretValues(parent, options.secretNames ?? []))
  return {
    environment: (extra: Readonly<Record<string, string>> = {}) => ({ ...base, ...extra }),
    redact
  }
}

/**
 * The portable fallback (no process API of its own): the environment policy
 * and redaction, no sandbox and no containment beyond what the caller does
 * (its own process group). `sandbox.required` makes every `prepare` fail.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerUnsandboxed = (options: Options & { readonly reason?: string | undefined }): Layer.Layer<Sandbox> =>
  Layer.succeed(Sandbox, makeUnsandboxed(options))

/**
 * The service of {@link layerUnsandboxed}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeUnsandboxed = (options: Options & { readonly reason?: string | undefined }): Service => {
  const config = options.config ?? defaultConfig
  const { environment, redact } = environmentOf(options)
  const status: Status = {
    mode: "off",
    configured: config.mode,
    mechanism: "none",
    network: true,
    containment: "process-group",
    reason: config.mode === "off" ? undefined : (options.reason ?? "no sandbox implementation on this platform"),
    required: config.required
  }
  return {
    status,
    environment,
    redact,
    denial: () => undefined,
    prepare: (spec) =>
      (config.required && config.mode !== "off" && spec.sandboxed !== false
        ? Effect.fail(
            new SandboxError({
              reason: "Required",
              detail: `sandbox.required is set and no sandbox runs here: ${status.reason}`
            })
          )
        : Effect.succeed({
            command: spec.command,
            args: spec.args,
            cwd: spec.cwd,
            env: environment(spec.env),
            sandboxed: false,
            release: Effect.void
          })
      ).pipe(Effect.withSpan("Sandbox.prepare"))
  }
}
