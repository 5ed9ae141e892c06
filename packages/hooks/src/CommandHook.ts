/**
 * Command hooks: shell commands run on an event, compatible with Claude
 * Code's hooks, so existing hook scripts work unchanged.
 *
 * I/O contract (Claude Code's):
 * - stdin: the event as JSON (`hook_event_name`, `session_id`, `cwd`,
 *   `tool_name`, `tool_input`, `tool_use_id`, ...; see `HookEvent`);
 *   environment: `CLAUDE_PROJECT_DIR` / `STRATA_PROJECT_DIR` (the hook's
 *   working directory), `STRATA_HOOK_EVENT`, `STRATA_HOOK_ID`;
 * - exit 0: stdout is parsed when it is JSON (`continue`, `stopReason`,
 *   `systemMessage`, `decision: "approve" | "block"`, `reason`,
 *   `hookSpecificOutput.{permissionDecision, permissionDecisionReason,
 *   updatedInput, additionalContext, decision.behavior}`); plain text is
 *   context for the model on `UserPromptSubmit` and `SessionStart` and
 *   ignored elsewhere; empty stdout changes nothing;
 * - exit 2: deny, with stderr as the reason (stdout is ignored);
 * - any other exit code, death by signal, malformed JSON, binary output,
 *   output over `max_output_bytes` (default 1 MiB), or no exit within
 *   `timeout` (default 10 s): a hook failure, reported as a `HookError`
 *   activity and resolved by `on_error`. For hooks from Strata's `[hooks]`
 *   table the default is `deny` on `PreToolUse` (fail closed) and `allow`
 *   elsewhere; hooks from Claude Code settings files follow Claude Code: a
 *   failure other than exit 2 is a non-blocking error (`allow`), shown to
 *   the user (the `HookError` activity), and the call goes on.
 *
 * Hooks from Claude Code settings files see Claude Code's tool names and
 * input fields (`Bash` with `command`, `Read` / `Write` / `Edit` with
 * `file_path`, ...; see `ClaudeCode`), and their `updatedInput` is mapped
 * back to the Strata tool's input.
 *
 * The command runs as `<shell> -c <command>` (shell `sh` by default) in its
 * own process group; on timeout, on failure and when the dispatch is
 * interrupted (scope closed) the whole group is killed (SIGTERM, then
 * SIGKILL).
 *
 * @since 0.1.0
 */

import * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Common from "@strata/protocol/Common"
import * as ProtocolError from "@strata/protocol/ProtocolError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as ClaudeCode from "./ClaudeCode.js"
import { CommandHooksConfig } from "./CommandHookConfig.js"
import * as Dialects from "./Dialects.js"
import type * as Hook from "./Hook.js"
import { HookDispatcher } from "./HookDispatcher.js"
import { HookConfigError } from "./HookError.js"
import * as HookEvent from "./HookEvent.js"
import * as internal from "./internal/command.js"
import * as Matcher from "./Matcher.js"

/**
 * The default cap on stdout and on stderr: 1 MiB each.
 *
 * @since 0.1.0
 * @category utils
 */
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024

/**
 * The default timeout of a command hook, in seconds.
 *
 * @since 0.1.0
 * @category utils
 */
export const DEFAULT_TIMEOUT_SECONDS = 10

/**
 * The schemas of one command hook and of the `[hooks]` table, in their own
 * module (`CommandHookConfig`) so that reading the config loads no hook code.
 *
 * @since 0.1.0
 * @category schemas
 */
export { CommandHookConfig, CommandHooksConfig } from "./CommandHookConfig.js"

/**
 * Claude Code's settings / `hooks.json` format. Keys other than `hooks` are
 * ignored, and so are unknown keys inside entries.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ClaudeSettings = Schema.Struct({
  // A settings file with only permissions (or nothing) has no hooks: that is not an error.
  hooks: Schema.optionalWith(
    Common.Record({
      key: Schema.String,
      value: Schema.Array(
        Schema.Struct({
          matcher: Schema.optional(Schema.String),
          hooks: Schema.Array(
            Schema.Struct({
              type: Schema.String,
              command: Schema.optional(Schema.String),
              timeout: Schema.optional(Schema.Number.pipe(Schema.positive(), Schema.finite()))
            })
          )
        })
      )
    }),
    { default: () => ({}) }
  )
}).annotations({ identifier: "ClaudeSettings" })
/** @since 0.1.0 @category models */
export type ClaudeSettings = typeof ClaudeSettings.Type

/**
 * Claude Code's hook output (stdout of a command hook that exits 0).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ClaudeHookOutput = internal.ClaudeHookOutput

/**
 * A normalized command hook, from either config format. `path` says where it
 * was configured (`hooks.PreToolUse[0]`); it is also the hook's default name.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommandHookSpec {
  readonly event: HookEvent.HookEventName
  readonly command: string
  readonly name: string
  readonly matcher: string | undefined
  readonly dialect: Matcher.Dialect
  readonly timeoutMs: number
  readonly onError: "allow" | "deny" | undefined
  readonly priority: number
  readonly shell: string
  readonly maxOutputBytes: number
  readonly env: Readonly<Record<string, string>>
  readonly path: string
}

/**
 * Options of the config readers: `source` names the file in errors;
 * `ignoreUnknownEvents` skips events Strata does not have (Claude Code's
 * `SubagentStop`, ...) instead of failing.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadOptions {
  readonly source?: string | undefined
  readonly ignoreUnknownEvents?: boolean | undefined
}

const configError = (
  reason: HookConfigError["reason"],
  path: string,
  detail: string,
  options: ReadOptions,
  cause?: unknown
) =>
  new HookConfigError({
    reason,
    path,
    detail,
    ...(options.source === undefined ? {} : { source: options.source }),
    ...(cause === undefined ? {} : { cause })
  })

const decodeWith =
  <A, I>(schema: Schema.Schema<A, I>) =>
  (input: unknown, prefix: string, options: ReadOptions): Either.Either<A, HookConfigError> =>
    Either.mapLeft(ProtocolError.decodeUnknownEither(schema)(input), (e) => {
      const at = e.path === "" ? prefix : prefix === "" ? e.path : `${prefix}.${e.path}`.replace(/\.\[/g, "[")
      return configError("InvalidConfig", at, e.issues[0]?.message ?? e.message, options, e)
    })

const checkEvent = (
  name: string,
  path: string,
  options: ReadOptions
): Either.Either<HookEvent.HookEventName | undefined, HookConfigError> => {
  if (HookEvent.isHookEventName(name)) return Either.right(name)
  if (options.ignoreUnknownEvents === true) return Either.right(undefined)
  return Either.left(
    configError(
      "UnknownEvent",
      path,
      `unknown hook event ${JSON.stringify(name)} (expected one of ${HookEvent.names.join(", ")})`,
      options
    )
  )
}

/**
 * Reads the `[hooks]` table of Strata's config (TOML already parsed to an
 * object). Fails with `HookConfigError` naming the entry.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromConfig = (
  config: unknown,
  options: ReadOptions = {}
): Either.Either<ReadonlyArray<CommandHookSpec>, HookConfigError> =>
  Either.flatMap(decodeWith(CommandHooksConfig)(config, "hooks", options), (table) => {
    const specs: Array<CommandHookSpec> = []
    for (const [name, entries] of Object.entries(table)) {
      const event = checkEvent(name, `hooks.${name}`, options)
      if (Either.isLeft(event)) return Either.left(event.left)
      if (event.right === undefined) continue
      entries.forEach((entry, i) => {
        const path = `hooks.${name}[${i}]`
        specs.push({
          event: event.right!,
          command: entry.command,
          name: entry.name ?? path,
          matcher: entry.matcher,
          dialect: entry.dialect ?? "strata",
          timeoutMs: (entry.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
          // Hooks of another tool keep that tool's failure rule: only a block blocks.
          onError: entry.on_error ?? (entry.dialect === undefined || entry.dialect === "strata" ? undefined : "allow"),
          priority: entry.priority ?? 0,
          shell: entry.shell ?? "sh",
          maxOutputBytes: entry.max_output_bytes ?? DEFAULT_MAX_OUTPUT_BYTES,
          env: entry.env ?? {},
          path
        })
      })
    }
    return Either.right(specs)
  })

/**
 * Reads Claude Code's hooks format (`.claude/settings.json` or a plugin's
 * `hooks/hooks.json`):
 * `{"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "...", "timeout": 10}]}]}}`.
 * Matchers use the Claude dialect; `timeout` is in seconds (default 10).
 * Hook types other than `command` fail with `UnsupportedHookType`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromClaudeSettings = (
  settings: unknown,
  options: ReadOptions = {}
): Either.Either<ReadonlyArray<CommandHookSpec>, HookConfigError> =>
  Either.flatMap(decodeWith(ClaudeSettings)(settings, "", options), (parsed) => {
    const specs: Array<CommandHookSpec> = []
    for (const [name, groups] of Object.entries(parsed.hooks)) {
      const event = checkEvent(name, `hooks.${name}`, options)
      if (Either.isLeft(event)) return Either.left(event.left)
      if (event.right === undefined) continue
      for (let g = 0; g < groups.length; g++) {
        const group = groups[g]!
        for (let h = 0; h < group.hooks.length; h++) {
          const hook = group.hooks[h]!
          const path = `hooks.${name}[${g}].hooks[${h}]`
          if (hook.type !== "command") {
            return Either.left(
              configError(
                "UnsupportedHookType",
                `${path}.type`,
                `hook type ${JSON.stringify(hook.type)} is not supported (only "command")`,
                options
              )
            )
          }
          if (hook.command === undefined || hook.command === "") {
            return Either.left(
              configError("InvalidConfig", `${path}.command`, "a command hook needs a command", options)
            )
          }
          specs.push({
            event: event.right,
            command: hook.command,
            name: path,
            matcher: group.matcher,
            dialect: "claude",
            timeoutMs: (hook.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
            // Claude Code: only exit 2 blocks; other failures are non-blocking errors.
            onError: "allow",
            priority: 0,
            shell: "sh",
            maxOutputBytes: DEFAULT_MAX_OUTPUT_BYTES,
            env: {},
            path
          })
        }
      }
    }
    return Either.right(specs)
  })

/**
 * Reads a Claude Code settings / `hooks.json` file.
 *
 * @since 0.1.0
 * @category constructors
 */
export const loadClaudeSettings = Effect.fn("CommandHook.loadClaudeSettings")(function* (
  path: string,
  options: Omit<ReadOptions, "source"> = {}
) {
  const fs = yield* FileSystem.FileSystem
  const read: ReadOptions = { ...options, source: path }
  const text = yield* fs
    .readFileString(path)
    .pipe(Effect.mapError((e) => configError("ReadFailed", "", `cannot read the file: ${e.message}`, read, e)))
  const json = yield* Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: (e) => configError("InvalidConfig", "", `not valid JSON: ${String((e as Error).message)}`, read, e)
  })
  return yield* fromClaudeSettings(json, read)
})

/**
 * Options of `toHook` / `register`: the working directory of the commands
 * (also `CLAUDE_PROJECT_DIR`; default: the event's `cwd`, else the process
 * directory), extra environment variables, and the owner named in hook ids.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  readonly cwd?: string | undefined
  readonly env?: Readonly<Record<string, string>> | undefined
  readonly owner?: string | undefined
}

/**
 * Turns a spec into a hook definition that runs the command with the given
 * executor.
 *
 * @since 0.1.0
 * @category constructors
 */
export const toHook = (
  spec: CommandHookSpec,
  executor: CommandExecutor.CommandExecutor,
  options: Omit<RunOptions, "owner"> = {}
): Hook.Any => {
  const run: internal.RunSpec = {
    id: spec.name,
    command: spec.command,
    shell: spec.shell,
    timeoutMs: spec.timeoutMs,
    maxOutputBytes: spec.maxOutputBytes,
    env: { ...options.env, ...spec.env },
    cwd: options.cwd
  }
  const theirs = (tools: ReadonlyArray<Dialects.Alias>, gemini: boolean) => (event: HookEvent.HookEvent) =>
    Effect.map(
      internal.run(
        executor,
        gemini ? { ...run, dialect: "gemini" } : run,
        gemini ? event : (Dialects.toTheirEvent("codex", event as never) as unknown as HookEvent.HookEvent)
      ),
      (output) => {
        const tool = (event as { readonly tool_name?: unknown }).tool_name
        return output?.updatedInput === undefined || typeof tool !== "string"
          ? output
          : { ...output, updatedInput: Dialects.fromTheirInput(tools, tool, output.updatedInput) }
      }
    )
  return {
    event: spec.event,
    name: spec.name,
    kind: "command",
    matcher: spec.matcher,
    matcherDialect: spec.dialect,
    priority: spec.priority,
    timeout: spec.timeoutMs,
    onError: spec.onError,
    run:
      spec.dialect === "gemini"
        ? theirs(Dialects.geminiTools, true)
        : spec.dialect === "codex"
          ? theirs(Dialects.codexTools, false)
          : spec.dialect === "claude"
            ? (event) =>
                Effect.map(internal.run(executor, run, ClaudeCode.toClaudeEvent(event)), (output) => {
                  // Claude's fields back to the Strata tool's input.
                  const tool = (event as { readonly tool_name?: unknown }).tool_name
                  return output?.updatedInput === undefined || typeof tool !== "string"
                    ? output
                    : { ...output, updatedInput: ClaudeCode.fromClaudeInput(tool, output.updatedInput) }
                })
            : (event) => internal.run(executor, run, event)
  }
}

/**
 * A command hook on a tool event whose matcher matches none of the given
 * tool names: most likely a mistake (`matcher = "exec"` where the tool is
 * `shell__exec`).
 *
 * @since 0.1.0
 * @category models
 */
export interface UnmatchedHook {
  readonly spec: CommandHookSpec
  readonly message: string
}

/**
 * The hooks on tool events (`PreToolUse`, `PostToolUse`,
 * `PostToolUseFailure`, `PermissionRequest`) whose matcher matches none of
 * `toolNames`. A matcher that names MCP tools (`mcp__...`) is not reported:
 * their tools are known only once the servers run.
 *
 * @since 0.1.0
 * @category utils
 */
export const unmatched = (
  specs: ReadonlyArray<CommandHookSpec>,
  toolNames: ReadonlyArray<string>
): ReadonlyArray<UnmatchedHook> =>
  specs.flatMap((spec) => {
    if (HookEvent.catalog[spec.event].matchOn !== "tool_name") return []
    if (spec.matcher?.includes("mcp__")) return []
    const matcher = Matcher.compile(spec.matcher, { dialect: spec.dialect })
    if (Either.isLeft(matcher) || matcher.right.matchesAll) return []
    if (toolNames.some((name) => matcher.right.test(name))) return []
    return [
      {
        spec,
        message: `${spec.path}: matcher ${JSON.stringify(spec.matcher)} matches no tool (tools: ${toolNames.join(", ")})`
      }
    ]
  })

/**
 * Registers command hooks with the dispatcher for the lifetime of the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const register = (
  specs: ReadonlyArray<CommandHookSpec>,
  options: RunOptions = {}
): Effect.Effect<
  ReadonlyArray<Hook.HookInfo>,
  HookConfigError,
  HookDispatcher | CommandExecutor.CommandExecutor | Scope.Scope
> =>
  Effect.gen(function* () {
    const executor = yield* CommandExecutor.CommandExecutor
    const dispatcher = yield* HookDispatcher
    return yield* dispatcher.register(
      specs.map((spec) => toHook(spec, executor, options)),
      { owner: options.owner ?? "config" }
    )
  }).pipe(Effect.withSpan("CommandHook.register"))
