import * as NFS from "node:fs"
import * as NPath from "node:path"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { encodeName } from "../src/internal/fsBackend.js"
import * as Journal from "../src/internal/journal.js"
import * as StateStore from "../src/StateStore.js"
import type { Migration } from "../src/StorageSchema.js"
import * as StateStoreSuite from "./StateStoreSuite.js"
import { delta, makeJob, makeThread, threadId, turn } from "./StateStoreSuite.js"

const journalPath = (dir: string, thread: string) => NPath.join(dir, "threads", encodeName(thread), "journal")

const rawFrame = (thread: string, seq: number, version: number) =>
  Journal.encodeFrames(
    [JSON.stringify({ seq, thread_id: thread, timestamp: 1, event: "turn_started", turn_id: "x", model: "m" })],
    seq,
    version,
    () => true
  ).bytes

/** The job records of a job journal file, last frame per job (what the store would read). */
const jobFrames = (
  dir: string
): Map<string, { revision: number; doc: { schemaVersion: number; kind: string; record: unknown } }> => {
  const file = NPath.join(dir, "jobs", "journal")
  const out = new Map()
  if (!NFS.existsSync(file)) return out
  const text = NFS.readFileSync(file, "latin1")
  for (const line of text.split("\n")) {
    if (line.length < 31) continue
    const v = JSON.parse(line.slice(30))
    out.set(v.id, { revision: v.revision, doc: v.doc })
  }
  return out
}

/** Appends a raw frame to the job journal, as the store writes one. */
const appendJobFrame = (dir: string, id: string, revision: number, doc: object) => {
  const file = NPath.join(dir, "jobs", "journal")
  const existing = NFS.existsSync(file) ? NFS.readFileSync(file) : Buffer.alloc(0)
  const seq = Journal.scanBuffer(existing).committedSeq + 1
  NFS.appendFileSync(
    file,
    Journal.encodeFrames([JSON.stringify({ id, revision, doc: { revision, ...doc } })], seq, 1, () => true).bytes
  )
}

// ---------------------------------------------------------------------------
// the conformance suite

let suiteDir = ""
const suiteLayer = Layer.unwrapScoped(
  Effect.gen(function* () {
    suiteDir = yield* (yield* FileSystem.FileSystem).makeTempDirectoryScoped({ prefix: "strata-fs-suite-" })
    return StateStore.layerFileSystem(suiteDir)
  })
).pipe(Layer.provide(NodeContext.layer))

StateStoreSuite.run("fs", suiteLayer, {
  raw: {
    appendEventWithVersion: (thread, seq, version) =>
      Effect.sync(() => {
        NFS.mkdirSync(NPath.dirname(journalPath(suiteDir, thread)), { recursive: true })
        NFS.appendFileSync(journalPath(suiteDir, thread), rawFrame(thread, seq, version))
      }),
    putJobWithVersion: (jobId, version) =>
      Effect.sync(() =>
        appendJobFrame(suiteDir, jobId, 1, { schemaVersion: version, kind: "job", record: makeJob(jobId, 1) })
      ),
    corruptEvent: (thread, seq) =>
      Effect.sync(() => {
        const file = journalPath(suiteDir, thread)
        const bytes = NFS.readFileSync(file)
        bytes[frameOffsets(bytes)[seq - 1]! + Journal.HEADER + 5]! ^= 0x04
        NFS.writeFileSync(file, bytes)
      }),
    corruptThread: (thread) =>
      Effect.sync(() =>
        NFS.writeFileSync(NPath.join(suiteDir, "threads", encodeName(thread), "thread.json"), '{"revision":1,"sch')
      )
  },
  child: { store: () => ({ kind: "fs", dir: suiteDir }), detectsDeadProcess: true }
})

// ---------------------------------------------------------------------------
// file-system specifics

const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "strata-fs-" }))

/** Opens a store on `dir` for the duration of `f`, then closes it (releasing the lock). */
const withStore = <A, E>(
  dir: string,
  f: (store: StateStore.Service) => Effect.Effect<A, E>,
  options: StateStore.FileSystemOptions = {}
) => Effect.scoped(Effect.flatMap(StateStore.makeFileSystem(dir, options), f)).pipe(Effect.provide(NodeContext.layer))

const collect = <A, E>(s: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(s), Chunk.toReadonlyArray)

const frameOffsets = (buf: Uint8Array): Array<number> => {
  const offsets: Array<number> = []
  let off = 0
  while (off < buf.length) {
    offsets.push(off)
    off += Journal.frameLength(buf, off)
  }
  return offsets
}

const listFiles = (dir: string): Array<string> =>
  NFS.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => NPath.relative(dir, NPath.join(e.parentPath, e.name)))
    .sort()

const provide = <A, E>(e: Effect.Effect<A, E, FileSystem.FileSystem | Scope.Scope>) =>
  e.pipe(Effect.scoped, Effect.provide(NodeContext.layer))

describe("fs store", () => {
  it.live("a store under directories that do not exist yet makes them; a thread's records survive a reopen", () =>
    provide(
      Effect.gen(function* () {
        const dir = NPath.join(yield* tempDir, "a", "b", "store")
        const id = threadId()
        yield* withStore(dir, (store) =>
          Effect.gen(function* () {
            yield* store.createThread(makeThread(id, 1))
            yield* store.appendEvents(id, [turn(1)])
            // Several writes to one thread directory (its handle is kept open for their fsyncs).
            for (let i = 0; i < 3; i++) yield* store.updateThread(id, (t) => ({ ...t, preview: `p${i}` }))
            yield* store.saveCheckpoint(id, "c1", { n: 1 })
          })
        )
        const back = yield* withStore(dir, (store) =>
          Effect.all([store.getThread(id), store.lastSeq(id), store.loadCheckpoint(id, "c1")])
        )
        assert.strictEqual(Option.getOrThrow(back[0]).preview, "p2")
        assert.strictEqual(back[1], 1)
        assert.deepStrictEqual(
          Option.map(back[2], (c) => c.state),
          Option.some({ n: 1 })
        )
        assert.deepStrictEqual(
          listFiles(dir).filter((f) => f.includes(".tmp-")),
          []
        )
      })
    )
  )

  it.live("persists everything across a reopen; a cold read honours fromSeq", () =>
    provide(
      Effect.gen(function* () {
        const dir = yield* tempDir
        const id = threadId()
        yield* withStore(dir, (store) =>
          Effect.gen(function* () {
            yield* store.createThread(makeThread(id, 1))
            yield* store.appendEvents(
              id,
              Array.from({ length: 700 }, (_, i) => delta(`d${i + 1}`))
            )
            yield* store.saveCheckpoint(id, "latest", { at: 700 })
            yield* store.putJob(makeJob("job-1", 5))
          })
        )
        yield* withStore(dir, (store) =>
          Effect.gen(function* () {
            const frames = yield* collect(store.readEvents(id, { fromSeq: 600, limit: 3 }))
            assert.deepStrictEqual(
              frames.map((f) => f.seq),
              [600, 601, 602]
            )
            assert.strictEqual(yield* store.lastSeq(id), 700)
            assert.deepStrictEqual(Option.getOrThrow(yield* store.loadCheckpoint(id, "latest")).state, { at: 700 })
            assert.strictEqual(Option.getOrThrow(yield* store.getJob("job-1")).revision, 1)
            assert.strictEqual(Option.getOrThrow(yield* store.getThread(id)).cwd, "/home/me/project")
            const next = yield* store.appendEvents(id, [turn(1)])
            assert.strictEqual(next[0]!.seq, 701)
          })
        )
        const files = listFiles(dir)
        assert.isFalse(
          files.some((f) => f.includes(".tmp-")),
          "no temp files left"
        )
        const job = jobFrames(dir).get("job-1")!
        assert.deepStrictEqual([job.revision, job.doc.schemaVersion, job.doc.kind], [1, 1, "job"])
      })
    )
  )

  it.live(
    "a torn tail is skipped by readers (the file untouched) and truncated by the next writer; nothing acknowledged is lost",
    () =>
      provide(
        Effect.gen(function* () {
          const dir = yield* tempDir
          const id = threadId()
          yield* withStore(dir, (store) =>
            Effect.gen(function* () {
              yield* store.appendEvents(id, [turn(1), turn(2)])
              yield* store.appendEvents(id, [turn(3)])
            })
          )
          const file = journalPath(dir, id)
          const committed = NFS.readFileSync(file)
          // What a crash mid-append can leave: an unfinished 3-event append whose
          // first two frames are whole (but uncommitted) and the third torn.
          const batch = Journal.encodeFrames(
            [1, 2, 3].map((i) =>
              JSON.stringify({
                seq: 3 + i,
                thread_id: id,
                timestamp: 1,
                event: "turn_started",
                turn_id: `u${i}`,
                model: "m"
              })
            ),
            4,
            1,
            (i) => i === 2
          ).bytes
          const tails: ReadonlyArray<readonly [string, Uint8Array]> = [
            ["half a header", batch.subarray(0, 7)],
            ["a header and part of the payload", batch.subarray(0, Journal.HEADER + 10)],
            ["whole but uncommitted frames then a torn one", batch.subarray(0, batch.length - 5)],
            ["zeros", new Uint8Array(4096)]
          ]
          for (const [what, tail] of tails) {
            const torn = Buffer.concat([committed, tail])
            NFS.writeFileSync(file, torn)
            yield* withStore(dir, (store) =>
              Effect.gen(function* () {
                const frames = yield* collect(store.readEvents(id))
                assert.deepStrictEqual(
                  frames.map((f) => f.seq),
                  [1, 2, 3],
                  what
                )
                assert.strictEqual(yield* store.lastSeq(id), 3, what)
                assert.isTrue(NFS.readFileSync(file).equals(torn), `${what}: a read leaves the file as it was`)
                const next = yield* store.appendEvents(id, [turn(4)])
                assert.strictEqual(next[0]!.seq, 4, what)
                const after = NFS.readFileSync(file)
                assert.isTrue(after.subarray(0, committed.length).equals(committed), `${what}: committed part kept`)
                assert.deepStrictEqual(Journal.scanBuffer(after).tail, 0, `${what}: the tail was truncated`)
                assert.deepStrictEqual(Journal.scanBuffer(after).committedSeq, 4, what)
              })
            )
            NFS.truncateSync(file, committed.length)
          }
        })
      )
  )

  it.live("garbage in the middle is a CorruptJournal naming file and offset; other threads keep working", () =>
    provide(
      Effect.gen(function* () {
        const dir = yield* tempDir
        const damaged = threadId()
        const healthy = threadId()
        yield* withStore(dir, (store) =>
          Effect.gen(function* () {
            for (let i = 0; i < 10; i++) yield* store.appendEvents(damaged, [delta(`e${i}`)])
            yield* store.appendEvents(healthy, [turn(1)])
          })
        )
        const file = journalPath(dir, damaged)
        const original = NFS.readFileSync(file)
        const offsets = frameOffsets(original)
        const cases: ReadonlyArray<readonly [string, number, (b: Buffer) => Buffer]> = [
          [
            "random bytes over frame 5",
            offsets[4]!,
            (b) =>
              Buffer.concat([
                b.subarray(0, offsets[4]!),
                Buffer.from("garbage!garbage!garbage!"),
                b.subarray(offsets[4]! + 24)
              ])
          ],
          [
            "one flipped payload bit in frame 3",
            offsets[2]!,
            (b) => {
              const c = Buffer.from(b)
              c[offsets[2]! + Journal.HEADER + 5]! ^= 0x04
              return c
            }
          ],
          [
            "bytes inserted before frame 8",
            offsets[7]!,
            (b) => Buffer.concat([b.subarray(0, offsets[7]!), Buffer.from("\n\n{}\n"), b.subarray(offsets[7]!)])
          ]
        ]
        for (const [what, offset, damage] of cases) {
          NFS.writeFileSync(file, damage(original))
          yield* withStore(dir, (store) =>
            Effect.gen(function* () {
              const err = yield* Effect.flip(collect(store.readEvents(damaged)))
              assert.strictEqual(err._tag, "CorruptJournal", what)
              if (err._tag === "CorruptJournal") {
                assert.strictEqual(err.file, file, what)
                assert.strictEqual(err.offset, offset, what)
                assert.include(err.message, `offset ${offset}`)
              }
              assert.strictEqual((yield* Effect.flip(store.appendEvents(damaged, [turn(9)])))._tag, "CorruptJournal")
              assert.strictEqual((yield* Effect.flip(store.lastSeq(damaged)))._tag, "CorruptJournal")
              // The file is left as it was, for a person to inspect.
              assert.strictEqual(NFS.statSync(file).size, damage(original).length, what)
              // Everything else keeps working.
              const before = yield* store.lastSeq(healthy)
              assert.strictEqual((yield* collect(store.readEvents(healthy))).length, before)
              assert.strictEqual((yield* store.appendEvents(healthy, [turn(2)]))[0]!.seq, before + 1)
              yield* store.appendEvents(threadId(), [turn(1)])
            })
          )
        }
      })
    )
  )

  it.live("an over-sized event (bigger than a read chunk) round-trips", () =>
    provide(
      Effect.gen(function* () {
        const dir = yield* tempDir
        const id = threadId()
        const big = "x".repeat(5 * 1024 * 1024)
        yield* withStore(dir, (store) =>
          Effect.gen(function* () {
            yield* store.appendEvents(id, [turn(1), delta(big), turn(2)])
            const frames = yield* collect(store.readEvents(id))
            assert.deepStrictEqual(
              frames.map((f) => f.seq),
              [1, 2, 3]
            )
            assert.strictEqual(frames[1]!.event === "response_delta" && frames[1]!.delta.length, big.length)
          })
        )
      })
    )
  )

  it.live("two stores on one directory (two processes' worth) share it: gap-free appends, leases, records", () =>
    provide(
      Effect.gen(function* () {
        const dir = yield* tempDir
        yield* withStore(dir, (a) =>
          withStore(dir, (b) =>
            Effect.gen(function* () {
              const id = threadId()
              yield* Effect.forEach(
                Array.from({ length: 40 }, (_, i) => i),
                (i) => (i % 2 === 0 ? a : b).appendEvents(id, [turn(i), turn(i)]),
                { concurrency: 8, discard: true }
              )
              const frames = yield* collect(b.readEvents(id))
              assert.deepStrictEqual(
                frames.map((f) => f.seq),
                Array.from({ length: 80 }, (_, i) => i + 1)
              )
              for (let i = 0; i < 80; i += 2) {
                const [x, y] = [frames[i]!, frames[i + 1]!]
                assert.deepStrictEqual(x.event === "turn_started" && x.turn_id, y.event === "turn_started" && y.turn_id)
              }
              assert.strictEqual((yield* collect(a.readEvents(id))).length, 80)
              // One lease across both.
              yield* Effect.scoped(
                Effect.gen(function* () {
                  yield* a.acquireThreadLease(id, { owner: "a" })
                  const busy = yield* Effect.flip(b.acquireThreadLease(id, { owner: "b" }))
                  assert.strictEqual(busy._tag, "ThreadBusy")
                })
              )
              // Compare-and-set across both: one of two writers wins.
              yield* a.createThread(makeThread(id, 1))
              const job = yield* a.putJob(makeJob("shared-job", 1))
              const results = yield* Effect.all(
                [b.putJob({ ...job, detail: "b" }), a.putJob({ ...job, detail: "a" })].map(Effect.either),
                { concurrency: "unbounded" }
              )
              assert.strictEqual(results.filter((r) => r._tag === "Right").length, 1)
              assert.strictEqual(Option.getOrThrow(yield* b.getJob("shared-job")).revision, 2)
              yield* Effect.forEach(
                Array.from({ length: 8 }, (_, i) => i),
                (i) => (i % 2 === 0 ? a : b).updateThread(id, (t) => ({ ...t, preview: `${t.preview}${i}` })),
                { concurrency: "unbounded", discard: true }
              )
              const t = Option.getOrThrow(yield* a.getThread(id))
              assert.deepStrictEqual([...t.preview.replace("hello", "")].sort().join(""), "01234567")
            })
          )
        )
      })
    )
  )

  it.live("a read-only store writes nothing: no directory, no lock, no repair; writes are refused", () =>
    provide(
      Effect.gen(function* () {
        const parent = yield* tempDir
        const missing = NPath.join(parent, "not-yet")
        yield* withStore(
          missing,
          (store) =>
            Effect.gen(function* () {
              assert.isTrue(store.readOnly)
              assert.deepStrictEqual((yield* store.listThreads()).threads, [])
              assert.deepStrictEqual(yield* collect(store.readEvents("t-1")), [])
              assert.deepStrictEqual(yield* store.listJobs(), [])
              const refused = yield* Effect.flip(store.appendEvents("t-1", [turn(1)]))
              assert.strictEqual(refused._tag === "StorageError" && refused.reason, "ReadOnly")
              const lease = yield* Effect.flip(Effect.scoped(store.acquireThreadLease("t-1", { owner: "x" })))
              assert.strictEqual(lease._tag === "StorageError" && lease.reason, "ReadOnly")
            }),
          { readOnly: true }
        )
        assert.isFalse(NFS.existsSync(missing))
      })
    )
  )

  it.live("bad ids never reach the disk", () =>
    provide(
      Effect.gen(function* () {
        const dir = yield* tempDir
        yield* withStore(dir, (store) =>
          Effect.gen(function* () {
            const before = listFiles(dir)
            for (const bad of ["../escape", "a/b", "..", "", "x\u0000y", "y".repeat(200)]) {
              assert.strictEqual((yield* Effect.flip(store.appendEvents(bad, [turn(1)])))._tag, "InvalidId")
              assert.strictEqual((yield* Effect.flip(store.saveCheckpoint("t", bad, {})))._tag, "InvalidId")
              assert.strictEqual((yield* Effect.flip(store.getJob(bad)))._tag, "InvalidId")
            }
            assert.deepStrictEqual(listFiles(dir), before)
            assert.isFalse(NFS.existsSync(NPath.join(dir, "..", "escape")))
          })
        )
      })
    )
  )

  it.live("ids that differ only in case stay apart (case-insensitive file systems)", () =>
    provide(
      Effect.gen(function* () {
        const dir = yield* tempDir
        yield* withStore(dir, (store) =>
          Effect.gen(function* () {
            yield* store.appendEvents("Thread-A", [turn(1)])
            yield* store.appendEvents("thread-a", [turn(2), turn(3)])
            assert.strictEqual(yield* store.lastSeq("Thread-A"), 1)
            assert.strictEqual(yield* store.lastSeq("thread-a"), 2)
            yield* store.createThread(makeThread("Thread-A", 1))
            const listed = (yield* store.listThreads()).threads.map((t) => t.id)
            assert.deepStrictEqual(listed, ["Thread-A"])
          })
        )
        assert.isTrue(NFS.existsSync(NPath.join(dir, "threads", "~thread-~a", "journal")))
      })
    )
  )

  it.live("records and events of an older schema version go through the migration hook", () =>
    provide(
      Effect.gen(function* () {
        const dir = yield* tempDir
        const id = threadId()
        yield* withStore(dir, () => Effect.void)
        // Version 0 records: a job whose status was called "pending", an event
        // whose model field was called "model_name".
        appendJobFrame(dir, "old-job", 4, {
          schemaVersion: 0,
          kind: "job",
          record: { ...makeJob("old-job", 3), status: "pending" }
        })
        NFS.mkdirSync(NPath.dirname(journalPath(dir, id)), { recursive: true })
        NFS.writeFileSync(
          journalPath(dir, id),
          Journal.encodeFrames(
            [
              JSON.stringify({
                seq: 1,
                thread_id: id,
                timestamp: 1,
                event: "turn_started",
                turn_id: "a",
                model_name: "old"
              })
            ],
            1,
            0,
            () => true
          ).bytes
        )
        const migration: Migration = {
          from: 0,
          record: (kind, record) =>
            kind === "job" && (record as { status: string }).status === "pending"
              ? { ...(record as object), status: "queued" }
              : record,
          event: (frame) => {
            const { model_name, ...rest } = frame as { model_name?: string }
            return { ...rest, model: model_name }
          }
        }
        yield* withStore(
          dir,
          (store) =>
            Effect.gen(function* () {
              const job = Option.getOrThrow(yield* store.getJob("old-job"))
              assert.strictEqual(job.status, "queued")
              assert.strictEqual(job.revision, 4)
              const [frame] = yield* collect(store.readEvents(id))
              assert.strictEqual(frame?.event === "turn_started" && frame.model, "old")
              // Rewritten at the current version on the next write.
              yield* store.putJob({ ...job, status: "running" })
            }),
          { migrations: [migration] }
        )
        const rewritten = jobFrames(dir).get("old-job")!
        assert.deepStrictEqual(
          [rewritten.doc.schemaVersion, rewritten.revision, (rewritten.doc.record as { status: string }).status],
          [1, 5, "running"]
        )
        // Without the migration: a typed error, never a misread.
        yield* withStore(dir, (store) =>
          Effect.gen(function* () {
            const err = yield* Effect.flip(collect(store.readEvents(id)))
            assert.strictEqual(err._tag, "UnsupportedSchemaVersion")
            assert.include(err.message, "no migration")
          })
        )
      })
    )
  )

  it.live("a store written by a newer version is refused as a whole", () =>
    provide(
      Effect.gen(function* () {
        const dir = yield* tempDir
        yield* withStore(dir, () => Effect.void)
        NFS.writeFileSync(
          NPath.join(dir, "strata-store.json"),
          JSON.stringify({ format: "strata-fs-store", schemaVersion: 2 })
        )
        const err = yield* Effect.flip(withStore(dir, () => Effect.void))
        assert.strictEqual(err._tag, "UnsupportedSchemaVersion")
        NFS.writeFileSync(NPath.join(dir, "strata-store.json"), "{}")
        const notOurs = yield* Effect.flip(withStore(dir, () => Effect.void))
        assert.strictEqual(notOurs._tag === "StorageError" && notOurs.reason, "Corrupt")
      })
    )
  )
})
