/**
 * `@strata/plugin-sample-guard`: a sample third-party plugin, built only on
 * `@strata/plugin`. It guards shell tool calls:
 *
 * - hook `guard` (PreToolUse on shell tools): denies `rm -rf /` and
 *   `curl ... | sh`, asks before `git push --force`;
 * - hook `safe-install` (PreToolUse on shell tools): rewrites `npm install`
 *   to `npm install --ignore-scripts` and tells the model why;
 * - hook `reminder` (SessionStart): tells the model the guard is active;
 * - tool `check_command` (exposed as `sample-guard__check_command`): lets the
 *   model ask whether a command would pass.
 *
 * The rules come from the `GuardRules` service, provided by the plugin's
 * layer.
 *
 * @since 0.1.0
 */
import { defineHook, definePlugin, defineTool, HookOutput } from "@strata/plugin"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

/**
 * One guard rule: a pattern on the command line and what it means.
 *
 * @since 0.1.0
 * @category models
 */
export interface Rule {
  readonly pattern: RegExp
  readonly decision: "deny" | "ask"
  readonly reason: string
}

/**
 * The rules the guard applies, first match wins.
 *
 * @since 0.1.0
 * @category tags
 */
export class GuardRules extends Context.Tag("@strata/plugin-sample-guard/GuardRules")<
  GuardRules,
  { readonly rules: ReadonlyArray<Rule> }
>() {}

/**
 * The default rules.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultRules: ReadonlyArray<Rule> = [
  {
    pattern: /\brm\s+-[a-zA-Z]*[rR][a-zA-Z]*\s+(\/|~)(\s|$)/,
    decision: "deny",
    reason: "recursive delete of / or ~ would destroy the machine"
  },
  {
    pattern: /\b(curl|wget)\b[^|]*\|\s*(ba|z)?sh\b/,
    decision: "deny",
    reason: "piping a download into a shell runs unreviewed code"
  },
  { pattern: /\bgit\s+push\b.*(--force\b|\s-f\b)/, decision: "ask", reason: "a force-push rewrites shared history" }
]

/**
 * The layer providing `rules` (default: `defaultRules`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (rules: ReadonlyArray<Rule> = defaultRules): Layer.Layer<GuardRules> =>
  Layer.succeed(GuardRules, { rules })

/**
 * The first rule matching `command`, if any.
 *
 * @since 0.1.0
 * @category utils
 */
export const check = (rules: ReadonlyArray<Rule>, command: string): Rule | undefined =>
  rules.find((rule) => rule.pattern.test(command))

/** The shell tools the hooks watch: Strata's, Claude Code's, and any plugin's `exec`. */
const SHELL_TOOLS = "exec|shell|Bash|*__exec"

const commandOf = (input: unknown): string | undefined =>
  typeof input === "object" && input !== null && "command" in input && typeof input.command === "string"
    ? input.command
    : undefined

/**
 * Tells the model whether a command would pass the guard.
 *
 * @since 0.1.0
 * @category tools
 */
export const CheckCommand = defineTool({
  name: "check_command",
  description:
    "Check whether a shell command would be allowed by the guard before running it. Returns allow, ask (a person must approve) or deny, with the reason.",
  input: Schema.Struct({
    command: Schema.String.pipe(Schema.minLength(1)).annotations({ description: "The shell command line to check" })
  }),
  output: Schema.Struct({
    decision: Schema.Literal("allow", "ask", "deny"),
    reason: Schema.optional(Schema.String)
  }),
  run: ({ command }) =>
    Effect.map(GuardRules, ({ rules }) => {
      const rule = check(rules, command)
      return rule === undefined ? { decision: "allow" as const } : { decision: rule.decision, reason: rule.reason }
    })
})

/**
 * Denies or asks before dangerous shell commands.
 *
 * @since 0.1.0
 * @category hooks
 */
export const Guard = defineHook({
  event: "PreToolUse",
  name: "guard",
  matcher: SHELL_TOOLS,
  priority: 100,
  run: (event) =>
    Effect.map(GuardRules, ({ rules }) => {
      const command = commandOf(event.tool_input)
      const rule = command === undefined ? undefined : check(rules, command)
      if (rule === undefined) return undefined
      return rule.decision === "deny" ? HookOutput.deny(`sample-guard: ${rule.reason}`) : HookOutput.ask(rule.reason)
    })
})

/**
 * Runs `npm install` without lifecycle scripts.
 *
 * @since 0.1.0
 * @category hooks
 */
export const SafeInstall = defineHook({
  event: "PreToolUse",
  name: "safe-install",
  matcher: SHELL_TOOLS,
  run: (event) => {
    const command = commandOf(event.tool_input)
    if (command === undefined || !/\bnpm\s+(install|i|ci)\b/.test(command) || command.includes("--ignore-scripts")) {
      return Effect.void
    }
    return Effect.succeed({
      ...HookOutput.updateInput({ ...(event.tool_input as object), command: `${command} --ignore-scripts` }),
      ...HookOutput.addContext("sample-guard added --ignore-scripts: dependency install scripts do not run here.")
    })
  }
})

/**
 * Tells the model the guard is on.
 *
 * @since 0.1.0
 * @category hooks
 */
export const Reminder = defineHook({
  event: "SessionStart",
  name: "reminder",
  run: () =>
    Effect.succeed(
      HookOutput.addContext(
        "sample-guard is active: destructive shell commands are blocked; use sample-guard__check_command to check one first."
      )
    )
})

/**
 * The plugin.
 *
 * @since 0.1.0
 * @category plugins
 */
export default definePlugin({
  id: "sample-guard",
  version: "0.1.0",
  description:
    "Guards shell tool calls: blocks destructive commands, asks before force-pushes, installs without scripts.",
  tools: [CheckCommand],
  hooks: [Guard, SafeInstall, Reminder],
  layer: layer()
})
