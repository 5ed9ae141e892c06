/**
 * Errors raised while loading configuration.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A configuration source could not be read, parsed or decoded. `file` is the
 * source (a path, `env`, `cli` or `defaults`), `line`/`column` are 1-based
 * when known, `path` is the field path (`mcp_servers.fs.command`).
 *
 * @since 0.1.0
 * @category errors
 */
export class ConfigError extends Schema.TaggedError<ConfigError>("@strata/core-runtime/ConfigError")("ConfigError", {
  reason: Schema.Literal("Unreadable", "InvalidToml", "InvalidValue", "InvalidEnv"),
  file: Schema.String,
  line: Schema.optional(Schema.Number),
  column: Schema.optional(Schema.Number),
  path: Schema.optional(Schema.String),
  detail: Schema.String
}) {
  override get message(): string {
    const at = this.line === undefined ? "" : `:${this.line}${this.column === undefined ? "" : `:${this.column}`}`
    const field = this.path === undefined || this.path === "" ? "" : ` (${this.path})`
    return `${this.file}${at}${field}: ${this.detail}`
  }
}
