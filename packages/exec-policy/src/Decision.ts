/**
 * What `ExecPolicy.check` returns: the decision on a command string and its
 * explanation (every simple command found, the rule that matched it, the
 * reason for any forced `ask`), as plain JSON-ready data with schemas, and
 * the approval modes applied after the decision.
 *
 * @since 0.1.0
 */
import * as Tool from "@strata/protocol/Tool"
import * as Schema from "effect/Schema"

/**
 * `allow` (run it), `ask` (ask a person first) or `deny` (refuse).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Verdict = Schema.Literal("allow", "ask", "deny").annotations({ identifier: "ExecPolicy.Verdict" })
/** @since 0.1.0 @category models */
export type Verdict = typeof Verdict.Type

/**
 * Where a rule file sits in the layering, lowest first: `builtin` < `user` <
 * `project` < `cli`. Rules of all layers apply together (the strictest
 * matching rule wins); the highest layer that sets `default` sets it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RuleLayer = Schema.Literal("builtin", "user", "project", "cli").annotations({
  identifier: "ExecPolicy.RuleLayer"
})
/** @since 0.1.0 @category models */
export type RuleLayer = typeof RuleLayer.Type

/**
 * Why a command is at least `ask`:
 * `empty` (nothing to run), `parse-error` (not valid bash), `too-large`,
 * `too-deep` and `time-budget` (refused within the limits), `unmodeled` (a
 * construct the engine does not model), `dynamic-command` (the program name
 * is computed: `$cmd`, `$(...)`, a glob), `eval` (`eval`, `source`, `.`,
 * `trap`), `dangerous-env` (assigning `PATH`, `LD_PRELOAD`, ...),
 * `function-definition`, `arithmetic-variable` (a variable evaluated as
 * arithmetic), `unsafe-expansion` (indirect or prompt expansion),
 * `output-redirection` (writing a file without `allow_redirection`),
 * `heredoc-to-shell`, `shell-stdin` (a shell reading commands from stdin),
 * `dynamic-script` (`bash -c "$x"`), `wrapper-option` (a wrapper option the
 * engine does not model), `dynamic-argument` (a computed argument may match a
 * `deny` / `ask` rule).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ReasonCode = Schema.Literal(
  "empty",
  "parse-error",
  "too-large",
  "too-deep",
  "time-budget",
  "unmodeled",
  "dynamic-command",
  "eval",
  "dangerous-env",
  "function-definition",
  "arithmetic-variable",
  "unsafe-expansion",
  "output-redirection",
  "heredoc-to-shell",
  "shell-stdin",
  "dynamic-script",
  "wrapper-option",
  "dynamic-argument",
  "startup-file",
  "protected-path",
  "dialect"
).annotations({ identifier: "ExecPolicy.ReasonCode" })
/** @since 0.1.0 @category models */
export type ReasonCode = typeof ReasonCode.Type

/**
 * A reason that forced `ask`, with its 1-based position in the command
 * string (inside a `bash -c` script: the position of the outer command).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Reason = Schema.Struct({
  code: ReasonCode,
  message: Schema.String,
  line: Schema.Number,
  column: Schema.Number
}).annotations({ identifier: "ExecPolicy.Reason" })
/** @since 0.1.0 @category models */
export type Reason = typeof Reason.Type

/**
 * The rule that decided a command: where it is (file and 1-based line of
 * its `[[rule]]`), its layer, its prefix as written, its decision.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RuleRef = Schema.Struct({
  file: Schema.String,
  line: Schema.Number,
  layer: RuleLayer,
  prefix: Schema.String,
  decision: Verdict,
  justification: Schema.optional(Schema.String),
  allow_redirection: Schema.Boolean
}).annotations({ identifier: "ExecPolicy.RuleRef" })
/** @since 0.1.0 @category models */
export type RuleRef = typeof RuleRef.Type

/**
 * How a command's decision was reached: a `rule` matched, no rule matched
 * (`default`), or it is a declaration builtin (`export`, `declare`, `local`,
 * `readonly`, `typeset`, `unset`) that only sets variables and no rule
 * matched it (`builtin`: allowed once its assignments pass the checks).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Source = Schema.Literal("rule", "default", "builtin").annotations({ identifier: "ExecPolicy.Source" })
/** @since 0.1.0 @category models */
export type Source = typeof Source.Type

/**
 * One simple command the shell would run. `argv` is after quote removal
 * (a computed word is shown as written, e.g. `$HOME`); `via` lists the
 * wrappers it was found through (`timeout`, `bash -c`, `xargs`,
 * `find -exec`); `decision` is this command's own, forced asks included.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CommandExplanation = Schema.Struct({
  text: Schema.String,
  argv: Schema.Array(Schema.String),
  line: Schema.Number,
  column: Schema.Number,
  via: Schema.Array(Schema.String),
  decision: Verdict,
  source: Source,
  rule: Schema.NullOr(RuleRef),
  reasons: Schema.Array(Reason)
}).annotations({ identifier: "ExecPolicy.CommandExplanation" })
/** @since 0.1.0 @category models */
export type CommandExplanation = typeof CommandExplanation.Type

/**
 * The decision on a command string. `decision` is final (after the approval
 * mode); `policy_decision` is the rules' decision before it. `reasons` holds
 * every reason that forced `ask`, those of single commands included.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Decision = Schema.Struct({
  command: Schema.String,
  decision: Verdict,
  policy_decision: Verdict,
  approval: Tool.AskForApproval,
  cwd: Schema.optional(Schema.String),
  commands: Schema.Array(CommandExplanation),
  reasons: Schema.Array(Reason)
}).annotations({ identifier: "ExecPolicy.Decision" })
/** @since 0.1.0 @category models */
export type Decision = typeof Decision.Type

/**
 * Whether every command was allowed by a rule (not by `default = "allow"`,
 * not as a declaration builtin) and nothing forced `ask`. `untrusted` asks
 * for everything else.
 *
 * @since 0.1.0
 * @category utils
 */
export const isExplicitlyAllowed = (d: Decision): boolean =>
  d.policy_decision === "allow" &&
  d.reasons.length === 0 &&
  d.commands.length > 0 &&
  d.commands.every((c) => c.source === "rule" && c.decision === "allow")

/**
 * Applies an approval mode to a decision, after the rules decided:
 * `never` turns `ask` into `deny` (no one to ask); `untrusted` asks for
 * everything not explicitly allowed; `on-request` (the default) keeps the
 * decision; `on-failure` behaves as `on-request` for now (Strata has no
 * sandbox to fail out of yet). `deny` always stays `deny`.
 *
 * @since 0.1.0
 * @category utils
 */
export const applyApproval = (d: Decision, approval: Tool.AskForApproval): Decision => {
  const policy = d.policy_decision
  let decision: Verdict = policy
  if (approval === "untrusted" && policy === "allow" && !isExplicitlyAllowed(d)) decision = "ask"
  else if (approval === "never" && policy === "ask") decision = "deny"
  return decision === d.decision && approval === d.approval ? d : { ...d, decision, approval }
}

const quoteArgv = (argv: ReadonlyArray<string>): string => JSON.stringify(escapeControls(argv.join(" ")))

/** Characters a terminal acts on or hides: C0/C1 controls, DEL, bidi overrides, zero-width and odd spaces. */
const CONTROLS =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00a0\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]/g

/**
 * A command (or any text from a model) made safe to show a person: every
 * character a terminal would act on or that hides text (`\r`, ANSI escape
 * sequences, backspace, bidi overrides, zero-width and non-ASCII spaces) is
 * written as a visible escape (`\r`, `\x1b`, `\u202e`). Tabs and newlines
 * stay as they are.
 *
 * @since 0.2.0
 * @category utils
 */
export const escapeControls = (text: string): string =>
  text.replace(CONTROLS, (c) => {
    const code = c.charCodeAt(0)
    if (c === "\r") return "\\r"
    if (c === "\v") return "\\v"
    if (c === "\f") return "\\f"
    if (c === "\b") return "\\b"
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`
  })

const ruleText = (r: RuleRef): string =>
  `${r.decision} rule ${r.prefix} (${r.file}:${r.line}${r.justification === undefined ? "" : `: ${r.justification}`})`

/**
 * One line saying why a command got its decision, for a tool result or an
 * approval prompt: the first denied command and its rule, else the first
 * reason that forced `ask`, else the first command that asks.
 *
 * @since 0.1.0
 * @category utils
 */
export const summary = (d: Decision): string => {
  const mode = d.decision !== d.policy_decision ? ` (approval mode ${d.approval})` : ""
  if (d.policy_decision === "allow") {
    return d.decision === "allow"
      ? d.commands.length === 0
        ? "allowed: runs no program"
        : `allowed: ${d.commands.map((c) => quoteArgv(c.argv)).join(", ")} matched allow rules`
      : `asks${mode}: not every command was allowed by a rule`
  }
  const verb = d.decision === "deny" ? "denied" : "asks"
  const denied = d.commands.find((c) => c.decision === "deny")
  if (denied !== undefined && denied.rule !== null) {
    return `${verb}${mode}: ${quoteArgv(denied.argv)} matches ${ruleText(denied.rule)}`
  }
  const reason = d.reasons[0]
  if (reason !== undefined) return `${verb}${mode}: ${escapeControls(reason.message)}`
  const asking = d.commands.find((c) => c.decision !== "allow")
  if (asking !== undefined) {
    return `${verb}${mode}: ${quoteArgv(asking.argv)} ${
      asking.rule === null ? "matches no rule (default)" : `matches ${ruleText(asking.rule)}`
    }`
  }
  return `${verb}${mode}`
}

/**
 * Renders a decision for people: the verdict, then each simple command
 * with its rule (file:line) or why it was decided so, then the reasons.
 *
 * @since 0.1.0
 * @category utils
 */
export const format = (d: Decision): string => {
  const lines: Array<string> = []
  const mode = d.decision === d.policy_decision ? "" : ` (rules: ${d.policy_decision}; approval mode ${d.approval})`
  lines.push(`${d.decision}${mode}: ${escapeControls(d.command)}`)
  for (const c of d.commands) {
    const via = c.via.length === 0 ? "" : ` via ${c.via.join(" > ")}`
    const why =
      c.rule !== null
        ? `rule ${c.rule.prefix} -> ${c.rule.decision} (${c.rule.file}:${c.rule.line}${
            c.rule.justification === undefined ? "" : `: ${c.rule.justification}`
          })`
        : c.source === "builtin"
          ? "declaration builtin, no rule needed"
          : "no rule matched: default"
    lines.push(`  ${c.decision.padEnd(5)} ${c.line}:${c.column} ${JSON.stringify(c.argv)}${via} - ${why}`)
    for (const r of c.reasons) lines.push(`          ask: ${escapeControls(r.message)} [${r.code}]`)
  }
  const own = new Set(d.commands.flatMap((c) => c.reasons))
  for (const r of d.reasons) {
    if (!own.has(r)) lines.push(`  ask   ${r.line}:${r.column} ${escapeControls(r.message)} [${r.code}]`)
  }
  return lines.join("\n")
}
