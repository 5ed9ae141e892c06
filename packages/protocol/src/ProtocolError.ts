/**
 * Decoding input that enters from outside (files, network, plugins, model
 * output) into protocol types, with errors that name the field.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/**
 * Input did not match a protocol schema. `path` is the field path of the
 * first issue (`thread_id`, `tool_calls[0].id`, or empty for the root),
 * `schema` the schema's identifier, `issues` every issue found.
 *
 * @since 0.1.0
 * @category errors
 */
export class DecodeError extends Schema.TaggedError<DecodeError>("@strata/protocol/DecodeError")("DecodeError", {
  schema: Schema.String,
  path: Schema.String,
  issues: Schema.Array(Schema.Struct({ path: Schema.String, message: Schema.String }))
}) {
  override get message(): string {
    const first = this.issues[0]
    const where = this.path === "" ? "" : ` at "${this.path}"`
    const more = this.issues.length > 1 ? ` (and ${this.issues.length - 1} more)` : ""
    return `Invalid ${this.schema}${where}: ${first?.message ?? "invalid input"}${more}`
  }
}

/**
 * Renders a property path as `a.b[0].c`.
 *
 * @since 0.1.0
 * @category utils
 */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path
    .map((k, i) =>
      typeof k === "number" ? `[${k}]` : typeof k === "symbol" ? `[${String(k)}]` : i === 0 ? k : `.${k}`
    )
    .join("")

const schemaName = (schema: Schema.Schema.AnyNoContext): string => {
  const id = schema.ast.annotations[Symbol.for("effect/annotation/Identifier")]
  return typeof id === "string" ? id : String(schema.ast)
}

/**
 * Converts a `ParseError` into a `DecodeError` for the given schema.
 *
 * @since 0.1.0
 * @category errors
 */
export const fromParseError = (schema: Schema.Schema.AnyNoContext, error: ParseResult.ParseError): DecodeError => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    path: formatPath(issue.path),
    message: issue.message
  }))
  return new DecodeError({ schema: schemaName(schema), path: issues[0]?.path ?? "", issues })
}

/**
 * Decodes unknown input, failing with a `DecodeError` that names the field.
 * Every error is reported, not only the first.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeUnknown =
  <A, I>(schema: Schema.Schema<A, I, never>) =>
  (input: unknown): Effect.Effect<A, DecodeError> =>
    Effect.suspend(() =>
      Either.match(decodeUnknownEither(schema)(input), { onLeft: Effect.fail, onRight: Effect.succeed })
    )

/**
 * Synchronous form of {@link decodeUnknown}.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeUnknownEither = <A, I>(schema: Schema.Schema<A, I, never>) => {
  const decode = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "ignore" })
  return (input: unknown): Either.Either<A, DecodeError> =>
    Either.mapLeft(decode(input), (e) => fromParseError(schema, e))
}

/**
 * Encodes a value to its wire form (the JSON-compatible encoded side).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode =
  <A, I>(schema: Schema.Schema<A, I, never>) =>
  (value: A): Effect.Effect<I, DecodeError> =>
    Schema.encode(schema)(value).pipe(Effect.mapError((e) => fromParseError(schema, e)))
