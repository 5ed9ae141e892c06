import * as NFS from "node:fs"
import * as NOS from "node:os"
import * as NPath from "node:path"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Redis } from "ioredis"
import { createStorage, type Storage } from "unstorage"
import fsDriver from "unstorage/drivers/fs"
import fsLiteDriver from "unstorage/drivers/fs-lite"
import { encodeHead, encodeSlot } from "../src/internal/unstorageBackend.js"
import * as StateStore from "../src/StateStore.js"
import * as Unstorage from "../src/Unstorage.js"
import * as StateStoreSuite from "./StateStoreSuite.js"
import { delta, makeJob, threadId } from "./StateStoreSuite.js"

// The StateStore contract on unstorage drivers, through the generic backend:
// memory, fs, fs-lite and redis (unstorage's own drivers, loaded by name the
// way a config names them), plus what makes the generic path crash-tolerant
// (commit markers, two-slot records) and the one-writer-process rule.

const pad = (seq: number) => String(seq).padStart(12, "0")
const frame = (threadId: string, seq: number) =>
  JSON.stringify({ seq, thread_id: threadId, timestamp: 1, event: "turn_started", turn_id: "x", model: "m" })

const raw = (storage: () => Storage): NonNullable<StateStoreSuite.SuiteOptions["raw"]> => ({
  appendEventWithVersion: (threadId, seq, version) =>
    Effect.promise(async () => {
      await storage().setItem(`j:${threadId}:${pad(seq)}`, `v${version} ${frame(threadId, seq)}`)
      await storage().setItem(`h:${threadId}:a`, encodeHead(2, seq))
    }),
  putJobWithVersion: (jobId, version) =>
    Effect.promise(() =>
      storage().setItem(
        `s:job:${jobId}:b`,
        encodeSlot(1, JSON.stringify({ schemaVersion: version, kind: "job", record: makeJob(jobId, 1) }))
      )
    ),
  corruptEvent: (threadId, seq) =>
    Effect.promise(async () => {
      const key = `j:${threadId}:${pad(seq)}`
      const entry = String(await storage().getItem(key))
      await storage().setItem(key, entry.slice(0, Math.floor(entry.length / 2)))
    }),
  // Every copy of the record damaged (a thread written once has one slot).
  corruptThread: (threadId) => Effect.promise(() => storage().setItem(`s:thread:${threadId}:b`, '1 0 {"schemaVer'))
})

const memory = createStorage()
StateStoreSuite.run("unstorage memory driver", StateStore.layerUnstorage(memory), { raw: raw(() => memory) })

const onTempDir = (make: (dir: string) => Storage) => {
  let storage: Storage | undefined
  const layer = Layer.unwrapScoped(
    Effect.gen(function* () {
      const dir = yield* (yield* FileSystem.FileSystem).makeTempDirectoryScoped({ prefix: "strata-unstorage-" })
      storage = make(dir)
      return StateStore.layerUnstorage(storage)
    })
  ).pipe(Layer.provide(NodeContext.layer))
  return { layer, storage: () => storage! }
}

const fs = onTempDir((dir) => createStorage({ driver: fsDriver({ base: dir }) }))
StateStoreSuite.run("unstorage fs driver", fs.layer, { raw: raw(fs.storage) })

const fsLite = onTempDir((dir) => createStorage({ driver: fsLiteDriver({ base: dir }) }))
StateStoreSuite.run("unstorage fs-lite driver", fsLite.layer, { raw: raw(fsLite.storage) })

// unstorage's redis driver (not Strata's own Redis store), loaded by name.
const base = `strata-unstorage-test-${crypto.randomUUID()}`
const url = "redis://127.0.0.1:6379"
const redisStorage = createStorage({
  driver: (await import("unstorage/drivers/redis")).default({ url, base: `${base}-suite` })
})
afterAll(async () => {
  const client = new Redis(url)
  let cursor = "0"
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${base}*`, "COUNT", 1000)
    if (keys.length > 0) await client.del(...keys)
    cursor = next
  } while (cursor !== "0")
  await client.quit()
  await redisStorage.dispose()
})
StateStoreSuite.run(
  "unstorage redis driver (by name)",
  Unstorage.layerDriver({ driver: "redis", options: { url, base: `${base}-suite` } }).pipe(
    Layer.provide(NodeContext.layer)
  ),
  { raw: raw(() => redisStorage) }
)

// Real clock: the writer record waits a moment after it is written.
const liveScoped = <A, E>(name: string, f: () => Effect.Effect<A, E, Scope.Scope>) =>
  it.live(name, () => Effect.scoped(f()))

const collect = <A, E>(s: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)

describe("unstorage: crash tolerance", () => {
  const tempStorage = () => {
    const dir = NFS.mkdtempSync(NPath.join(NOS.tmpdir(), "strata-unstorage-crash-"))
    return { dir, storage: createStorage({ driver: fsDriver({ base: dir }) }) }
  }

  liveScoped("entries beyond the committed head (a torn append) are not read, and the next writer removes them", () =>
    Effect.gen(function* () {
      const { dir, storage } = tempStorage()
      const id = threadId()
      {
        const store = yield* Effect.scoped(
          Effect.tap(StateStore.makeUnstorage(storage), (s) => s.appendEvents(id, [delta("a"), delta("b")]))
        )
        assert.strictEqual(store.backend, "unstorage:fs")
      }
      // What a SIGKILL between entry writes and the commit leaves: a full and a 0-byte entry.
      NFS.writeFileSync(NPath.join(dir, "j", id, pad(3)), `v1 ${frame(id, 3)}`)
      NFS.writeFileSync(NPath.join(dir, "j", id, pad(4)), "")
      const store = yield* StateStore.makeUnstorage(storage)
      assert.strictEqual(yield* store.lastSeq(id), 2)
      assert.deepStrictEqual(
        (yield* collect(store.readEvents(id))).map((f) => f.seq),
        [1, 2]
      )
      const [next] = yield* store.appendEvents(id, [delta("c")])
      assert.strictEqual(next!.seq, 3)
      assert.isFalse(NFS.existsSync(NPath.join(dir, "j", id, pad(4))))
      assert.deepStrictEqual(
        (yield* collect(store.readEvents(id))).map((f) => (f as unknown as { delta?: string }).delta),
        ["a", "b", "c"]
      )
    })
  )

  liveScoped("a torn head slot falls back to the other slot: the uncommitted append is not there", () =>
    Effect.gen(function* () {
      const { dir, storage } = tempStorage()
      const id = threadId()
      yield* Effect.scoped(
        Effect.flatMap(StateStore.makeUnstorage(storage), (s) =>
          Effect.zipRight(s.appendEvents(id, [delta("a")]), s.appendEvents(id, [delta("b")]))
        )
      )
      // The second commit went to slot a (generation 2); tear it as writeFile would.
      const slot = NPath.join(dir, "h", id, "a")
      const text = NFS.readFileSync(slot, "utf8")
      for (const torn of ["", text.slice(0, 3), text.slice(0, -1)]) {
        NFS.writeFileSync(slot, torn)
        const store = yield* Effect.scoped(StateStore.makeUnstorage(storage))
        assert.strictEqual(yield* store.lastSeq(id), 1, `torn slot ${JSON.stringify(torn)}`)
      }
      const store = yield* StateStore.makeUnstorage(storage)
      const [again] = yield* store.appendEvents(id, [delta("c")])
      assert.strictEqual(again!.seq, 2)
      assert.deepStrictEqual(
        (yield* collect(store.readEvents(id))).map((f) => (f as unknown as { delta?: string }).delta),
        ["a", "c"]
      )
    })
  )

  liveScoped("a torn record write leaves the previous revision; both copies damaged is Corrupt", () =>
    Effect.gen(function* () {
      const { dir, storage } = tempStorage()
      const id = threadId()
      const store = yield* StateStore.makeUnstorage(storage)
      yield* store.saveCheckpoint(id, "cp", { n: 1 })
      yield* store.saveCheckpoint(id, "cp", { n: 2 })
      // Revision 2 is in slot a; a torn rewrite of it leaves revision 1 in slot b.
      NFS.writeFileSync(NPath.join(dir, "s", "checkpoint", id, "cp", "a"), "2 0badf00d {")
      const loaded = yield* store.loadCheckpoint(id, "cp")
      assert.deepStrictEqual(
        Option.map(loaded, (c) => c.state),
        Option.some({ n: 1 })
      )
      yield* store.saveCheckpoint(id, "cp", { n: 3 })
      assert.deepStrictEqual(
        Option.map(yield* store.loadCheckpoint(id, "cp"), (c) => c.state),
        Option.some({ n: 3 })
      )
      NFS.writeFileSync(NPath.join(dir, "s", "checkpoint", id, "cp", "a"), "")
      NFS.writeFileSync(NPath.join(dir, "s", "checkpoint", id, "cp", "b"), "")
      const err = yield* Effect.flip(store.loadCheckpoint(id, "cp"))
      assert.strictEqual(err._tag === "StorageError" && err.reason, "Corrupt")
    })
  )

  liveScoped("a store of the first layout is upgraded by its first writer, nothing lost", () =>
    Effect.gen(function* () {
      const storage = createStorage()
      const id = threadId()
      const job = `job-${crypto.randomUUID()}`
      yield* Effect.promise(async () => {
        await storage.setItem("format", 'v1 "strata-store"')
        for (const seq of [1, 2, 3]) await storage.setItem(`j:${id}:${pad(seq)}`, `v1 ${frame(id, seq)}`)
        await storage.setItem(
          `r:job:${job}`,
          `4 ${JSON.stringify({ schemaVersion: 1, kind: "job", record: makeJob(job, 4) })}`
        )
      })
      const readOnly = yield* Effect.flip(StateStore.makeUnstorage(storage, { readOnly: true }))
      assert.include(readOnly.message, "first unstorage layout")
      const store = yield* StateStore.makeUnstorage(storage)
      assert.strictEqual(yield* store.lastSeq(id), 3)
      assert.strictEqual(Option.getOrThrow(yield* store.getJob(job)).revision, 4)
      assert.strictEqual((yield* store.appendEvents(id, [delta("d")]))[0]!.seq, 4)
    })
  )

  liveScoped("a read-only store on an empty driver writes nothing", () =>
    Effect.gen(function* () {
      const storage = createStorage()
      const store = yield* StateStore.makeUnstorage(storage, { readOnly: true })
      assert.strictEqual(yield* store.lastSeq("t-1"), 0)
      assert.deepStrictEqual(yield* Effect.promise(() => storage.getKeys()), [])
    })
  )
})

describe("unstorage: drivers by name", () => {
  it.effect("an unknown driver names the config field and unstorage's drivers", () =>
    Effect.gen(function* () {
      const err = yield* Effect.flip(Unstorage.loadDriver("reddis"))
      assert.strictEqual(err._tag, "DriverUnavailable")
      assert.strictEqual(err.field, "storage.driver")
      assert.include(err.message, '"reddis"')
      assert.include(err.detail, "deno-kv")
    })
  )

  it.effect("a driver whose package is not installed names the package", () =>
    Effect.gen(function* () {
      // @deno/kv and mongodb are optional peers of unstorage, not installed here.
      for (const [driver, pkg] of [
        ["deno-kv-node", "@deno/kv"],
        ["mongodb", "mongodb"]
      ] as const) {
        const err = yield* Effect.flip(Unstorage.loadDriver(driver, {}))
        assert.strictEqual(err.package, pkg, err.message)
        assert.include(err.message, `npm install ${pkg}`)
      }
    })
  )

  it.effect("a driver module without a factory, and options the driver refuses, are typed errors", () =>
    Effect.gen(function* () {
      const dir = NFS.mkdtempSync(NPath.join(NOS.tmpdir(), "strata-driver-"))
      const notDriver = NPath.join(dir, "not-a-driver.mjs")
      NFS.writeFileSync(notDriver, "export const x = 1\n")
      const a = yield* Effect.flip(Unstorage.loadDriver(`file://${notDriver}`))
      assert.include(a.detail, "no default export")
      const throwing = NPath.join(dir, "throwing.mjs")
      NFS.writeFileSync(
        throwing,
        "export default (o) => { if (!o.bucket) throw new Error('bucket is required'); return {} }\n"
      )
      const b = yield* Effect.flip(Unstorage.loadDriver(`file://${throwing}`, {}))
      assert.strictEqual(b.field, "storage.options")
      assert.include(b.detail, "bucket is required")
      const c = yield* Effect.flip(Unstorage.loadDriver("db0", { connector: "../evil" }))
      assert.strictEqual(c.field, "storage.options.connector")
    })
  )

  liveScoped("capabilities per driver: fs is not durable past a crash of the OS, memory is this process only", () =>
    Effect.gen(function* () {
      const fsStore = yield* Unstorage.makeDriver({
        driver: "fs",
        options: { base: NFS.mkdtempSync(NPath.join(NOS.tmpdir(), "strata-caps-")) }
      })
      assert.strictEqual(fsStore.capabilities.durableAck, "process")
      assert.strictEqual(fsStore.capabilities.writers, "one-process")
      assert.strictEqual(fsStore.capabilities.atomicAppend, "commit-marker")
      assert.strictEqual(fsStore.durability.level, "volatile")
      const mem = yield* Unstorage.makeDriver({ driver: "memory" })
      assert.strictEqual(mem.capabilities.writers, "this-process")
      assert.strictEqual(mem.capabilities.durableAck, "no")
      const strict = yield* Effect.flip(
        Unstorage.makeDriver({ driver: "fs-lite", options: { base: "/tmp" }, durability: "strict" })
      )
      assert.strictEqual(strict._tag === "StorageError" && strict.reason, "NotDurable")
      assert.include(strict.message, "fsync")
    }).pipe(Effect.provide(NodeContext.layer))
  )
})

// unstorage's db0 driver on PostgreSQL (127.0.0.1:5432, db test), a table per run.
const table = `strata_db0_${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`
const postgresUrl = "postgres://postgres@127.0.0.1:5432/test"
afterAll(async () => {
  const pg = (await import("pg")).default
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  await client.query(`DROP TABLE IF EXISTS "${table}"`)
  await client.end()
})
StateStoreSuite.run(
  "unstorage db0 driver on PostgreSQL (by name)",
  Unstorage.layerDriver({
    driver: "db0",
    options: { connector: "postgresql", url: postgresUrl, tableName: table }
  }).pipe(Layer.provide(NodeContext.layer))
)
