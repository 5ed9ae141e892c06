/**
 * The transport-agnostic core of `strata serve`: JSON-RPC 2.0 methods over
 * the `Runtime` facade (see `@strata/protocol/Rpc` for the table), and the
 * event streams. The HTTP layer (`Http`) and the stdio transport put it on a
 * wire; they add authentication and limits, never behaviour.
 *
 * - Every request is decoded with the method's params schema; a bad request
 *   is a typed JSON-RPC error naming the field (`data.path`), never a crash.
 *   Params with an own `__proto__` key anywhere are refused the same way.
 * - `turn/start` runs the turn in the server's scope (one running turn per
 *   thread: a second is a `Conflict`) and answers at once with the thread's
 *   sequence number before the turn; `turn/interrupt` interrupts it.
 * - `approval/resolve` answers an approval through the facade; the paused
 *   turn continues in the server. Every attached client sees the
 *   `approval_decided` frame on its stream. `approve_always` first adds the
 *   allow rules of "approve always" (`RuntimePolicy.ApprovedRules`: the
 *   project's `.strata/approved.toml`, in force at once), then approves.
 * - `policy/check` decides a command with the policy the server's turns use
 *   (approved rules included) and explains it; it runs nothing.
 * - `auth/whoami` answers the caller's token name and scopes.
 * - `threadEvents(thread, after)`: the thread's persisted frames after
 *   `after`, then the live ones, each exactly once, in sequence order (a
 *   frame published while the journal was read is neither lost nor
 *   repeated: a gap is filled from the journal).
 * - Built with `layerCluster` (`strata serve --cluster`, which requires
 *   `ClusterTurns`: the choice is explicit in the layer) the server runs no
 *   turn itself: turns and approvals' continuations are queued for
 *   worker processes, interrupts reach the worker running the turn, and
 *   event streams read the shared journal, woken by the cluster's
 *   notifications (see `ClusterTurns`).
 *
 * @since 0.2.0
 */
import { Runtime, ThreadManager } from "@strata/core-runtime"
import * as RuntimePolicy from "@strata/core-runtime/RuntimePolicy"
import * as Decision from "@strata/exec-policy/Decision"
import { ExecPolicy } from "@strata/exec-policy/ExecPolicy"
import { findProtoKey } from "@strata/protocol/Common"
import type { EventFrame } from "@strata/protocol/Event"
import { ThreadId } from "@strata/protocol/Ids"
import type { PromptResponse } from "@strata/protocol/Prompt"
import * as Rpc from "@strata/protocol/Rpc"
import type { ThreadRequest } from "@strata/protocol/Thread"
import { StateStore } from "@strata/storage/StateStore"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as EffectRuntime from "effect/Runtime"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { ClusterTurns } from "./ClusterTurns.js"
import * as ThreadEvents from "./internal/threadEvents.js"
import { invalidParams, pathOf, pick, readId, toApproval } from "./internal/wire.js"
import { fromFailure, RpcError } from "./RpcError.js"

/**
 * Who is calling: a token's name and scopes (`admin` implies every scope).
 *
 * @since 0.2.0
 * @category models
 */
export interface Principal {
  readonly name: string
  readonly scopes: ReadonlyArray<Rpc.Scope>
}

/**
 * The principal of a transport that needs no token (stdio: whoever started
 * the process owns it).
 *
 * @since 0.2.0
 * @category constants
 */
export const owner: Principal = { name: "owner", scopes: ["admin"] }

/**
 * Whether a principal holds a scope.
 *
 * @since 0.2.0
 * @category utils
 */
export const allows = (principal: Principal, scope: Rpc.Scope): boolean =>
  principal.scopes.includes("admin") || principal.scopes.includes(scope)

/**
 * @since 0.2.0
 * @category models
 */
export interface Service {
  /** Answers one parsed JSON-RPC message (`null` for a notification). */
  readonly handle: (message: unknown, principal: Principal) => Effect.Effect<Rpc.Response | null>
  /** Parses and answers a request body: one message or a batch. */
  readonly handleText: (body: string, principal: Principal) => Effect.Effect<unknown>
  /** Calls a method with decoded params, as the wire would (scope checked). */
  readonly call: <M extends Rpc.MethodName>(
    method: M,
    params: Rpc.ParamsOf<M>,
    principal?: Principal
  ) => Effect.Effect<Rpc.ResultOf<M>, RpcError>
  /** A thread's frames after `after`, then live ones: each once, in order. Fails `NotFound` for an unknown thread. */
  readonly threadEvents: (threadId: string, after: number) => Effect.Effect<Stream.Stream<EventFrame>, RpcError>
  /** Frames of every thread from now on. */
  readonly allEvents: Stream.Stream<EventFrame>
  /** The wire form of an approval (the exact call it asks about). */
  readonly approval: (approvalId: string) => Effect.Effect<Rpc.Approval | undefined>
  /** Threads whose turn is running in this server. */
  readonly running: Effect.Effect<ReadonlyArray<string>>
}

const isMethod = (name: string): name is Rpc.MethodName => Object.hasOwn(Rpc.Methods, name)

const decodeThreadId = Schema.decode(ThreadId)

/**
 * Builds the server over the Runtime in context. Turns it starts run in the
 * scope (closed: they are interrupted, and record `interrupted`); with
 * `cluster`, turns are queued for worker processes instead.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeWith = Effect.fnUntraced(function* (cluster: ClusterTurns["Type"] | undefined) {
  const rt = yield* Runtime.Runtime
  const threads = yield* ThreadManager.ThreadManager
  const store = yield* StateStore
  // Turns run with the server's own context and fiber refs, not the request's that started them.
  const runtime = yield* Effect.runtime<never>()
  const fork = EffectRuntime.runFork(runtime)
  yield* Effect.addFinalizer(() =>
    Effect.forEach([...turns.values()], (fiber) => Fiber.interrupt(fiber), { discard: true })
  )
  const turns = new Map<string, Fiber.RuntimeFiber<unknown, unknown>>()
  const lock = yield* Effect.makeSemaphore(1)
  const policy = yield* ExecPolicy
  const approvedRules = yield* RuntimePolicy.ApprovedRules

  const thread = (request: ThreadRequest) => rt.handleThread(request)
  // The facade answers a thread id as a plain string: decoded with the protocol's schema (a bad one is a defect).
  const threadIdOf = (response: { readonly thread_id: string }) => Effect.orDie(decodeThreadId(response.thread_id))

  const requireThread = (threadId: string) =>
    Effect.flatMap(threads.get(threadId), (found) =>
      Option.isSome(found)
        ? Effect.succeed(found.value)
        : Effect.fail(new RpcError({ type: "NotFound", detail: `thread ${threadId} not found` }))
    )

  /** Runs `effect` as the thread's turn in the server's scope; a second while one runs is a Conflict. */
  const runTurn = <A, E>(
    threadId: string,
    effect: Effect.Effect<A, E>,
    options: { readonly afterCurrent?: boolean } = {}
  ) =>
    Effect.zipRight(
      // An approval can be answered as soon as it is published, while the turn that asked is still pausing.
      options.afterCurrent === true
        ? Effect.suspend(() => {
            const current = turns.get(threadId)
            return current === undefined ? Effect.void : Effect.asVoid(Fiber.await(current))
          })
        : Effect.void,
      lock.withPermits(1)(
        Effect.gen(function* () {
          const current = turns.get(threadId)
          if (current !== undefined && Option.isNone(yield* Fiber.poll(current))) {
            return yield* new RpcError({ type: "Conflict", detail: `a turn is already running on thread ${threadId}` })
          }
          const fiber = yield* effect.pipe(
            Effect.tapErrorCause((cause) => Effect.logDebug(`turn on ${threadId} ended`, cause)),
            Effect.ensuring(
              Effect.sync(() => {
                if (turns.get(threadId) === fiber) turns.delete(threadId)
              })
            ),
            (turn) => Effect.sync(() => fork(turn))
          )
          turns.set(threadId, fiber as Fiber.RuntimeFiber<unknown, unknown>)
          return fiber
        })
      )
    )

  const methods: {
    readonly [M in Rpc.MethodName]: (
      params: Rpc.DecodedParamsOf<M>,
      principal: Principal
    ) => Effect.Effect<unknown, unknown>
  } = {
    "app/status": () => rt.appStatus,
    "auth/whoami": (_, principal) =>
      Effect.succeed({
        name: principal.name,
        scopes: principal.scopes,
        can: {
          read: allows(principal, "read"),
          prompt: allows(principal, "prompt"),
          approve: allows(principal, "approve"),
          admin: allows(principal, "admin")
        }
      }),
    "mcp/status": () => Effect.map(rt.appStatus, (s) => s.mcp_servers),
    "mcp/restart": (p) =>
      Effect.gen(function* () {
        const known = (yield* rt.appStatus).mcp_servers.some((s) => s.server_name === p.server_name)
        if (!known) {
          return yield* new RpcError({
            type: "NotFound",
            detail: `no MCP server named ${JSON.stringify(p.server_name)} is configured`
          })
        }
        return yield* rt.restartMcpServer(p.server_name)
      }),
    "policy/check": (p) =>
      Effect.gen(function* () {
        const d = yield* policy.check(p.command, {
          ...(p.cwd === undefined ? {} : { cwd: p.cwd }),
          ...(p.approval_policy === undefined ? {} : { approval: p.approval_policy })
        })
        return {
          command: d.command,
          decision: d.decision,
          policy_decision: d.policy_decision,
          approval: d.approval,
          summary: Decision.summary(d),
          explanation: Decision.format(d),
          commands: d.commands.map((c) => ({
            argv: c.argv,
            decision: c.decision,
            rule: c.rule === null ? null : `${c.rule.prefix} (${c.rule.file}:${c.rule.line})`
          }))
        }
      }),
    "thread/start": (p) =>
      Effect.gen(function* () {
        const started = yield* thread({ kind: "start", ...pick(p, ["model", "model_provider", "cwd"]) })
        if (p.name === undefined) return started
        const named = yield* thread({ kind: "set_name", thread_id: yield* threadIdOf(started), name: p.name })
        return { ...started, ...(named.thread === undefined ? {} : { thread: named.thread }) }
      }),
    "thread/resume": (p) =>
      Effect.zipRight(
        requireThread(p.thread_id),
        thread({
          kind: "resume",
          thread_id: p.thread_id,
          ...pick(p, ["model", "model_provider", "cwd"])
        })
      ),
    "thread/fork": (p) =>
      Effect.zipRight(
        requireThread(p.thread_id),
        thread({
          kind: "fork",
          thread_id: p.thread_id,
          ...pick(p, ["at_message_id", "model", "model_provider", "cwd"])
        })
      ),
    "thread/list": (p) => thread({ kind: "list", ...pick(p, ["include_archived", "limit", "cursor"]) }),
    "thread/read": (p) => Effect.zipRight(requireThread(p.thread_id), thread({ kind: "read", thread_id: p.thread_id })),
    "thread/set_name": (p) =>
      Effect.zipRight(requireThread(p.thread_id), thread({ kind: "set_name", thread_id: p.thread_id, name: p.name })),
    "thread/archive": (p) =>
      Effect.zipRight(requireThread(p.thread_id), thread({ kind: "archive", thread_id: p.thread_id })),
    "thread/unarchive": (p) =>
      Effect.zipRight(requireThread(p.thread_id), thread({ kind: "unarchive", thread_id: p.thread_id })),
    "turn/start": (p) =>
      Effect.gen(function* () {
        const threadId =
          p.thread_id === undefined
            ? yield* threadIdOf(yield* thread({ kind: "start", ...pick(p, ["cwd"]) }))
            : (yield* requireThread(p.thread_id)).id
        const after = yield* store.lastSeq(threadId)
        if (cluster !== undefined) {
          const ticket = yield* cluster.enqueue({
            thread_id: threadId,
            prompt: p.prompt,
            ...pick(p, ["model", "cwd", "approval_policy", "max_turns"]),
            after_seq: after
          })
          if (p.wait !== true) return { thread_id: threadId, status: "running" as const, after_seq: after }
          const answer = yield* cluster.await(ticket)
          if (answer === undefined) {
            return yield* new RpcError({
              type: "InternalError",
              detail: `the turn on thread ${threadId} has no answer`
            })
          }
          return answer
        }
        const fiber = yield* runTurn(
          threadId,
          rt.handlePrompt({
            thread_id: threadId,
            prompt: p.prompt,
            ...pick(p, ["model", "cwd", "approval_policy", "max_turns"])
          })
        )
        if (p.wait !== true) return { thread_id: threadId, status: "running" as const, after_seq: after }
        const exit = yield* Fiber.await(fiber)
        if (Exit.isSuccess(exit)) return exit.value as PromptResponse
        return yield* Effect.failCause(exit.cause)
      }),
    "turn/interrupt": (p) =>
      Effect.gen(function* () {
        yield* requireThread(p.thread_id)
        if (cluster !== undefined) {
          return { thread_id: p.thread_id, interrupted: yield* cluster.interrupt(p.thread_id) }
        }
        const fiber = turns.get(p.thread_id)
        if (fiber === undefined || Option.isSome(yield* Fiber.poll(fiber))) {
          return { thread_id: p.thread_id, interrupted: false }
        }
        yield* Fiber.interrupt(fiber)
        return { thread_id: p.thread_id, interrupted: true }
      }),
    "events/read": (p) =>
      Effect.gen(function* () {
        yield* requireThread(p.thread_id)
        const after = p.after ?? 0
        const limit = p.limit ?? 1000
        const events = yield* threads.replay(p.thread_id).pipe(
          Stream.filter((f) => f.seq > after),
          Stream.take(limit),
          Stream.runCollect
        )
        return { events: [...events], last_seq: yield* store.lastSeq(p.thread_id) }
      }),
    "approval/list": (p) =>
      Effect.map(
        store.listApprovals({
          ...(p.thread_id === undefined ? {} : { threadId: p.thread_id }),
          status: p.status ?? "pending"
        }),
        (records) => records.map(toApproval)
      ),
    "approval/resolve": (p, principal) =>
      Effect.gen(function* () {
        const record = yield* store.getApproval(p.approval_id)
        if (Option.isNone(record)) {
          return yield* new RpcError({ type: "NotFound", detail: `approval ${p.approval_id} not found` })
        }
        if (record.value.status !== "pending") {
          return yield* new RpcError({
            type: "Conflict",
            detail: `approval ${p.approval_id} is already ${record.value.status}`
          })
        }
        let rules: ReadonlyArray<string> | undefined
        if (p.decision === "approve_always") {
          const command = record.value.command
          if (command === undefined) {
            return yield* new RpcError({
              type: "InvalidParams",
              detail: `approval ${p.approval_id}: approve_always needs a shell command under an execution policy (${record.value.call.name} has none); approve it once instead`,
              path: "decision"
            })
          }
          rules = yield* approvedRules.approveAlways(command, {
            justification: `approved always over the wire by ${principal.name}`
          })
        }
        const decision = p.decision === "deny" ? "deny" : "approve"
        const reason =
          p.reason ??
          `${decision === "approve" ? (rules === undefined ? "approved" : "approved always") : "denied"} over the wire by ${principal.name}`
        const threadId = record.value.thread_id
        const resolve = rt.resolveApproval(p.approval_id, decision, { reason })
        // The continued turn runs as the thread's turn; the answer comes once the decision is recorded.
        const fiber: Fiber.Fiber<unknown, unknown> =
          threadId === null
            ? fork(resolve)
            : cluster !== undefined
              ? // Queued: a worker resolves it under the thread's lease and continues the turn.
                fork(
                  Effect.flatMap(
                    cluster.enqueueApproval({ thread_id: threadId, approval_id: p.approval_id, decision, reason }),
                    cluster.await
                  )
                )
              : yield* runTurn(threadId, resolve, { afterCurrent: true })
        const decided = yield* Effect.raceFirst(
          Effect.map(Fiber.await(fiber), (exit) => ({ exit })),
          Effect.gen(function* () {
            while (true) {
              const now = yield* store.getApproval(p.approval_id)
              if (Option.isSome(now) && now.value.status !== "pending") return { record: now.value }
              yield* Effect.sleep("10 millis")
            }
          })
        )
        if ("exit" in decided && Exit.isFailure(decided.exit)) return yield* Effect.failCause(decided.exit.cause)
        const final = Option.getOrUndefined(yield* store.getApproval(p.approval_id)) ?? record.value
        return {
          approval: toApproval(final),
          continued: threadId !== null && (yield* store.listApprovals({ status: "pending", threadId })).length === 0,
          ...(rules === undefined ? {} : { rules })
        }
      }),
    "jobs/list": () => rt.listJobs,
    "jobs/get": (p) =>
      Effect.flatMap(rt.listJobs, (jobs) => {
        const job = jobs.find((j) => j.id === p.id)
        return job === undefined
          ? Effect.fail(new RpcError({ type: "NotFound", detail: `job ${p.id} not found` }))
          : Effect.succeed(job)
      }),
    "jobs/history": (p) => rt.jobHistory(p.id),
    "jobs/enqueue": (p) => rt.enqueueJob(p.name, p.input),
    "jobs/cancel": (p) => rt.cancelJob(p.id),
    "jobs/retry": (p) => rt.retryJob(p.id),
    "jobs/pause": (p) => rt.pauseJob(p.id, p.detail),
    "jobs/resume": (p) => rt.resumeJob(p.id, p.detail),
    "checkpoints/save": (p) =>
      Effect.zipRight(requireThread(p.thread_id), rt.saveThreadCheckpoint(p.thread_id, p.checkpoint_id, p.state)),
    "checkpoints/load": (p) =>
      Effect.zipRight(
        requireThread(p.thread_id),
        Effect.map(rt.loadThreadCheckpoint(p.thread_id, p.checkpoint_id), (c) => ({
          checkpoint: Option.getOrNull(c)
        }))
      )
  }

  const dispatch = (method: string, params: unknown, principal: Principal): Effect.Effect<unknown, RpcError> =>
    Effect.gen(function* () {
      if (!isMethod(method)) {
        return yield* new RpcError({ type: "MethodNotFound", detail: `unknown method ${JSON.stringify(method)}` })
      }
      const spec = Rpc.Methods[method]
      if (!allows(principal, spec.scope)) {
        return yield* new RpcError({
          type: "Forbidden",
          detail: `${method} needs the ${spec.scope} scope; token ${principal.name} has ${principal.scopes.join(", ") || "none"}`
        })
      }
      const raw = params === undefined ? {} : params
      const proto = findProtoKey(raw)
      if (proto !== undefined) {
        const path = proto.map(String).join(".")
        return yield* new RpcError({
          type: "InvalidParams",
          detail: `${method}: invalid params at ${path}: a "__proto__" key is not allowed`,
          path
        })
      }
      const decoded = Schema.decodeUnknownEither(spec.params as Schema.Schema<unknown, unknown>, {
        onExcessProperty: "error"
      })(raw)
      if (Either.isLeft(decoded)) return yield* invalidParams(method, decoded.left)
      const run = methods[method] as (p: unknown, principal: Principal) => Effect.Effect<unknown, unknown>
      const result = yield* run(decoded.right, principal).pipe(
        Effect.catchAllDefect((defect) =>
          Effect.zipRight(
            Effect.logError(`${method} died`, defect),
            Effect.fail(new RpcError({ type: "InternalError", detail: `${method} failed unexpectedly` }))
          )
        ),
        Effect.mapError(fromFailure)
      )
      // Encoded with the result schema: what leaves is exactly the documented shape.
      return yield* Schema.encode(spec.result as Schema.Schema<unknown, unknown>)(result).pipe(
        Effect.catchAll((e) =>
          Effect.zipRight(
            Effect.logError(`${method}: result does not match its schema`, e),
            Effect.fail(new RpcError({ type: "InternalError", detail: `${method} produced an invalid result` }))
          )
        )
      )
    })

  const answer = (id: Rpc.RequestId | null, result: Either.Either<unknown, RpcError>): Rpc.Response =>
    Either.isRight(result)
      ? { jsonrpc: "2.0", id, result: result.right }
      : { jsonrpc: "2.0", id, error: result.left.toObject() }

  const decodeRequest = Schema.decodeUnknownEither(Rpc.Request, { onExcessProperty: "error" })

  const handle: Service["handle"] = (message, principal) =>
    Effect.gen(function* () {
      const decoded = decodeRequest(message)
      if (Either.isLeft(decoded)) {
        const id = readId(message)
        const path = pathOf(decoded.left)
        return answer(
          id,
          Either.left(
            new RpcError({
              type: "InvalidRequest",
              detail: `not a JSON-RPC 2.0 request${path ? ` (at ${path})` : ""}`,
              ...(path ? { path } : {})
            })
          )
        )
      }
      const request = decoded.right
      const result = yield* Effect.either(dispatch(request.method, request.params, principal))
      if (request.id === undefined) return null
      return answer(request.id, result)
    }).pipe(Effect.withSpan("RpcServer.handle"))

  // Each request of the body is `handle`'s span: parsing the body adds none.
  const handleText: Service["handleText"] = (body, principal) =>
    Effect.gen(function* () {
      let parsed: unknown
      try {
        parsed = JSON.parse(body)
      } catch (e) {
        return answer(
          null,
          Either.left(new RpcError({ type: "ParseError", detail: `the body is not JSON: ${(e as Error).message}` }))
        )
      }
      if (Array.isArray(parsed)) {
        if (parsed.length === 0) {
          return answer(null, Either.left(new RpcError({ type: "InvalidRequest", detail: "an empty batch" })))
        }
        if (parsed.length > 100) {
          return answer(
            null,
            Either.left(new RpcError({ type: "InvalidRequest", detail: "a batch holds at most 100 requests" }))
          )
        }
        const answers = yield* Effect.forEach(parsed, (m) => handle(m, principal))
        const sent = answers.filter((a) => a !== null)
        return sent.length === 0 ? null : sent
      }
      return yield* handle(parsed, principal)
    })

  const call: Service["call"] = (method, params, principal = owner) =>
    dispatch(method, params, principal).pipe(
      Effect.withSpan("RpcServer.call", { attributes: { method } })
    ) as Effect.Effect<never, RpcError>

  const threadEvents: Service["threadEvents"] = (threadId, after) =>
    Effect.as(
      requireThread(threadId).pipe(Effect.mapError(fromFailure)),
      cluster === undefined
        ? ThreadEvents.local(threads, threadId, after)
        : ThreadEvents.cluster(store, cluster, threadId, after)
    ).pipe(Effect.withSpan("RpcServer.threadEvents"))

  const approval: Service["approval"] = (approvalId) =>
    Effect.map(store.getApproval(approvalId), (r) => (Option.isSome(r) ? toApproval(r.value) : undefined)).pipe(
      Effect.orElseSucceed(() => undefined)
    )

  return {
    handle,
    handleText,
    call,
    threadEvents,
    // In a cluster: the frames other processes append too, read from the journal (best effort, from now on).
    allEvents: cluster === undefined ? threads.live : ThreadEvents.allInCluster(store, cluster),
    approval,
    running: cluster !== undefined ? cluster.running : Effect.sync(() => [...turns.keys()])
  } satisfies Service
})

/**
 * The server of a single process: it runs the turns it starts.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = makeWith(undefined)

/**
 * The server: one implementation, so an `Effect.Service` (see the README's
 * service style); `layer` is its `Default`, `layerCluster` the same server
 * built over `ClusterTurns`.
 *
 * @since 0.2.0
 * @category tags
 */
export class RpcServer extends Effect.Service<RpcServer>()("@strata/server/RpcServer", { scoped: make }) {}

/**
 * The server over the runtime's services. The policy `policy/check` and
 * `approve_always` use is a requirement, not an optional lookup: a
 * composition without it does not compile (`RuntimeLayer.layer` provides
 * both).
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<
  RpcServer,
  never,
  Runtime.Runtime | ThreadManager.ThreadManager | StateStore | ExecPolicy | RuntimePolicy.ApprovedRules
> = RpcServer.Default

/**
 * The server of an API process in a cluster (`strata serve --cluster`): it
 * runs no turn itself, `ClusterTurns` queues them for worker processes.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerCluster: Layer.Layer<
  RpcServer,
  never,
  ClusterTurns | Runtime.Runtime | ThreadManager.ThreadManager | StateStore | ExecPolicy | RuntimePolicy.ApprovedRules
> = Layer.scoped(
  RpcServer,
  Effect.flatMap(ClusterTurns, (cluster) => Effect.map(makeWith(cluster), (service) => RpcServer.make(service)))
)
