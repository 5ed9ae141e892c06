/**
 * The `StateStore` conformance suite: one contract, run unchanged against
 * every backend (`memory.test.ts`, `fs.test.ts`, `redis.test.ts`,
 * `postgres.test.ts`, `unstorage.test.ts`). Tests share one store per
 * backend and only look at the ids they created, so shared backends
 * (Redis, PostgreSQL) only need a fresh key prefix / schema per run. The
 * layer is built without the test services: the real clock runs.
 */
import { spawn } from "node:child_process"
import * as NPath from "node:path"
import { fileURLToPath } from "node:url"
import { assert, beforeAll, describe, layer as itLayer } from "@effect/vitest"
import type * as Event from "@strata/protocol/Event"
import * as Ids from "@strata/protocol/Ids"
import type * as Job from "@strata/protocol/Job"
import type * as Thread from "@strata/protocol/Thread"
import type * as Tool from "@strata/protocol/Tool"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { StateStore } from "../src/StateStore.js"
import type { NewApproval } from "../src/StorageSchema.js"
import { ensureBuilt } from "./crash/build.mjs"

export interface SuiteOptions<R = never> {
  /**
   * Writes, bypassing the store, an event with the given schema version as
   * entry `seq` of a thread's journal (a thread the store has not touched),
   * and a job record with the given schema version. Enables the
   * schema-version tests.
   */
  readonly raw?: {
    readonly appendEventWithVersion: (threadId: string, seq: number, version: number) => Effect.Effect<void, unknown, R>
    readonly putJobWithVersion: (jobId: string, version: number) => Effect.Effect<void, unknown, R>
    /**
     * Damages the stored event `seq` of a thread in place (one changed byte
     * or character), bypassing the store. Enables the corruption tests.
     */
    readonly corruptEvent?: (threadId: string, seq: number) => Effect.Effect<void, unknown, R>
    /** Damages a stored thread record, bypassing the store. */
    readonly corruptThread?: (threadId: string) => Effect.Effect<void, unknown, R>
  }
  /**
   * The store as `test/fixtures/lease-child.mjs` opens it (`{ kind, ... }`),
   * when other processes can share it. Enables the cross-process lease tests.
   */
  readonly child?: {
    readonly store: () => Record<string, unknown>
    /** Whether the store sees at once that a killed holder's process is gone (fs). */
    readonly detectsDeadProcess: boolean
  }
}

const leaseChild = NPath.join(NPath.dirname(fileURLToPath(import.meta.url)), "fixtures", "lease-child.mjs")

/** A lease-holding child process: its output lines as they come, and its exit. */
const spawnLeaseChild = (store: Record<string, unknown>, thread: string, ttlMs: number) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(process.execPath, [leaseChild, JSON.stringify(store), thread, String(ttlMs)], {
        stdio: ["ignore", "pipe", "pipe"]
      })
      const lines: Array<string> = []
      let stderr = ""
      child.stdout.setEncoding("utf8")
      let pending = ""
      child.stdout.on("data", (d: string) => {
        pending += d
        for (let nl = pending.indexOf("\n"); nl !== -1; nl = pending.indexOf("\n")) {
          lines.push(pending.slice(0, nl))
          pending = pending.slice(nl + 1)
        }
      })
      child.stderr.on("data", (d) => {
        stderr += d
      })
      const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
      /** Waits for a line starting with `prefix` (fails after 30 s or when the child exits first). */
      const waitFor = (prefix: string) =>
        Effect.promise(async () => {
          for (let i = 0; i < 3000; i++) {
            const line = lines.find((l) => l.startsWith(prefix))
            if (line !== undefined) return line
            if (child.exitCode !== null && child.stdout.readableEnded) break
            await new Promise((r) => setTimeout(r, 10))
          }
          throw new Error(`lease child: no "${prefix}" line; output ${JSON.stringify(lines)}; stderr ${stderr}`)
        })
      return { child, lines, waitFor, exited }
    }),
    ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
  )

/** Acquires the lease, retrying while busy (a holder waiting to expire), for up to 30 s. */
const acquireEventually = (thread: string, owner: string) =>
  Effect.gen(function* () {
    const store = yield* StateStore
    for (let i = 0; ; i++) {
      const scope = yield* Scope.make()
      const attempt = yield* Effect.either(Scope.extend(store.acquireThreadLease(thread, { owner }), scope))
      if (attempt._tag === "Right") {
        yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
        return attempt.right
      }
      yield* Scope.close(scope, Exit.void)
      if (attempt.left._tag !== "ThreadBusy" || i > 600) return yield* Effect.fail(attempt.left)
      yield* Effect.sleep("50 millis")
    }
  })

// ---------------------------------------------------------------------------
// fixtures

export const threadId = (): Ids.ThreadId => Ids.make("ThreadId")

export const turn = (n: number): Event.Event => ({ event: "turn_started", turn_id: `turn-${n}`, model: "test-model" })

export const delta = (text: string): Event.Event => ({
  event: "response_delta",
  response_id: Ids.unsafeMake("ResponseId", "resp-1"),
  delta: text,
  channel: "text"
})

export const makeThread = (id: string, created_at: number, extra: Partial<Thread.Thread> = {}): Thread.Thread => ({
  id: Ids.unsafeMake("ThreadId", id),
  preview: "hello",
  ephemeral: false,
  model_provider: "test",
  created_at,
  updated_at: created_at,
  status: "idle",
  cwd: "/home/me/project",
  cli_version: "0.1.0",
  source: "api",
  ...extra
})

export const makeJob = (id: string, created_at: number): Job.JobRecord => ({
  id: Ids.unsafeMake("JobId", id),
  name: "index",
  status: "queued",
  progress: null,
  detail: null,
  retry: { attempt: 0, max_attempts: 3, backoff_base_ms: 100, next_backoff_ms: 100, next_retry_at: null },
  history: [{ at: created_at, phase: "enqueue", from: null, to: "queued", progress: null, detail: null, attempt: 0 }],
  created_at,
  updated_at: created_at,
  revision: 0
})

const makeApproval = (id: string, thread: string | null): NewApproval => ({
  id: Ids.unsafeMake("ApprovalId", id),
  thread_id: thread === null ? null : Ids.unsafeMake("ThreadId", thread),
  call: {
    id: Ids.unsafeMake("ToolCallId", `call-${id}`),
    name: "shell",
    arguments: { command: ["rm", "-rf", "build"] }
  } satisfies Tool.ToolCall,
  reason: "rm needs approval",
  command: "rm -rf build",
  cwd: "/home/me/project"
})

const BAD_IDS: ReadonlyArray<readonly [string, string]> = [
  ["../etc", "traversal"],
  ["a/b", "separator"],
  ["a\\b", "backslash"],
  ["", "empty"],
  ["..", "dot-dot"],
  ["a\u0000b", "NUL"],
  ["x".repeat(129), "over-long"]
]

const collect = <A, E, R>(s: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)

const flipTag = <A, E extends { readonly _tag: string }, R>(e: Effect.Effect<A, E, R>) => Effect.flip(e)

// ---------------------------------------------------------------------------

/** Runs the conformance suite against `layer`. */
export const run = <E, R = never>(name: string, layer: Layer.Layer<StateStore, E>, options: SuiteOptions<R> = {}) =>
  itLayer(layer, { timeout: "120 seconds", excludeTestServices: true })(`StateStore conformance: ${name}`, (it) => {
    describe("journal", () => {
      it.effect("appendEvents assigns gap-free seqs from 1 and readEvents returns them in order", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const id = threadId()
          const a = yield* store.appendEvents(id, [turn(1), delta("a"), delta("b")])
          const b = yield* store.appendEvents(id, [delta("c")])
          assert.deepStrictEqual(
            [...a, ...b].map((f) => f.seq),
            [1, 2, 3, 4]
          )
          for (const f of [...a, ...b]) {
            assert.strictEqual(f.thread_id, id)
            assert.isTrue(Number.isInteger(f.timestamp))
          }
          const read = yield* collect(store.readEvents(id))
          assert.deepStrictEqual(read, [...a, ...b])
          assert.strictEqual(yield* store.lastSeq(id), 4)
        })
      )

      it.effect("readEvents honours fromSeq and limit; an unknown thread is empty", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const id = threadId()
          yield* store.appendEvents(
            id,
            Array.from({ length: 700 }, (_, i) => delta(`d${i + 1}`))
          )
          const mid = yield* collect(store.readEvents(id, { fromSeq: 300, limit: 5 }))
          assert.deepStrictEqual(
            mid.map((f) => f.seq),
            [300, 301, 302, 303, 304]
          )
          assert.deepStrictEqual(
            mid.map((f) => (f.event === "response_delta" ? f.delta : "")),
            ["d300", "d301", "d302", "d303", "d304"]
          )
          const tail = yield* collect(store.readEvents(id, { fromSeq: 690 }))
          assert.deepStrictEqual(tail.length, 11)
          assert.deepStrictEqual(yield* collect(store.readEvents(id, { fromSeq: 701 })), [])
          assert.deepStrictEqual(yield* collect(store.readEvents(id, { limit: 0 })), [])
          assert.strictEqual((yield* collect(store.readEvents(id))).length, 700)
          const unknown = threadId()
          assert.deepStrictEqual(yield* collect(store.readEvents(unknown)), [])
          assert.strictEqual(yield* store.lastSeq(unknown), 0)
          const bad = yield* flipTag(collect(store.readEvents(id, { fromSeq: 0 })))
          assert.strictEqual(bad._tag, "StorageError")
        })
      )

      it.effect("concurrent appends to one thread never interleave or lose events", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const id = threadId()
          const writers = 16
          const batches = 8
          yield* Effect.forEach(
            Array.from({ length: writers }, (_, w) => w),
            (w) =>
              Effect.forEach(
                Array.from({ length: batches }, (_, b) => b),
                (b) => store.appendEvents(id, [delta(`${w}:${b}:0`), delta(`${w}:${b}:1`), delta(`${w}:${b}:2`)]),
                { discard: true }
              ),
            { concurrency: "unbounded", discard: true }
          )
          const read = yield* collect(store.readEvents(id))
          assert.strictEqual(read.length, writers * batches * 3)
          assert.deepStrictEqual(
            read.map((f) => f.seq),
            Array.from({ length: read.length }, (_, i) => i + 1)
          )
          const texts = read.map((f) => (f.event === "response_delta" ? f.delta : ""))
          const seen = new Map<number, number>()
          for (let i = 0; i < texts.length; i += 3) {
            const [w, b] = texts[i]!.split(":").map(Number) as [number, number]
            assert.deepStrictEqual(texts.slice(i, i + 3), [`${w}:${b}:0`, `${w}:${b}:1`, `${w}:${b}:2`])
            assert.strictEqual(b, (seen.get(w) ?? -1) + 1, "each writer's batches stay in order")
            seen.set(w, b)
          }
          assert.strictEqual(seen.size, writers)
        })
      )

      it.effect("an event that does not match its schema fails the whole append, nothing stored", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const id = threadId()
          yield* store.appendEvents(id, [turn(1)])
          const bad = { event: "turn_started", turn_id: 42, model: "m" } as unknown as Event.Event
          const err = yield* Effect.flip(store.appendEvents(id, [turn(2), bad]))
          assert.strictEqual(err._tag, "StorageError")
          if (err._tag === "StorageError") {
            assert.strictEqual(err.reason, "InvalidInput")
            assert.include(err.key, "events[1]")
            assert.include(err.message, "turn_id")
          }
          assert.strictEqual(yield* store.lastSeq(id), 1)
        })
      )
    })

    describe("ids", () => {
      it.effect("every method rejects bad ids with a typed InvalidId naming the field", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const good = threadId()
          for (const [bad, what] of BAD_IDS) {
            const attempts: ReadonlyArray<readonly [string, Effect.Effect<unknown, { readonly _tag: string }>]> = [
              ["threadId", store.appendEvents(bad, [turn(1)])],
              ["threadId", collect(store.readEvents(bad))],
              ["threadId", store.lastSeq(bad)],
              ["thread.id", store.createThread(makeThread("x", 1, { id: bad as Ids.ThreadId }))],
              ["threadId", store.getThread(bad)],
              ["threadId", store.updateThread(bad, (t) => t)],
              ["threadId", store.deleteThread(bad)],
              ["threadId", store.saveCheckpoint(bad, "c1", {})],
              ["checkpointId", store.saveCheckpoint(good, bad, {})],
              ["checkpointId", store.loadCheckpoint(good, bad)],
              ["threadId", store.listCheckpoints(bad)],
              ["record.id", store.putJob({ ...makeJob("j", 1), id: bad as Ids.JobId })],
              ["jobId", store.getJob(bad)],
              ["jobId", store.appendJobHistory(bad, makeJob("j", 1).history[0]!)],
              ["approval.id", store.putApproval({ ...makeApproval("a", null), id: bad as Ids.ApprovalId })],
              ["approvalId", store.getApproval(bad)],
              ["approvalId", store.resolveApproval(bad, "approve")],
              ["threadId", collect(store.exportThread(bad))],
              ["threadId", store.importThread("", { threadId: bad })]
            ]
            for (const [field, attempt] of attempts) {
              const err = yield* Effect.flip(attempt)
              assert.strictEqual(err._tag, "InvalidId", `${what} id in ${field}`)
              assert.strictEqual((err as Ids.InvalidId).field, field, `${what} id in ${field}`)
            }
          }
          // Nothing was written for the good thread id used alongside.
          assert.strictEqual(yield* store.lastSeq(good), 0)
          assert.deepStrictEqual(yield* store.listCheckpoints(good), [])
        })
      )
    })

    describe("threads", () => {
      it.effect("create, get, update and conflict on a duplicate", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const id = threadId()
          const parent = threadId()
          const t = makeThread(id, 1_000, { forked_from: { thread_id: Ids.unsafeMake("ThreadId", parent), seq: 7 } })
          assert.deepStrictEqual(yield* store.createThread(t), t)
          assert.deepStrictEqual(yield* store.getThread(id), Option.some(t))
          const dup = yield* Effect.flip(store.createThread(t))
          assert.strictEqual(dup._tag === "StorageError" && dup.reason, "Conflict")
          const renamed = yield* store.updateThread(id, (x) => ({ ...x, name: "renamed", archived: true }))
          assert.strictEqual(renamed.name, "renamed")
          assert.isTrue(renamed.archived)
          assert.isAtLeast(renamed.updated_at, t.updated_at)
          assert.strictEqual(renamed.cwd, "/home/me/project")
          assert.deepStrictEqual(renamed.forked_from, { thread_id: parent, seq: 7 })
          assert.deepStrictEqual(yield* store.getThread(id), Option.some(renamed))
          assert.isTrue(Option.isNone(yield* store.getThread(threadId())))
          const missing = yield* Effect.flip(store.updateThread(threadId(), (x) => x))
          assert.strictEqual(missing._tag === "StorageError" && missing.reason, "NotFound")
        })
      )

      it.effect("concurrent updates are all applied", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const id = threadId()
          yield* store.createThread(makeThread(id, 5, { preview: "" }))
          yield* Effect.forEach(
            Array.from({ length: 8 }, (_, i) => i),
            (i) => store.updateThread(id, (t) => ({ ...t, preview: `${t.preview}${i}` })),
            { concurrency: "unbounded", discard: true }
          )
          const t = Option.getOrThrow(yield* store.getThread(id))
          assert.deepStrictEqual([...t.preview].sort().join(""), "01234567")
        })
      )

      it.effect("listThreads filters archived threads and pages newest first", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const mine = new Set<string>()
          const base = 2_000_000_000_000 + Math.floor(Math.random() * 1_000_000) * 100
          for (let i = 0; i < 7; i++) {
            const id = threadId()
            mine.add(id)
            yield* store.createThread(makeThread(id, base + i, { archived: i % 3 === 0 }))
          }
          const pages: Array<ReadonlyArray<Thread.Thread>> = []
          let cursor: string | undefined
          do {
            const page = yield* store.listThreads(cursor === undefined ? { limit: 2 } : { limit: 2, cursor })
            assert.isAtMost(page.threads.length, 2)
            pages.push(page.threads)
            cursor = page.nextCursor
          } while (cursor !== undefined)
          const all = pages.flat().filter((t) => mine.has(t.id))
          assert.deepStrictEqual(
            all.map((t) => t.created_at),
            [6, 5, 4, 3, 2, 1, 0].map((i) => base + i)
          )
          const active = (yield* store.listThreads({ archived: false })).threads.filter((t) => mine.has(t.id))
          assert.deepStrictEqual(
            active.map((t) => t.created_at - base),
            [5, 4, 2, 1]
          )
          const archived = (yield* store.listThreads({ archived: true })).threads.filter((t) => mine.has(t.id))
          assert.deepStrictEqual(
            archived.map((t) => t.created_at - base),
            [6, 3, 0]
          )
          const bad = yield* Effect.flip(store.listThreads({ cursor: "not a cursor" }))
          assert.strictEqual(bad._tag === "StorageError" && bad.reason, "InvalidInput")
        })
      )

      it.effect("deleteThread removes metadata, journal and checkpoints", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const id = threadId()
          yield* store.createThread(makeThread(id, 10))
          yield* store.appendEvents(id, [turn(1), turn(2)])
          yield* store.saveCheckpoint(id, "latest", { n: 1 })
          yield* store.deleteThread(id)
          assert.isTrue(Option.isNone(yield* store.getThread(id)))
          assert.strictEqual(yield* store.lastSeq(id), 0)
          assert.deepStrictEqual(yield* collect(store.readEvents(id)), [])
          assert.deepStrictEqual(yield* store.listCheckpoints(id), [])
          const again = yield* store.appendEvents(id, [turn(3)])
          assert.strictEqual(again[0]!.seq, 1)
        })
      )
    })

    describe("thread leases", () => {
      it.scoped("a lease taken in an uninterruptible region is released when its scope closes", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const id = threadId()
          yield* store.createThread(makeThread(id, 1))
          // A request handler may run its work uninterruptibly: the lease's
          // renewal must still stop when the scope closes (it used to hang).
          const done = yield* Effect.uninterruptible(
            Effect.scoped(Effect.as(store.acquireThreadLease(id, { owner: "handler" }), "released"))
          ).pipe(Effect.timeout("5 seconds"), Effect.option)
          assert.deepStrictEqual(done, Option.some("released"))
          assert.isTrue(Option.isNone(yield* store.threadLease(id)))
        })
      )

      it.scoped("one writer at a time: a second gets ThreadBusy naming the holder; readers are unaffected", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const id = threadId()
          yield* store.createThread(makeThread(id, 1))
          yield* store.appendEvents(id, [turn(1)])
          const first = yield* Effect.scoped(
            Effect.gen(function* () {
              const lease = yield* store.acquireThreadLease(id, { owner: "writer-a" })
              assert.strictEqual(lease.threadId, id)
              assert.strictEqual(lease.owner, "writer-a")
              assert.isTrue(Number.isSafeInteger(lease.token) && lease.token > 0)
              const busy = yield* Effect.flip(store.acquireThreadLease(id, { owner: "writer-b" }))
              assert.strictEqual(busy._tag, "ThreadBusy")
              if (busy._tag === "ThreadBusy") {
                assert.strictEqual(busy.threadId, id)
                assert.strictEqual(busy.holder.owner, "writer-a")
                assert.isAbove(busy.holder.expiresAt, Date.now())
                assert.include(busy.message, "writer-a")
              }
              const held = Option.getOrThrow(yield* store.threadLease(id))
              assert.deepStrictEqual([held.owner, held.token], ["writer-a", lease.token])
              // Readers and other threads are unaffected.
              assert.strictEqual((yield* collect(store.readEvents(id))).length, 1)
              assert.isTrue(Option.isSome(yield* store.getThread(id)))
              const other = yield* store.acquireThreadLease(threadId(), { owner: "writer-b" })
              assert.isAbove(other.token, 0)
              // The holder writes with its lease.
              const [frame] = yield* store.appendEvents(id, [turn(2)], { lease })
              assert.strictEqual(frame!.seq, 2)
              const renamed = yield* store.updateThread(id, (t) => ({ ...t, name: "leased" }), { lease })
              assert.strictEqual(renamed.name, "leased")
              yield* store.saveCheckpoint(id, "c", { at: 2 }, { lease })
              return lease
            })
          )
          // Released with its scope: the next writer gets a higher token.
          assert.isTrue(Option.isNone(yield* store.threadLease(id)))
          const next = yield* store.acquireThreadLease(id, { owner: "writer-b" })
          assert.isAbove(next.token, first.token)
          const stale = yield* Effect.flip(store.appendEvents(id, [turn(3)], { lease: first }))
          assert.strictEqual(stale._tag, "LeaseLost")
          assert.strictEqual(yield* store.lastSeq(id), 2)
        })
      )

      it.scoped("an expired lease is taken over; the stale token is refused with LeaseLost and writes nothing", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const id = threadId()
          yield* store.createThread(makeThread(id, 1, { name: "before" }))
          const stale = yield* store.acquireThreadLease(id, { owner: "paused", ttlMs: 200, autoRenew: false })
          yield* store.appendEvents(id, [turn(1)], { lease: stale })
          yield* Effect.sleep("350 millis")
          // Nobody holds it now: readers see no holder, a writer takes over.
          assert.isTrue(Option.isNone(yield* store.threadLease(id)))
          const fresh = yield* store.acquireThreadLease(id, { owner: "next" })
          assert.isAbove(fresh.token, stale.token)
          const refused: ReadonlyArray<Effect.Effect<unknown, { readonly _tag: string }>> = [
            store.appendEvents(id, [turn(2)], { lease: stale }),
            store.updateThread(id, (t) => ({ ...t, name: "stale write" }), { lease: stale }),
            store.saveCheckpoint(id, "stale", { x: 1 }, { lease: stale })
          ]
          for (const attempt of refused) {
            const err = yield* Effect.flip(attempt)
            assert.strictEqual(err._tag, "LeaseLost")
            const lost = err as unknown as { token: number; message: string }
            assert.strictEqual(lost.token, stale.token)
            assert.include(lost.message, id)
          }
          assert.strictEqual(yield* store.lastSeq(id), 1)
          assert.strictEqual(Option.getOrThrow(yield* store.getThread(id)).name, "before")
          assert.isTrue(Option.isNone(yield* store.loadCheckpoint(id, "stale")))
          // Concurrent appends with the current lease all land, in order.
          yield* Effect.forEach([2, 3, 4, 5], (n) => store.appendEvents(id, [turn(n)], { lease: fresh }), {
            concurrency: "unbounded",
            discard: true
          })
          assert.strictEqual(yield* store.lastSeq(id), 5)
          const wrong = yield* Effect.flip(store.appendEvents(threadId(), [turn(1)], { lease: fresh }))
          assert.strictEqual(wrong._tag === "StorageError" && wrong.reason, "InvalidInput")
          const bad = yield* Effect.flip(store.acquireThreadLease(id, { owner: "" }))
          assert.strictEqual(bad._tag === "StorageError" && bad.reason, "InvalidInput")
          const badTtl = yield* Effect.flip(store.acquireThreadLease(threadId(), { owner: "x", ttlMs: 5 }))
          assert.strictEqual(badTtl._tag === "StorageError" && badTtl.reason, "InvalidInput")
        })
      )

      it.scoped("a held lease is renewed in the background and outlives its ttl", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const id = threadId()
          // A ttl far above scheduling noise on a loaded machine: a lease whose
          // holder is starved for longer than its ttl is lost, by design.
          const lease = yield* store.acquireThreadLease(id, { owner: "long", ttlMs: 1500 })
          const first = yield* lease.expiresAt
          yield* Effect.sleep("3200 millis")
          assert.isAbove(yield* lease.expiresAt, first)
          const busy = yield* Effect.flip(store.acquireThreadLease(id, { owner: "other" }))
          assert.strictEqual(busy._tag, "ThreadBusy")
          yield* store.appendEvents(id, [turn(1)], { lease })
          assert.isFalse(yield* Effect.map(Effect.either(Effect.timeout(lease.lost, "1 millis")), Either.isRight))
        })
      )

      const child = options.child
      if (child !== undefined) {
        beforeAll(() => ensureBuilt(), 180_000)

        it.scoped(
          `a child process holding a lease is SIGKILLed; the next writer takes over${child.detectsDeadProcess ? " at once" : " after expiry"}`,
          () =>
            Effect.gen(function* () {
              const store = yield* StateStore
              const id = threadId()
              // On fs the lease outlives the test: only the dead process frees it.
              const proc = yield* spawnLeaseChild(child.store(), id, child.detectsDeadProcess ? 600_000 : 4000)
              const held = Number((yield* proc.waitFor("held ")).split(" ")[1])
              const busy = yield* Effect.flip(store.acquireThreadLease(id, { owner: "parent" }))
              assert.strictEqual(busy._tag, "ThreadBusy")
              if (busy._tag === "ThreadBusy") {
                assert.strictEqual(busy.holder.owner, "child")
                assert.strictEqual(busy.holder.pid, proc.child.pid)
              }
              proc.child.kill("SIGKILL")
              yield* Effect.promise(() => proc.exited)
              const lease = child.detectsDeadProcess
                ? yield* store.acquireThreadLease(id, { owner: "parent" })
                : yield* acquireEventually(id, "parent")
              assert.isAbove(lease.token, held)
              yield* store.appendEvents(id, [delta("parent")], { lease })
              const texts = (yield* collect(store.readEvents(id))).map((f) =>
                f.event === "response_delta" ? f.delta : ""
              )
              assert.deepStrictEqual(texts, ["child", "parent"])
            }),
          60_000
        )

        it.scoped(
          "a stopped child loses its lease to another writer; its later write is refused",
          () =>
            Effect.gen(function* () {
              const store = yield* StateStore
              const id = threadId()
              const proc = yield* spawnLeaseChild(child.store(), id, 1000)
              const held = Number((yield* proc.waitFor("held ")).split(" ")[1])
              proc.child.kill("SIGSTOP")
              const lease = yield* acquireEventually(id, "parent")
              assert.isAbove(lease.token, held)
              yield* store.appendEvents(id, [delta("parent")], { lease })
              proc.child.kill("SIGCONT")
              yield* proc.waitFor("lost")
              assert.strictEqual(yield* proc.waitFor("refused"), "refused LeaseLost")
              const texts = (yield* collect(store.readEvents(id))).map((f) =>
                f.event === "response_delta" ? f.delta : ""
              )
              assert.deepStrictEqual(texts, ["child", "parent"])
            }),
          60_000
        )
      }
    })

    describe("checkpoints", () => {
      it.effect("save, load by id, load latest, list in save order", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const id = threadId()
          assert.isTrue(Option.isNone(yield* store.loadCheckpoint(id, "latest")))
          yield* store.saveCheckpoint(id, "first", { step: 1, nested: { list: [1, "two", null, true] } })
          yield* store.saveCheckpoint(id, "second", { step: 2 })
          const first = Option.getOrThrow(yield* store.loadCheckpoint(id, "first"))
          assert.deepStrictEqual(first.state, { step: 1, nested: { list: [1, "two", null, true] } })
          assert.strictEqual(Option.getOrThrow(yield* store.loadCheckpoint(id, "latest")).id, "second")
          yield* store.saveCheckpoint(id, "first", { step: 3 })
          const latest = Option.getOrThrow(yield* store.loadCheckpoint(id, "latest"))
          assert.strictEqual(latest.id, "first")
          assert.deepStrictEqual(latest.state, { step: 3 })
          const list = yield* store.listCheckpoints(id)
          assert.deepStrictEqual(
            list.map((c) => c.id),
            ["second", "first"]
          )
          assert.isFalse("state" in list[0]!)
          assert.isTrue(Option.isNone(yield* store.loadCheckpoint(id, "missing")))
        })
      )
    })

    describe("jobs", () => {
      it.effect("putJob creates with revision 1 and refuses a stale revision", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const id = Ids.make("JobId")
          const created = yield* store.putJob(makeJob(id, 100))
          assert.strictEqual(created.revision, 1)
          assert.deepStrictEqual(yield* store.getJob(id), Option.some(created))
          const running = yield* store.putJob({ ...created, status: "running", updated_at: 101 })
          assert.strictEqual(running.revision, 2)
          const stale = yield* Effect.flip(store.putJob({ ...created, status: "cancelled" }))
          assert.strictEqual(stale._tag === "StorageError" && stale.reason, "Conflict")
          assert.include(stale.message, "expected revision 1, found 2")
          const again = yield* Effect.flip(store.putJob(makeJob(id, 100)))
          assert.strictEqual(again._tag === "StorageError" && again.reason, "Conflict")
          assert.strictEqual(Option.getOrThrow(yield* store.getJob(id)).status, "running")
          const explicit = yield* store.putJob({ ...running, status: "completed" }, { expectedRevision: 2 })
          assert.strictEqual(explicit.revision, 3)
          assert.isTrue(Option.isNone(yield* store.getJob(Ids.make("JobId"))))
        })
      )

      it.effect("of concurrent writers with the same revision exactly one wins", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const id = Ids.make("JobId")
          const created = yield* store.putJob(makeJob(id, 1))
          const results = yield* Effect.forEach(
            Array.from({ length: 10 }, (_, i) => i),
            (i) => Effect.either(store.putJob({ ...created, detail: `writer ${i}` })),
            { concurrency: "unbounded" }
          )
          assert.strictEqual(results.filter(Either.isRight).length, 1)
          const stored = Option.getOrThrow(yield* store.getJob(id))
          assert.strictEqual(stored.revision, 2)
          const winner = results.find(Either.isRight)!
          assert.strictEqual(stored.detail, winner.right.detail)
        })
      )

      it.effect("appendJobHistory appends, bumps the revision, checks an expected one", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const id = Ids.make("JobId")
          yield* store.putJob(makeJob(id, 10))
          const entry: Job.JobHistoryEntry = {
            at: 20,
            phase: "start",
            from: "queued",
            to: "running",
            progress: null,
            detail: "go",
            attempt: 1
          }
          const next = yield* store.appendJobHistory(id, entry)
          assert.strictEqual(next.revision, 2)
          assert.strictEqual(next.history.length, 2)
          assert.strictEqual(next.updated_at, 20)
          yield* Effect.forEach(
            Array.from({ length: 5 }, (_, i) => i),
            (i) => store.appendJobHistory(id, { ...entry, at: 30 + i, detail: `p${i}` }),
            { concurrency: "unbounded", discard: true }
          )
          const stored = Option.getOrThrow(yield* store.getJob(id))
          assert.strictEqual(stored.history.length, 7)
          assert.strictEqual(stored.revision, 7)
          const stale = yield* Effect.flip(store.appendJobHistory(id, entry, { expectedRevision: 2 }))
          assert.strictEqual(stale._tag === "StorageError" && stale.reason, "Conflict")
          const missing = yield* Effect.flip(store.appendJobHistory(Ids.make("JobId"), entry))
          assert.strictEqual(missing._tag === "StorageError" && missing.reason, "NotFound")
        })
      )

      it.effect("listJobs lists by creation and filters by status", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const ids = [Ids.make("JobId"), Ids.make("JobId"), Ids.make("JobId")]
          const base = 3_000_000_000_000 + Math.floor(Math.random() * 1_000_000) * 10
          for (const [i, id] of ids.entries()) {
            const j = yield* store.putJob(makeJob(id, base - i))
            if (i === 1) yield* store.putJob({ ...j, status: "failed" })
          }
          const all = (yield* store.listJobs()).filter((j) => ids.includes(j.id))
          assert.deepStrictEqual(
            all.map((j) => j.id),
            [ids[2], ids[1], ids[0]]
          )
          const failed = (yield* store.listJobs({ status: ["failed"] })).filter((j) => ids.includes(j.id))
          assert.deepStrictEqual(
            failed.map((j) => j.id),
            [ids[1]]
          )
        })
      )

      it.effect("a job that does not match its schema is refused", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const id = Ids.make("JobId")
          const err = yield* Effect.flip(store.putJob({ ...makeJob(id, 1), progress: 250 }))
          assert.strictEqual(err._tag === "StorageError" && err.reason, "InvalidInput")
          assert.include(err.message, "progress")
          assert.isTrue(Option.isNone(yield* store.getJob(id)))
        })
      )
    })

    describe("approvals", () => {
      it.effect("put, get, list and resolve exactly once under concurrency", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const tid = threadId()
          const id = Ids.make("ApprovalId")
          const pending = yield* store.putApproval(makeApproval(id, tid))
          assert.strictEqual(pending.status, "pending")
          assert.deepStrictEqual(yield* store.getApproval(id), Option.some(pending))
          const dup = yield* Effect.flip(store.putApproval(makeApproval(id, tid)))
          assert.strictEqual(dup._tag === "StorageError" && dup.reason, "Conflict")
          const listed = yield* store.listApprovals({ threadId: tid, status: "pending" })
          assert.deepStrictEqual(
            listed.map((a) => a.id),
            [id]
          )
          const results = yield* Effect.forEach(
            Array.from({ length: 10 }, (_, i) => i),
            (i) => Effect.either(store.resolveApproval(id, i % 2 === 0 ? "approve" : "deny", { reason: `r${i}` })),
            { concurrency: "unbounded" }
          )
          const wins = results.filter(Either.isRight)
          assert.strictEqual(wins.length, 1)
          for (const r of results.filter(Either.isLeft)) {
            assert.strictEqual(r.left._tag === "StorageError" && r.left.reason, "Conflict")
          }
          const stored = Option.getOrThrow(yield* store.getApproval(id))
          assert.strictEqual(stored.status, wins[0]!.right.status)
          assert.strictEqual(stored.resolution_reason, wins[0]!.right.resolution_reason)
          assert.notStrictEqual(stored.status, "pending")
          const again = yield* Effect.flip(store.resolveApproval(id, "approve"))
          assert.strictEqual(again._tag === "StorageError" && again.reason, "Conflict")
          assert.include(again.message, "already resolved")
          assert.deepStrictEqual(yield* store.listApprovals({ threadId: tid, status: "pending" }), [])
          const missing = yield* Effect.flip(store.resolveApproval(Ids.make("ApprovalId"), "deny"))
          assert.strictEqual(missing._tag === "StorageError" && missing.reason, "NotFound")
        })
      )
    })

    describe("export / import", () => {
      it.effect("a thread round-trips through JSONL, under a new id", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const id = threadId()
          yield* store.createThread(makeThread(id, 42, { name: "exported" }))
          yield* store.appendEvents(id, [turn(1), delta("héllo ☃"), delta("line\nbreak")])
          yield* store.saveCheckpoint(id, "latest", { cursor: 3 })
          const lines = yield* collect(store.exportThread(id))
          assert.strictEqual(lines.length, 1 + 3 + 1 + 1)
          for (const l of lines) assert.isTrue(l.endsWith("\n") && !l.slice(0, -1).includes("\n"))
          const copy = threadId()
          const result = yield* store.importThread(lines.join(""), { threadId: copy })
          assert.deepStrictEqual(result, { threadId: copy, events: 3, checkpoints: 1 })
          const original = yield* collect(store.readEvents(id))
          const imported = yield* collect(store.readEvents(copy))
          assert.deepStrictEqual(
            imported,
            original.map((f) => ({ ...f, thread_id: copy }))
          )
          const meta = Option.getOrThrow(yield* store.getThread(copy))
          assert.strictEqual(meta.name, "exported")
          assert.deepStrictEqual(Option.getOrThrow(yield* store.loadCheckpoint(copy, "latest")).state, { cursor: 3 })
          // As a stream of arbitrary chunks, into the original id once deleted.
          yield* store.deleteThread(id)
          const text = lines.join("")
          const chunks = Stream.fromIterable(
            Array.from({ length: Math.ceil(text.length / 7) }, (_, i) => text.slice(i * 7, i * 7 + 7))
          )
          assert.strictEqual((yield* store.importThread(chunks)).events, 3)
          assert.deepStrictEqual(yield* collect(store.readEvents(id)), original)
        })
      )

      it.effect("import refuses an existing thread, a truncated export and a bad line", () =>
        Effect.gen(function* () {
          const store = yield* StateStore
          const id = threadId()
          yield* store.appendEvents(id, [turn(1), turn(2)])
          const lines = yield* collect(store.exportThread(id))
          const exists = yield* Effect.flip(store.importThread(lines.join("")))
          assert.strictEqual(exists._tag === "StorageError" && exists.reason, "Conflict")
          const target = threadId()
          const truncated = yield* Effect.flip(store.importThread(lines.slice(0, -1).join(""), { threadId: target }))
          assert.strictEqual(truncated._tag === "StorageError" && truncated.reason, "InvalidInput")
          assert.include(truncated.message, "end")
          const broken = [...lines]
          broken[2] = `${broken[2]!.slice(0, 20)}\n`
          const bad = yield* Effect.flip(store.importThread(broken.join(""), { threadId: target }))
          assert.strictEqual(bad._tag === "StorageError" && bad.reason, "InvalidInput")
          assert.include(bad.message, "line 3")
          const gap = [lines[0], lines[2], lines[3]].join("").replace('"events":2', '"events":1')
          const gapErr = yield* Effect.flip(store.importThread(gap, { threadId: target }))
          assert.include(gapErr.message, "expected seq 1")
          assert.strictEqual(yield* store.lastSeq(target), 0)
        })
      )
    })

    const raw = options.raw
    const corruptEvent = raw?.corruptEvent
    if (corruptEvent !== undefined) {
      describe("damage", () => {
        for (const [where, seq] of [
          ["first", 1],
          ["middle", 3],
          ["last", 5]
        ] as const) {
          it.effect(
            `a damaged ${where} event is a CorruptJournal naming the journal and position; other threads work`,
            () =>
              Effect.gen(function* () {
                const store = yield* StateStore
                const id = threadId()
                const healthy = threadId()
                for (let i = 1; i <= 5; i++) yield* store.appendEvents(id, [delta(`e${i}`)])
                yield* store.appendEvents(healthy, [turn(1)])
                yield* corruptEvent(id, seq) as Effect.Effect<void, unknown>
                const err = yield* Effect.flip(collect(store.readEvents(id)))
                assert.strictEqual(err._tag, "CorruptJournal")
                if (err._tag === "CorruptJournal") {
                  assert.strictEqual(err.threadId, id)
                  assert.include(err.file, id)
                  assert.include(err.message, `offset ${err.offset}`)
                }
                // Damage stays with its thread.
                assert.strictEqual((yield* collect(store.readEvents(healthy))).length, 1)
                assert.strictEqual((yield* store.appendEvents(healthy, [turn(2)]))[0]!.seq, 2)
              })
          )
        }
      })
    }
    const corruptThread = raw?.corruptThread
    if (corruptThread !== undefined) {
      describe("damage", () => {
        it.effect(
          "a damaged thread record stays with its thread: listed as damaged, the others listed and usable",
          () =>
            Effect.gen(function* () {
              const store = yield* StateStore
              const bad = threadId()
              const good = threadId()
              yield* store.createThread(makeThread(bad, 7_000_000_000_000))
              yield* store.createThread(makeThread(good, 7_000_000_000_001))
              yield* corruptThread(bad) as Effect.Effect<void, unknown>
              const listed = (yield* store.listThreads()).threads.map((t) => t.id)
              assert.include(listed, good)
              assert.notInclude(listed, bad)
              const damaged = yield* store.listDamaged("thread")
              const mine = damaged.find((d) => d.id === bad)
              assert.isDefined(mine)
              assert.strictEqual(mine!.error._tag === "StorageError" && mine!.error.reason, "Corrupt")
              // The same from one listing: the page carries the damaged records when asked, in every page.
              const both = yield* store.listThreads({ damaged: true })
              assert.deepStrictEqual(
                both.threads.map((t) => t.id),
                listed
              )
              assert.deepStrictEqual(
                both.damaged?.map((d) => [d.kind, d.id, d.error._tag === "StorageError" && d.error.reason]),
                damaged.map((d) => [d.kind, d.id, d.error._tag === "StorageError" && d.error.reason])
              )
              const first = yield* store.listThreads({ damaged: true, limit: 1 })
              assert.strictEqual(first.threads.length, 1)
              assert.isDefined(first.damaged?.find((d) => d.id === bad))
              assert.isUndefined((yield* store.listThreads()).damaged)
              const read = yield* Effect.flip(store.getThread(bad))
              assert.strictEqual(read._tag === "StorageError" && read.reason, "Corrupt")
              assert.strictEqual((yield* store.updateThread(good, (t) => ({ ...t, name: "ok" }))).name, "ok")
            })
        )
      })
    }
    if (raw !== undefined) {
      describe("schema versions", () => {
        it.effect("an event from a newer schema version is a typed error, not a misread", () =>
          Effect.gen(function* () {
            const store = yield* StateStore
            const id = threadId()
            yield* raw.appendEventWithVersion(id, 1, 99) as Effect.Effect<void, unknown>
            const err = yield* Effect.flip(collect(store.readEvents(id)))
            assert.strictEqual(err._tag, "UnsupportedSchemaVersion")
            if (err._tag === "UnsupportedSchemaVersion") {
              assert.strictEqual(err.found, 99)
              assert.strictEqual(err.supported, 1)
            }
          })
        )

        it.effect("a record from a newer schema version is a typed error", () =>
          Effect.gen(function* () {
            const store = yield* StateStore
            const id = Ids.make("JobId")
            yield* raw.putJobWithVersion(id, 7) as Effect.Effect<void, unknown>
            const err = yield* Effect.flip(store.getJob(id))
            assert.strictEqual(err._tag, "UnsupportedSchemaVersion")
            assert.include(err.message, "newer")
          })
        )
      })
    }
  })
