/**
 * The configuration of the MCP servers Strata connects to, decoded with
 * `effect/Schema`. A server is stdio (`command`, `args`, `env`, `cwd`) or
 * streamable HTTP (`url`, `headers`; falls back to legacy SSE), with
 * `enabled`, `required`, `startup_timeout` and `tool_timeout`.
 *
 * ```toml
 * [servers.fs]
 * command = "npx"
 * args = ["-y", "@modelcontextprotocol/server-filesystem", "/work"]
 * startup_timeout = 20          # seconds, or "500 millis", "2m"
 *
 * [servers.docs]
 * url = "https://example.com/mcp"
 * headers = { Authorization = "Bearer ..." }
 * required = true
 * ```
 *
 * @since 0.1.0
 */

import { Record as SafeRecord } from "@strata/protocol/Common"
import { formatPath } from "@strata/protocol/ProtocolError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { McpConfigError } from "./McpError.js"
import { sanitize } from "./McpToolName.js"

const DURATION_RE =
  /^\s*(\d+(?:\.\d+)?)\s*(ms|milli|millis|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hours?)\s*$/i

const parseDuration = (input: number | string): Duration.Duration | undefined => {
  if (typeof input === "number") {
    return Number.isFinite(input) && input > 0 ? Duration.millis(Math.round(input * 1000)) : undefined
  }
  const m = DURATION_RE.exec(input)
  if (m === null) return undefined
  const n = Number(m[1])
  const unit = m[2]!.toLowerCase()
  const ms =
    unit.startsWith("ms") || unit.startsWith("milli")
      ? n
      : unit.startsWith("h")
        ? n * 3_600_000
        : unit === "m" || unit.startsWith("min")
          ? n * 60_000
          : n * 1000
  return ms > 0 ? Duration.millis(Math.round(ms)) : undefined
}

/**
 * A positive duration: a number of seconds (`10`, `0.5`) or a string with a
 * unit (`"500 millis"`, `"500ms"`, `"10s"`, `"2 minutes"`). Encodes back to
 * seconds.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Timeout = Schema.transformOrFail(Schema.Union(Schema.Number, Schema.String), Schema.DurationFromSelf, {
  strict: true,
  decode: (input, _, ast) => {
    const d = parseDuration(input)
    return d === undefined
      ? ParseResult.fail(
          new ParseResult.Type(
            ast,
            input,
            `expected a positive number of seconds or a duration such as "500ms", "10s", "2 minutes", got ${JSON.stringify(input)}`
          )
        )
      : ParseResult.succeed(d)
  },
  encode: (d) => ParseResult.succeed(Duration.toMillis(d) / 1000)
}).annotations({ identifier: "Timeout" })

const common = {
  enabled: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  /**
   * `untrusted` (default): its tools are asked about, unless an exec-policy
   * rule allows the tool by name; `trusted`: they run without asking.
   */
  trust: Schema.optionalWith(Schema.Literal("untrusted", "trusted"), { default: () => "untrusted" as const }),
  required: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  startup_timeout: Schema.optionalWith(Timeout, { default: () => Duration.seconds(10) }),
  tool_timeout: Schema.optionalWith(Timeout, { default: () => Duration.seconds(60) }),
  enabled_tools: Schema.optionalWith(Schema.Array(Schema.String), { exact: true }),
  disabled_tools: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
}

/**
 * The input form of a stdio server: the process to spawn. `env` is added to
 * a minimal inherited environment (`HOME`, `PATH`, `USER`, ...), as the SDK
 * does.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StdioServerInput = Schema.Struct({
  type: Schema.optionalWith(Schema.Literal("stdio"), { exact: true }),
  command: Schema.String.pipe(Schema.minLength(1, { message: () => "expected a non-empty command" })),
  args: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  env: Schema.optionalWith(SafeRecord({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
  cwd: Schema.optionalWith(Schema.String.pipe(Schema.minLength(1)), { exact: true }),
  ...common
}).annotations({ identifier: "StdioServerInput" })

const HttpUrl = Schema.String.pipe(
  Schema.filter((s) => {
    try {
      const u = new URL(s)
      return u.protocol === "http:" || u.protocol === "https:" ? true : `expected an http(s) URL, got ${u.protocol}`
    } catch {
      return `expected an absolute http(s) URL, got ${JSON.stringify(s)}`
    }
  })
)

/**
 * The input form of an HTTP server. `type` picks the transport:
 * `"http"` (default) tries streamable HTTP and falls back to legacy SSE when
 * the server answers the first POST with a 4xx; `"streamable-http"` and
 * `"sse"` force one.
 *
 * @since 0.1.0
 * @category schemas
 */
export const HttpServerInput = Schema.Struct({
  type: Schema.optionalWith(Schema.Literal("http", "streamable-http", "sse"), { exact: true }),
  url: HttpUrl,
  headers: Schema.optionalWith(SafeRecord({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
  ...common
}).annotations({ identifier: "HttpServerInput" })

/**
 * How a server that exits or drops is restarted: after
 * `initial_delay * factor^n` (capped at `max_delay`), at most
 * `max_attempts` times in a row; the count starts again once a connection
 * has stayed up for `reset_after`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RestartPolicy = Schema.Struct({
  max_attempts: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.nonNegative()), { default: () => 5 }),
  initial_delay: Schema.optionalWith(Timeout, { default: () => Duration.millis(500) }),
  max_delay: Schema.optionalWith(Timeout, { default: () => Duration.seconds(30) }),
  factor: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThanOrEqualTo(1)), { default: () => 2 }),
  reset_after: Schema.optionalWith(Timeout, { default: () => Duration.seconds(60) })
}).annotations({ identifier: "RestartPolicy" })
/** @since 0.1.0 @category models */
export type RestartPolicy = typeof RestartPolicy.Type

type Common = Omit<typeof StdioServerInput.Type, "type" | "command" | "args" | "env" | "cwd">

/**
 * A decoded stdio server.
 *
 * @since 0.1.0
 * @category models
 */
export interface StdioServerConfig extends Common {
  readonly name: string
  readonly transport: "stdio"
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly env: { readonly [key: string]: string }
  readonly cwd?: string
}

/**
 * A decoded HTTP server.
 *
 * @since 0.1.0
 * @category models
 */
export interface HttpServerConfig extends Common {
  readonly name: string
  readonly transport: "http" | "streamable-http" | "sse"
  readonly url: string
  readonly headers: { readonly [key: string]: string }
}

/**
 * @since 0.1.0
 * @category models
 */
export type ServerConfig = StdioServerConfig | HttpServerConfig

/**
 * The decoded configuration: servers in the order they were written, and
 * the restart policy.
 *
 * @since 0.1.0
 * @category models
 */
export interface McpConfig {
  readonly servers: ReadonlyArray<ServerConfig>
  readonly restart: RestartPolicy
}

/**
 * Options for {@link decode}. `strict` (default `true`) rejects unknown keys
 * with an `UnknownField` error; with `false` they are ignored (a caller that
 * reports unknown keys as warnings itself passes `false`).
 *
 * @since 0.1.0
 * @category models
 */
export interface DecodeOptions {
  readonly strict?: boolean | undefined
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const fromParseError = (server: string | undefined, prefix: string, error: ParseResult.ParseError): McpConfigError => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  const path = issue === undefined ? "" : formatPath(issue.path)
  const field = prefix === "" ? path : path === "" ? prefix : path.startsWith("[") ? prefix + path : `${prefix}.${path}`
  const unexpected = issue?._tag === "Unexpected"
  const missing = issue?._tag === "Missing"
  return new McpConfigError({
    reason: unexpected ? "UnknownField" : missing ? "MissingField" : "InvalidField",
    ...(server === undefined ? {} : { server }),
    field,
    detail: unexpected ? "unknown key" : (issue?.message ?? "invalid value")
  })
}

const decodeServer = (
  name: string,
  raw: unknown,
  onExcessProperty: "error" | "ignore"
): Either.Either<ServerConfig, McpConfigError> => {
  const fail = (reason: McpConfigError["reason"], field: string, detail: string) =>
    Either.left(new McpConfigError({ reason, server: name, field, detail }))
  if (!isRecord(raw)) return fail("InvalidField", "", `expected a table/object, got ${JSON.stringify(raw)}`)
  const hasCommand = raw.command !== undefined
  const hasUrl = raw.url !== undefined
  const type = raw.type
  if (type !== undefined && !["stdio", "http", "streamable-http", "sse"].includes(type as string)) {
    return fail(
      "InvalidField",
      "type",
      `expected "stdio", "http", "streamable-http" or "sse", got ${JSON.stringify(type)}`
    )
  }
  if (hasCommand && hasUrl) return fail("Conflict", "url", "set either `command` (stdio) or `url` (HTTP), not both")
  if (!hasCommand && !hasUrl) {
    return type !== undefined && type !== "stdio"
      ? fail("MissingField", "url", `type "${String(type)}" needs a \`url\``)
      : fail("MissingField", "command", "set `command` (a stdio server) or `url` (a streamable HTTP server)")
  }
  if (hasCommand && type !== undefined && type !== "stdio") {
    return fail("Conflict", "type", `type "${String(type)}" needs a \`url\`, not a \`command\``)
  }
  if (hasUrl && type === "stdio") return fail("Conflict", "type", 'type "stdio" needs a `command`, not a `url`')
  if (hasCommand) {
    return Schema.decodeUnknownEither(StdioServerInput, { onExcessProperty, errors: "first" })(raw).pipe(
      Either.mapLeft((e) => fromParseError(name, "", e)),
      Either.map(({ type: _type, ...rest }): ServerConfig => ({ name, transport: "stdio", ...rest }))
    )
  }
  return Schema.decodeUnknownEither(HttpServerInput, { onExcessProperty, errors: "first" })(raw).pipe(
    Either.mapLeft((e) => fromParseError(name, "", e)),
    Either.map(({ type, ...rest }): ServerConfig => ({ name, transport: type ?? "http", ...rest }))
  )
}

/**
 * Decodes a configuration `{ servers: { <name>: {...} }, restart?: {...} }`,
 * failing with the first problem as a {@link McpConfigError} that names the
 * server and the field. Server names must be non-empty and must not collide
 * after sanitizing (`my.server` and `my_server` would both name their tools
 * `mcp__my_server__*`): such a pair is a `Conflict` naming both.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeEither = (input: unknown, options?: DecodeOptions): Either.Either<McpConfig, McpConfigError> => {
  const strict = options?.strict ?? true
  const onExcessProperty = strict ? "error" : "ignore"
  if (!isRecord(input)) {
    return Either.left(
      new McpConfigError({
        reason: "InvalidField",
        field: "",
        detail: `expected an object with a \`servers\` table, got ${JSON.stringify(input)}`
      })
    )
  }
  if (strict) {
    for (const key of Object.keys(input)) {
      if (key !== "servers" && key !== "restart") {
        return Either.left(new McpConfigError({ reason: "UnknownField", field: key, detail: "unknown key" }))
      }
    }
  }
  const rawServers = input.servers ?? {}
  if (!isRecord(rawServers)) {
    return Either.left(
      new McpConfigError({ reason: "InvalidField", field: "servers", detail: "expected a table of servers by name" })
    )
  }
  const servers: Array<ServerConfig> = []
  const prefixes = new Map<string, string>()
  for (const [name, raw] of Object.entries(rawServers)) {
    if (name.trim() === "") {
      return Either.left(
        new McpConfigError({
          reason: "InvalidField",
          server: name,
          field: "",
          detail: "a server name must not be empty"
        })
      )
    }
    if (name.includes("__")) {
      // mcp__<server>__<tool> is split at "__": such a name would make two tools collide.
      return Either.left(
        new McpConfigError({
          reason: "InvalidField",
          server: name,
          field: "",
          detail: 'a server name must not contain "__" (tool names are mcp__<server>__<tool>)'
        })
      )
    }
    const prefix = sanitize(name)
    const other = prefixes.get(prefix)
    if (other !== undefined) {
      return Either.left(
        new McpConfigError({
          reason: "Conflict",
          server: name,
          field: "",
          detail: `collides with server "${other}": both name their tools mcp__${prefix}__*`
        })
      )
    }
    prefixes.set(prefix, name)
    const decoded = decodeServer(name, raw, onExcessProperty)
    if (Either.isLeft(decoded)) return Either.left(decoded.left)
    servers.push(decoded.right)
  }
  const restart = Schema.decodeUnknownEither(RestartPolicy, { onExcessProperty, errors: "first" })(
    input.restart ?? {}
  ).pipe(Either.mapLeft((e) => fromParseError(undefined, "restart", e)))
  if (Either.isLeft(restart)) return Either.left(restart.left)
  return Either.right({ servers, restart: restart.right })
}

/**
 * Effect form of {@link decodeEither}.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (input: unknown, options?: DecodeOptions): Effect.Effect<McpConfig, McpConfigError> =>
  Effect.suspend(() => decodeEither(input, options))

/**
 * Builds a configuration in code: `make({ fs: { command: "node", args: [...] } })`.
 * Throws the {@link McpConfigError} on bad input (for tests and scripts; use
 * {@link decode} for input that comes from outside).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  servers: { readonly [name: string]: unknown },
  restart?: { readonly [key: string]: unknown }
): McpConfig => {
  const result = decodeEither(restart === undefined ? { servers } : { servers, restart })
  if (Either.isLeft(result)) throw result.left
  return result.right
}
