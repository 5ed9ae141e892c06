/**
 * The schemas of command hooks in Strata's config (`[[hooks.<Event>]]`),
 * apart from the code that runs them (`CommandHook`), so that reading the
 * config does not load the hook runtime. `CommandHook` re-exports them.
 *
 * @since 0.2.0
 */
import * as Common from "@strata/protocol/Common"
import * as Schema from "effect/Schema"
import { OnError } from "./HookOutput.js"

/**
 * One command hook in Strata's TOML config:
 *
 * ```toml
 * [[hooks.PreToolUse]]
 * matcher = "shell__exec|fs__write_file"   # Matcher, Strata dialect
 * command = "./hooks/guard.sh"
 * timeout = 5                   # seconds, default 10
 * on_error = "deny"             # default: deny on PreToolUse, allow elsewhere
 * priority = 10                 # higher runs first, default 0
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const CommandHookConfig = Schema.Struct({
  command: Schema.String.pipe(Schema.minLength(1)),
  name: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
  matcher: Schema.optional(Schema.String),
  timeout: Schema.optional(Schema.Number.pipe(Schema.positive(), Schema.finite())),
  on_error: Schema.optional(OnError),
  priority: Schema.optional(Schema.Number.pipe(Schema.finite())),
  shell: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
  max_output_bytes: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive())),
  env: Schema.optional(Common.Record({ key: Schema.String, value: Schema.String })),
  /**
   * The I/O the command expects: `strata` (default), `claude`, `codex` or
   * `gemini` (event and tool names, input fields, output and exit codes of
   * that tool; see `Dialects`). `strata import` writes it for imported hooks.
   */
  dialect: Schema.optional(Schema.Literal("strata", "claude", "codex", "gemini"))
}).annotations({ identifier: "CommandHookConfig" })
/** @since 0.1.0 @category models */
export type CommandHookConfig = typeof CommandHookConfig.Type

/**
 * The `[hooks]` table: event name to a list of command hooks.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CommandHooksConfig = Common.Record({
  key: Schema.String,
  value: Schema.Array(CommandHookConfig)
}).annotations({ identifier: "CommandHooksConfig" })
/** @since 0.1.0 @category models */
export type CommandHooksConfig = typeof CommandHooksConfig.Type
