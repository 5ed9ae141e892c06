/**
 * The persisted shapes of `@strata/storage`: the records a `StateStore` keeps
 * besides the protocol's own types (`Thread`, `EventFrame`, `JobRecord`), the
 * schema version every stored record carries, the migration hook for the
 * next version, and the JSONL export format. `docs/storage-schema.md`
 * describes the layout of each backend.
 *
 * @since 0.1.0
 */
import * as Common from "@strata/protocol/Common"
import * as Event from "@strata/protocol/Event"
import * as Ids from "@strata/protocol/Ids"
import * as Thread from "@strata/protocol/Thread"
import * as Tool from "@strata/protocol/Tool"
import * as Schema from "effect/Schema"

/**
 * The schema version this code writes, and the newest it reads. Every stored
 * record carries the version it was written with; a newer one is refused
 * with `UnsupportedSchemaVersion`, an older one goes through the registered
 * {@link Migration}s.
 *
 * @since 0.1.0
 * @category constants
 */
export const SCHEMA_VERSION = 1

/**
 * The longest free-text values a store accepts (characters). A longer one
 * fails with `StorageError` reason `InvalidInput` naming the field.
 *
 * @since 0.2.0
 * @category constants
 */
export const LIMITS = {
  /** A thread's name. */
  threadName: 256,
  /** A thread's preview. */
  preview: 1024,
  /** Short labels: provider names, versions, job history phases. */
  label: 256,
  /** A path (a thread's or approval's cwd). */
  path: 4096,
  /** A job's name. */
  jobName: 256,
  /** Details, reasons and messages (job detail, approval reason). */
  detail: 8192,
  /** A command waiting for approval. */
  command: 65536
} as const

const exact = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })
const Count = Schema.Number.pipe(Schema.int(), Schema.nonNegative())

/**
 * The kinds of record a store keeps besides thread journals.
 *
 * @since 0.1.0
 * @category models
 */
export type RecordKind = "thread" | "checkpoint" | "job" | "approval"

/**
 * A saved checkpoint: arbitrary JSON state under a name. `order` increases
 * with every save to the thread, so "latest" is the one with the highest
 * `order`, whatever its id.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Checkpoint = Schema.Struct({
  thread_id: Ids.ThreadId,
  id: Ids.CheckpointId,
  state: Common.JsonValue,
  saved_at: Common.Timestamp,
  order: Count
}).annotations({ identifier: "Checkpoint" })
/** @since 0.1.0 @category models */
export type Checkpoint = typeof Checkpoint.Type

/**
 * A checkpoint without its state, as `listCheckpoints` returns it.
 *
 * @since 0.1.0
 * @category models
 */
export type CheckpointInfo = Omit<Checkpoint, "state">

/**
 * Where an approval stands. `pending` until resolved, then `approved` or
 * `denied`, exactly once.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ApprovalStatus = Schema.Literal("pending", "approved", "denied").annotations({
  identifier: "ApprovalStatus"
})
/** @since 0.1.0 @category models */
export type ApprovalStatus = typeof ApprovalStatus.Type

/**
 * A persisted approval request: the tool call waiting for a person, and,
 * once resolved, the decision. `revision` is bumped on every write.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ApprovalRecord = Schema.Struct({
  id: Ids.ApprovalId,
  thread_id: Schema.NullOr(Ids.ThreadId),
  call: Tool.ToolCall,
  reason: Schema.String,
  command: exact(Schema.String),
  cwd: exact(Schema.String),
  metadata: exact(Common.JsonObject),
  status: ApprovalStatus,
  created_at: Common.Timestamp,
  resolved_at: exact(Common.Timestamp),
  resolution_reason: exact(Schema.String),
  revision: Count
}).annotations({ identifier: "ApprovalRecord" })
/** @since 0.1.0 @category models */
export type ApprovalRecord = typeof ApprovalRecord.Type

/**
 * What `putApproval` takes: the request, without the fields the store sets.
 *
 * @since 0.1.0
 * @category models
 */
export type NewApproval = Omit<
  ApprovalRecord,
  "status" | "created_at" | "resolved_at" | "resolution_reason" | "revision"
>

/**
 * One line of a thread export (JSONL). An export is a `thread` line, the
 * `event` lines in sequence order, the `checkpoint` lines, and an `end` line
 * with the counts, so that a truncated file is refused on import.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ExportLine = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("thread"),
    schemaVersion: Schema.Number,
    thread_id: Ids.ThreadId,
    thread: Schema.NullOr(Thread.Thread)
  }),
  Schema.Struct({ type: Schema.Literal("event"), schemaVersion: Schema.Number, frame: Event.EventFrame }),
  Schema.Struct({ type: Schema.Literal("checkpoint"), schemaVersion: Schema.Number, checkpoint: Checkpoint }),
  Schema.Struct({ type: Schema.Literal("end"), events: Count, checkpoints: Count })
).annotations({ identifier: "ExportLine" })
/** @since 0.1.0 @category models */
export type ExportLine = typeof ExportLine.Type

/**
 * One step of schema migration, from version `from` to `from + 1`. Records
 * are migrated when read (in their JSON form, before decoding) and rewritten
 * at the current version on their next write. Journal events are migrated
 * on every read (journals are append-only).
 *
 * @since 0.1.0
 * @category models
 */
export interface Migration {
  readonly from: number
  /** Upgrades one event frame (its JSON form). */
  readonly event?: (frame: unknown) => unknown
  /** Upgrades one record of the given kind (its JSON form). */
  readonly record?: (kind: RecordKind, record: unknown) => unknown
}
