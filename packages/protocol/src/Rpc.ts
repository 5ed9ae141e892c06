/**
 * The wire of `strata serve`: JSON-RPC 2.0 envelopes, the error codes, and
 * every method with its params and result schema. The server
 * (`@strata/server`) and the typed client (`@strata/client`) both derive
 * from this one table, and the OpenAPI / JSON Schema documents are
 * generated from it.
 *
 * Method names mirror the `Runtime` facade: `thread/*`, `turn/*`,
 * `approval/*`, `jobs/*`, `checkpoints/*`, `events/read`, `mcp/status`,
 * `mcp/restart`, `policy/check`, `app/status`, and `auth/whoami`. Events stream as Server-Sent Events (see `@strata/server`).
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"
import { AppStatus } from "./App.js"
import { JsonValue, optional, Sequence, Timestamp } from "./Common.js"
import { EventFrame } from "./Event.js"
import { ApprovalId, CheckpointId, JobId, MessageId, ThreadId } from "./Ids.js"
import { JobHistoryEntry, JobRecord } from "./Job.js"
import { McpServerStatus } from "./Mcp.js"
import { PromptResponse } from "./Prompt.js"
import { ThreadResponse } from "./Thread.js"
import { AskForApproval, ToolCall } from "./Tool.js"

/**
 * The version of the `strata serve` wire (the `/v1` prefix of its paths).
 * Bumped only on a breaking change; additions keep it.
 *
 * @since 0.2.0
 * @category constants
 */
export const RPC_VERSION = 1

/**
 * The JSON-RPC error codes the server answers with. The first five are the
 * JSON-RPC 2.0 ones; the others are Strata's, in the server-error range.
 *
 * @since 0.2.0
 * @category constants
 */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  Unauthorized: -32001,
  Forbidden: -32003,
  NotFound: -32004,
  Conflict: -32009,
  PayloadTooLarge: -32013,
  RateLimited: -32029
} as const

/**
 * The name of an error code (`"InvalidParams"`), carried in `error.data.type`.
 *
 * @since 0.2.0
 * @category models
 */
export type ErrorType = keyof typeof ErrorCode

/**
 * A JSON-RPC id: a string or an integer (null in an error answer to a
 * request whose id could not be read).
 *
 * @since 0.2.0
 * @category schemas
 */
export const RequestId = Schema.Union(
  Schema.String.pipe(Schema.maxLength(256)),
  Schema.Number.pipe(Schema.int())
).annotations({ identifier: "RequestId" })
/** @since 0.2.0 @category models */
export type RequestId = typeof RequestId.Type

/**
 * A JSON-RPC request (a notification when `id` is absent).
 *
 * @since 0.2.0
 * @category schemas
 */
export const Request = Schema.Struct({
  jsonrpc: Schema.Literal("2.0"),
  id: optional(RequestId),
  method: Schema.String.pipe(Schema.maxLength(128)),
  params: optional(Schema.Unknown)
}).annotations({ identifier: "RpcRequest" })
/** @since 0.2.0 @category models */
export type Request = typeof Request.Type

/**
 * The `error` of a failed call: the code, a one-line message, and `data`
 * with the error's `type` (a key of {@link ErrorCode}) and, for invalid
 * params, the `path` of the offending field.
 *
 * @since 0.2.0
 * @category schemas
 */
export const ErrorObject = Schema.Struct({
  code: Schema.Number.pipe(Schema.int()),
  message: Schema.String,
  data: optional(
    Schema.Struct({
      type: Schema.String,
      path: optional(Schema.String),
      reason: optional(Schema.String)
    })
  )
}).annotations({ identifier: "RpcError" })
/** @since 0.2.0 @category models */
export type ErrorObject = typeof ErrorObject.Type

/**
 * A JSON-RPC response: `result` or `error`.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Response = Schema.Union(
  Schema.Struct({ jsonrpc: Schema.Literal("2.0"), id: Schema.NullOr(RequestId), result: Schema.Unknown }),
  Schema.Struct({ jsonrpc: Schema.Literal("2.0"), id: Schema.NullOr(RequestId), error: ErrorObject })
).annotations({ identifier: "RpcResponse" })
/** @since 0.2.0 @category models */
export type Response = typeof Response.Type

/**
 * What a bearer token may do: `read` (every read and the event streams),
 * `prompt` (start, interrupt turns; create threads), `approve` (answer
 * approvals), `admin` (archive, jobs, checkpoints; implies the others).
 *
 * @since 0.2.0
 * @category schemas
 */
export const Scope = Schema.Literal("read", "prompt", "approve", "admin").annotations({ identifier: "Scope" })
/** @since 0.2.0 @category models */
export type Scope = typeof Scope.Type

/**
 * An approval as the wire carries it: the exact tool call the person is
 * asked about (name and arguments, as the model sent them, and the shell
 * command the policy matched), why it is asked, and its state.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Approval = Schema.Struct({
  id: ApprovalId,
  thread_id: Schema.NullOr(ThreadId),
  call: ToolCall,
  command: optional(Schema.String),
  cwd: optional(Schema.String),
  reason: Schema.String,
  status: Schema.Literal("pending", "approved", "denied"),
  created_at: Timestamp,
  resolved_at: optional(Timestamp),
  resolution_reason: optional(Schema.String)
}).annotations({ identifier: "Approval" })
/** @since 0.2.0 @category models */
export type Approval = typeof Approval.Type

const Empty = Schema.Struct({})

/**
 * Who the caller is, as the server sees it: the token's name and scopes
 * (`owner` with `admin` when the server needs no token). A client hides
 * what the scopes do not allow; the server refuses it anyway.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Whoami = Schema.Struct({
  name: Schema.String,
  scopes: Schema.Array(Scope),
  /** Each scope this principal holds, `admin` implying the others. */
  can: Schema.Struct({ read: Schema.Boolean, prompt: Schema.Boolean, approve: Schema.Boolean, admin: Schema.Boolean })
}).annotations({ identifier: "Whoami" })
/** @since 0.2.0 @category models */
export type Whoami = typeof Whoami.Type

/**
 * What `policy/check` answers: the exec policy's decision on a command
 * string (after the approval mode) and why, as `strata policy check`
 * prints it.
 *
 * @since 0.2.0
 * @category schemas
 */
export const PolicyCheck = Schema.Struct({
  command: Schema.String,
  decision: Schema.Literal("allow", "ask", "deny"),
  /** The rules' decision, before the approval mode. */
  policy_decision: Schema.Literal("allow", "ask", "deny"),
  approval: AskForApproval,
  /** One line: why. */
  summary: Schema.String,
  /** Every simple command with the rule that decided it, then every reason that forced `ask`. */
  explanation: Schema.String,
  commands: Schema.Array(
    Schema.Struct({
      argv: Schema.Array(Schema.String),
      decision: Schema.Literal("allow", "ask", "deny"),
      /** The deciding rule's prefix and where it is (`file:line`), or null when no rule matched. */
      rule: Schema.NullOr(Schema.String)
    })
  )
}).annotations({ identifier: "PolicyCheck" })
/** @since 0.2.0 @category models */
export type PolicyCheck = typeof PolicyCheck.Type

/**
 * A thread checkpoint's identity (what `checkpoints/save` answers).
 *
 * @since 0.2.0
 * @category schemas
 */
export const CheckpointInfo = Schema.Struct({
  thread_id: ThreadId,
  id: CheckpointId,
  saved_at: Timestamp,
  order: Schema.Number.pipe(Schema.int(), Schema.nonNegative())
}).annotations({ identifier: "CheckpointInfo" })

/**
 * A thread checkpoint with its state.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Checkpoint = Schema.Struct({ ...CheckpointInfo.fields, state: JsonValue }).annotations({
  identifier: "Checkpoint"
})
const ThreadRef = Schema.Struct({ thread_id: ThreadId })
const JobRef = Schema.Struct({ id: JobId })
const Detail = { detail: optional(Schema.String.pipe(Schema.maxLength(4096))) }
const Selection = {
  model: optional(Schema.String.pipe(Schema.maxLength(256))),
  model_provider: optional(Schema.String.pipe(Schema.maxLength(256))),
  cwd: optional(Schema.String.pipe(Schema.maxLength(4096)))
}

/**
 * What `turn/start` answers: the turn runs in the server; its events stream
 * on the thread's event stream. With `wait: true` the answer is the turn's
 * `PromptResponse` instead.
 *
 * @since 0.2.0
 * @category schemas
 */
export const TurnStarted = Schema.Struct({
  thread_id: ThreadId,
  status: Schema.Literal("running"),
  /** The last sequence number of the thread before the turn: stream from here to see all of it. */
  after_seq: Schema.Number.pipe(Schema.int(), Schema.nonNegative())
}).annotations({ identifier: "TurnStarted" })
/** @since 0.2.0 @category models */
export type TurnStarted = typeof TurnStarted.Type

/**
 * What `approval/resolve` answers: the approval as resolved. The paused
 * turn continues in the server once none of its approvals is pending; its
 * events (`approval_decided` first) stream to every attached client.
 *
 * @since 0.2.0
 * @category schemas
 */
export const ApprovalResolved = Schema.Struct({
  approval: Approval,
  continued: Schema.Boolean,
  /** For `approve_always`: the allow rules added (TOML), each the exact argv of one simple command. */
  rules: optional(Schema.Array(Schema.String))
}).annotations({ identifier: "ApprovalResolved" })
/** @since 0.2.0 @category models */
export type ApprovalResolved = typeof ApprovalResolved.Type

/**
 * A method of the wire: its params and result schemas and the scope a token
 * needs to call it.
 *
 * @since 0.2.0
 * @category models
 */
export interface Method<P extends Schema.Schema.AnyNoContext, R extends Schema.Schema.AnyNoContext> {
  readonly params: P
  readonly result: R
  readonly scope: Scope
  readonly description: string
}

const method = <P extends Schema.Schema.AnyNoContext, R extends Schema.Schema.AnyNoContext>(
  scope: Scope,
  params: P,
  result: R,
  description: string
): Method<P, R> => ({ params, result, scope, description })

/**
 * Every method of the wire.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Methods = {
  "app/status": method("read", Empty, AppStatus, "Versions, runtime, jobs, MCP servers, thread counts"),
  "auth/whoami": method("read", Empty, Whoami, "The calling token's name and scopes"),
  "mcp/status": method("read", Empty, Schema.Array(McpServerStatus), "The MCP servers and their state"),
  "mcp/restart": method(
    "admin",
    Schema.Struct({ server_name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)) }),
    McpServerStatus,
    "Restart one configured MCP server (its tools are refreshed); answers its status after the restart"
  ),
  "policy/check": method(
    "read",
    Schema.Struct({
      command: Schema.String.pipe(Schema.maxLength(100_000)),
      cwd: optional(Schema.String.pipe(Schema.maxLength(4096))),
      approval_policy: optional(AskForApproval)
    }),
    PolicyCheck,
    "Decide allow / ask / deny for a shell command with the server's exec policy, and explain it (runs nothing)"
  ),
  "thread/start": method(
    "prompt",
    Schema.Struct({ ...Selection, name: optional(Schema.String.pipe(Schema.maxLength(512))) }),
    ThreadResponse,
    "Create a thread and start a session on it"
  ),
  "thread/resume": method(
    "prompt",
    Schema.Struct({ thread_id: ThreadId, ...Selection }),
    ThreadResponse,
    "Reopen a thread from its journal (a turn left open by a crash is closed)"
  ),
  "thread/fork": method(
    "prompt",
    Schema.Struct({ thread_id: ThreadId, at_message_id: optional(MessageId), ...Selection }),
    ThreadResponse,
    "Branch a thread at its latest message or at `at_message_id`"
  ),
  "thread/list": method(
    "read",
    Schema.Struct({
      include_archived: optional(Schema.Boolean),
      limit: optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 10_000))),
      cursor: optional(Schema.String.pipe(Schema.maxLength(1024)))
    }),
    ThreadResponse,
    "List threads, newest first"
  ),
  "thread/read": method("read", ThreadRef, ThreadResponse, "A thread's metadata and history"),
  "thread/set_name": method(
    "prompt",
    Schema.Struct({ thread_id: ThreadId, name: Schema.String.pipe(Schema.maxLength(512)) }),
    ThreadResponse,
    "Rename a thread"
  ),
  "thread/archive": method("admin", ThreadRef, ThreadResponse, "Hide a thread from the default listing"),
  "thread/unarchive": method("admin", ThreadRef, ThreadResponse, "Show an archived thread again"),
  "turn/start": method(
    "prompt",
    Schema.Struct({
      thread_id: optional(ThreadId),
      prompt: Schema.String.pipe(Schema.maxLength(1_000_000)),
      model: optional(Schema.String.pipe(Schema.maxLength(256))),
      cwd: optional(Schema.String.pipe(Schema.maxLength(4096))),
      approval_policy: optional(AskForApproval),
      max_turns: optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 1000))),
      wait: optional(Schema.Boolean)
    }),
    Schema.Union(TurnStarted, PromptResponse),
    "Start a turn; it runs in the server and streams on the thread's events (`wait: true` answers when it ends)"
  ),
  "turn/interrupt": method(
    "prompt",
    ThreadRef,
    Schema.Struct({ thread_id: ThreadId, interrupted: Schema.Boolean }),
    "Interrupt the running turn of a thread (its running tools are cancelled; `turn_ended: interrupted` is recorded)"
  ),
  "events/read": method(
    "read",
    Schema.Struct({
      thread_id: ThreadId,
      after: optional(Schema.Number.pipe(Schema.int(), Schema.nonNegative())),
      limit: optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 10_000)))
    }),
    Schema.Struct({ events: Schema.Array(EventFrame), last_seq: Schema.Number }),
    "A thread's persisted events after a sequence number (the pull form of the event stream)"
  ),
  "approval/list": method(
    "read",
    Schema.Struct({
      thread_id: optional(ThreadId),
      status: optional(Schema.Literal("pending", "approved", "denied"))
    }),
    Schema.Array(Approval),
    "Approvals with the exact call each asks about; pending ones unless `status` names another"
  ),
  "approval/resolve": method(
    "approve",
    Schema.Struct({
      approval_id: ApprovalId,
      decision: Schema.Literal("approve", "approve_always", "deny"),
      reason: optional(Schema.String.pipe(Schema.maxLength(4096)))
    }),
    ApprovalResolved,
    "Answer a pending approval (`approve_always` also adds an allow rule for exactly its command's simple commands); every attached client sees `approval_decided`; the paused turn continues"
  ),
  "jobs/list": method("read", Empty, Schema.Array(JobRecord), "Every job, most recently updated first"),
  "jobs/get": method("read", JobRef, JobRecord, "One job"),
  "jobs/history": method("read", JobRef, Schema.Array(JobHistoryEntry), "A job's transitions"),
  "jobs/enqueue": method(
    "admin",
    Schema.Struct({ name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)), input: optional(JsonValue) }),
    JobRecord,
    "Enqueue a job of a registered kind"
  ),
  "jobs/cancel": method("admin", JobRef, JobRecord, "Cancel a job"),
  "jobs/retry": method(
    "admin",
    JobRef,
    JobRecord,
    "Run a failed or cancelled job again: a new job of the same kind and input (the old one keeps its history)"
  ),
  "jobs/pause": method("admin", Schema.Struct({ id: JobId, ...Detail }), JobRecord, "Pause a job"),
  "jobs/resume": method("admin", Schema.Struct({ id: JobId, ...Detail }), JobRecord, "Resume a paused job"),
  "checkpoints/save": method(
    "admin",
    Schema.Struct({ thread_id: ThreadId, checkpoint_id: CheckpointId, state: JsonValue }),
    CheckpointInfo,
    "Save a named checkpoint of a thread"
  ),
  "checkpoints/load": method(
    "read",
    Schema.Struct({ thread_id: ThreadId, checkpoint_id: optional(CheckpointId) }),
    Schema.Struct({ checkpoint: Schema.NullOr(Checkpoint) }),
    "A named checkpoint of a thread, or its latest"
  )
} as const

/**
 * The name of a method.
 *
 * @since 0.2.0
 * @category models
 */
export type MethodName = keyof typeof Methods

/** @since 0.2.0 @category models */
export type ParamsOf<M extends MethodName> = (typeof Methods)[M]["params"]["Encoded"]
/**
 * A method's params after decoding with its schema: what a server's handler
 * gets (ids branded, so they need no cast).
 *
 * @since 0.2.0
 * @category models
 */
export type DecodedParamsOf<M extends MethodName> = (typeof Methods)[M]["params"]["Type"]
/** @since 0.2.0 @category models */
export type ResultOf<M extends MethodName> = (typeof Methods)[M]["result"]["Type"]

/**
 * The sequence number of an SSE event (`id:` line, `Last-Event-ID`): a
 * thread's stream uses the thread's own sequence numbers.
 *
 * @since 0.2.0
 * @category schemas
 */
export const EventId = Sequence
