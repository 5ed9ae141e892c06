/** @internal */

import type { JsonValue } from "@strata/protocol/Common"
import type { Event, EventFrame } from "@strata/protocol/Event"
import * as Ids from "@strata/protocol/Ids"
import type { Message } from "@strata/protocol/Message"
import type { Thread, ThreadRequest, ThreadResponse, ThreadResponseStatus } from "@strata/protocol/Thread"
import { StateStore, type ThreadLease } from "@strata/storage/StateStore"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Stream from "effect/Stream"
import * as TM from "../ThreadManager.js"

const PREVIEW_MAX = 120

const preview = (text: string) => (text.length > PREVIEW_MAX ? `${text.slice(0, PREVIEW_MAX - 1)}…` : text)

const messagesOf = (frames: Iterable<EventFrame>): Array<Message & { readonly seq: number }> => {
  const out: Array<Message & { readonly seq: number }> = []
  for (const frame of frames) {
    if (frame.event === "message_appended") out.push({ ...frame.message, seq: frame.seq })
    else if (frame.event === "compaction") {
      // Messages before a compaction are summarized: the summary replaces them.
      const kept = out.filter((m) => m.seq > frame.through_seq)
      out.length = 0
      out.push(
        {
          id: `compaction-${frame.seq}` as Message["id"],
          role: "system",
          content: frame.summary,
          created_at: frame.timestamp,
          seq: frame.seq
        },
        ...kept
      )
    }
  }
  return out
}

const lastOf = (frames: ReadonlyArray<EventFrame>) => (frames.length === 0 ? 0 : frames[frames.length - 1]!.seq)

const stripSeq = ({ seq: _seq, ...message }: Message & { readonly seq: number }): Message => message

/** @internal */
export const make = (options: TM.Options) =>
  Effect.gen(function* () {
    const store = yield* StateStore
    const hub = yield* PubSub.unbounded<EventFrame>()

    // Writes of a fiber that holds the thread's lease are fenced with it.
    const leaseFor = (threadId: string) =>
      Effect.map(FiberRef.get(TM.CurrentLease), (lease) =>
        Option.isSome(lease) && lease.value.threadId === threadId ? { lease: lease.value } : undefined
      )

    // The journal of a thread this process holds the lease on, in memory, for
    // as long as the lease is held: what a turn reads of its thread (its
    // state, the model's context, its events for the response) without
    // reading the journal again. It is read under the lease (no other writer)
    // and used only under that same lease (a later lease reads the journal
    // again, which also finds damage done to it in between); the frames
    // appended under the lease are added to it when they follow on (else it
    // is dropped, and read again when next asked for).
    const mirrors = new WeakMap<ThreadLease, Array<EventFrame>>()
    const follow = (lease: ThreadLease, frames: ReadonlyArray<EventFrame>) => {
      const mirror = mirrors.get(lease)
      if (mirror === undefined || frames.length === 0) return
      if (frames[0]!.seq === lastOf(mirror) + 1) mirror.push(...frames)
      else mirrors.delete(lease)
    }

    const append = (threadId: string, events: ReadonlyArray<Event>) =>
      Effect.flatMap(leaseFor(threadId), (fence) =>
        fence === undefined
          ? store.appendEvents(threadId, events)
          : Effect.tap(store.appendEvents(threadId, events, fence), (frames) =>
              Effect.sync(() => follow(fence.lease, frames))
            )
      ).pipe(Effect.tap((frames) => PubSub.publishAll(hub, frames)))

    const replay = (threadId: string) => store.readEvents(threadId)

    const journal = (threadId: string): Effect.Effect<ReadonlyArray<EventFrame>, TM.ThreadError> =>
      Effect.flatMap(leaseFor(threadId), (fence) => {
        const mirror = fence === undefined ? undefined : mirrors.get(fence.lease)
        if (mirror !== undefined) return Effect.succeed(mirror.slice())
        const read = Effect.map(Stream.runCollect(store.readEvents(threadId)), (chunk) => {
          const frames = Chunk.toArray(chunk)
          if (fence !== undefined) mirrors.set(fence.lease, frames.slice())
          return frames
        })
        if (fence === undefined) return read
        // Under the lease, a journal with no events yet (a new thread) is known from its
        // last seq alone (one stat; damage fails it as a read would), without a read.
        return Effect.flatMap(store.lastSeq(threadId), (last) => {
          if (last > 0) return read
          mirrors.set(fence.lease, [])
          return Effect.succeed([])
        })
      })

    const allMessages = (threadId: string) => Effect.map(journal(threadId), messagesOf)

    const history = (threadId: string, limit?: number) =>
      Effect.map(allMessages(threadId), (messages) =>
        (limit === undefined ? messages : messages.slice(-limit)).map(stripSeq)
      )

    // As the seed: the latest checkpoint's id, state and save time, or null.
    const latestCheckpoint = (threadId: string) =>
      Effect.map(
        store.loadCheckpoint(threadId, "latest"),
        (c): JsonValue =>
          Option.match(c, {
            onNone: () => null,
            onSome: (checkpoint) => ({
              checkpoint_id: checkpoint.id,
              state: checkpoint.state,
              created_at: checkpoint.saved_at
            })
          })
      )

    const data = (threadId: string) =>
      Effect.all({ history: history(threadId, 500), checkpoint: latestCheckpoint(threadId) })

    // `start` creates its thread `running` (and ephemeral or not) in the one write.
    const createThread = (
      o: Parameters<TM.Service["createThread"]>[0] & {
        readonly status?: Thread["status"]
        readonly ephemeral?: boolean
      }
    ): ReturnType<TM.Service["createThread"]> =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const thread: Thread = {
          id: Ids.make("ThreadId"),
          preview: "",
          ephemeral: o.ephemeral ?? false,
          model_provider: o.model_provider ?? options.providerDefault,
          created_at: now,
          updated_at: now,
          status: o.status ?? "idle",
          cwd: o.cwd ?? options.cwd,
          cli_version: options.cliVersion,
          source: o.source ?? "api",
          ...(o.name === undefined ? {} : { name: o.name })
        }
        return yield* store.createThread(thread)
      })

    const respond = (
      threadId: string,
      status: ThreadResponseStatus,
      extra: Partial<ThreadResponse> = {}
    ): ThreadResponse => ({ thread_id: threadId, status, threads: [], events: [], data: {}, ...extra })

    const missing = (threadId: string) => respond(threadId, "missing", {})

    const withThread = <A extends ThreadResponse>(
      threadId: string,
      f: (thread: Thread) => Effect.Effect<A, TM.ThreadError>
    ): Effect.Effect<ThreadResponse, TM.ThreadError> =>
      Effect.flatMap(store.getThread(threadId), (t) =>
        Option.isNone(t) ? Effect.succeed(missing(threadId)) : f(t.value)
      )

    const withData = (thread: Thread, status: ThreadResponseStatus, extra: Partial<ThreadResponse> = {}) =>
      Effect.map(data(thread.id), (d) =>
        respond(thread.id, status, {
          thread,
          cwd: thread.cwd,
          model_provider: thread.model_provider,
          ...extra,
          data: d
        })
      )

    // A thread created just now has no journal and no checkpoint yet: its data is known without reading them.
    const fresh = (thread: Thread, status: ThreadResponseStatus, extra: Partial<ThreadResponse> = {}) =>
      respond(thread.id, status, {
        thread,
        cwd: thread.cwd,
        model_provider: thread.model_provider,
        ...extra,
        data: { history: [], checkpoint: null }
      })

    const handle = (request: ThreadRequest): Effect.Effect<ThreadResponse, TM.ThreadError> => {
      switch (request.kind) {
        case "create":
          return Effect.map(
            createThread({ cwd: request.cwd, model_provider: request.model_provider, source: "api" }),
            (thread) => fresh(thread, "created", request.model === undefined ? {} : { model: request.model })
          )
        case "start":
          return Effect.map(
            createThread({
              cwd: request.cwd,
              model_provider: request.model_provider,
              source: "interactive",
              status: "running",
              ephemeral: !(request.persist_extended_history ?? true)
            }),
            (thread) => fresh(thread, "started", request.model === undefined ? {} : { model: request.model })
          )
        case "resume":
          return withThread(request.thread_id, (thread) =>
            Effect.gen(function* () {
              if (request.history !== undefined && request.history.length > 0) {
                // The seed appends a resumed session's history items to the thread.
                const now = yield* Clock.currentTimeMillis
                yield* append(
                  thread.id,
                  request.history.map((item) => ({
                    event: "message_appended" as const,
                    message: {
                      id: Ids.make("MessageId"),
                      role: "user" as const,
                      content: typeof item === "string" ? item : JSON.stringify(item),
                      created_at: now
                    }
                  }))
                )
              }
              const updated = yield* store.updateThread(thread.id, (t) => ({
                ...t,
                status: t.archived ? t.status : "running",
                ...(request.cwd === undefined ? {} : { cwd: request.cwd })
              }))
              return yield* withData(updated, "resumed", {
                ...(request.model === undefined ? {} : { model: request.model }),
                ...(request.approval_policy === undefined ? {} : { approval_policy: request.approval_policy }),
                ...(request.sandbox === undefined ? {} : { sandbox: request.sandbox })
              })
            })
          )
        case "fork":
          return withThread(request.thread_id, (parent) =>
            Effect.gen(function* () {
              const messages = yield* allMessages(parent.id)
              let upTo = messages
              if (request.at_message_id !== undefined) {
                const index = messages.findIndex((m) => m.id === request.at_message_id)
                if (index < 0) return missing(request.at_message_id)
                upTo = messages.slice(0, index + 1)
              }
              const last = upTo[upTo.length - 1]
              const child = yield* createThread({
                cwd: request.cwd ?? parent.cwd,
                model_provider: request.model_provider ?? parent.model_provider,
                source: "fork",
                ...(parent.name === undefined ? {} : { name: `${parent.name} (fork)` })
              })
              if (upTo.length > 0) {
                yield* append(
                  child.id,
                  upTo.map((m) => ({ event: "message_appended" as const, message: stripSeq(m) }))
                )
              }
              const forked = yield* store.updateThread(child.id, (t) => ({
                ...t,
                preview: parent.preview,
                forked_from: {
                  thread_id: parent.id,
                  ...(last === undefined ? {} : { message_id: last.id, seq: last.seq })
                }
              }))
              return yield* withData(forked, "forked", request.model === undefined ? {} : { model: request.model })
            })
          )
        case "list":
          return Effect.map(
            store.listThreads({
              ...(request.include_archived ? {} : { archived: false }),
              ...(request.limit === undefined ? {} : { limit: request.limit }),
              ...(request.cursor === undefined ? {} : { cursor: request.cursor })
            }),
            (page) =>
              respond("list", "ok", {
                threads: page.threads,
                data: page.nextCursor === undefined ? {} : { next_cursor: page.nextCursor }
              })
          )
        case "read":
          return withThread(request.thread_id, (thread) => withData(thread, "ok"))
        case "set_name":
          return withThread(request.thread_id, (thread) =>
            Effect.map(
              store.updateThread(thread.id, (t) => ({ ...t, name: request.name })),
              (t) => respond(t.id, "ok", { thread: t })
            )
          )
        case "archive":
          return withThread(request.thread_id, (thread) =>
            Effect.map(
              store.updateThread(thread.id, (t) => ({ ...t, archived: true })),
              (t) => respond(t.id, "archived", { thread: t })
            )
          )
        case "unarchive":
          return withThread(request.thread_id, (thread) =>
            Effect.map(
              store.updateThread(thread.id, (t) => ({ ...t, archived: false })),
              (t) => respond(t.id, "unarchived", { thread: t })
            )
          )
        case "message":
          return withThread(request.thread_id, (thread) =>
            Effect.gen(function* () {
              const now = yield* Clock.currentTimeMillis
              const frames = yield* append(thread.id, [
                {
                  event: "message_appended",
                  message: { id: Ids.make("MessageId"), role: "user", content: request.input, created_at: now }
                }
              ])
              const updated = yield* store.updateThread(thread.id, (t) => ({ ...t, preview: preview(request.input) }))
              return respond(updated.id, "accepted", { thread: updated, events: frames })
            })
          )
      }
    }

    const service: TM.Service = {
      handle: (request) =>
        handle(request).pipe(Effect.withSpan("ThreadManager.handle", { attributes: { kind: request.kind } })),
      // append, replay, get and touch are StateStore's traced operations (appendEvents,
      // readEvents, getThread, updateThread) with the lease added: no second span.
      append,
      history: (threadId, limit) => history(threadId, limit).pipe(Effect.withSpan("ThreadManager.history")),
      entries: (threadId) =>
        Effect.map(allMessages(threadId), (ms) => ms.map((m) => ({ message: stripSeq(m), seq: m.seq }))).pipe(
          Effect.withSpan("ThreadManager.entries")
        ),
      replay,
      journal,
      lastSeq: (threadId) =>
        Effect.flatMap(leaseFor(threadId), (fence) => {
          const mirror = fence === undefined ? undefined : mirrors.get(fence.lease)
          return mirror === undefined ? store.lastSeq(threadId) : Effect.succeed(lastOf(mirror))
        }),
      live: Stream.fromPubSub(hub),
      subscribe: PubSub.subscribe(hub),
      get: (threadId) => store.getThread(threadId),
      createThread,
      touch: (threadId, update) =>
        Effect.flatMap(leaseFor(threadId), (fence) =>
          fence === undefined ? store.updateThread(threadId, update) : store.updateThread(threadId, update, fence)
        )
    }
    return service
  })
