/**
 * `strata config show | validate`: the layered configuration with the origin
 * of every value, and a check that names the file, line and field of the
 * first problem.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import { Config } from "@strata/core-runtime"
import * as Effect from "effect/Effect"
import { json, print, processOptions } from "../common.js"
import * as Distribution from "../Distribution.js"

const show = Command.make("show", { json }, (o) =>
  Effect.gen(function* () {
    const loaded = yield* Distribution.loadConfig(processOptions())
    yield* print(
      o.json,
      {
        config: loaded.value,
        origins: Object.fromEntries(loaded.origins),
        warnings: loaded.warnings
      },
      () =>
        [
          Config.show(loaded as Config.Loaded<unknown>),
          ...loaded.warnings.map((w) => `warning: ${w.path}: ${w.message}`)
        ].join("\n")
    )
  })
).pipe(Command.withDescription("Show the effective configuration, each value with where it came from"))

const validate = Command.make("validate", { json }, (o) =>
  Effect.gen(function* () {
    const loaded = yield* Distribution.loadConfig(processOptions())
    yield* print(o.json, { ok: true, warnings: loaded.warnings }, (v) =>
      [
        `config ok${v.warnings.length === 0 ? "" : ` (${v.warnings.length} warning${v.warnings.length === 1 ? "" : "s"})`}`,
        ...v.warnings.map((w) => `warning: ${w.path}: ${w.message}`)
      ].join("\n")
    )
  })
).pipe(Command.withDescription("Check the configuration files; errors name the file, line and field"))

/**
 * @since 0.1.0
 * @category commands
 */
export const config = Command.make("config").pipe(
  Command.withDescription("Show and validate the configuration (~/.strata/config.toml, .strata/config.toml, STRATA_*)"),
  Command.withSubcommands([show, validate])
)
