/**
 * Small building blocks shared by the wire schemas.
 *
 * @since 0.1.0
 */
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"

/**
 * The one object key that is not data in JavaScript: assigning `o["__proto__"] = v`
 * replaces `o`'s prototype instead of creating a property. `constructor` and
 * `prototype` are ordinary own properties once decoded and stay data.
 */
const PROTO_KEY = "__proto__"

const hasOwnProtoKey = (u: unknown): boolean => typeof u === "object" && u !== null && Object.hasOwn(u, PROTO_KEY)

const protoKeyIssue = (input: object): ParseResult.ParseIssue =>
  new ParseResult.Pointer(
    PROTO_KEY,
    input,
    new ParseResult.Unexpected(
      Object.getOwnPropertyDescriptor(input, PROTO_KEY)?.value,
      `the key "__proto__" is not allowed (it would change the object's prototype)`
    )
  )

/**
 * The path to the first own `"__proto__"` key inside a parsed value (objects
 * and arrays, depth first), or `undefined` when there is none. For hand-written
 * walkers over untrusted data (merging config layers, converting MCP results)
 * that must refuse such a key with an error naming where it is, as
 * {@link Record} does for schemas.
 *
 * @since 0.2.0
 * @category utils
 */
export const findProtoKey = (value: unknown): ReadonlyArray<string | number> | undefined => {
  const seen = new Set<object>()
  const go = (node: unknown, path: Array<string | number>): Array<string | number> | undefined => {
    if (typeof node !== "object" || node === null || seen.has(node)) return undefined
    seen.add(node)
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const found = go(node[i], [...path, i])
        if (found) return found
      }
      return undefined
    }
    if (Object.hasOwn(node, PROTO_KEY)) return [...path, PROTO_KEY]
    for (const key of Object.keys(node)) {
      const found = go((node as { readonly [k: string]: unknown })[key], [...path, key])
      if (found) return found
    }
    return undefined
  }
  return go(value, [])
}

/**
 * A record (`{ [key: string]: V }`) that is safe for untrusted input.
 *
 * `Schema.Record` builds its output with plain assignment, so an input
 * object with an own `"__proto__"` key (as `JSON.parse` produces) gets its
 * prototype replaced instead of a property, on decode and on encode. This
 * record refuses such a key with a `ParseError` pointing at it, before the
 * inner record runs; every other key (including `constructor` and
 * `prototype`) is plain data. The JSON Schema, arbitrary and pretty printer
 * are those of the underlying `Schema.Record`, so the wire contract is
 * unchanged. Use it for every record that can hold data from outside
 * (models, MCP servers, hooks, files, the wire).
 *
 * @since 0.2.0
 * @category schemas
 */
export const Record = <K extends Schema.Schema.All, V extends Schema.Schema.All>(fields: {
  readonly key: K
  readonly value: V
}): Record<K, V> => {
  const inner = Schema.Record(fields)
  const guard =
    (run: typeof ParseResult.decodeUnknown<unknown, unknown, never>) =>
    (self: Schema.Schema<unknown, unknown, never>) =>
    (input: unknown, options: SchemaAST.ParseOptions) =>
      hasOwnProtoKey(input) ? ParseResult.fail(protoKeyIssue(input as object)) : run(self)(input, options)
  const declared = Schema.declare([inner as unknown as Schema.Schema<unknown, unknown, never>], {
    decode: guard(ParseResult.decodeUnknown),
    encode: guard(ParseResult.encodeUnknown)
  }).annotations({
    [SchemaAST.SurrogateAnnotationId]: inner.ast,
    title: String(inner.ast),
    arbitrary: (innerArbitrary) => (fc) => innerArbitrary(fc).filter((r: unknown) => !hasOwnProtoKey(r)),
    pretty: (innerPretty) => innerPretty
  })
  return declared as unknown as Record<K, V>
}

/**
 * The type of {@link Record}: the same types as `Schema.Record`.
 *
 * @since 0.2.0
 * @category schemas
 */
export interface Record<K extends Schema.Schema.All, V extends Schema.Schema.All>
  extends Schema.Schema<
    Schema.Schema.Type<Schema.Record$<K, V>>,
    Schema.Schema.Encoded<Schema.Record$<K, V>>,
    Schema.Schema.Context<Schema.Record$<K, V>>
  > {}

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
      Record({ key: Schema.String, value: JsonValue })
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
export const JsonObject = Record({ key: Schema.String, value: JsonValue }).annotations({
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

/**
 * Folds `.`, `..` and repeated `/` of an absolute POSIX path (`..` at the
 * root stays at the root); `undefined` when `path` is not absolute. Pure
 * string work: no file system, no symlinks.
 *
 * @since 0.2.0
 * @category utils
 */
export const normalizeAbsolutePath = (path: string): string | undefined => {
  if (!path.startsWith("/")) return undefined
  const out: Array<string> = []
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue
    if (segment === "..") out.pop()
    else out.push(segment)
  }
  return `/${out.join("/")}`
}
