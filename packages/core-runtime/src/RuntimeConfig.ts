/**
 * The schema of Strata's configuration (`config.toml`): the runtime's own
 * keys plus each package's section, decoded with that package's schema.
 *
 * ```toml
 * model = "deepseek-chat"           # the config model (3rd in resolution order)
 * provider_default = "deepseek"
 * approval_policy = "on-request"
 * max_turns = 20                    # model calls per prompt; alias: max_model_calls
 * system_prompt = "You are ..."
 *
 * [storage]                         # memory | fs | redis | postgres | unstorage
 * kind = "fs"
 * dir = ".strata"
 * # kind = "unstorage"              # any unstorage driver, by name
 * # driver = "deno-kv"              # fs, fs-lite, redis, db0, s3, ... or a package / ./file.js
 * # options = { path = "state.kv" } # passed to the driver (relative base / path: from the project)
 *
 * [policy]
 * rules = ["rules.toml"]            # project rule files, after the built-in ones
 *
 * [providers.deepseek]              # @strata/providers
 * kind = "deepseek"
 * api_key_env = "DEEPSEEK_API_KEY"
 *
 * [[models]]
 * id = "deepseek-chat"
 * provider = "deepseek"
 * context_window = 64000
 * max_output_tokens = 8000
 *
 * [mcp_servers.fs]                  # @strata/mcp
 * command = "npx"
 * args = ["@modelcontextprotocol/server-filesystem", "."]
 *
 * [[hooks.PreToolUse]]              # @strata/hooks (command hooks)
 * matcher = "shell__exec"
 * command = "./scripts/guard.sh"
 *
 * claude_hooks = [".claude/settings.json"]  # Claude Code settings files (default: project + user)
 *
 * plugins = ["@acme/strata-git", { spec = "./local-plugin.js", required = false }]
 *
 * [jobs]
 * concurrency = 4
 * backend = "bullmq"                # run jobs on `strata worker` processes (default "local")
 * redis_url = "redis://127.0.0.1:6379"
 *
 * [sandbox]                         # @strata/sandbox: how tool processes run
 * mode = "workspace-write"          # | "read-only" | "off" (bubblewrap on Linux)
 * network = false
 * writable_roots = []
 * required = false                  # refuse to run tools when no sandbox can start
 * mcp = false                       # stdio MCP servers sandboxed too
 *
 * [shell_environment_policy]        # the environment of commands and MCP servers
 * inherit = "core"                  # none | core | all; secrets never unless included
 * include = []
 * exclude = []
 * set = {}
 *
 * [telemetry]
 * otlp_endpoint = "http://127.0.0.1:4318"   # export traces (OTLP/HTTP JSON)
 * ```
 *
 * @since 0.1.0
 */

import { CommandHooksConfig } from "@strata/hooks/CommandHookConfig"
import { HttpServerInput, RestartPolicy, StdioServerInput } from "@strata/mcp/McpConfig"
import * as Common from "@strata/protocol/Common"
import { AskForApproval } from "@strata/protocol/Tool"
import { ModelConfig, ProviderConfig } from "@strata/providers/ModelConfig"
import { EnvPolicyConfig } from "@strata/sandbox/EnvPolicy"
import { defaultConfig as defaultSandbox, SandboxConfig } from "@strata/sandbox/Sandbox"
import * as Schema from "effect/Schema"
import { AliasesId } from "./ConfigAliases.js"
import { PluginSpec } from "./internal/pluginSpec.js"

const PositiveInt = Schema.Number.pipe(Schema.int(), Schema.positive())

/**
 * `durability = "strict"` refuses a store that can lose acknowledged writes
 * in a crash (Redis without `appendfsync always`, PostgreSQL with
 * `synchronous_commit` or `fsync` off, the memory store); `"relaxed"` (the
 * default) opens it and warns once on stderr.
 */
const durability = { durability: Schema.optional(Schema.Literal("strict", "relaxed")) }

/**
 * Where state lives.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StorageConfig = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("memory"), ...durability }),
  Schema.Struct({
    kind: Schema.Literal("fs"),
    dir: Schema.optionalWith(Schema.String, { default: () => ".strata" }),
    ...durability
  }),
  Schema.Struct({
    kind: Schema.Literal("redis"),
    url: Schema.optionalWith(Schema.String, { default: () => "redis://127.0.0.1:6379" }),
    prefix: Schema.optional(Schema.String),
    ...durability
  }),
  Schema.Struct({
    kind: Schema.Literal("unstorage"),
    /**
     * One of unstorage's drivers (`fs`, `fs-lite`, `redis`, `deno-kv`,
     * `db0`, `s3`, ...), or a package name or `./file.js` whose default
     * export is a driver factory. Loaded only when used.
     */
    driver: Schema.String.pipe(Schema.minLength(1)),
    /** Passed to the driver's factory; a relative `base` or `path` is taken from the project root. */
    options: Schema.optionalWith(Common.Record({ key: Schema.String, value: Schema.Unknown }), {
      default: () => ({})
    }),
    ...durability
  }),
  Schema.Struct({
    kind: Schema.Literal("postgres"),
    url: Schema.optionalWith(Schema.String, { default: () => "postgres://postgres@127.0.0.1:5432/test" }),
    schema: Schema.optional(Schema.String),
    ...durability
  })
).annotations({ identifier: "StorageConfig" })
/** @since 0.1.0 @category models */
export type StorageConfig = typeof StorageConfig.Type

/**
 * Where background jobs run. `"local"` (the default): in the process that
 * enqueued them. `"bullmq"`: on a shared BullMQ queue on Redis, run by
 * `strata worker` processes (any number, on any machine reaching the Redis
 * and the store); every other process only enqueues and controls them.
 * Needs a shared store (`[storage] kind = "redis"` or `"postgres"`).
 *
 * @since 0.2.0
 * @category schemas
 */
export const JobsConfig = Schema.Struct({
  /** Handler runs at once (per kind, in each worker with `bullmq`). */
  concurrency: Schema.optionalWith(PositiveInt, { default: () => 4 }),
  backend: Schema.optionalWith(Schema.Literal("local", "bullmq"), { default: () => "local" as const }),
  /** The Redis of the BullMQ queues (default: the store's, when it is Redis, else `redis://127.0.0.1:6379`). */
  redis_url: Schema.optional(Schema.String),
  /** The key prefix of the queues (default `strata`); processes of one cluster share it. */
  prefix: Schema.optional(Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9._-]{1,64}$/))),
  /** How long after a worker dies its runs are recovered (BullMQ's lock, default 30000 ms). */
  lock_ms: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.greaterThanOrEqualTo(200))),
  /** On SIGTERM, how long a worker lets its runs finish before handing them back (default 30000 ms). */
  shutdown_grace_ms: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.nonNegative())),
  /**
   * A turn's lease on its thread without renewal (default the store's,
   * 30000 ms): a turn whose process died is recovered (its thread repaired)
   * about this long after. Renewed while the turn runs.
   */
  turn_lease_ms: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.greaterThanOrEqualTo(500)))
}).annotations({ identifier: "JobsConfig" })

/**
 * The Claude Code settings files read by default, as Claude Code reads them:
 * the project's shared and local settings, then the user's.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultClaudeHooks: ReadonlyArray<string> = [
  ".claude/settings.json",
  ".claude/settings.local.json",
  "~/.claude/settings.json"
]

/**
 * @since 0.1.0
 * @category schemas
 */
export const RuntimeConfig = Schema.Struct({
  model: Schema.optional(Schema.String),
  provider_default: Schema.optional(Schema.String),
  approval_policy: Schema.optionalWith(AskForApproval, { default: () => "on-request" as const }),
  max_turns: Schema.optionalWith(PositiveInt, { default: () => 20 }),
  system_prompt: Schema.optional(Schema.String),
  storage: Schema.optionalWith(StorageConfig, { default: () => ({ kind: "fs" as const, dir: ".strata" }) }),
  policy: Schema.optionalWith(
    Schema.Struct({
      rules: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
      builtin: Schema.optionalWith(Schema.Boolean, { default: () => true })
    }),
    { default: () => ({ rules: [], builtin: true }) }
  ),
  providers: Schema.optionalWith(Common.Record({ key: Schema.String, value: ProviderConfig }), { default: () => ({}) }),
  models: Schema.optionalWith(Schema.Array(ModelConfig), { default: () => [] }),
  // Checked here in its encoded form (shape and types, for located errors);
  // @strata/mcp decodes it (durations, defaults) when the manager is built.
  mcp_servers: Schema.optionalWith(
    Common.Record({ key: Schema.String, value: Schema.encodedSchema(Schema.Union(StdioServerInput, HttpServerInput)) }),
    { default: () => ({}) }
  ),
  mcp: Schema.optional(Schema.Struct({ restart: Schema.optional(Schema.encodedSchema(RestartPolicy)) })),
  hooks: Schema.optionalWith(CommandHooksConfig, { default: () => ({}) }),
  /**
   * Claude Code settings / hooks.json files whose `hooks` are loaded too
   * (relative to the project root, `~/` to the home directory; files that
   * do not exist are skipped). `[]` loads none.
   */
  claude_hooks: Schema.optionalWith(Schema.Array(Schema.String), { default: () => defaultClaudeHooks }),
  plugins: Schema.optionalWith(Schema.Array(PluginSpec), { default: () => [] }),
  telemetry: Schema.optional(
    Schema.Struct({
      otlp_endpoint: Schema.optional(Schema.String),
      service_name: Schema.optional(Schema.String),
      headers: Schema.optional(Common.Record({ key: Schema.String, value: Schema.String }))
    })
  ),
  sandbox: Schema.optionalWith(SandboxConfig, { default: () => defaultSandbox }),
  shell_environment_policy: Schema.optionalWith(EnvPolicyConfig, {
    default: () => ({ inherit: "core" as const, include: [], exclude: [], set: {} })
  }),
  jobs: Schema.optionalWith(JobsConfig, { default: () => ({ concurrency: 4, backend: "local" as const }) })
}).annotations({
  identifier: "RuntimeConfig",
  // `max_turns` counts model calls, not turns: `max_model_calls` names it for what it is.
  [AliasesId]: { max_model_calls: "max_turns" }
})
/** @since 0.1.0 @category models */
export type RuntimeConfig = typeof RuntimeConfig.Type
/** @since 0.1.0 @category models */
export type RuntimeConfigEncoded = typeof RuntimeConfig.Encoded
