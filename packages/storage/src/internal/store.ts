/**
 * The `StateStore` semantics, written once over a `Backend`: id validation
 * before any I/O, event encoding, timestamps, thread metadata, checkpoints,
 * jobs with optimistic revisions, approvals resolved exactly once, and the
 * JSONL export / import.
 */
import * as Event from "@strata/protocol/Event"
import * as Ids from "@strata/protocol/Ids"
import * as Job from "@strata/protocol/Job"
import * as ProtocolError from "@strata/protocol/ProtocolError"
import * as Thread from "@strata/protocol/Thread"
import type * as Tool from "@strata/protocol/Tool"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as StateStore from "../StateStore.js"
import { type StorageError, ThreadBusy, type UnsupportedSchemaVersion } from "../StorageError.js"
import * as StorageSchema from "../StorageSchema.js"
import type { Backend, Collection, StoredRecord } from "./backend.js"
import { decodeRecord, encodeRecord, wrapRecord } from "./codec.js"
import * as ExportImport from "./exportImport.js"
import { isJobRecord } from "./jobCodec.js"
import { checkInt, checkJobText, checkText, checkThreadText, fail, fenceOf, lostError, traced } from "./storeChecks.js"
import { isThread } from "./threadCodec.js"

const THREADS: Collection = { kind: "thread" }
const JOBS: Collection = { kind: "job" }
const APPROVALS: Collection = { kind: "approval" }
const checkpoints = (threadId: string): Collection => ({ kind: "checkpoint", threadId })

const MAX_CAS_RETRIES = 16

const encodeEvent = Schema.encodeEither(Event.Event)

const compareThreads = (a: Thread.Thread, b: Thread.Thread): number =>
  b.created_at - a.created_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)

const CURSOR = /^(\d{1,16}):([A-Za-z0-9._-]{1,128})$/

const DEFAULT_TTL_MS = 30_000
const MIN_TTL_MS = 100
const MAX_TTL_MS = 3_600_000
const MAX_OWNER = 256

/**
 * Builds a `StateStore` service over a backend, refusing one that is not
 * durable when `durability: "strict"` is asked for.
 */
export const build = (
  backend: Backend,
  options: StateStore.StoreOptions = {}
): Effect.Effect<StateStore.Service, StorageError> =>
  options.durability === "strict" && backend.durability.level !== "durable"
    ? fail("NotDurable", backend.name, `durability = "strict" refuses this store: ${backend.durability.detail}`)
    : Effect.succeed(make(backend, options))

/** Builds a `StateStore` service over a backend. */
export const make = (backend: Backend, options: StateStore.StoreOptions = {}): StateStore.Service => {
  const migrations = options.migrations ?? []
  const readOnly = options.readOnly === true
  let lastOrder = 0

  /** Refuses a write to a read-only store, before any I/O. */
  const writable = (key: string): Effect.Effect<void, StorageError> =>
    readOnly ? fail("ReadOnly", key, "the store was opened read-only") : Effect.void

  const decode =
    <A, I>(kind: StorageSchema.RecordKind, schema: Schema.Schema<A, I, never>, prefix: string) =>
    (stored: StoredRecord) =>
      decodeRecord(migrations, kind, schema, `${prefix}/${stored.key}`, stored)

  // Thread records take the fast check (see threadCodec.ts); the schema makes the error.
  const decodeThread = (stored: StoredRecord) =>
    decodeRecord(migrations, "thread", Thread.Thread, `threads/${stored.key}`, stored, isThread)
  const decodeCheckpoint = (threadId: string) =>
    decode("checkpoint", StorageSchema.Checkpoint, `threads/${threadId}/checkpoints`)
  // The store owns revisions: the record's `revision` is the stored one.
  const decodeJob = (stored: StoredRecord) =>
    Effect.map(decodeRecord(migrations, "job", Job.JobRecord, `jobs/${stored.key}`, stored, isJobRecord), (job) =>
      job.revision === stored.revision ? job : { ...job, revision: stored.revision }
    )
  const decodeApproval = (stored: StoredRecord) =>
    Effect.map(decode("approval", StorageSchema.ApprovalRecord, "approvals")(stored), (a) =>
      a.revision === stored.revision ? a : { ...a, revision: stored.revision }
    )

  const getDecoded = <A, E, R>(
    collection: Collection,
    key: string,
    f: (s: StoredRecord) => Effect.Effect<A, E, R>
  ): Effect.Effect<Option.Option<readonly [A, number]>, E | StorageError | UnsupportedSchemaVersion, R> =>
    Effect.flatMap(backend.getRecord(collection, key), (o) =>
      Option.match(o, {
        onNone: () => Effect.succeed(Option.none()),
        onSome: (s) => Effect.map(f(s), (a) => Option.some([a, s.revision] as const))
      })
    )

  /** The records that decode; the others go to `damaged` (bad JSON, failed schema, newer version). */
  const listAll = <A, R>(
    collection: Collection,
    f: (s: StoredRecord) => Effect.Effect<A, StorageError | UnsupportedSchemaVersion, R>
  ) =>
    Effect.flatMap(backend.listRecords(collection), (listing) =>
      Effect.map(
        Effect.forEach(listing.records, (r) => Effect.either(f(r))),
        (decoded) => {
          const values: Array<A> = []
          const damaged: Array<{ readonly key: string; readonly error: StorageError | UnsupportedSchemaVersion }> = [
            ...listing.damaged
          ]
          decoded.forEach((d, i) => {
            if (Either.isRight(d)) values.push(d.right)
            else damaged.push({ key: listing.records[i]!.key, error: d.left })
          })
          return { values, damaged }
        }
      )
    )

  const damagedRecord =
    (kind: StateStore.DamagedRecord["kind"]) =>
    (d: {
      readonly key: string
      readonly error: StorageError | UnsupportedSchemaVersion
    }): StateStore.DamagedRecord => ({
      kind,
      id: d.key,
      error: d.error
    })

  const listDecoded = <A, R>(
    collection: Collection,
    f: (s: StoredRecord) => Effect.Effect<A, StorageError | UnsupportedSchemaVersion, R>
  ) => Effect.map(listAll(collection, f), (all) => all.values)

  // ---------------------------------------------------------------------------
  // threads: journal

  // Hot path: a span without the call-site capture of `Effect.fn` (a stack trace per call).
  const appendEvents = traced(
    "StateStore.appendEvents",
    function* (threadId: string, events: ReadonlyArray<Event.Event>, options?: StateStore.WriteOptions) {
      const id = yield* Ids.validate("ThreadId", threadId, "threadId")
      const fence = yield* fenceOf(id, options)
      yield* writable(`threads/${id}`)
      if (events.length === 0) return []
      const timestamp = yield* Clock.currentTimeMillis
      const bodies = new Array<string>(events.length)
      for (let i = 0; i < events.length; i++) {
        const encoded = encodeEvent(events[i]!)
        if (Either.isLeft(encoded)) {
          return yield* fail(
            "InvalidInput",
            `threads/${id}/events[${i}]`,
            ProtocolError.fromParseError(Event.Event, encoded.left).message
          )
        }
        bodies[i] = JSON.stringify({ thread_id: id, timestamp, ...encoded.right })
      }
      const first = yield* backend.append(id, bodies, fence?.token)
      return events.map((event, i): Event.EventFrame => ({ ...event, thread_id: id, seq: first + i, timestamp }))
    }
  )

  const readEvents = (threadId: string, opts: StateStore.ReadEventsOptions = {}) =>
    Stream.unwrap(
      Effect.gen(function* () {
        const id = yield* Ids.validate("ThreadId", threadId, "threadId")
        yield* checkInt(`threads/${id}`, "fromSeq", opts.fromSeq, 1)
        yield* checkInt(`threads/${id}`, "limit", opts.limit, 0)
        return opts.limit === 0
          ? Stream.empty
          : backend.read(id, opts.fromSeq ?? 1, opts.limit ?? Number.POSITIVE_INFINITY)
      })
    ).pipe(Stream.withSpan("StateStore.readEvents", { attributes: { threadId } }))

  const lastSeq = Effect.fn("StateStore.lastSeq")(function* (threadId: string) {
    const id = yield* Ids.validate("ThreadId", threadId, "threadId")
    return yield* backend.lastSeq(id)
  })

  // ---------------------------------------------------------------------------
  // threads: metadata

  const createThread = Effect.fn("StateStore.createThread")(function* (thread: Thread.Thread) {
    const id = yield* Ids.validate("ThreadId", thread.id, "thread.id")
    yield* writable(`threads/${id}`)
    yield* checkThreadText(`threads/${id}`, thread)
    const doc = yield* encodeRecord("thread", Thread.Thread, `threads/${id}`, thread)
    const put = yield* backend.putRecord(THREADS, id, doc, 0)
    if (!put.ok) return yield* fail("Conflict", `threads/${id}`, "thread already exists")
    return thread
  })

  const getThread = Effect.fn("StateStore.getThread")(function* (threadId: string) {
    const id = yield* Ids.validate("ThreadId", threadId, "threadId")
    return Option.map(yield* getDecoded(THREADS, id, decodeThread), ([t]) => t)
  })

  const updateThread = Effect.fn("StateStore.updateThread")(function* (
    threadId: string,
    update: (thread: Thread.Thread) => Thread.Thread,
    options?: StateStore.WriteOptions
  ) {
    const id = yield* Ids.validate("ThreadId", threadId, "threadId")
    const fence = yield* fenceOf(id, options)
    for (let attempt = 0; attempt < MAX_CAS_RETRIES; attempt++) {
      yield* writable(`threads/${id}`)
      const current = yield* getDecoded(THREADS, id, decodeThread)
      if (Option.isNone(current)) return yield* fail("NotFound", `threads/${id}`, "thread does not exist")
      const [thread, revision] = current.value
      const now = yield* Clock.currentTimeMillis
      const next: Thread.Thread = { ...update(thread), id, updated_at: Math.max(now, thread.updated_at) }
      yield* checkThreadText(`threads/${id}`, next)
      const doc = yield* encodeRecord("thread", Thread.Thread, `threads/${id}`, next)
      const put = yield* backend.putRecord(THREADS, id, doc, revision, fence)
      if (put.ok) return next
      if (put.lost === true && fence !== undefined) return yield* lostError(fence)
    }
    return yield* fail("Conflict", `threads/${id}`, `too many concurrent updates (${MAX_CAS_RETRIES} attempts)`)
  })

  const listThreads = Effect.fn("StateStore.listThreads")(function* (opts: StateStore.ListThreadsOptions = {}) {
    yield* checkInt("threads", "limit", opts.limit, 1)
    let after: readonly [number, string] | undefined
    if (opts.cursor !== undefined) {
      const m = CURSOR.exec(opts.cursor)
      if (m === null) return yield* fail("InvalidInput", "threads", `invalid cursor ${JSON.stringify(opts.cursor)}`)
      after = [Number(m[1]), m[2]!]
    }
    const all = yield* listAll(THREADS, decodeThread)
    const wanted = opts.archived
    let threads = all.values
      .filter((t) => wanted === undefined || (t.archived === true) === wanted)
      .sort(compareThreads)
    if (after !== undefined) {
      const [at, id] = after
      threads = threads.filter((t) => t.created_at < at || (t.created_at === at && t.id < id))
    }
    const limit = opts.limit ?? threads.length
    const page = threads.slice(0, limit)
    const last = page[page.length - 1]
    const result: StateStore.ThreadPage =
      threads.length > limit && last !== undefined
        ? { threads: page, nextCursor: `${last.created_at}:${last.id}` }
        : { threads: page }
    return opts.damaged === true ? { ...result, damaged: all.damaged.map(damagedRecord("thread")) } : result
  })

  const deleteThread = Effect.fn("StateStore.deleteThread")(function* (threadId: string) {
    const id = yield* Ids.validate("ThreadId", threadId, "threadId")
    yield* writable(`threads/${id}`)
    yield* backend.removeThread(id)
  })

  // ---------------------------------------------------------------------------
  // threads: leases

  const acquireThreadLease = Effect.fn("StateStore.acquireThreadLease")(function* (
    threadId: string,
    options: StateStore.AcquireLeaseOptions
  ) {
    const id = yield* Ids.validate("ThreadId", threadId, "threadId")
    const key = `threads/${id}/lease`
    yield* writable(key)
    const owner = options.owner
    if (typeof owner !== "string" || owner.length === 0 || owner.length > MAX_OWNER) {
      return yield* fail("InvalidInput", key, `owner must be 1..${MAX_OWNER} characters`)
    }
    const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS
    if (!Number.isSafeInteger(ttlMs) || ttlMs < MIN_TTL_MS || ttlMs > MAX_TTL_MS) {
      return yield* fail("InvalidInput", key, `ttlMs must be an integer in ${MIN_TTL_MS}..${MAX_TTL_MS} (got ${ttlMs})`)
    }
    const acquired = yield* backend.leases.acquire(id, { owner, ttlMs })
    if (!acquired.ok) {
      const { token: _, ...holder } = acquired.holder
      return yield* new ThreadBusy({ threadId: id, holder })
    }
    const token = acquired.token
    let expiresAt = acquired.expiresAt
    const lost = yield* Deferred.make<void>()
    // Finalizers run last-added first: the renewal stops before the release.
    yield* Effect.addFinalizer(() => Effect.ignore(backend.leases.release(id, token)))
    if (options.autoRenew ?? true) {
      const every = Duration.millis(Math.max(Math.floor(ttlMs / 3), 10))
      const renewal: Effect.Effect<void> = Effect.gen(function* () {
        for (;;) {
          yield* Effect.sleep(every)
          const renewed = yield* Effect.either(backend.leases.renew(id, token, ttlMs))
          if (renewed._tag === "Right") {
            if (Option.isNone(renewed.right)) return yield* Deferred.succeed(lost, undefined)
            expiresAt = renewed.right.value
          } else if ((yield* Clock.currentTimeMillis) >= expiresAt) {
            // The store stayed unreachable until the lease expired: another
            // writer may hold it now.
            return yield* Deferred.succeed(lost, undefined)
          }
        }
      }).pipe(Effect.asVoid)
      // Interruptible whatever the caller's region (an uninterruptible caller,
      // such as a request handler, would otherwise make the renewal loop
      // uninterruptible and closing the scope would wait for it forever).
      yield* Effect.forkScoped(Effect.interruptible(renewal))
    }
    return {
      threadId: id,
      token,
      owner,
      lost: Deferred.await(lost),
      expiresAt: Effect.sync(() => expiresAt)
    } satisfies StateStore.ThreadLease
  })

  const threadLease = Effect.fn("StateStore.threadLease")(function* (threadId: string) {
    const id = yield* Ids.validate("ThreadId", threadId, "threadId")
    return yield* backend.leases.current(id)
  })

  // ---------------------------------------------------------------------------
  // checkpoints

  const saveCheckpoint = Effect.fn("StateStore.saveCheckpoint")(function* (
    threadId: string,
    checkpointId: string,
    state: StateStore.JsonValue,
    options?: StateStore.WriteOptions
  ) {
    const tid = yield* Ids.validate("ThreadId", threadId, "threadId")
    const cid = yield* Ids.validate("CheckpointId", checkpointId, "checkpointId")
    const fence = yield* fenceOf(tid, options)
    yield* writable(`threads/${tid}/checkpoints/${cid}`)
    const saved_at = yield* Clock.currentTimeMillis
    // Strictly increasing within this store, and following the clock across
    // restarts, so "latest" is well defined.
    const order = (lastOrder = Math.max(saved_at * 1000, lastOrder + 1))
    const checkpoint: StorageSchema.Checkpoint = { thread_id: tid, id: cid, state, saved_at, order }
    const key = `threads/${tid}/checkpoints/${cid}`
    const doc = yield* encodeRecord("checkpoint", StorageSchema.Checkpoint, key, checkpoint)
    const put = yield* backend.putRecord(checkpoints(tid), cid, doc, undefined, fence)
    if (!put.ok && fence !== undefined) return yield* lostError(fence)
    return { thread_id: tid, id: cid, saved_at, order } satisfies StorageSchema.CheckpointInfo
  })

  const loadCheckpoint = Effect.fn("StateStore.loadCheckpoint")(function* (
    threadId: string,
    checkpointId: string | "latest"
  ) {
    const tid = yield* Ids.validate("ThreadId", threadId, "threadId")
    if (checkpointId === "latest") {
      // Which one is the latest cannot be known while one cannot be read.
      const { values: all, damaged } = yield* listAll(checkpoints(tid), decodeCheckpoint(tid))
      if (damaged.length > 0) return yield* Effect.fail(damaged[0]!.error)
      let best: StorageSchema.Checkpoint | undefined
      for (const c of all) if (best === undefined || c.order > best.order) best = c
      return Option.fromNullable(best)
    }
    const cid = yield* Ids.validate("CheckpointId", checkpointId, "checkpointId")
    return Option.map(yield* getDecoded(checkpoints(tid), cid, decodeCheckpoint(tid)), ([c]) => c)
  })

  const listCheckpoints = Effect.fn("StateStore.listCheckpoints")(function* (threadId: string) {
    const tid = yield* Ids.validate("ThreadId", threadId, "threadId")
    const all = yield* listDecoded(checkpoints(tid), decodeCheckpoint(tid))
    return all
      .map(({ state: _, ...info }): StorageSchema.CheckpointInfo => info)
      .sort((a, b) => a.order - b.order || (a.id < b.id ? -1 : 1))
  })

  // ---------------------------------------------------------------------------
  // jobs

  const conflict = (key: string, expected: number, actual: number) =>
    fail(
      "Conflict",
      key,
      actual === 0
        ? `expected revision ${expected}, but it does not exist`
        : expected === 0
          ? `already exists (revision ${actual})`
          : `expected revision ${expected}, found ${actual}`
    )

  // Job records take the fast check (see jobCodec.ts); the schema makes the error.
  const encodeJob = (key: string, job: Job.JobRecord) =>
    isJobRecord(job) ? Effect.succeed(wrapRecord("job", job)) : encodeRecord("job", Job.JobRecord, key, job)

  // Hot path: a span without the call-site capture of `Effect.fn` (a stack trace per call).
  const putJob = traced("StateStore.putJob", function* (record: Job.JobRecord, opts: StateStore.PutJobOptions = {}) {
    const id = yield* Ids.validate("JobId", record.id, "record.id")
    const key = `jobs/${id}`
    yield* writable(key)
    const expected = opts.expectedRevision ?? record.revision
    yield* checkInt(key, "expectedRevision", expected, 0)
    const next: Job.JobRecord = { ...record, revision: expected + 1 }
    yield* checkJobText(key, next)
    const doc = yield* encodeJob(key, next)
    const put = yield* backend.putRecord(JOBS, id, doc, expected)
    if (!put.ok) return yield* conflict(key, expected, put.actual)
    return next
  })

  const getJob = Effect.fn("StateStore.getJob")(function* (jobId: string) {
    const id = yield* Ids.validate("JobId", jobId, "jobId")
    return Option.map(yield* getDecoded(JOBS, id, decodeJob), ([j]) => j)
  })

  const listJobs = Effect.fn("StateStore.listJobs")(function* (opts: StateStore.ListJobsOptions = {}) {
    const all = yield* listDecoded(JOBS, decodeJob)
    const status = opts.status
    return all
      .filter((j) => status === undefined || status.includes(j.status))
      .sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  })

  // Hot path: a span without the call-site capture of `Effect.fn` (a stack trace per call).
  const appendJobHistory = traced(
    "StateStore.appendJobHistory",
    function* (jobId: string, entry: Job.JobHistoryEntry, opts: StateStore.PutJobOptions = {}) {
      const id = yield* Ids.validate("JobId", jobId, "jobId")
      const key = `jobs/${id}`
      yield* checkInt(key, "expectedRevision", opts.expectedRevision, 0)
      yield* writable(key)
      for (let attempt = 0; attempt < MAX_CAS_RETRIES; attempt++) {
        const current = yield* getDecoded(JOBS, id, decodeJob)
        if (Option.isNone(current)) return yield* fail("NotFound", key, "job does not exist")
        const [job, revision] = current.value
        if (opts.expectedRevision !== undefined && opts.expectedRevision !== revision) {
          return yield* conflict(key, opts.expectedRevision, revision)
        }
        const next: Job.JobRecord = {
          ...job,
          history: [...job.history, entry],
          updated_at: Math.max(job.updated_at, entry.at),
          revision: revision + 1
        }
        yield* checkJobText(key, next)
        const doc = yield* encodeJob(key, next)
        const put = yield* backend.putRecord(JOBS, id, doc, revision)
        if (put.ok) return next
        if (opts.expectedRevision !== undefined) return yield* conflict(key, opts.expectedRevision, put.actual)
      }
      return yield* fail("Conflict", key, `too many concurrent updates (${MAX_CAS_RETRIES} attempts)`)
    }
  )

  // ---------------------------------------------------------------------------
  // approvals

  const putApproval = Effect.fn("StateStore.putApproval")(function* (approval: StorageSchema.NewApproval) {
    const id = yield* Ids.validate("ApprovalId", approval.id, "approval.id")
    if (approval.thread_id !== null) yield* Ids.validate("ThreadId", approval.thread_id, "approval.thread_id")
    yield* Ids.validate("ToolCallId", approval.call.id, "approval.call.id")
    const key = `approvals/${id}`
    yield* writable(key)
    const created_at = yield* Clock.currentTimeMillis
    yield* checkText(key, "reason", approval.reason, StorageSchema.LIMITS.detail)
    yield* checkText(key, "command", approval.command, StorageSchema.LIMITS.command)
    yield* checkText(key, "cwd", approval.cwd, StorageSchema.LIMITS.path)
    const record: StorageSchema.ApprovalRecord = { ...approval, status: "pending", created_at, revision: 1 }
    const doc = yield* encodeRecord("approval", StorageSchema.ApprovalRecord, key, record)
    const put = yield* backend.putRecord(APPROVALS, id, doc, 0)
    if (!put.ok) return yield* fail("Conflict", key, "approval already exists")
    return record
  })

  const getApproval = Effect.fn("StateStore.getApproval")(function* (approvalId: string) {
    const id = yield* Ids.validate("ApprovalId", approvalId, "approvalId")
    return Option.map(yield* getDecoded(APPROVALS, id, decodeApproval), ([a]) => a)
  })

  const listApprovals = Effect.fn("StateStore.listApprovals")(function* (opts: StateStore.ListApprovalsOptions = {}) {
    const threadId =
      opts.threadId === undefined ? undefined : yield* Ids.validate("ThreadId", opts.threadId, "threadId")
    const all = yield* listDecoded(APPROVALS, decodeApproval)
    return all
      .filter(
        (a) =>
          (opts.status === undefined || a.status === opts.status) &&
          (threadId === undefined || a.thread_id === threadId)
      )
      .sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  })

  const resolveApproval = Effect.fn("StateStore.resolveApproval")(function* (
    approvalId: string,
    decision: Tool.ApprovalDecision,
    opts: StateStore.ResolveApprovalOptions = {}
  ) {
    const id = yield* Ids.validate("ApprovalId", approvalId, "approvalId")
    const key = `approvals/${id}`
    yield* writable(key)
    if (decision !== "approve" && decision !== "deny") {
      return yield* fail("InvalidInput", key, `decision must be "approve" or "deny" (got ${JSON.stringify(decision)})`)
    }
    yield* checkText(key, "reason", opts.reason, StorageSchema.LIMITS.detail)
    for (let attempt = 0; attempt < MAX_CAS_RETRIES; attempt++) {
      const current = yield* getDecoded(APPROVALS, id, decodeApproval)
      if (Option.isNone(current)) return yield* fail("NotFound", key, "approval does not exist")
      const [approval, revision] = current.value
      if (approval.status !== "pending") {
        return yield* fail("Conflict", key, `approval was already resolved (${approval.status})`)
      }
      const resolved_at = yield* Clock.currentTimeMillis
      const next: StorageSchema.ApprovalRecord = {
        ...approval,
        status: decision === "approve" ? "approved" : "denied",
        resolved_at,
        ...(opts.reason === undefined ? {} : { resolution_reason: opts.reason }),
        revision: revision + 1
      }
      const doc = yield* encodeRecord("approval", StorageSchema.ApprovalRecord, key, next)
      const put = yield* backend.putRecord(APPROVALS, id, doc, revision)
      if (put.ok) return next
    }
    return yield* fail("Conflict", key, `too many concurrent updates (${MAX_CAS_RETRIES} attempts)`)
  })

  const { exportThread, importThread } = ExportImport.make({
    backend,
    migrations,
    writable,
    readThread: (id) =>
      Effect.map(
        getDecoded(THREADS, id, decodeThread),
        Option.map(([t]) => t)
      ),
    readCheckpoints: (id) => listDecoded(checkpoints(id), decodeCheckpoint(id))
  })

  const listDamaged = Effect.fn("StateStore.listDamaged")(function* (kind: StateStore.DamagedRecord["kind"]) {
    const all =
      kind === "thread"
        ? yield* listAll(THREADS, decodeThread)
        : kind === "job"
          ? yield* listAll(JOBS, decodeJob)
          : yield* listAll(APPROVALS, decodeApproval)
    return all.damaged.map(damagedRecord(kind))
  })

  // Without a lease the writes cannot fail with LeaseLost: the overloads say so.
  return {
    backend: backend.name,
    durability: backend.durability,
    capabilities: backend.capabilities,
    readOnly,
    listDamaged,
    appendEvents: appendEvents as StateStore.Service["appendEvents"],
    readEvents,
    lastSeq,
    createThread,
    getThread,
    updateThread: updateThread as StateStore.Service["updateThread"],
    listThreads,
    deleteThread,
    acquireThreadLease,
    threadLease,
    saveCheckpoint: saveCheckpoint as StateStore.Service["saveCheckpoint"],
    loadCheckpoint,
    listCheckpoints,
    putJob,
    getJob,
    listJobs,
    appendJobHistory,
    putApproval,
    getApproval,
    listApprovals,
    resolveApproval,
    exportThread,
    importThread
  }
}
