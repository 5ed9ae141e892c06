import * as NFS from "node:fs"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Event } from "@strata/protocol"
import { StateStore } from "@strata/storage"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { checkSeq, makeFrameDecoder } from "../../dist/internal/codec.js"
import * as J from "../../dist/internal/journal.js"

const dir = NFS.mkdtempSync("/tmp/prof17-")
const ev = (i) => ({
  event: "response_delta",
  response_id: "resp-1",
  delta: "token ".repeat(1 + (i % 7)),
  channel: "text"
})
const decode = makeFrameDecoder([], Event.EventFrame)
const td = new TextDecoder()
const l1 = new TextDecoder("latin1")
await Effect.runPromise(
  Effect.gen(function* () {
    const store = yield* StateStore.StateStore
    const fs = yield* FileSystem.FileSystem
    for (let i = 0; i < 10000; i += 500)
      yield* store.appendEvents(
        "t",
        Array.from({ length: 500 }, (_, k) => ev(i + k))
      )
    const all = yield* Stream.runCollect(store.readEvents("t"))
    NFS.writeFileSync("/tmp/p17.jsonl", [...all].map((f) => JSON.stringify(f)).join("\n"))
    const file = dir + "/threads/t/journal"
    const variants = {
      baseline: Effect.promise(async () => {
        const s = await NFS.promises.readFile("/tmp/p17.jsonl", "utf8")
        const out = []
        for (const l of s.split("\n")) out.push(JSON.parse(l))
        return out
      }),
      store: Stream.runCollect(store.readEvents("t")),
      utf8PerFrame: Effect.promise(async () => {
        const buf = await NFS.promises.readFile(file)
        const out = []
        let next = 1
        J.forEachFrame(buf, 0, buf.length, true, (v, s, ps, pe, off) => {
          out.push(checkSeq(decode("t", v, td.decode(buf.subarray(ps, pe)), file, off), next++, "t", file, off))
          return true
        })
        return out
      }),
      latin1Whole: Effect.promise(async () => {
        const buf = await NFS.promises.readFile(file)
        const str = l1.decode(buf)
        const out = []
        let next = 1
        J.forEachFrame(buf, 0, buf.length, true, (v, s, ps, pe, off) => {
          out.push(checkSeq(decode("t", v, str.slice(ps, pe), file, off), next++, "t", file, off))
          return true
        })
        return out
      })
    }
    const loop = (buf) => {
      const out = []
      let next = 1
      J.forEachFrame(buf, 0, buf.length, true, (v, s, ps, pe, off) => {
        out.push(checkSeq(decode("t", v, td.decode(buf.subarray(ps, pe)), file, off), next++, "t", file, off))
        return true
      })
      return out
    }
    variants.effFsRead = Effect.map(
      Effect.scoped(
        Effect.gen(function* () {
          const f = yield* fs.open(file, { flag: "r" })
          const buf = new Uint8Array(NFS.statSync(file).size)
          yield* f.read(buf)
          return buf
        })
      ),
      loop
    )
    variants.streamWrap = Stream.runCollect(
      Stream.unwrap(
        Effect.map(
          Effect.promise(() => NFS.promises.readFile(file)),
          (buf) => Stream.fromChunk(Chunk.unsafeFromArray(loop(buf)))
        )
      )
    )
    delete variants.effFsRead
    delete variants.utf8PerFrame
    delete variants.streamWrap
    delete variants.latin1Whole
    variants.latin1NoCrc = Effect.promise(async () => {
      const buf = await NFS.promises.readFile(file)
      const str = l1.decode(buf)
      const out = []
      let next = 1
      J.forEachFrame(buf, 0, buf.length, false, (v, s, ps, pe, off) => {
        out.push(checkSeq(decode("t", v, str.slice(ps, pe), file, off), next++, "t", file, off))
        return true
      })
      return out
    })
    variants.utf8NoCrc = Effect.promise(async () => {
      const buf = await NFS.promises.readFile(file)
      const out = []
      let next = 1
      J.forEachFrame(buf, 0, buf.length, false, (v, s, ps, pe, off) => {
        out.push(checkSeq(decode("t", v, td.decode(buf.subarray(ps, pe)), file, off), next++, "t", file, off))
        return true
      })
      return out
    })
    const effRead = fs.readFile(file)
    variants.effReadFileLoop = Effect.map(effRead, (buf) => loop(buf))
    variants.streamed = Stream.runCollect(
      Stream.unwrap(Effect.map(effRead, (buf) => Stream.fromChunk(Chunk.unsafeFromArray(loop(buf)))))
    )
    variants.streamedSpan = Stream.runCollect(
      Stream.unwrap(Effect.map(effRead, (buf) => Stream.fromChunk(Chunk.unsafeFromArray(loop(buf))))).pipe(
        Stream.withSpan("x")
      )
    )
    variants.storeLastSeq = Effect.map(
      Effect.forEach(Array.from({ length: 100 }), () => store.lastSeq("t")),
      () => Array(10000)
    )
    variants.loopInEffectSync = Effect.flatMap(
      Effect.promise(() => NFS.promises.readFile(file)),
      (buf) => Effect.sync(() => loop(buf))
    )
    const wall = Object.fromEntries(Object.keys(variants).map((k) => [k, []]))
    const cpu = Object.fromEntries(Object.keys(variants).map((k) => [k, []]))
    for (let r = 0; r < 80; r++)
      for (const [k, v] of Object.entries(variants)) {
        globalThis.gc?.()
        const c0 = process.cpuUsage()
        const t0 = performance.now()
        yield* v
        const t1 = performance.now()
        const c1 = process.cpuUsage(c0)
        if (r >= 10) {
          wall[k].push(t1 - t0)
          cpu[k].push((c1.user + c1.system) / 1000)
        }
      }
    const med = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1]
    for (const k of Object.keys(variants))
      console.log(
        k.padEnd(14),
        "wall",
        med(wall[k]).toFixed(2),
        "cpu",
        med(cpu[k]).toFixed(2),
        "ratio wall",
        (med(wall[k]) / med(wall.baseline)).toFixed(2),
        "ratio cpu",
        (med(cpu[k]) / med(cpu.baseline)).toFixed(2)
      )
  }).pipe(Effect.provide(StateStore.layerFileSystem(dir)), Effect.provide(NodeContext.layer))
)
