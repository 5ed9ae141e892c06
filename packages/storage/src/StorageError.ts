/**
 * The errors of `@strata/storage`. Every `StateStore` method fails with one of
 * these (or with `InvalidId` from `@strata/protocol` when an id is bad, before
 * any I/O).
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * Why a storage operation failed:
 *
 * - `NotFound`: the record an operation needs does not exist.
 * - `Conflict`: an optimistic check failed (stale job revision, thread or
 *   approval already exists, approval already resolved).
 * - `Corrupt`: a stored record cannot be read back (bad JSON, fails its schema).
 * - `Unavailable`: the backend could not be reached or an I/O call failed.
 * - `Locked`: another process holds the store (file-system store only).
 * - `InvalidInput`: the caller passed a value the store refuses (an event
 *   that does not match its schema, a bad cursor, a malformed import line,
 *   a free-text field over its limit).
 * - `ReadOnly`: a write to a store opened read-only.
 * - `NotDurable`: the store cannot give the durability asked for
 *   (`durability: "strict"`).
 *
 * @since 0.1.0
 * @category models
 */
export const StorageErrorReason = Schema.Literal(
  "NotFound",
  "Conflict",
  "Corrupt",
  "Unavailable",
  "Locked",
  "InvalidInput",
  "ReadOnly",
  "NotDurable"
).annotations({ identifier: "StorageErrorReason" })
/** @since 0.1.0 @category models */
export type StorageErrorReason = typeof StorageErrorReason.Type

/**
 * A storage operation failed. `key` names the record, journal or directory
 * concerned (`jobs/job-1`, `threads/t-1/journal`, a directory path), `detail`
 * says what went wrong, `cause` keeps the original error when there is one.
 *
 * @since 0.1.0
 * @category errors
 */
export class StorageError extends Schema.TaggedError<StorageError>("@strata/storage/StorageError")("StorageError", {
  reason: StorageErrorReason,
  key: Schema.String,
  detail: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return `${this.reason} ${this.key}: ${this.detail}`
  }
}

/**
 * A thread journal holds bytes that are not a valid record, followed by more
 * data: not a torn tail (which is truncated silently on open) but damage in
 * the middle. `file` is the journal's path on the file-system store, or its
 * key on other backends; `offset` is the byte offset of the first bad record
 * on the file-system store and the zero-based entry index elsewhere. Only the
 * damaged thread is affected; every other thread keeps working.
 *
 * @since 0.1.0
 * @category errors
 */
export class CorruptJournal extends Schema.TaggedError<CorruptJournal>("@strata/storage/CorruptJournal")(
  "CorruptJournal",
  {
    threadId: Schema.String,
    file: Schema.String,
    offset: Schema.Number,
    detail: Schema.String
  }
) {
  override get message(): string {
    return `Corrupt journal of thread ${this.threadId}: ${this.file} at offset ${this.offset}: ${this.detail}`
  }
}

/**
 * A stored record (or the store itself) was written with a schema version
 * this code cannot read: newer than it knows, or older without a migration.
 * Nothing is read silently in the wrong shape.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnsupportedSchemaVersion extends Schema.TaggedError<UnsupportedSchemaVersion>(
  "@strata/storage/UnsupportedSchemaVersion"
)("UnsupportedSchemaVersion", {
  key: Schema.String,
  found: Schema.Number,
  supported: Schema.Number
}) {
  override get message(): string {
    const why =
      this.found > this.supported
        ? "was written by a newer version of Strata; upgrade to read it"
        : "is older and no migration is registered for it"
    return `${this.key} has schema version ${this.found}, this store reads version ${this.supported}: it ${why}`
  }
}

/**
 * Who holds a thread lease: the `owner` string it was acquired with, the
 * holder's process id and host when the store knows them, and when the
 * lease expires unless renewed (milliseconds since the epoch).
 *
 * @since 0.2.0
 * @category models
 */
export const LeaseHolder = Schema.Struct({
  owner: Schema.String,
  pid: Schema.optional(Schema.Number),
  host: Schema.optional(Schema.String),
  expiresAt: Schema.Number
}).annotations({ identifier: "LeaseHolder" })
/** @since 0.2.0 @category models */
export type LeaseHolder = typeof LeaseHolder.Type

/**
 * Another writer holds the thread's lease (`acquireThreadLease`). Readers
 * are never refused; only a second writer is. `holder` says who, so a person
 * can decide whether to wait or stop that process.
 *
 * @since 0.2.0
 * @category errors
 */
export class ThreadBusy extends Schema.TaggedError<ThreadBusy>("@strata/storage/ThreadBusy")("ThreadBusy", {
  threadId: Schema.String,
  holder: LeaseHolder
}) {
  override get message(): string {
    const h = this.holder
    const where = h.pid === undefined ? "" : ` (process ${h.pid}${h.host === undefined ? "" : ` on ${h.host}`})`
    return `Thread ${this.threadId} is busy: ${h.owner}${where} holds its lease until ${new Date(h.expiresAt).toISOString()}`
  }
}

/**
 * A write carried a thread lease that is no longer the current one: a newer
 * token was issued (the lease expired and another writer took it) or the
 * lease was released. Nothing was written.
 *
 * @since 0.2.0
 * @category errors
 */
export class LeaseLost extends Schema.TaggedError<LeaseLost>("@strata/storage/LeaseLost")("LeaseLost", {
  threadId: Schema.String,
  token: Schema.Number,
  detail: Schema.String
}) {
  override get message(): string {
    return `Lease ${this.token} on thread ${this.threadId} is lost (${this.detail}); nothing was written`
  }
}

/**
 * The unstorage driver a configuration names cannot be loaded: it is not
 * one of unstorage's drivers and no installed package or file by that
 * name exists, or it needs a package that is not installed (`package`), or
 * it refused its options. `field` is the configuration key to change
 * (`storage.driver`, `storage.options`).
 *
 * @since 0.3.0
 * @category errors
 */
export class DriverUnavailable extends Schema.TaggedError<DriverUnavailable>("@strata/storage/DriverUnavailable")(
  "DriverUnavailable",
  {
    driver: Schema.String,
    field: Schema.String,
    package: Schema.optional(Schema.String),
    detail: Schema.String,
    cause: Schema.optional(Schema.Defect)
  }
) {
  override get message(): string {
    return `${this.field}: unstorage driver "${this.driver}" cannot be used: ${this.detail}`
  }
}

/**
 * Builds a `StorageError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (reason: StorageErrorReason, key: string, detail: string, cause?: unknown): StorageError =>
  new StorageError(cause === undefined ? { reason, key, detail } : { reason, key, detail, cause })

/**
 * Converts any foreign error (file system, Redis, PostgreSQL) into an
 * `Unavailable` `StorageError`, keeping it as `cause`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromUnknown =
  (key: string, action: string) =>
  (cause: unknown): StorageError =>
    make("Unavailable", key, `${action} failed: ${describe(cause)}`, cause)

/**
 * A one-line description of an unknown error.
 *
 * @since 0.1.0
 * @category utils
 */
export const describe = (cause: unknown): string => {
  if (Predicate.hasProperty(cause, "message") && typeof cause.message === "string" && cause.message !== "") {
    return cause.message
  }
  return String(cause)
}

/**
 * Whether a value is one of this package's errors.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isStorageFailure = (
  u: unknown
): u is StorageError | CorruptJournal | UnsupportedSchemaVersion | ThreadBusy | LeaseLost | DriverUnavailable =>
  Predicate.isTagged(u, "StorageError") ||
  Predicate.isTagged(u, "DriverUnavailable") ||
  Predicate.isTagged(u, "CorruptJournal") ||
  Predicate.isTagged(u, "UnsupportedSchemaVersion") ||
  Predicate.isTagged(u, "ThreadBusy") ||
  Predicate.isTagged(u, "LeaseLost")
