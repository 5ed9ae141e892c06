/**
 * Turns as queued work (`strata serve --cluster` + `strata worker`), on the
 * BullMQ and Redis of `[jobs] backend = "bullmq"`:
 *
 * - `layerApi`: the `ClusterTurns` of an API process. A `turn/start` is a
 *   job on the `strata.turns` queue (id `turn-<thread>`: one queued or
 *   running turn per thread, a second is a `Conflict`); an approval's
 *   decision is a job too (`approval-<id>`). Answers come back under the
 *   job's ticket; interrupts go out on a control channel; wake-ups of new
 *   frames come in on a notification channel.
 * - `runWorker`: in `strata worker`, takes those jobs and runs each through
 *   the Runtime facade (`handlePrompt`, `resolveApproval`) while holding the
 *   thread's lease (a second writer waits, never runs alongside). What the
 *   journal already holds of the turn is read under the lease first, so a
 *   job BullMQ handed to a second worker (the first dead, or only late to
 *   renew its lock) is never run by both.
 * - Both publish every frame their process appends (the thread's id, as a
 *   wake-up: readers take the frames from the shared journal).
 *
 * Recovery of a turn whose worker died (BullMQ's stalled check hands its job
 * to another worker after `lock_ms`; the dead worker's thread lease expires
 * after `turn_lease_ms`), by what the dead run left in the journal:
 * - nothing of it: the turn runs (nothing of it happened);
 * - its prompt, but no `turn_started`: the turn runs from the recorded
 *   prompt (`continueTurn`: nothing was sent to the model yet, and the
 *   prompt is not recorded twice);
 * - a `turn_started`: the thread is repaired (open calls answered as
 *   interrupted, `turn_ended: interrupted`) and the turn is NOT run again:
 *   the model was called and tools may have run, and a second run would
 *   send the prompt twice and repeat their side effects.
 * An approval's decision is taken again only while the approval is pending.
 *
 * @since 0.2.0
 */
import { randomUUID } from "node:crypto"
import { Runtime } from "@strata/core-runtime"
import * as ThreadManager from "@strata/core-runtime/ThreadManager"
import * as Turn from "@strata/core-runtime/Turn"
import { redisOptions } from "@strata/jobs/RedisUrl"
import { type PromptRequest, PromptResponse } from "@strata/protocol/Prompt"
import { ClusterTurns, type TurnRequest } from "@strata/server/ClusterTurns"
import { fromFailure, RpcError } from "@strata/server/RpcError"
import { StateStore } from "@strata/storage/StateStore"
import type { Job as BullJob, Worker as BullWorker } from "bullmq"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as EffectRuntime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Setup } from "./Distribution.js"

/**
 * The BullMQ queue of turns (`strata status` shows it as the kind `turns`).
 *
 * @since 0.2.0
 * @category constants
 */
export const QUEUE = "strata.turns"

interface Settings {
  readonly url: string
  readonly prefix: string
  readonly lockMs: number
  readonly graceMs: number
  readonly leaseMs: number
  readonly concurrency: number
}

const settings = (config: Setup["config"]): Settings => ({
  url:
    config.jobs.redis_url ??
    (config.storage.kind === "redis" ? config.storage.url : undefined) ??
    "redis://127.0.0.1:6379",
  prefix: config.jobs.prefix ?? "strata",
  lockMs: Math.max(200, config.jobs.lock_ms ?? 30_000),
  graceMs: config.jobs.shutdown_grace_ms ?? 30_000,
  leaseMs: config.jobs.turn_lease_ms ?? 30_000,
  concurrency: config.jobs.concurrency
})

/**
 * Why a config cannot run turns in a cluster (`undefined` when it can): the
 * jobs must be on BullMQ and the store shared.
 *
 * @since 0.2.0
 * @category utils
 */
export const refusal = (config: Setup["config"]): string | undefined =>
  config.jobs.backend !== "bullmq"
    ? `[jobs] backend is "${config.jobs.backend}": a cluster queues turns on BullMQ`
    : config.storage.kind !== "redis" && config.storage.kind !== "postgres"
      ? `[storage] kind is "${config.storage.kind}": every process of a cluster must share the store`
      : undefined

const keys = (prefix: string) => ({
  frames: `${prefix}:strata:turn-frames`,
  control: `${prefix}:strata:turn-control`,
  result: (ticket: string) => `${prefix}:strata:turn-result:${ticket}`,
  interrupt: (threadId: string) => `${prefix}:strata:turn-interrupt:${threadId}`,
  stalled: `${prefix}:strata:stalled-recoveries`
})

type TurnJob =
  | { readonly type: "prompt"; readonly ticket: string; readonly request: TurnRequest }
  | {
      readonly type: "approval"
      readonly ticket: string
      readonly thread_id: string
      readonly approval_id: string
      readonly decision: "approve" | "deny"
      readonly reason: string
    }

/** What a worker leaves under a ticket. */
type Answer =
  | { readonly ok: unknown }
  | { readonly interrupted: true }
  | { readonly error: { readonly type: RpcError["type"]; readonly detail: string } }

const jobIdOf = (ticket: string) => ticket.split("|")[0]!
const threadOf = (data: TurnJob) => (data.type === "prompt" ? data.request.thread_id : data.thread_id)

/** The turns queue and its Redis client (closed with the scope). */
const connect = (s: Settings) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const [bull, { Redis }] = await Promise.all([import("bullmq"), import("ioredis")])
      const client = new Redis(s.url, { ...redisOptions(s.url), connectionName: "strata:turns" })
      client.on("error", () => {})
      const queue = new bull.Queue(QUEUE, { connection: client, prefix: s.prefix })
      queue.on("error", () => {})
      return { bull, queue, client }
    }),
    ({ client, queue }) =>
      Effect.promise(async () => {
        await queue.close().catch(() => {})
        await client.quit().catch(() => client.disconnect())
      })
  )

type Client = Effect.Effect.Success<ReturnType<typeof connect>>["client"]

/** Publishes a notification (thread, seq) of every frame this process appends. */
const publishFrames = (client: Client, channel: string) =>
  Effect.flatMap(ThreadManager.ThreadManager, (threads) =>
    threads.live.pipe(
      Stream.runForEach((frame) =>
        frame.thread_id === null
          ? Effect.void
          : Effect.promise(() =>
              client.publish(channel, JSON.stringify({ thread_id: frame.thread_id, seq: frame.seq })).catch(() => 0)
            )
      ),
      Effect.forkScoped
    )
  )

/** A dedicated subscriber connection: `onMessage` gets every message of `channel`. */
const subscribe = (
  client: Client,
  channel: string,
  onMessage: (message: string) => void
): Effect.Effect<unknown, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const subscriber = client.duplicate()
      subscriber.on("error", () => {})
      subscriber.on("message", (_channel: string, message: string) => onMessage(message))
      await subscriber.subscribe(channel)
      return subscriber
    }),
    (subscriber) => Effect.sync(() => subscriber.disconnect())
  )

const wireError = (cause: unknown, operation: string) =>
  new RpcError({
    type: "InternalError",
    detail: `cluster: ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`
  })

const tryRedis = <A>(operation: string, f: () => Promise<A>) =>
  Effect.tryPromise({ try: f, catch: (cause) => wireError(cause, operation) })

const decodeResponse = Schema.decodeUnknown(PromptResponse)
const encodeResponse = Schema.encode(PromptResponse)

/**
 * `ClusterTurns` for an API process (`strata serve --cluster`).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerApi = (
  config: Setup["config"]
): Layer.Layer<ClusterTurns, never, ThreadManager.ThreadManager | StateStore> =>
  Layer.scoped(
    ClusterTurns,
    Effect.gen(function* () {
      const s = settings(config)
      const k = keys(s.prefix)
      const store = yield* StateStore
      const { client, queue } = yield* connect(s)
      yield* publishFrames(client, k.frames)
      const hub = yield* PubSub.sliding<{ readonly thread_id: string; readonly seq: number }>(4096)
      const runtime = yield* Effect.runtime<never>()
      yield* subscribe(client, k.frames, (message: string) => {
        try {
          const w = JSON.parse(message) as { thread_id: unknown; seq: unknown }
          if (typeof w.thread_id === "string" && typeof w.seq === "number") {
            EffectRuntime.runSync(runtime)(PubSub.publish(hub, { thread_id: w.thread_id, seq: w.seq }))
          }
        } catch {
          // not ours
        }
      })

      const conflict = (threadId: string, detail: string) =>
        new RpcError({ type: "Conflict", detail: `a turn is already ${detail} on thread ${threadId}` })

      const add = (jobId: string, data: TurnJob) =>
        Effect.gen(function* () {
          yield* tryRedis("queue the turn", () =>
            queue.add(data.type, data, { jobId, removeOnComplete: true, removeOnFail: true })
          )
          // An id BullMQ already holds is not added again: the job there is someone else's.
          const there = yield* tryRedis("read the queued turn", () => queue.getJob(jobId))
          return there === undefined || (there.data as TurnJob).ticket === data.ticket
        })

      const enqueue: ClusterTurns["Type"]["enqueue"] = Effect.fn("ClusterTurns.enqueue")(function* (request) {
        const lease = yield* Effect.orElseSucceed(store.threadLease(request.thread_id), () => Option.none())
        if (Option.isSome(lease)) return yield* conflict(request.thread_id, `running (${lease.value.owner})`)
        const jobId = `turn-${request.thread_id}`
        const ticket = `${jobId}|${randomUUID()}`
        // The thread's job id is taken: by a turn queued or running (a Conflict), or by one that
        // has just let go of the lease and is finishing (gone in a moment: try again).
        for (let i = 0; i < 40; i++) {
          if (yield* add(jobId, { type: "prompt", ticket, request })) return ticket
          const there = yield* tryRedis("read the queued turn", () => queue.getJob(jobId))
          const state = there === undefined ? "gone" : yield* tryRedis("read the turn's state", () => there.getState())
          if (state !== "active" && state !== "gone" && state !== "unknown") break
          const held = yield* Effect.orElseSucceed(store.threadLease(request.thread_id), () => Option.none())
          if (Option.isSome(held)) return yield* conflict(request.thread_id, `running (${held.value.owner})`)
          yield* Effect.sleep("50 millis")
        }
        return yield* conflict(request.thread_id, "queued or running")
      })

      const enqueueApproval: ClusterTurns["Type"]["enqueueApproval"] = Effect.fn("ClusterTurns.enqueueApproval")(
        function* (request) {
          const jobId = `approval-${request.approval_id}`
          const ticket = `${jobId}|${randomUUID()}`
          if (!(yield* add(jobId, { type: "approval", ticket, ...request }))) {
            return yield* new RpcError({
              type: "Conflict",
              detail: `approval ${request.approval_id} is already being resolved`
            })
          }
          return ticket
        }
      )

      const await_: ClusterTurns["Type"]["await"] = Effect.fn("ClusterTurns.await")(function* (ticket) {
        let missing = 0
        for (let i = 0; ; i++) {
          const raw = yield* tryRedis("read the turn's answer", () => client.getdel(k.result(ticket)))
          if (raw !== null) {
            const answer = JSON.parse(raw) as Answer
            if ("interrupted" in answer) {
              return yield* new RpcError({ type: "Conflict", detail: "the turn was interrupted" })
            }
            if ("error" in answer) return yield* new RpcError(answer.error)
            if (answer.ok === null || answer.ok === undefined) return undefined
            return yield* decodeResponse(answer.ok).pipe(Effect.mapError((e) => wireError(e, "read the answer")))
          }
          if (i % 20 === 19) {
            const job = yield* tryRedis("read the queued turn", () => queue.getJob(jobIdOf(ticket)))
            const ours = job !== undefined && (job.data as TurnJob).ticket === ticket
            missing = ours ? 0 : missing + 1
            if (missing >= 3) {
              return yield* new RpcError({
                type: "InternalError",
                detail: "the turn ended without an answer (its worker stopped); see the thread's events"
              })
            }
          }
          yield* Effect.sleep("50 millis")
        }
      })

      const interrupt: ClusterTurns["Type"]["interrupt"] = Effect.fn("ClusterTurns.interrupt")(function* (threadId) {
        const jobId = `turn-${threadId}`
        const job = yield* tryRedis("read the queued turn", () => queue.getJob(jobId))
        let found = false
        if (job !== undefined) {
          const data = job.data as TurnJob
          found = true
          yield* tryRedis("mark the interrupt", () => client.set(k.interrupt(threadId), data.ticket, "EX", 600))
          const state = yield* tryRedis("read the turn's state", () => job.getState())
          if (state === "waiting" || state === "prioritized" || state === "delayed") {
            // Not started: taken off the queue, nothing of it ran.
            const removed = yield* Effect.promise(() =>
              job.remove().then(
                () => true,
                () => false
              )
            )
            if (removed) {
              yield* tryRedis("answer the turn", () =>
                client.set(k.result(data.ticket), JSON.stringify({ interrupted: true }), "EX", 600)
              )
            }
          }
        }
        const lease = yield* Effect.orElseSucceed(store.threadLease(threadId), () => Option.none())
        found = found || Option.isSome(lease)
        yield* tryRedis("send the interrupt", () => client.publish(k.control, JSON.stringify({ thread_id: threadId })))
        if (!found) return false
        // Answered once the turn has stopped (its `turn_ended` is in the journal), within reason.
        const deadline = Date.now() + s.leaseMs + s.lockMs + 5_000
        while (Date.now() < deadline) {
          const queued = yield* tryRedis("read the queued turn", () => queue.getJob(jobId))
          const held = yield* Effect.orElseSucceed(store.threadLease(threadId), () => Option.none())
          if (queued === undefined && Option.isNone(held)) break
          yield* Effect.sleep("50 millis")
        }
        return true
      })

      const running = Effect.promise(() =>
        queue
          .getJobs(["active", "waiting", "prioritized", "delayed"])
          .then((jobs) => [...new Set(jobs.filter((j) => j !== undefined).map((j) => threadOf(j.data as TurnJob)))])
          .catch(() => [] as Array<string>)
      ).pipe(Effect.withSpan("ClusterTurns.running"))

      return ClusterTurns.of({
        enqueue,
        enqueueApproval,
        await: await_,
        interrupt,
        wake: Stream.fromPubSub(hub),
        running
      })
    })
  )

/**
 * Runs turns from the queue in this process (`strata worker`) until the
 * scope closes. On close it stops taking turns, lets the running ones finish
 * for `[jobs] shutdown_grace_ms`, then interrupts the rest (each records
 * `turn_ended: interrupted`; a turn is never handed back half done).
 *
 * @since 0.2.0
 * @category constructors
 */
export const runWorker = (
  config: Setup["config"],
  instanceId: string,
  onTake: (taken: {
    readonly thread_id: string
    readonly kind: "prompt" | "approval"
    readonly recovered: boolean
  }) => void = () => {}
): Effect.Effect<
  void,
  never,
  Scope.Scope | Runtime.Runtime | Turn.TurnRunner | ThreadManager.ThreadManager | StateStore
> =>
  Effect.gen(function* () {
    const s = settings(config)
    const k = keys(s.prefix)
    const rt = yield* Runtime.Runtime
    const turns = yield* Turn.TurnRunner
    const store = yield* StateStore
    const { bull, client } = yield* connect(s)
    yield* publishFrames(client, k.frames)
    const runtime = yield* Effect.runtime<never>()
    const fork = EffectRuntime.runFork(runtime)
    // The runs in this process, by ticket.
    const local = new Map<string, { readonly threadId: string; readonly fiber: Fiber.RuntimeFiber<unknown, unknown> }>()

    yield* subscribe(client, k.control, (message) => {
      try {
        const { thread_id } = JSON.parse(message) as { thread_id: string }
        for (const run of local.values()) if (run.threadId === thread_id) fork(Fiber.interrupt(run.fiber))
      } catch {
        // not ours
      }
    })

    // A second writer (the paused turn still closing, a dead worker's lease
    // not yet expired) holds the thread: wait for it, never run alongside.
    const whenFree = <A, E extends { readonly _tag?: string }, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.retry(effect, {
        while: (e) => e._tag === "ThreadBusy",
        schedule: Schedule.spaced("100 millis").pipe(Schedule.upTo(Duration.millis(2 * s.leaseMs + 5_000)))
      })

    // The thread's lease for the whole job: what the journal says about this
    // turn is read under it, so a run taken over (its worker dead, or only
    // late) and the run that took it over never both run the turn. The turn
    // engine, seeing the lease held, writes under it (re-entrant).
    const underLease = <A, E>(threadId: string, effect: Effect.Effect<A, E>) =>
      Effect.scoped(
        Effect.flatMap(
          whenFree(store.acquireThreadLease(threadId, { owner: `strata worker ${instanceId}`, ttlMs: s.leaseMs })),
          (lease) => Effect.locally(effect, ThreadManager.CurrentLease, Option.some(lease))
        )
      )

    const runJob = (data: TurnJob): Effect.Effect<unknown, unknown> =>
      underLease(
        threadOf(data),
        Effect.gen(function* () {
          const threadId = threadOf(data)
          if (data.type === "prompt") {
            const r = data.request
            const overrides = {
              ...(r.model === undefined ? {} : { model: r.model }),
              ...(r.cwd === undefined ? {} : { cwd: r.cwd }),
              ...(r.approval_policy === undefined ? {} : { approval_policy: r.approval_policy }),
              ...(r.max_turns === undefined ? {} : { max_turns: r.max_turns })
            }
            // This turn in the journal: its prompt recorded since it was queued, and a turn started after it.
            const since = Chunk.toReadonlyArray(
              yield* Stream.runCollect(store.readEvents(threadId, { fromSeq: r.after_seq + 1 }))
            )
            const prompted = since.findIndex(
              (f) => f.event === "message_appended" && f.message.role === "user" && f.message.content === r.prompt
            )
            if (prompted >= 0 && since.slice(prompted).some((f) => f.event === "turn_started")) {
              // It had begun on another worker: close it, do not send the prompt again.
              yield* turns.repair(threadId)
              const ended = (yield* Stream.runCollect(store.readEvents(threadId, { fromSeq: r.after_seq + 1 }))).pipe(
                Chunk.filter((f) => f.event === "turn_ended")
              )
              const last = Option.getOrUndefined(Chunk.last(ended))
              const outcome = last !== undefined && "outcome" in last ? String(last.outcome) : "interrupted"
              return yield* new RpcError({
                type: "InternalError",
                detail:
                  outcome === "interrupted"
                    ? `the worker running this turn stopped; thread ${threadId} was closed as interrupted (the turn is not run twice)`
                    : `the worker running this turn stopped after it ended (${outcome}); its answer is in thread ${threadId}'s events (the turn is not run twice)`
              })
            }
            if (prompted >= 0) {
              // The prompt was recorded, no turn started: nothing was sent; the turn runs from the recorded prompt.
              return yield* Effect.flatMap(turns.continueTurn(threadId, overrides), encodeResponse)
            }
            const request = {
              thread_id: r.thread_id as PromptRequest["thread_id"] & string,
              prompt: r.prompt,
              ...overrides
            }
            return yield* Effect.flatMap(rt.handlePrompt(request), encodeResponse)
          }
          const approval = yield* store.getApproval(data.approval_id)
          if (Option.isSome(approval) && approval.value.status !== "pending") {
            // Decided by a run taken over: close what it left open, decide nothing again.
            yield* turns.repair(threadId)
            return null
          }
          const outcome = yield* rt.resolveApproval(data.approval_id, data.decision, { reason: data.reason })
          return outcome.turn === undefined ? null : yield* encodeResponse(outcome.turn)
        })
      )

    // A run that lost the thread's lease (its process froze past
    // `turn_lease_ms`) wrote nothing since: it takes the lease again and
    // closes the turn, so the thread is consistent without waiting for the
    // next turn; the turn is not run again.
    const work = (data: TurnJob): Effect.Effect<unknown, unknown> =>
      runJob(data).pipe(
        Effect.catchIf(
          (e): e is { readonly _tag: "LeaseLost" } =>
            typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "LeaseLost",
          () =>
            Effect.zipRight(
              underLease(threadOf(data), turns.repair(threadOf(data))),
              Effect.fail(
                new RpcError({
                  type: "InternalError",
                  detail: `the worker running this turn lost thread ${threadOf(data)}'s lease (it stalled past turn_lease_ms); the thread was closed as interrupted (the turn is not run twice)`
                })
              )
            )
        )
      )

    const answerOf = (exit: Exit.Exit<unknown, unknown>): Answer =>
      Exit.isSuccess(exit)
        ? { ok: exit.value ?? null }
        : Cause.isInterruptedOnly(exit.cause)
          ? { interrupted: true }
          : (() => {
              const e = fromFailure(Cause.squash(exit.cause))
              return { error: { type: e.type, detail: e.detail } }
            })()

    const processJob = async (job: BullJob) => {
      const data = job.data as TurnJob
      const threadId = threadOf(data)
      const recovered = (job.stalledCounter ?? 0) > 0
      if (recovered) await client.incr(k.stalled).catch(() => 0)
      onTake({ thread_id: threadId, kind: data.type, recovered })
      const fiber = fork(work(data)) as Fiber.RuntimeFiber<unknown, unknown>
      local.set(data.ticket, { threadId, fiber })
      try {
        // An interrupt sent before this worker took the turn.
        if ((await client.get(k.interrupt(threadId)).catch(() => null)) === data.ticket) {
          fork(Fiber.interrupt(fiber))
        }
        const exit = await EffectRuntime.runPromise(runtime)(Fiber.await(fiber))
        // The first answer stands (a run taken over while only late answers first).
        await client.set(k.result(data.ticket), JSON.stringify(answerOf(exit)), "EX", 600, "NX")
      } finally {
        local.delete(data.ticket)
      }
    }

    const worker: BullWorker = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const w = new bull.Worker(QUEUE, processJob, {
          connection: redisOptions(s.url),
          prefix: s.prefix,
          concurrency: s.concurrency,
          lockDuration: s.lockMs,
          stalledInterval: Math.max(100, Math.round(s.lockMs / 2)),
          // What a stall means is decided by `work` (repair, never a second run), not by a count.
          maxStalledCount: 1_000_000,
          name: instanceId
        })
        w.on("error", () => {})
        return w
      }),
      (w) =>
        Effect.promise(async () => {
          const closed = w.close()
          let timer: ReturnType<typeof setTimeout> | undefined
          const late = await Promise.race([
            closed.then(() => false),
            new Promise<boolean>((resolve) => {
              timer = setTimeout(() => resolve(true), s.graceMs)
            })
          ])
          clearTimeout(timer)
          if (late) {
            await Promise.all(
              [...local.values()].map((r) => EffectRuntime.runPromise(runtime)(Fiber.interrupt(r.fiber)))
            )
            await closed.catch(() => {})
          }
        })
    )
    yield* Effect.promise(() => worker.waitUntilReady())
  })
