/**
 * Other names for configuration keys. A schema declares them once, as an
 * annotation; `Config.load` reads what a source sets under an alias as the
 * key it stands for (its origin still names the alias's line), and refuses a
 * source that sets both.
 *
 * @since 0.2.0
 */
import type * as Schema from "effect/Schema"

/**
 * The annotation holding a schema's aliases (`{ alias: key }`, top-level keys).
 *
 * @since 0.2.0
 * @category annotations
 */
export const AliasesId: unique symbol = Symbol.for("@strata/core-runtime/ConfigAliases")

/**
 * Declares top-level aliases on a struct schema: `{ alias: key }`.
 *
 * @since 0.2.0
 * @category combinators
 */
export const withAliases =
  (aliases: Readonly<Record<string, string>>) =>
  <S extends Schema.Annotable.All>(schema: S): S =>
    schema.annotations({ [AliasesId]: aliases }) as S
