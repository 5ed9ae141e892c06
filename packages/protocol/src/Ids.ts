/**
 * Validated, branded identifiers.
 *
 * Every id in Strata ends up in a storage key, a file name or a URL path, so
 * every id obeys one rule: 1 to 128 characters of `[A-Za-z0-9._-]`, and never
 * `.` or `..`. Anything else (path separators, NUL, whitespace, traversal) is
 * rejected at the border, before any I/O.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { randomUUID } from "./Common.js"

/**
 * The characters an id may contain.
 *
 * @since 0.1.0
 * @category utils
 */
export const ID_PATTERN: RegExp = /^[A-Za-z0-9._-]{1,128}$/

/**
 * The longest id accepted.
 *
 * @since 0.1.0
 * @category utils
 */
export const ID_MAX_LENGTH = 128

/**
 * Explains why `value` is not a valid id, or returns `undefined` when it is.
 *
 * @since 0.1.0
 * @category utils
 */
export const explainInvalidId = (value: string): string | undefined => {
  if (value.length === 0) return "must not be empty"
  if (value.length > ID_MAX_LENGTH) return `must be at most ${ID_MAX_LENGTH} characters (got ${value.length})`
  if (value === "." || value === "..") return `must not be "${value}"`
  if (!ID_PATTERN.test(value)) {
    const bad = [...value].find((c) => !/[A-Za-z0-9._-]/.test(c)) ?? ""
    const shown = JSON.stringify(bad)
    return `must only contain [A-Za-z0-9._-] (found ${shown})`
  }
  return undefined
}

/**
 * Whether `value` is a syntactically valid id.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isValidId = (value: unknown): value is string =>
  typeof value === "string" && explainInvalidId(value) === undefined

const makeId = <const B extends string>(brand: B) =>
  Schema.String.pipe(
    Schema.filter((s) => {
      const why = explainInvalidId(s)
      return why === undefined ? true : `${brand} ${why}`
    }),
    Schema.brand(brand),
    Schema.annotations({
      identifier: brand,
      title: brand,
      description: `${brand}: 1..128 characters of [A-Za-z0-9._-], never "." or ".."`,
      jsonSchema: { type: "string", pattern: "^[A-Za-z0-9._-]{1,128}$", not: { enum: [".", ".."] } },
      arbitrary: () => (fc) =>
        fc
          .stringMatching(/^[A-Za-z0-9._-]{1,128}$/)
          .filter((s) => s !== "." && s !== "..")
          .map((s) => s as any)
    })
  )

/**
 * Identifies a conversation thread.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ThreadId = makeId("ThreadId")
/** @since 0.1.0 @category models */
export type ThreadId = typeof ThreadId.Type

/**
 * Identifies a message inside a thread.
 *
 * @since 0.1.0
 * @category schemas
 */
export const MessageId = makeId("MessageId")
/** @since 0.1.0 @category models */
export type MessageId = typeof MessageId.Type

/**
 * Identifies a named checkpoint of a thread.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CheckpointId = makeId("CheckpointId")
/** @since 0.1.0 @category models */
export type CheckpointId = typeof CheckpointId.Type

/**
 * Identifies a background job.
 *
 * @since 0.1.0
 * @category schemas
 */
export const JobId = makeId("JobId")
/** @since 0.1.0 @category models */
export type JobId = typeof JobId.Type

/**
 * Identifies one tool call made by a model.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolCallId = makeId("ToolCallId")
/** @since 0.1.0 @category models */
export type ToolCallId = typeof ToolCallId.Type

/**
 * Identifies a pending approval request.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ApprovalId = makeId("ApprovalId")
/** @since 0.1.0 @category models */
export type ApprovalId = typeof ApprovalId.Type

/**
 * Identifies one model response (a streamed answer).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResponseId = makeId("ResponseId")
/** @since 0.1.0 @category models */
export type ResponseId = typeof ResponseId.Type

/**
 * The kinds of id, by brand name.
 *
 * @since 0.1.0
 * @category models
 */
export type IdKind = "ThreadId" | "MessageId" | "CheckpointId" | "JobId" | "ToolCallId" | "ApprovalId" | "ResponseId"

const schemas = {
  ThreadId,
  MessageId,
  CheckpointId,
  JobId,
  ToolCallId,
  ApprovalId,
  ResponseId
} as const

/**
 * Raised when a string is not a valid id. Names the id kind, the field it came
 * from (when known) and what is wrong with it; the offending value is kept,
 * JSON-escaped in the message so control characters stay visible.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidId extends Schema.TaggedError<InvalidId>("@strata/protocol/InvalidId")("InvalidId", {
  kind: Schema.String,
  field: Schema.optional(Schema.String),
  value: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    const where = this.field === undefined ? "" : ` in field "${this.field}"`
    const shown = this.value.length > 40 ? `${JSON.stringify(this.value.slice(0, 40))}...` : JSON.stringify(this.value)
    return `Invalid ${this.kind}${where}: ${shown} ${this.reason}`
  }
}

/**
 * Validates `value` as an id of the given kind. Fails with `InvalidId` naming
 * the kind and, when given, the field.
 *
 * @since 0.1.0
 * @category constructors
 */
export const validate: <K extends IdKind>(
  kind: K,
  value: unknown,
  field?: string
) => Effect.Effect<(typeof schemas)[K]["Type"], InvalidId> = (kind, value, field) =>
  Effect.suspend(() =>
    Either.match(validateEither(kind, value, field), { onLeft: Effect.fail, onRight: Effect.succeed })
  )

/**
 * Synchronous form of {@link validate}, returning an `Either`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const validateEither = <K extends IdKind>(
  kind: K,
  value: unknown,
  field?: string
): Either.Either<(typeof schemas)[K]["Type"], InvalidId> => {
  const reason =
    typeof value !== "string"
      ? `must be a string (got ${value === null ? "null" : typeof value})`
      : explainInvalidId(value)
  if (reason === undefined) return Either.right(value as (typeof schemas)[K]["Type"])
  return Either.left(
    new InvalidId({
      kind,
      value: typeof value === "string" ? value : String(value),
      reason,
      ...(field === undefined ? {} : { field })
    })
  )
}

/**
 * Makes a fresh, random id of the given kind, with a readable prefix
 * (`thread-…`, `job-…`). Random part: a UUID v4 from the platform's
 * `crypto.randomUUID`, available on Node, Bun and Deno.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <K extends IdKind>(kind: K, prefix?: string): (typeof schemas)[K]["Type"] => {
  const p = prefix ?? defaultPrefix[kind]
  return `${p}-${randomUUID()}` as (typeof schemas)[K]["Type"]
}

const defaultPrefix: Record<IdKind, string> = {
  ThreadId: "thread",
  MessageId: "msg",
  CheckpointId: "ckpt",
  JobId: "job",
  ToolCallId: "call",
  ApprovalId: "approval",
  ResponseId: "resp"
}

/**
 * Unsafe constructor for ids known to be valid (constants in code). Throws on
 * an invalid value: never use it on input.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake = <K extends IdKind>(kind: K, value: string): (typeof schemas)[K]["Type"] =>
  Either.getOrThrowWith(validateEither(kind, value), (e) => new Error(e.message))
