/**
 * The errors of `@strata/plugin`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Why a plugin could not be loaded or installed:
 * - `NotFound`: the module does not exist;
 * - `ImportFailed`: importing it threw (syntax error, a missing dependency, a
 *   top-level throw);
 * - `InvalidPlugin`: the module's export is not a valid plugin (`path` names
 *   the field: `tools[1].name`, `hooks[0].matcher`, ...);
 * - `Collision`: a plugin id or tool name is already taken (`other` names the
 *   first owner);
 * - `LayerFailed`: the plugin's layer failed to build.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PluginLoadErrorReason = Schema.Literal(
  "NotFound",
  "ImportFailed",
  "InvalidPlugin",
  "Collision",
  "LayerFailed"
)
/** @since 0.1.0 @category models */
export type PluginLoadErrorReason = typeof PluginLoadErrorReason.Type

/**
 * A plugin failed to load. `plugin` is how it was named (its config spec, or
 * its id once known).
 *
 * @since 0.1.0
 * @category errors
 */
export class PluginLoadError extends Schema.TaggedError<PluginLoadError>("@strata/plugin/PluginLoadError")(
  "PluginLoadError",
  {
    plugin: Schema.String,
    reason: PluginLoadErrorReason,
    detail: Schema.String,
    path: Schema.optional(Schema.String),
    other: Schema.optional(Schema.String),
    /** Where an import failed (a syntax error, a throw at import time). */
    file: Schema.optional(Schema.String),
    line: Schema.optional(Schema.Number),
    column: Schema.optional(Schema.Number),
    cause: Schema.optional(Schema.Defect)
  }
) {
  override get message(): string {
    const at = this.path === undefined ? "" : ` at "${this.path}"`
    return `Plugin ${JSON.stringify(this.plugin)} failed to load (${this.reason})${at}: ${this.detail}`
  }
}

/**
 * A tool's input did not match its schema. The message is written for the
 * model: what is wrong, where, and what to do.
 *
 * @since 0.1.0
 * @category errors
 */
export class ToolInputError extends Schema.TaggedError<ToolInputError>("@strata/plugin/ToolInputError")(
  "ToolInputError",
  {
    tool: Schema.String,
    path: Schema.String,
    issues: Schema.Array(Schema.Struct({ path: Schema.String, message: Schema.String }))
  }
) {
  override get message(): string {
    const lines = this.issues.map((i) => `- ${i.path === "" ? "(input)" : i.path}: ${i.message}`)
    return `Invalid input for tool "${this.tool}":\n${lines.join("\n")}\nRewrite the input so it satisfies the tool's input schema.`
  }
}

/**
 * A tool returned a value that does not match its output schema (a bug in the
 * tool, not the model's fault).
 *
 * @since 0.1.0
 * @category errors
 */
export class ToolOutputError extends Schema.TaggedError<ToolOutputError>("@strata/plugin/ToolOutputError")(
  "ToolOutputError",
  {
    tool: Schema.String,
    path: Schema.String,
    detail: Schema.String
  }
) {
  override get message(): string {
    const at = this.path === "" ? "" : ` at "${this.path}"`
    return `Tool "${this.tool}" returned invalid output${at}: ${this.detail}`
  }
}

/**
 * A tool failed. Tools may fail with it directly; any other failure of a
 * tool's `run` is wrapped in it by `Tool.invoke`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ToolFailure extends Schema.TaggedError<ToolFailure>("@strata/plugin/ToolFailure")("ToolFailure", {
  tool: Schema.optional(Schema.String),
  detail: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return this.tool === undefined ? this.detail : `Tool "${this.tool}" failed: ${this.detail}`
  }
}
