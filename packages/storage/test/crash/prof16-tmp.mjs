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

const dir = NFS.mkdtempSync("/tmp/prof16-")
const ev = (i) => ({
  event: "response_delta",
  response_id: "resp-1",
  delta: "token ".repeat(1 + (i % 7)),
  channel: "text"
})
const decode = makeFrameDecoder([], Event.EventFrame)
const td = new TextDecoder()
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
    NFS.writeFileSync("/tmp/p16.jsonl", [...all].map((f) => JSON.stringify(f)).join("\n"))
    const file = dir + "/threads/t/journal"
    const mine = Stream.unwrap(
      Effect.gen(function* () {
        const buf = yield* fs.readFile(file)
        const out = []
        let next = 1
        J.forEachFrame(buf, 0, buf.length, true, (v, s, ps, pe, off) => {
          const f = decode("t", v, td.decode(buf.subarray(ps, pe)), file, off)
          out.push(checkSeq(f, next++, "t", file, off))
          return true
        })
        return Stream.fromChunk(Chunk.unsafeFromArray(out))
      })
    )
    const l1 = new TextDecoder("latin1")
    const mine2 = Stream.unwrap(
      Effect.gen(function* () {
        const buf = yield* fs.readFile(file)
        const str = l1.decode(buf)
        const out = []
        let next = 1
        J.forEachFrame(buf, 0, buf.length, true, (v, s, ps, pe, off) => {
          const f = decode("t", v, str.slice(ps, pe), file, off)
          out.push(checkSeq(f, next++, "t", file, off))
          return true
        })
        return Stream.fromChunk(Chunk.unsafeFromArray(out))
      })
    )
    const mine3 = Stream.unwrap(
      Effect.gen(function* () {
        const buf = yield* fs.readFile(file)
        const str = l1.decode(buf)
        const out = []
        const next = 1
        J.forEachFrame(buf, 0, buf.length, false, (v, s, ps, pe, off) => {
          out.push(JSON.parse(str.slice(ps, pe)))
          return true
        })
        return Stream.fromChunk(Chunk.unsafeFromArray(out))
      })
    )
    const mine4 = Effect.gen(function* () {
      const s = yield* fs.readFileString("/tmp/p16.jsonl")
      const out = []
      for (const l of s.split("\n")) out.push(JSON.parse(l))
      return out.length
    })
    const mine5 = Effect.gen(function* () {
      const buf = yield* Effect.promise(() => NFS.promises.readFile(file))
      const str = l1.decode(buf)
      const out = []
      J.forEachFrame(buf, 0, buf.length, false, (v, s, ps, pe, off) => {
        out.push(JSON.parse(str.slice(ps, pe)))
        return true
      })
      return out.length
    })
    const f5 = [],
      f4 = []
    const d = [],
      e = []
    const a = [],
      b = [],
      c = []
    for (let r = 0; r < 50; r++) {
      let t0 = performance.now()
      yield* Stream.runCollect(store.readEvents("t"))
      a.push(performance.now() - t0)
      t0 = performance.now()
      const s = yield* Effect.promise(() => NFS.promises.readFile("/tmp/p16.jsonl", "utf8"))
      const out = []
      for (const l of s.split("\n")) out.push(JSON.parse(l))
      b.push(performance.now() - t0)
      t0 = performance.now()
      yield* Stream.runCollect(mine)
      c.push(performance.now() - t0)
      t0 = performance.now()
      yield* Stream.runCollect(mine2)
      d.push(performance.now() - t0)
      t0 = performance.now()
      yield* Stream.runCollect(mine3)
      e.push(performance.now() - t0)
      t0 = performance.now()
      yield* mine4
      f4.push(performance.now() - t0)
      t0 = performance.now()
      yield* mine5
      f5.push(performance.now() - t0)
    }
    const med = (xs) =>
      xs
        .slice(10)
        .sort((x, y) => x - y)[20]
        .toFixed(2)
    console.log(
      "store warm",
      med(a),
      "baseline",
      med(b),
      "prototype",
      med(c),
      "latin1+crc",
      med(d),
      "latin1 nocrc",
      med(e),
      "baseline via effect fs",
      med(f4),
      "frames via promises no stream",
      med(f5)
    )
  }).pipe(Effect.provide(StateStore.layerFileSystem(dir)), Effect.provide(NodeContext.layer))
)
