import { FileSystem } from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ThreadManager } from "@strata/core-runtime"
import { Thread } from "@strata/protocol"
import * as StateStore from "@strata/storage/StateStore"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

const options = { cwd: "/work", providerDefault: "demo", cliVersion: "0.1.0" }
const req = Schema.decodeUnknownSync(Thread.ThreadRequest)

const suite = (name: string, store: () => Layer.Layer<StateStore.StateStore, unknown>) =>
  describe(`ThreadManager / ${name}`, () => {
    const run = <A, E>(f: (tm: ThreadManager.Service) => Effect.Effect<A, E, StateStore.StateStore>) =>
      Effect.gen(function* () {
        const tm = yield* ThreadManager.make(options)
        return yield* f(tm)
      }).pipe(Effect.provide(store()), Effect.scoped)

    it.live("create, start, read, set_name, message, list with the seed's statuses", () =>
      run((tm) =>
        Effect.gen(function* () {
          const created = yield* tm.handle(req({ kind: "create" }))
          expect(created.status).toBe("created")
          expect(created.thread).toMatchObject({ status: "idle", cwd: "/work", model_provider: "demo", source: "api" })
          expect(created.data).toStrictEqual({ history: [], checkpoint: null })

          const started = yield* tm.handle(req({ kind: "start", cwd: "/repo", model_provider: "anthropic" }))
          expect(started.status).toBe("started")
          expect(started.thread).toMatchObject({ status: "running", cwd: "/repo", model_provider: "anthropic" })

          const accepted = yield* tm.handle(
            req({ kind: "message", thread_id: started.thread_id, input: "hello there" })
          )
          expect(accepted.status).toBe("accepted")
          expect(accepted.events[0]).toMatchObject({ event: "message_appended", seq: 1, thread_id: started.thread_id })
          expect(accepted.thread?.preview).toBe("hello there")

          const named = yield* tm.handle(req({ kind: "set_name", thread_id: started.thread_id, name: "greeting" }))
          expect(named).toMatchObject({ status: "ok", thread: { name: "greeting" } })

          const read = yield* tm.handle(req({ kind: "read", thread_id: started.thread_id }))
          expect(read.status).toBe("ok")
          expect(read.data.history?.map((m) => [m.role, m.content])).toStrictEqual([["user", "hello there"]])

          const listed = yield* tm.handle(req({ kind: "list" }))
          expect(listed.status).toBe("ok")
          expect(listed.threads.map((t) => t.id).sort()).toStrictEqual([created.thread_id, started.thread_id].sort())
        })
      )
    )

    it.live("unknown threads answer missing", () =>
      run((tm) =>
        Effect.gen(function* () {
          for (const kind of ["resume", "fork", "read", "archive", "unarchive"]) {
            const r = yield* tm.handle(req({ kind, thread_id: "nope" }))
            expect(r.status, kind).toBe("missing")
          }
          expect((yield* tm.handle(req({ kind: "set_name", thread_id: "nope", name: "x" }))).status).toBe("missing")
          expect((yield* tm.handle(req({ kind: "message", thread_id: "nope", input: "x" }))).status).toBe("missing")
        })
      )
    )

    it.live("archived threads are hidden from list unless asked; unarchive shows them again", () =>
      run((tm) =>
        Effect.gen(function* () {
          const a = yield* tm.handle(req({ kind: "create" }))
          const b = yield* tm.handle(req({ kind: "create" }))
          expect((yield* tm.handle(req({ kind: "archive", thread_id: a.thread_id }))).status).toBe("archived")
          const visible = yield* tm.handle(req({ kind: "list" }))
          expect(visible.threads.map((t) => t.id)).toStrictEqual([b.thread_id])
          const all = yield* tm.handle(req({ kind: "list", include_archived: true }))
          expect(all.threads).toHaveLength(2)
          expect((yield* tm.handle(req({ kind: "unarchive", thread_id: a.thread_id }))).status).toBe("unarchived")
          expect((yield* tm.handle(req({ kind: "list" }))).threads).toHaveLength(2)
        })
      )
    )

    it.live("fork from the latest message or at a message, recording parent and fork point", () =>
      run((tm) =>
        Effect.gen(function* () {
          const t = yield* tm.handle(req({ kind: "start" }))
          for (const input of ["one", "two", "three"])
            yield* tm.handle(req({ kind: "message", thread_id: t.thread_id, input }))
          const history = yield* tm.history(t.thread_id)
          const at = yield* tm.handle(req({ kind: "fork", thread_id: t.thread_id, at_message_id: history[1]!.id }))
          expect(at.status).toBe("forked")
          expect(at.thread?.forked_from).toMatchObject({ thread_id: t.thread_id, message_id: history[1]!.id, seq: 2 })
          expect(at.data.history?.map((m) => m.content)).toStrictEqual(["one", "two"])
          const latest = yield* tm.handle(req({ kind: "fork", thread_id: t.thread_id }))
          expect(latest.data.history?.map((m) => m.content)).toStrictEqual(["one", "two", "three"])
          // the parent goes on untouched, the fork diverges
          yield* tm.handle(req({ kind: "message", thread_id: at.thread_id, input: "branch" }))
          yield* tm.handle(req({ kind: "message", thread_id: t.thread_id, input: "four" }))
          expect((yield* tm.history(at.thread_id)).map((m) => m.content)).toStrictEqual(["one", "two", "branch"])
          expect((yield* tm.history(t.thread_id)).map((m) => m.content)).toStrictEqual(["one", "two", "three", "four"])
          const unknown = yield* tm.handle(
            req({ kind: "fork", thread_id: t.thread_id, at_message_id: "no-such-message" })
          )
          expect(unknown.status).toBe("missing")
        })
      )
    )

    it.live("resume returns the thread with its history and latest checkpoint", () =>
      run((tm) =>
        Effect.gen(function* () {
          const t = yield* tm.handle(req({ kind: "create" }))
          yield* tm.handle(req({ kind: "message", thread_id: t.thread_id, input: "remember me" }))
          const store = yield* StateStore.StateStore
          yield* store.saveCheckpoint(t.thread_id, "latest", { turn: 1 })
          const resumed = yield* tm.handle(req({ kind: "resume", thread_id: t.thread_id }))
          expect(resumed.status).toBe("resumed")
          expect(resumed.data.history?.map((m) => m.content)).toStrictEqual(["remember me"])
          expect(resumed.data.checkpoint).toMatchObject({ checkpoint_id: "latest", state: { turn: 1 } })
        })
      )
    )

    it.live(
      "journal: under a lease the journal is read once and kept up to date by append; a new lease reads it again",
      () =>
        Effect.gen(function* () {
          const store = yield* StateStore.StateStore
          let reads = 0
          const counting: StateStore.Service = {
            ...store,
            readEvents: (threadId, o) => {
              reads++
              return store.readEvents(threadId, o)
            }
          }
          const tm = yield* ThreadManager.make(options).pipe(Effect.provideService(StateStore.StateStore, counting))
          const t = yield* tm.handle(req({ kind: "start" }))
          yield* tm.handle(req({ kind: "message", thread_id: t.thread_id, input: "before" }))
          const underLease = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
            Effect.scoped(
              Effect.flatMap(store.acquireThreadLease(t.thread_id, { owner: "test" }), (lease) =>
                Effect.locally(effect, ThreadManager.CurrentLease, Option.some(lease))
              )
            )
          const seqs = (frames: ReadonlyArray<{ readonly seq: number }>) => frames.map((f) => f.seq)
          yield* underLease(
            Effect.gen(function* () {
              expect(seqs(yield* tm.journal(t.thread_id))).toStrictEqual([1])
              yield* tm.append(t.thread_id, [{ event: "turn_started", turn_id: "t1", model: "m" }])
              const kept = yield* tm.journal(t.thread_id)
              expect(seqs(kept)).toStrictEqual([1, 2])
              expect(yield* tm.lastSeq(t.thread_id)).toBe(2)
              expect((yield* tm.entries(t.thread_id)).map((e) => e.message.content)).toStrictEqual(["before"])
              expect(reads).toBe(1)
              // what the copy holds is what the store has
              const stored = yield* Stream.runCollect(store.readEvents(t.thread_id))
              expect(kept.map((f) => [f.seq, f.event])).toStrictEqual(
                Chunk.toReadonlyArray(stored).map((f) => [f.seq, f.event])
              )
            })
          )
          // another writer in between (no lease of ours): the next lease reads the journal again
          yield* store.appendEvents(t.thread_id, [{ event: "turn_ended", turn_id: "t1", outcome: "completed" }])
          reads = 0
          yield* underLease(
            Effect.gen(function* () {
              expect(seqs(yield* tm.journal(t.thread_id))).toStrictEqual([1, 2, 3])
              expect(reads).toBe(1)
            })
          )
          // without a lease every read reads the store
          yield* tm.journal(t.thread_id)
          yield* tm.journal(t.thread_id)
          expect(reads).toBe(3)
        }).pipe(Effect.provide(store()), Effect.scoped)
    )
  })

suite("memory", () => StateStore.layerMemory)
suite("file system", () =>
  Layer.unwrapScoped(
    Effect.map(
      Effect.flatMap(FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "strata-threads-" })),
      (dir) => StateStore.layerFileSystem(dir)
    )
  ).pipe(Layer.provide(NodeContext.layer)))
