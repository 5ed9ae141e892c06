// Cross-runtime conformance for @strata/storage: the core StateStore checks,
// run unchanged under Node, Bun and Deno against the built package (dist/),
// on the memory store and on the crash-safe file-system store (through
// @effect/platform-node's NodeContext, which works on all three runtimes).
//
//   npm run build -w @strata/storage
//   node packages/storage/test/conformance.mjs
//   ./node_modules/.bin/bun packages/storage/test/conformance.mjs
//   ./node_modules/.bin/deno run -A --unstable-kv packages/storage/test/conformance.mjs
//
// Also Strata on unstorage drivers loaded by name: fs and fs-lite on every
// runtime, and deno-kv (a local `Deno.openKv()` file) under Deno.
import assert from "node:assert/strict"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { StateStore } from "@strata/storage"
import * as Unstorage from "@strata/storage/Unstorage"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { run, runtime, test } from "../../../scripts/conformance.mjs"

const turn = (n) => ({ event: "turn_started", turn_id: `turn-${n}`, model: "m" })
const delta = (text) => ({ event: "response_delta", response_id: "resp-1", delta: text, channel: "text" })
const thread = (id, created_at, extra = {}) => ({
  id,
  preview: "",
  ephemeral: false,
  model_provider: "test",
  created_at,
  updated_at: created_at,
  status: "idle",
  cwd: "/work",
  cli_version: "0.1.0",
  source: "api",
  ...extra
})
const job = (id) => ({
  id,
  name: "index",
  status: "queued",
  progress: null,
  detail: null,
  retry: { attempt: 0, max_attempts: 3, backoff_base_ms: 100, next_backoff_ms: 100, next_retry_at: null },
  history: [],
  created_at: 1,
  updated_at: 1,
  revision: 0
})
let counter = 0
const fresh = (prefix) => `${prefix}-${runtime()}-${Date.now()}-${counter++}`

const collect = (stream) => Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

/** Runs `f(store, dir)` against a store built by `layer` (with NodeContext). */
const withStore = (layer, f) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const store = yield* StateStore.StateStore
      return yield* f(store)
    }).pipe(Effect.provide(layer), Effect.provide(NodeContext.layer))
  )

const withTempDir = (f) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "strata-conformance-" })
      return yield* Effect.promise(() => f(dir, fs))
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

const core = (name, makeLayer) => {
  test(`${name}: appends get gap-free seqs; reads honour fromSeq and limit`, () =>
    makeLayer((layer) =>
      withStore(layer, (store) =>
        Effect.gen(function* () {
          const id = fresh("t")
          const a = yield* store.appendEvents(id, [turn(1), delta("a")])
          const b = yield* store.appendEvents(id, [delta("b"), delta("c")])
          assert.deepEqual(
            [...a, ...b].map((f) => f.seq),
            [1, 2, 3, 4]
          )
          const all = yield* collect(store.readEvents(id))
          assert.deepEqual(all, [...a, ...b])
          const some = yield* collect(store.readEvents(id, { fromSeq: 2, limit: 2 }))
          assert.deepEqual(
            some.map((f) => f.seq),
            [2, 3]
          )
          assert.equal(yield* store.lastSeq(id), 4)
        })
      )
    ))

  test(`${name}: concurrent appends to one thread never interleave`, () =>
    makeLayer((layer) =>
      withStore(layer, (store) =>
        Effect.gen(function* () {
          const id = fresh("t")
          yield* Effect.forEach(
            [0, 1, 2, 3, 4, 5, 6, 7],
            (w) => store.appendEvents(id, [delta(`${w}:0`), delta(`${w}:1`), delta(`${w}:2`)]),
            { concurrency: "unbounded", discard: true }
          )
          const texts = (yield* collect(store.readEvents(id))).map((f) => f.delta)
          assert.equal(texts.length, 24)
          for (let i = 0; i < 24; i += 3) {
            const w = texts[i].split(":")[0]
            assert.deepEqual(texts.slice(i, i + 3), [`${w}:0`, `${w}:1`, `${w}:2`])
          }
        })
      )
    ))

  test(`${name}: bad ids are a typed InvalidId before any I/O`, () =>
    makeLayer((layer) =>
      withStore(layer, (store) =>
        Effect.gen(function* () {
          for (const bad of ["../x", "a/b", "", "a\u0000b", "x".repeat(129)]) {
            const e = yield* Effect.flip(store.appendEvents(bad, [turn(1)]))
            assert.equal(e._tag, "InvalidId")
            assert.equal(e.field, "threadId")
            assert.equal((yield* Effect.flip(store.getJob(bad)))._tag, "InvalidId")
          }
        })
      )
    ))

  test(`${name}: threads, checkpoints, jobs and approvals`, () =>
    makeLayer((layer) =>
      withStore(layer, (store) =>
        Effect.gen(function* () {
          const id = fresh("t")
          yield* store.createThread(thread(id, 10))
          const updated = yield* store.updateThread(id, (t) => ({ ...t, name: "n", archived: true }))
          assert.equal(updated.name, "n")
          const archived = (yield* store.listThreads({ archived: true })).threads.map((t) => t.id)
          assert.ok(archived.includes(id))
          yield* store.saveCheckpoint(id, "a", { n: 1 })
          yield* store.saveCheckpoint(id, "b", { n: 2 })
          assert.equal(Option.getOrThrow(yield* store.loadCheckpoint(id, "latest")).id, "b")
          const jid = fresh("job")
          const created = yield* store.putJob(job(jid))
          assert.equal(created.revision, 1)
          yield* store.putJob({ ...created, status: "running" })
          const stale = yield* Effect.flip(store.putJob({ ...created, status: "failed" }))
          assert.equal(stale.reason, "Conflict")
          const aid = fresh("approval")
          yield* store.putApproval({
            id: aid,
            thread_id: id,
            call: { id: "call-1", name: "shell", arguments: {} },
            reason: "ask"
          })
          const results = yield* Effect.forEach(
            [0, 1, 2, 3, 4],
            () => Effect.either(store.resolveApproval(aid, "approve")),
            { concurrency: "unbounded" }
          )
          assert.equal(results.filter(Either.isRight).length, 1)
        })
      )
    ))

  test(`${name}: export and import round-trip`, () =>
    makeLayer((layer) =>
      withStore(layer, (store) =>
        Effect.gen(function* () {
          const id = fresh("t")
          yield* store.createThread(thread(id, 5))
          yield* store.appendEvents(id, [turn(1), delta("héllo ☃")])
          yield* store.saveCheckpoint(id, "latest", { x: [1, 2] })
          const jsonl = (yield* collect(store.exportThread(id))).join("")
          const copy = fresh("t")
          const result = yield* store.importThread(jsonl, { threadId: copy })
          assert.deepEqual([result.events, result.checkpoints], [2, 1])
          const original = yield* collect(store.readEvents(id))
          assert.deepEqual(
            yield* collect(store.readEvents(copy)),
            original.map((f) => ({ ...f, thread_id: copy }))
          )
        })
      )
    ))
}

// The memory store: a fresh one per test.
core("memory", (f) => f(StateStore.layerMemory))

// The file-system store: a fresh directory per test.
core("fs", (f) => withTempDir((dir) => f(StateStore.layerFileSystem(dir))))

// Strata on unstorage drivers, loaded by name as a config names them.
const onDriver = (driver, options) => (f) =>
  withTempDir((dir) => f(Unstorage.layerDriver({ driver, options: options(dir) })))
const drivers = [
  ["fs", (dir) => ({ base: dir })],
  ["fs-lite", (dir) => ({ base: dir })]
]
if (runtime() === "deno") {
  // Fails here (not skipped) when Deno runs without --unstable-kv.
  drivers.push(["deno-kv", (dir) => ({ path: `${dir}/state.kv` })])
}
for (const [driver, options] of drivers) {
  core(`unstorage ${driver}`, onDriver(driver, options))

  test(`unstorage ${driver}: data survives a reopen; capabilities say what it promises`, () =>
    withTempDir(async (dir) => {
      const id = fresh("t")
      const layer = () => Unstorage.layerDriver({ driver, options: options(dir) })
      await withStore(layer(), (store) =>
        Effect.gen(function* () {
          yield* store.appendEvents(id, [turn(1), turn(2)])
          yield* store.saveCheckpoint(id, "latest", { n: 1 })
          yield* store.putJob(job(`job-${id}`))
        })
      )
      await withStore(layer(), (store) =>
        Effect.gen(function* () {
          assert.deepEqual(
            (yield* collect(store.readEvents(id))).map((f) => f.seq),
            [1, 2]
          )
          assert.equal((yield* store.appendEvents(id, [turn(3)]))[0].seq, 3)
          assert.deepEqual(Option.getOrThrow(yield* store.loadCheckpoint(id, "latest")).state, { n: 1 })
          assert.equal(Option.getOrThrow(yield* store.getJob(`job-${id}`)).revision, 1)
          assert.equal(store.capabilities.atomicAppend, "commit-marker")
          assert.equal(store.capabilities.writers, "one-process")
          assert.equal(store.durability.level, driver === "deno-kv" ? "durable" : "volatile")
        })
      )
      const ro = await withStore(Unstorage.layerDriver({ driver, options: options(dir), readOnly: true }), (store) =>
        Effect.flip(store.appendEvents(id, [turn(4)]))
      )
      assert.equal(ro.reason, "ReadOnly")
    }))
}

test("fs: data survives a reopen; a torn tail is truncated", () =>
  withTempDir(async (dir, fs) => {
    const id = fresh("t")
    await withStore(StateStore.layerFileSystem(dir), (store) => store.appendEvents(id, [turn(1), turn(2)]))
    const file = `${dir}/threads/${id}/journal`
    const size = (await Effect.runPromise(fs.stat(file))).size
    const bytes = await Effect.runPromise(fs.readFile(file))
    // The first half of a copy of the last frame: what a crash mid-append leaves.
    // The first frame's length: 31 + its payload length (8 hex digits at offset 13).
    const last = 31 + Number.parseInt(new TextDecoder().decode(bytes.subarray(13, 21)), 16)
    const torn = bytes.subarray(last, last + Math.floor((bytes.length - last) / 2))
    await Effect.runPromise(fs.writeFile(file, new Uint8Array([...bytes, ...torn])))
    await withStore(StateStore.layerFileSystem(dir), (store) =>
      Effect.gen(function* () {
        assert.deepEqual(
          (yield* collect(store.readEvents(id))).map((f) => f.seq),
          [1, 2]
        )
        assert.equal((yield* store.appendEvents(id, [turn(3)]))[0].seq, 3)
      })
    )
    assert.ok((await Effect.runPromise(fs.stat(file))).size > size)
  }))

test("fs: garbage in the middle is a CorruptJournal naming file and offset; other threads work", () =>
  withTempDir(async (dir, fs) => {
    const bad = fresh("t")
    const good = fresh("t")
    await withStore(StateStore.layerFileSystem(dir), (store) =>
      Effect.gen(function* () {
        for (let i = 0; i < 5; i++) yield* store.appendEvents(bad, [delta(`d${i}`)])
        yield* store.appendEvents(good, [turn(1)])
      })
    )
    const file = `${dir}/threads/${bad}/journal`
    const bytes = await Effect.runPromise(fs.readFile(file))
    const damaged = new Uint8Array(bytes)
    damaged.set(new TextEncoder().encode("garbage"), 40)
    await Effect.runPromise(fs.writeFile(file, damaged))
    await withStore(StateStore.layerFileSystem(dir), (store) =>
      Effect.gen(function* () {
        const e = yield* Effect.flip(collect(store.readEvents(bad)))
        assert.equal(e._tag, "CorruptJournal")
        assert.equal(e.offset, 0)
        assert.ok(e.file.endsWith("journal"))
        assert.equal((yield* collect(store.readEvents(good))).length, 1)
        assert.equal((yield* store.appendEvents(good, [turn(2)]))[0].seq, 2)
      })
    )
  }))

test("fs: two stores on one directory share it; a read-only one writes nothing", () =>
  withTempDir((dir) =>
    Effect.runPromise(
      Effect.gen(function* () {
        const a = yield* StateStore.makeFileSystem(dir)
        const b = yield* StateStore.makeFileSystem(dir)
        const id = fresh("t")
        yield* Effect.forEach([0, 1, 2, 3, 4, 5], (i) => (i % 2 === 0 ? a : b).appendEvents(id, [turn(i)]), {
          concurrency: "unbounded",
          discard: true
        })
        assert.deepEqual(
          (yield* collect(b.readEvents(id))).map((f) => f.seq),
          [1, 2, 3, 4, 5, 6]
        )
        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* a.acquireThreadLease(id, { owner: "a" })
            const busy = yield* Effect.flip(b.acquireThreadLease(id, { owner: "b" }))
            assert.equal(busy._tag, "ThreadBusy")
          })
        )
        const missing = `${dir}/not-created`
        const ro = yield* StateStore.makeFileSystem(missing, { readOnly: true })
        assert.equal((yield* ro.listThreads()).threads.length, 0)
        assert.equal((yield* Effect.flip(ro.appendEvents(id, [turn(1)]))).reason, "ReadOnly")
        const fs = yield* FileSystem.FileSystem
        assert.equal(yield* fs.exists(missing), false)
      }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
    )
  ))

await run("@strata/storage")
