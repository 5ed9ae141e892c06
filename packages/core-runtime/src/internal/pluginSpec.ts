/** The schema of a plugin in config (re-exported by `PluginLoader`). */
import * as Schema from "effect/Schema"

/**
 * A plugin in config: a spec string, or `{ spec, required }` (`required`
 * defaults to true).
 */
export const PluginSpec = Schema.Union(
  Schema.String.pipe(Schema.minLength(1)),
  Schema.Struct({ spec: Schema.String.pipe(Schema.minLength(1)), required: Schema.optional(Schema.Boolean) })
).annotations({ identifier: "PluginSpec" })
export type PluginSpec = typeof PluginSpec.Type
