/**
 * What the commands share: the `--json` option, the session options from the
 * process, printing a value as JSON or text, and user-facing errors.
 *
 * @since 0.1.0
 */
import * as Options from "@effect/cli/Options"

/**
 * `--json`: machine-readable output.
 *
 * @since 0.1.0
 * @category options
 */
export const json = Options.boolean("json").pipe(Options.withDescription("Print JSON instead of text"))

/**
 * `--approval`: the approval mode (else the config's `approval_policy`,
 * else `on-request`), for every command that runs or decides a turn.
 *
 * @since 0.2.0
 * @category options
 */
export const approval = Options.choice("approval", ["untrusted", "on-failure", "on-request", "never"]).pipe(
  Options.optional,
  Options.withDescription(
    "Approval mode: never (ask becomes deny), on-request (default), on-failure, untrusted; default: the config's approval_policy"
  )
)

export {
  /** @since 0.1.0 */
  ago,
  /** @since 0.1.0 */
  CliError,
  /** @since 0.1.0 */
  exit,
  /** @since 0.1.0 */
  print,
  /** @since 0.1.0 */
  processOptions
} from "./Base.js"
