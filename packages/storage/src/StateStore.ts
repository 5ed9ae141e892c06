/**
 * `StateStore`: the one service all of Strata's state goes through — thread
 * journals, thread metadata, checkpoints, jobs and pending approvals — with
 * one contract over several backends, chosen by layer:
 *
 * - {@link layerMemory}: in this process's memory, for tests.
 * - {@link layerFileSystem}: Strata's own crash-safe files (framed,
 *   checksummed journals; atomic record writes), for a laptop; shared by
 *   the processes that open the same directory.
 * - {@link layerUnstorage}: any unstorage driver (by name from config:
 *   `@strata/storage/Unstorage`), crash-tolerant through commit markers,
 *   one writer process at a time.
 * - `layerRedis` from `@strata/storage/redis` and `layerPostgres` from
 *   `@strata/storage/sql`, for a fleet.
 *
 * @example
 * ```ts
 * import { StateStore } from "@strata/storage"
 * import { NodeContext } from "@effect/platform-node"
 *
 * const program = Effect.gen(function* () {
 *   const store = yield* StateStore.StateStore
 *   const [frame] = yield* store.appendEvents("thread-1", [{ event: "turn_started", turn_id: "t1", model: "m" }])
 *   const events = yield* Stream.runCollect(store.readEvents("thread-1"))
 * }).pipe(Effect.provide(StateStore.layerFileSystem(".strata/state")), Effect.provide(NodeContext.layer))
 * ```
 *
 * (Over 600 lines with its JSDoc: about 220 lines of code; the rest is the
 * contract of each operation, which every driver's suite checks.)
 *
 * @since 0.1.0
 */
import type { FileSystem } from "@effect/platform/FileSystem"
import type { Path } from "@effect/platform/Path"
import type * as Common from "@strata/protocol/Common"
import type * as Event from "@strata/protocol/Event"
import type * as Ids from "@strata/protocol/Ids"
import type * as Job from "@strata/protocol/Job"
import type * as Thread from "@strata/protocol/Thread"
import type * as Tool from "@strata/protocol/Tool"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { Storage } from "unstorage"
import * as BackendCapabilities from "./internal/capabilities.js"
import * as fsBackend from "./internal/fsBackend.js"
import * as memoryBackend from "./internal/memoryBackend.js"
import { basic as basicProcess } from "./internal/processInfo.js"
import * as store from "./internal/store.js"
import * as unstorageBackend from "./internal/unstorageBackend.js"
import type {
  CorruptJournal,
  LeaseHolder,
  LeaseLost,
  StorageError,
  ThreadBusy,
  UnsupportedSchemaVersion
} from "./StorageError.js"
import type * as StorageSchema from "./StorageSchema.js"

/**
 * Any JSON value (checkpoint state).
 *
 * @since 0.1.0
 * @category models
 */
export type JsonValue = Common.JsonValue

/**
 * The errors of operations on a thread journal.
 *
 * @since 0.1.0
 * @category errors
 */
export type JournalError = StorageError | CorruptJournal | UnsupportedSchemaVersion | Ids.InvalidId

/**
 * The errors of operations on records (threads, checkpoints, jobs, approvals).
 *
 * @since 0.1.0
 * @category errors
 */
export type RecordError = StorageError | UnsupportedSchemaVersion | Ids.InvalidId

/**
 * @since 0.1.0
 * @category models
 */
export interface ReadEventsOptions {
  /** The first sequence number to read (default 1). */
  readonly fromSeq?: number
  /** The most events to read (default: all). */
  readonly limit?: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ListThreadsOptions {
  /** Only threads whose `archived` flag equals this (absent counts as false); all when omitted. */
  readonly archived?: boolean
  /** Page size (default: everything). */
  readonly limit?: number
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string
  /**
   * Also return the thread records that cannot be read (`damaged`: what
   * `listDamaged("thread")` returns), from the same listing: one read of the
   * store for both, and counts that agree with each other.
   */
  readonly damaged?: boolean
}

/**
 * A page of threads, newest first (by `created_at`, then id). `nextCursor`
 * is present when more threads follow.
 *
 * @since 0.1.0
 * @category models
 */
export interface ThreadPage {
  readonly threads: ReadonlyArray<Thread.Thread>
  readonly nextCursor?: string
  /** With `damaged: true`: the thread records that cannot be read, in every page. */
  readonly damaged?: ReadonlyArray<DamagedRecord>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PutJobOptions {
  /**
   * The revision the caller read (0: the job must not exist yet). For
   * `putJob` it defaults to `record.revision`; for `appendJobHistory`, when
   * omitted, the entry is appended to whatever revision is current.
   */
  readonly expectedRevision?: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ListJobsOptions {
  /** Only jobs in one of these statuses. */
  readonly status?: ReadonlyArray<Job.JobStatus>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ListApprovalsOptions {
  readonly status?: StorageSchema.ApprovalStatus
  readonly threadId?: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ResolveApprovalOptions {
  readonly reason?: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ImportOptions {
  /** Import under this id instead of the exported one (a copy). */
  readonly threadId?: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ImportResult {
  readonly threadId: Ids.ThreadId
  readonly events: number
  readonly checkpoints: number
}

/**
 * The right to write a thread, held by one writer at a time across every
 * process sharing the store (`acquireThreadLease`). `token` is a fencing
 * token: strictly increasing per thread, so a write carrying an older token
 * than the current one is refused with `LeaseLost` and writes nothing.
 *
 * @since 0.2.0
 * @category models
 */
export interface ThreadLease {
  readonly threadId: Ids.ThreadId
  /** The fencing token: strictly increasing per thread, across processes. */
  readonly token: number
  readonly owner: string
  /**
   * Completes if the lease is lost while held: a renewal found a newer
   * token (the lease expired and another writer took it), or renewals kept
   * failing until the lease expired. Never completes otherwise.
   */
  readonly lost: Effect.Effect<void>
  /** When the lease expires unless renewed again (ms since the epoch), as of the last renewal. */
  readonly expiresAt: Effect.Effect<number>
}

/**
 * @since 0.2.0
 * @category models
 */
export interface AcquireLeaseOptions {
  /** Who holds it (shown to a second writer in `ThreadBusy`): 1..256 characters. */
  readonly owner: string
  /** How long the lease lives without renewal (default 30 seconds; 100 ms .. 1 hour). */
  readonly ttlMs?: number | undefined
  /**
   * Renew the lease in the background every `ttlMs / 3` while the scope is
   * open (default true). With false the lease lapses after `ttlMs`.
   */
  readonly autoRenew?: boolean | undefined
}

/**
 * The lease a write is fenced with.
 *
 * @since 0.2.0
 * @category models
 */
export interface WriteOptions {
  /**
   * When given, the write happens only if this is still the thread's current
   * lease; otherwise it fails with `LeaseLost` and writes nothing. Without
   * it the write is not fenced (atomic as always, but a lease holder does
   * not keep it out).
   */
  readonly lease?: ThreadLease | undefined
}

/**
 * The current holder of a thread's lease, with its token.
 *
 * @since 0.2.0
 * @category models
 */
export interface LeaseInfo extends LeaseHolder {
  readonly token: number
}

/**
 * Options every backend takes.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoreOptions {
  /** Upgrades for records and events written with an older schema version. */
  readonly migrations?: ReadonlyArray<StorageSchema.Migration>
  /**
   * Open the store for reading only: every write fails with `StorageError`
   * reason `ReadOnly` before any I/O, and the store itself writes nothing
   * (the file-system store creates no directory or lock and repairs
   * nothing). For commands that only look.
   */
  readonly readOnly?: boolean | undefined
  /**
   * `"strict"`: refuse to open a store that does not make every
   * acknowledged write survive a crash of its server or process (Redis
   * without `appendfsync always`, PostgreSQL with `synchronous_commit` or
   * `fsync` off, the memory store, unstorage drivers) with `StorageError`
   * reason `NotDurable`. Default `"relaxed"`: open it and say so once
   * (see `Service.durability`).
   */
  readonly durability?: "strict" | "relaxed" | undefined
}

/**
 * How durable an acknowledged write is on this store, as far as it can
 * tell: `durable` (survives a crash of the process and of the server),
 * `volatile` (can be lost), `unknown` (up to a driver Strata cannot see into).
 *
 * @since 0.2.0
 * @category models
 */
export interface Durability {
  readonly level: "durable" | "volatile" | "unknown"
  /** One line for a person: what was found and what to change. */
  readonly detail: string
}

/**
 * What a store promises, per backend: `strata status` shows it, and Strata
 * refuses (or says it degrades) where a configuration asks for more.
 *
 * - `durableAck`: an acknowledged write survives a crash of the machine or
 *   server (`yes`), only of this process (`process`: no fsync), nothing
 *   (`no`: memory), or it depends on a server Strata cannot see into.
 * - `atomicAppend`: how an append's events become visible at once:
 *   natively (one frame, script or statement) or through a commit marker
 *   written after them (key-value drivers).
 * - `writers`: who may write at once: any number of processes, one
 *   process at a time (enforced with a writer record, the driver having no
 *   cross-process lock), or this process only (the data lives in it).
 * - `leases`: whether thread leases hold across processes or in this one.
 * - `list`: what listing a collection costs.
 * - `ttl`: whether the backend expires keys itself.
 *
 * @since 0.3.0
 * @category models
 */
export interface Capabilities {
  readonly durableAck: "yes" | "process" | "no" | "unknown"
  readonly atomicAppend: "native" | "commit-marker"
  readonly writers: "many-processes" | "one-process" | "this-process"
  readonly leases: "cross-process" | "in-process"
  readonly list: string
  readonly ttl: boolean
}

/**
 * A record that cannot be read back (bad JSON, a failed schema check, a
 * newer schema version). Lists leave it out and report it here, so the
 * damage stays with that record.
 *
 * @since 0.2.0
 * @category models
 */
export interface DamagedRecord {
  readonly kind: "thread" | "job" | "approval"
  readonly id: string
  readonly error: StorageError | UnsupportedSchemaVersion
}

/**
 * The `StateStore` contract. Every id argument is validated before any I/O
 * (a bad one fails with `InvalidId` naming the field). Lookups of something
 * absent return `Option.none()`; operations that need a record fail with a
 * `StorageError` of reason `NotFound`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The backend's name: `memory`, `fs`, `unstorage`, `redis` or `postgres`. */
  readonly backend: string

  /** How durable an acknowledged write is on this store. */
  readonly durability: Durability

  /** What this store promises (see {@link Capabilities}). */
  readonly capabilities: Capabilities

  /** Whether the store was opened read-only. */
  readonly readOnly: boolean

  /**
   * Appends events to a thread's journal and returns them framed. The store
   * assigns the sequence numbers (gap-free, from 1) and the timestamp. When
   * it returns, the events are durable (as durable as the backend: fsync on
   * the file system, a committed transaction on PostgreSQL, see the README
   * for Redis). The events of one call are appended atomically and never
   * interleave with those of another call. An event that does not match its
   * schema fails the whole call with `InvalidInput`, nothing appended. The
   * thread's metadata need not exist.
   */
  readonly appendEvents: {
    (threadId: string, events: ReadonlyArray<Event.Event>): Effect.Effect<ReadonlyArray<Event.EventFrame>, JournalError>
    (
      threadId: string,
      events: ReadonlyArray<Event.Event>,
      options: WriteOptions
    ): Effect.Effect<ReadonlyArray<Event.EventFrame>, JournalError | LeaseLost>
  }

  /** Streams a thread's events in sequence order; empty for an unknown thread. */
  readonly readEvents: (threadId: string, options?: ReadEventsOptions) => Stream.Stream<Event.EventFrame, JournalError>

  /** The last sequence number of the thread's journal (0 when empty). */
  readonly lastSeq: (threadId: string) => Effect.Effect<number, JournalError>

  /** Stores a new thread's metadata; `Conflict` when the id is taken. */
  readonly createThread: (thread: Thread.Thread) => Effect.Effect<Thread.Thread, RecordError>

  readonly getThread: (threadId: string) => Effect.Effect<Option.Option<Thread.Thread>, RecordError>

  /**
   * Applies `update` to the thread's metadata (retried on a concurrent
   * write, so `update` must be pure) and sets `updated_at` to now. The id
   * cannot change. `NotFound` when the thread does not exist.
   */
  readonly updateThread: {
    (threadId: string, update: (thread: Thread.Thread) => Thread.Thread): Effect.Effect<Thread.Thread, RecordError>
    (
      threadId: string,
      update: (thread: Thread.Thread) => Thread.Thread,
      options: WriteOptions
    ): Effect.Effect<Thread.Thread, RecordError | LeaseLost>
  }

  /**
   * Lists thread metadata, newest first, a page at a time. A thread whose
   * metadata cannot be read is left out (see `listDamaged`).
   */
  readonly listThreads: (options?: ListThreadsOptions) => Effect.Effect<ThreadPage, RecordError>

  /**
   * Takes the thread's lease: the one writer of the thread, across every
   * process sharing the store, until the scope closes (then it is released).
   * While the scope is open it is renewed in the background. A second writer
   * fails with `ThreadBusy` naming the holder; a lease whose holder crashed
   * is taken over once it expires (on the file-system store also as soon as
   * its process is found dead). Readers are never affected. Pass the lease
   * to `appendEvents`, `updateThread` and `saveCheckpoint` to fence them.
   */
  readonly acquireThreadLease: (
    threadId: string,
    options: AcquireLeaseOptions
  ) => Effect.Effect<ThreadLease, ThreadBusy | JournalError, Scope.Scope>

  /** The thread's current lease holder, if a live (unexpired, unreleased) lease exists. Writes nothing. */
  readonly threadLease: (threadId: string) => Effect.Effect<Option.Option<LeaseInfo>, JournalError>

  /** Removes a thread's metadata, journal and checkpoints. */
  readonly deleteThread: (threadId: string) => Effect.Effect<void, RecordError>

  /** Saves (or replaces) a named checkpoint; it becomes the thread's latest. */
  readonly saveCheckpoint: {
    (threadId: string, checkpointId: string, state: JsonValue): Effect.Effect<StorageSchema.CheckpointInfo, RecordError>
    (
      threadId: string,
      checkpointId: string,
      state: JsonValue,
      options: WriteOptions
    ): Effect.Effect<StorageSchema.CheckpointInfo, RecordError | LeaseLost>
  }

  /**
   * Loads a named checkpoint, or with `"latest"` the most recently saved
   * one. `"latest"` fails with the error of a checkpoint of the thread that
   * cannot be read (which one is the latest cannot be known then).
   */
  readonly loadCheckpoint: (
    threadId: string,
    checkpointId: string | "latest"
  ) => Effect.Effect<Option.Option<StorageSchema.Checkpoint>, RecordError>

  /** The thread's checkpoints without their state, oldest save first. */
  readonly listCheckpoints: (
    threadId: string
  ) => Effect.Effect<ReadonlyArray<StorageSchema.CheckpointInfo>, RecordError>

  /**
   * Writes a job when its stored revision equals the expected one (default
   * `record.revision`; 0 for a new job) and returns it with `revision`
   * bumped by one. A stale revision fails with `Conflict` and writes nothing.
   */
  readonly putJob: (record: Job.JobRecord, options?: PutJobOptions) => Effect.Effect<Job.JobRecord, RecordError>

  readonly getJob: (jobId: string) => Effect.Effect<Option.Option<Job.JobRecord>, RecordError>

  /** Every job (optionally only some statuses), oldest first; damaged ones are left out (see `listDamaged`). */
  readonly listJobs: (options?: ListJobsOptions) => Effect.Effect<ReadonlyArray<Job.JobRecord>, RecordError>

  /**
   * Appends an entry to a job's history (and bumps its revision). With
   * `expectedRevision` it is a compare-and-set like `putJob`; without it, it
   * retries on concurrent writes. `NotFound` when the job does not exist.
   */
  readonly appendJobHistory: (
    jobId: string,
    entry: Job.JobHistoryEntry,
    options?: PutJobOptions
  ) => Effect.Effect<Job.JobRecord, RecordError>

  /** Persists a pending approval; `Conflict` when the id is taken. */
  readonly putApproval: (
    approval: StorageSchema.NewApproval
  ) => Effect.Effect<StorageSchema.ApprovalRecord, RecordError>

  readonly getApproval: (approvalId: string) => Effect.Effect<Option.Option<StorageSchema.ApprovalRecord>, RecordError>

  /** Approvals, oldest first, optionally by status and thread; damaged ones are left out (see `listDamaged`). */
  readonly listApprovals: (
    options?: ListApprovalsOptions
  ) => Effect.Effect<ReadonlyArray<StorageSchema.ApprovalRecord>, RecordError>

  /**
   * Resolves a pending approval, exactly once: of concurrent or repeated
   * calls (across processes on Redis and PostgreSQL) one succeeds and the
   * others fail with `Conflict`. `NotFound` when it does not exist.
   */
  readonly resolveApproval: (
    approvalId: string,
    decision: Tool.ApprovalDecision,
    options?: ResolveApprovalOptions
  ) => Effect.Effect<StorageSchema.ApprovalRecord, RecordError>

  /** The records of a kind that cannot be read back, with why. Writes nothing. */
  readonly listDamaged: (kind: DamagedRecord["kind"]) => Effect.Effect<ReadonlyArray<DamagedRecord>, RecordError>

  /**
   * A thread as JSONL lines (each ending in `\n`): a `thread` line (metadata
   * or null), every event, every checkpoint, and an `end` line with counts.
   * See `docs/storage-schema.md`.
   */
  readonly exportThread: (threadId: string) => Stream.Stream<string, JournalError>

  /**
   * Imports an export (a string, or a stream of text chunks). Every line is
   * decoded and checked (sequence, thread, counts) before anything is
   * written; a bad line fails with `InvalidInput` naming it. `Conflict` when
   * the thread already exists.
   */
  readonly importThread: <E = never>(
    jsonl: string | Stream.Stream<string, E>,
    options?: ImportOptions
  ) => Effect.Effect<ImportResult, JournalError | E>
}

/**
 * The `StateStore` port.
 *
 * @since 0.1.0
 * @category tags
 */
export class StateStore extends Context.Tag("@strata/storage/StateStore")<StateStore, Service>() {}

/**
 * Options of the file-system store.
 *
 * @since 0.1.0
 * @category models
 */
export interface FileSystemOptions extends StoreOptions {
  /**
   * How long a writer waits for another process's write lock on a thread
   * (held only for the write itself) before failing with `StorageError`
   * reason `Locked`, naming the holder. Default 10 seconds.
   */
  readonly lockWaitMs?: number | undefined
}

/**
 * Builds a `StateStore` in this process's memory (plain maps; nothing survives the process).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (options: StoreOptions = {}): Effect.Effect<Service, StorageError> =>
  Effect.suspend(() => store.build(memoryBackend.make(options), options))

/**
 * A fresh in-memory store, for tests (see {@link makeMemory}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<StateStore> = Layer.effect(StateStore, Effect.orDie(makeMemory()))

/**
 * Builds a `StateStore` over any unstorage `Storage` (the same as
 * `Unstorage.make` from `@strata/storage/Unstorage`, which also loads a
 * driver by name). An append is acknowledged once its commit marker is
 * written, so a crash never leaves a torn entry in the committed journal;
 * one process writes at a time (see the README).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeUnstorage = (
  storage: Storage,
  options: StoreOptions & { readonly driver?: string | undefined } = {}
): Effect.Effect<Service, StorageError | UnsupportedSchemaVersion, Scope.Scope> =>
  Effect.suspend(() => {
    const mounted = storage.getMount("").driver.name
    const driver = options.driver ?? (typeof mounted === "string" && mounted !== "" ? mounted : "custom")
    const facts = BackendCapabilities.driverFacts(driver)
    return Effect.flatMap(
      unstorageBackend.make(storage, {
        ...options,
        driverName: driver,
        driverDurability: facts.durability,
        capabilities: BackendCapabilities.unstorage(facts),
        processLocal: facts.processLocal,
        identity: { self: basicProcess(), isGone: () => Effect.succeed(false) }
      }),
      (backend) => store.build(backend, options)
    )
  }).pipe(Effect.withSpan("StateStore.open", { attributes: { backend: "unstorage" } }))

/**
 * A store over any unstorage `Storage` (see {@link makeUnstorage}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerUnstorage = (
  storage: Storage,
  options: StoreOptions & { readonly driver?: string | undefined } = {}
): Layer.Layer<StateStore, StorageError | UnsupportedSchemaVersion> =>
  Layer.scoped(StateStore, makeUnstorage(storage, options))

/**
 * Builds the crash-safe file-system store in `directory` (created if
 * needed; with `readOnly` nothing is created or written). Any number of
 * processes may open the same directory: a write holds the thread's (or
 * record's) lock file only while it writes, and a lock left by a dead
 * process is taken over. Use thread leases to keep one writer per thread.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeFileSystem = (
  directory: string,
  options: FileSystemOptions = {}
): Effect.Effect<Service, StorageError | UnsupportedSchemaVersion, FileSystem | Path | Scope.Scope> =>
  Effect.withSpan(
    Effect.flatMap(fsBackend.make(directory, options), (backend) => store.build(backend, options)),
    "StateStore.open"
  )

/**
 * The crash-safe file-system store (see {@link makeFileSystem}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFileSystem = (
  directory: string,
  options: FileSystemOptions = {}
): Layer.Layer<StateStore, StorageError | UnsupportedSchemaVersion, FileSystem | Path> =>
  Layer.scoped(StateStore, makeFileSystem(directory, options))
