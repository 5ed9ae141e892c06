/**
 * `strata policy`: the exec-policy commands.
 *
 * `strata policy check --rules FILE [--rules FILE...] [--json] -- <command>`
 * decides one command and prints the decision with its explanation (human
 * text, or JSON with `--json`).
 *
 * `strata policy check --rules FILE --jsonl` reads lines
 * `{"id": ..., "command": "..."}` on stdin and writes one line
 * `{"id": ..., "decision": "allow|ask|deny", ...}` per input, in order. A line
 * that is not valid JSON (or has no `command` string) gets
 * `{"id": null, "error": "..."}` and the stream goes on.
 *
 * The policy is the one `strata run` and the chat use (`RuntimePolicy`, the
 * same function builds both): built-in < the distribution's
 * `policy/strata.toml` < user (`$XDG_CONFIG_HOME/strata/policy.toml`, else
 * `~/.config/strata/policy.toml`; `~/.strata/policy.toml`) < project
 * (`./.strata/policy.toml`) < the config's `[policy] rules` < each `--rules`
 * in order; `[policy] builtin = false` drops the first two. `--isolated`
 * keeps only the built-in defaults and `--rules` (a rule file checked on its
 * own; the config is not read). The text output names every
 * layer (`layers: built-in, distribution <file>, user <file> (absent), ...`);
 * `--json` adds `layers`.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as NodeSink from "@effect/platform-node/NodeSink"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as RuntimePolicy from "@strata/core-runtime/RuntimePolicy"
import { Decision, ExecPolicy } from "@strata/exec-policy"
import * as Chunk from "effect/Chunk"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { approval, processOptions } from "../common.js"
import * as Distribution from "../Distribution.js"

const rules = Options.file("rules").pipe(
  Options.repeated,
  Options.withDescription("A TOML rule file (repeatable; later files are higher layers)")
)
const json = Options.boolean("json").pipe(Options.withDescription("Print the decision as JSON"))
const jsonl = Options.boolean("jsonl").pipe(
  Options.withDescription('Batch mode: read {"id","command"} lines on stdin, write one decision line per input')
)
const isolated = Options.boolean("isolated").pipe(
  Options.withDescription("Only the built-in defaults and --rules: no distribution, user, project or config rules")
)
const cwd = Options.text("cwd").pipe(
  Options.optional,
  Options.withDescription("Working directory recorded in the decision")
)
const command = Args.text({ name: "command" }).pipe(
  Args.repeated,
  Args.withDescription("The command to decide (after --); its words are joined with spaces")
)

/**
 * The session's policy and its layers: what `strata run` would use, from
 * the same config (`[policy]`), plus `--rules`. `--isolated` reads no config.
 */
const sessionPolicy = (rulesFiles: ReadonlyArray<string>, isolated: boolean) =>
  Effect.gen(function* () {
    const options = processOptions()
    const loaded = isolated ? undefined : (yield* Distribution.loadConfig(options)).value
    const config = loaded === undefined ? { rules: [], builtin: true } : loaded.policy
    // the project's approved rules ("approve always" in the console or over the wire) too, as a session reads them
    const made = yield* RuntimePolicy.make(
      config,
      Distribution.policyOptions(options, { rules: rulesFiles, isolated, approved: !isolated })
    )
    // the approval mode `run` would use without --approval
    return { ...made, approval: loaded?.approval_policy ?? ("on-request" as const) }
  })

/**
 * The command line was wrong in a way the option parser cannot see.
 *
 * @since 0.1.0
 * @category errors
 */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly detail: string }> {
  override get message(): string {
    return this.detail
  }
}

type BatchLine = { readonly id: unknown; readonly command: string } | { readonly id: unknown; readonly error: string }

/** Reads one batch line; never fails. */
const parseLine = (line: string): BatchLine => {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch (error) {
    return { id: null, error: `invalid JSON: ${error instanceof Error ? error.message : String(error)}` }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { id: null, error: 'expected an object {"id": ..., "command": "..."}' }
  }
  const record = value as Record<string, unknown>
  const id = record["id"] ?? null
  if (typeof record["command"] !== "string") return { id, error: 'missing "command" string' }
  return { id, command: record["command"] }
}

const check = Command.make("check", { rules, json, jsonl, approval, isolated, cwd, command }, (options) =>
  Effect.gen(function* () {
    const single = options.command.join(" ")
    if (options.jsonl && options.command.length > 0) {
      return yield* new UsageError({ detail: "give either --jsonl or a command after --, not both" })
    }
    if (!options.jsonl && options.command.length === 0) {
      return yield* new UsageError({ detail: "nothing to check: give a command after --, or use --jsonl" })
    }
    const made = yield* sessionPolicy(options.rules, options.isolated)
    const policy = made.policy
    const home = process.env["HOME"]
    const checkOptions = {
      approval: Option.getOrElse(options.approval, () => made.approval),
      ...(Option.isSome(options.cwd) ? { cwd: options.cwd.value } : {}),
      ...(home === undefined ? {} : { home })
    }
    if (!options.jsonl) {
      const decision = yield* policy.check(single, checkOptions)
      yield* Console.log(
        options.json
          ? JSON.stringify({ ...decision, dialect: ExecPolicy.dialect, layers: made.layers }, null, 2)
          : `${Decision.format(decision)}\nlayers: ${RuntimePolicy.describe(made.layers).join(", ")}\ndialect: ${ExecPolicy.dialectDescription}`
      )
      return
    }
    yield* NodeStream.stdin.pipe(
      Stream.decodeText(),
      Stream.splitLines,
      Stream.filter((line) => line.trim() !== ""),
      // One write per chunk of input lines; decisions stay in input order.
      Stream.mapChunks((lines) => {
        let out = ""
        for (const line of lines) {
          const parsed = parseLine(line)
          if ("error" in parsed) out += `${JSON.stringify({ id: parsed.id, error: parsed.error })}\n`
          else {
            const decision = policy.checkSync(parsed.command, checkOptions)
            out += `${JSON.stringify({ id: parsed.id, ...decision, dialect: ExecPolicy.dialect })}\n`
          }
        }
        return Chunk.of(out)
      }),
      Stream.run(NodeSink.stdout)
    )
  })
).pipe(Command.withDescription("Decide allow / ask / deny for a shell command, with the explanation"))

/**
 * `strata policy` and its subcommands.
 *
 * @since 0.1.0
 * @category commands
 */
export const policy = Command.make("policy").pipe(
  Command.withDescription("Execution policy: decide what shell commands may run"),
  Command.withSubcommands([check])
)
