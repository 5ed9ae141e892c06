/**
 * Threads: the requests of the seed's `handle_thread`, its responses, and the
 * messages a thread's history holds.
 *
 * Field names are snake_case on the wire, as the seed's.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { JsonObject, JsonValue, optional, Sequence, Timestamp } from "./Common.js"
import { EventFrame } from "./Event.js"
import { MessageId, ThreadId } from "./Ids.js"
import { Message } from "./Message.js"

/**
 * A thread's lifecycle state as stored.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ThreadStatus = Schema.Literal("running", "idle", "completed", "failed", "paused", "archived").annotations({
  identifier: "ThreadStatus"
})
/** @since 0.1.0 @category models */
export type ThreadStatus = typeof ThreadStatus.Type

/**
 * How a thread came to be.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SessionSource = Schema.Literal("interactive", "resume", "fork", "api", "unknown").annotations({
  identifier: "SessionSource"
})
/** @since 0.1.0 @category models */
export type SessionSource = typeof SessionSource.Type

/**
 * Where a forked thread branched off.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ForkPoint = Schema.Struct({
  thread_id: ThreadId,
  message_id: optional(MessageId),
  seq: optional(Sequence)
}).annotations({ identifier: "ForkPoint" })
/** @since 0.1.0 @category models */
export type ForkPoint = typeof ForkPoint.Type

/**
 * A thread's metadata.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Thread = Schema.Struct({
  id: ThreadId,
  preview: Schema.String,
  ephemeral: Schema.Boolean,
  model_provider: Schema.String,
  created_at: Timestamp,
  updated_at: Timestamp,
  status: ThreadStatus,
  cwd: Schema.String,
  cli_version: Schema.String,
  source: SessionSource,
  name: optional(Schema.String),
  archived: optional(Schema.Boolean),
  forked_from: optional(ForkPoint)
}).annotations({ identifier: "Thread" })
/** @since 0.1.0 @category models */
export type Thread = typeof Thread.Type

const ModelSelection = {
  model: optional(Schema.String),
  model_provider: optional(Schema.String),
  cwd: optional(Schema.String)
}

const SessionOverrides = {
  approval_policy: optional(Schema.String),
  sandbox: optional(Schema.String),
  config: optional(JsonObject),
  base_instructions: optional(Schema.String),
  developer_instructions: optional(Schema.String),
  persist_extended_history: optional(Schema.Boolean)
}

/**
 * `create`: make a thread without starting a session on it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ThreadCreate = Schema.Struct({
  kind: Schema.Literal("create"),
  metadata: optional(JsonObject),
  ...ModelSelection
}).annotations({ identifier: "ThreadCreate" })
/** @since 0.1.0 @category models */
export type ThreadCreate = typeof ThreadCreate.Type

/**
 * `start`: create a thread and start a session on it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ThreadStart = Schema.Struct({
  kind: Schema.Literal("start"),
  ...ModelSelection,
  persist_extended_history: optional(Schema.Boolean)
}).annotations({ identifier: "ThreadStart" })
/** @since 0.1.0 @category models */
export type ThreadStart = typeof ThreadStart.Type

/**
 * `resume`: reopen a thread from its journal (or from the given history).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ThreadResume = Schema.Struct({
  kind: Schema.Literal("resume"),
  thread_id: ThreadId,
  history: optional(Schema.Array(JsonValue)),
  ...ModelSelection,
  ...SessionOverrides,
  personality: optional(Schema.String)
}).annotations({ identifier: "ThreadResume" })
/** @since 0.1.0 @category models */
export type ThreadResume = typeof ThreadResume.Type

/**
 * `fork`: branch a thread, from its latest message or from `at_message_id`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ThreadFork = Schema.Struct({
  kind: Schema.Literal("fork"),
  thread_id: ThreadId,
  at_message_id: optional(MessageId),
  ...ModelSelection,
  ...SessionOverrides
}).annotations({ identifier: "ThreadFork" })
/** @since 0.1.0 @category models */
export type ThreadFork = typeof ThreadFork.Type

/**
 * `list`: list threads, archived ones only when asked.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ThreadList = Schema.Struct({
  kind: Schema.Literal("list"),
  include_archived: optional(Schema.Boolean),
  limit: optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 10_000))),
  cursor: optional(Schema.String)
}).annotations({ identifier: "ThreadList" })
/** @since 0.1.0 @category models */
export type ThreadList = typeof ThreadList.Type

/**
 * `read`: a thread's metadata and history.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ThreadRead = Schema.Struct({
  kind: Schema.Literal("read"),
  thread_id: ThreadId
}).annotations({ identifier: "ThreadRead" })
/** @since 0.1.0 @category models */
export type ThreadRead = typeof ThreadRead.Type

/**
 * `set_name`: rename a thread.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ThreadSetName = Schema.Struct({
  kind: Schema.Literal("set_name"),
  thread_id: ThreadId,
  name: Schema.String.pipe(Schema.maxLength(512))
}).annotations({ identifier: "ThreadSetName" })
/** @since 0.1.0 @category models */
export type ThreadSetName = typeof ThreadSetName.Type

/**
 * `archive`: hide a thread from the default listing.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ThreadArchive = Schema.Struct({
  kind: Schema.Literal("archive"),
  thread_id: ThreadId
}).annotations({ identifier: "ThreadArchive" })
/** @since 0.1.0 @category models */
export type ThreadArchive = typeof ThreadArchive.Type

/**
 * `unarchive`: show an archived thread again.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ThreadUnarchive = Schema.Struct({
  kind: Schema.Literal("unarchive"),
  thread_id: ThreadId
}).annotations({ identifier: "ThreadUnarchive" })
/** @since 0.1.0 @category models */
export type ThreadUnarchive = typeof ThreadUnarchive.Type

/**
 * `message`: append a user message to a thread.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ThreadMessage = Schema.Struct({
  kind: Schema.Literal("message"),
  thread_id: ThreadId,
  input: Schema.String
}).annotations({ identifier: "ThreadMessage" })
/** @since 0.1.0 @category models */
export type ThreadMessage = typeof ThreadMessage.Type

/**
 * Every thread request, discriminated by `kind` (as the seed's
 * `#[serde(tag = "kind")]`), in memory and on the wire alike.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ThreadRequest = Schema.Union(
  ThreadCreate,
  ThreadStart,
  ThreadResume,
  ThreadFork,
  ThreadList,
  ThreadRead,
  ThreadSetName,
  ThreadArchive,
  ThreadUnarchive,
  ThreadMessage
).annotations({ identifier: "ThreadRequest" })
/** @since 0.1.0 @category models */
export type ThreadRequest = typeof ThreadRequest.Type

/**
 * The statuses a thread response carries, as the seed's (whose `unarchive`
 * answers `unarchived`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ThreadResponseStatus = Schema.Literal(
  "created",
  "started",
  "resumed",
  "forked",
  "missing",
  "ok",
  "archived",
  "unarchived",
  "accepted"
).annotations({ identifier: "ThreadResponseStatus" })
/** @since 0.1.0 @category models */
export type ThreadResponseStatus = typeof ThreadResponseStatus.Type

/**
 * A thread response's data: the history (the last 500 messages) and the
 * latest checkpoint, when the request reads them.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ThreadResponseData = Schema.Struct({
  history: optional(Schema.Array(Message)),
  checkpoint: optional(Schema.NullOr(JsonValue)),
  next_cursor: optional(Schema.String)
}).annotations({ identifier: "ThreadResponseData" })
/** @since 0.1.0 @category models */
export type ThreadResponseData = typeof ThreadResponseData.Type

/**
 * The answer to a thread request.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ThreadResponse = Schema.Struct({
  thread_id: Schema.String,
  status: ThreadResponseStatus,
  thread: optional(Thread),
  threads: Schema.optionalWith(Schema.Array(Thread), { default: () => [] }),
  model: optional(Schema.String),
  model_provider: optional(Schema.String),
  cwd: optional(Schema.String),
  approval_policy: optional(Schema.String),
  sandbox: optional(Schema.String),
  events: Schema.optionalWith(Schema.Array(EventFrame), { default: () => [] }),
  data: Schema.optionalWith(ThreadResponseData, { default: () => ({}) })
}).annotations({ identifier: "ThreadResponse" })
/** @since 0.1.0 @category models */
export type ThreadResponse = typeof ThreadResponse.Type
