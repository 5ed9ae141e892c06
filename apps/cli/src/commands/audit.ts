/**
 * `strata audit verify [--file PATH] [--json]`: checks the audit log's hash
 * chain (each line carries the hash of the line before; the head file
 * beside the log records the last one). Prints `audit log ok: …` and exits
 * 0, or names the first broken line (number, what was expected and what
 * was found) and exits 1.
 *
 * The log is `--file` (relative to the working directory), else
 * `$STRATA_AUDIT_LOG`, else `.strata/audit.jsonl`: where the audit-log
 * plugin writes it.
 *
 * @since 0.2.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Path from "@effect/platform/Path"
import { AuditLog } from "@strata/plugin-audit-log"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CliError, exit, json, print } from "../common.js"

const file = Options.text("file").pipe(
  Options.optional,
  Options.withDescription("The audit log (default: $STRATA_AUDIT_LOG, else .strata/audit.jsonl)")
)

const verify = Command.make("verify", { json, file }, (o) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const fromEnv = process.env.STRATA_AUDIT_LOG
    const target = path.resolve(
      process.cwd(),
      Option.getOrElse(o.file, () =>
        fromEnv !== undefined && fromEnv !== "" ? fromEnv : path.join(".strata", "audit.jsonl")
      )
    )
    const result = yield* AuditLog.verifyFile(target).pipe(Effect.mapError((detail) => new CliError({ detail })))
    yield* print(o.json, { file: target, ...result }, (r) =>
      r.ok
        ? `audit log ok: ${r.lines} line${r.lines === 1 ? "" : "s"} (${r.chained} chained${r.legacy > 0 ? `, ${r.legacy} from before the chain` : ""}), head ${r.head}${r.anchored ? "" : " (no head file: a cut-off tail would not be noticed)"}\n${target}`
        : `audit log broken at line ${r.line} (${r.reason}): ${r.detail}\n  expected: ${r.expected}\n  found:    ${r.found}\n${target}`
    )
    if (!result.ok) yield* exit(1)
  })
).pipe(Command.withDescription("Check the audit log's hash chain; exit 1 naming the first broken line"))

/**
 * @since 0.2.0
 * @category commands
 */
export const audit = Command.make("audit").pipe(
  Command.withDescription("The audit log: verify its hash chain"),
  Command.withSubcommands([verify])
)
