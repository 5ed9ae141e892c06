/**
 * Small building blocks shared by the wire schemas.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Any JSON value. Used where the wire carries free-form data (tool arguments,
 * checkpoint state, metadata).
 *
 * @since 0.1.0
 * @category schemas
 */
export const JsonValue: Schema.Schema<JsonValue> = Schema.suspend(
  (): Schema.Schema<JsonValue> =>
    Schema.Union(
      Schema.Null,
      Schema.Boolean,
      // JSON has no -0: JSON.stringify(-0) is "0", so -0 is not generated.
      Schema.Number.pipe(Schema.finite()).annotations({
        arbitrary: () => (fc) => fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (n === 0 ? 0 : n))
      }),
      Schema.String,
      Schema.Array(JsonValue),
      Schema.Record({ key: Schema.String, value: JsonValue })
    )
).annotations({ identifier: "JsonValue", title: "JsonValue" })

/**
 * @since 0.1.0
 * @category models
 */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | ReadonlyArray<JsonValue>
  | { readonly [key: string]: JsonValue }

/**
 * A JSON object.
 *
 * @since 0.1.0
 * @category schemas
 */
export const JsonObject = Schema.Record({ key: Schema.String, value: JsonValue }).annotations({
  identifier: "JsonObject"
})

/**
 * Milliseconds since the Unix epoch, as an integer.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Timestamp = Schema.Number.pipe(Schema.int(), Schema.nonNegative()).annotations({
  identifier: "Timestamp",
  description: "milliseconds since the Unix epoch"
})

/**
 * A gap-free, store-assigned sequence number (starts at 1).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Sequence = Schema.Number.pipe(Schema.int(), Schema.positive()).annotations({
  identifier: "Sequence"
})

/**
 * A non-empty string.
 *
 * @since 0.1.0
 * @category schemas
 */
export const NonEmpty = Schema.String.pipe(Schema.minLength(1))

/**
 * An optional field as the wire has it: the key may be absent, but when
 * present its value is never `undefined` (JSON has no `undefined`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const optional = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

/**
 * A random UUID v4 from the platform's `crypto.randomUUID` (Node, Bun and
 * Deno all provide it).
 *
 * @since 0.1.0
 * @category utils
 */
export const randomUUID = (): string =>
  (globalThis as unknown as { readonly crypto: { randomUUID(): string } }).crypto.randomUUID()
