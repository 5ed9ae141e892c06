import * as NFS from "node:fs"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { StateStore } from "@strata/storage"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

const dir = NFS.mkdtempSync("/tmp/prof13-")
const ev = (i) => ({
  event: "response_delta",
  response_id: "resp-1",
  delta: "token ".repeat(1 + (i % 7)),
  channel: "text"
})
NFS.writeFileSync("/tmp/p13.jsonl", "")
await Effect.runPromise(
  Effect.gen(function* () {
    const store = yield* StateStore.StateStore
    for (let i = 0; i < 10000; i += 500)
      yield* store.appendEvents(
        "t",
        Array.from({ length: 500 }, (_, k) => ev(i + k))
      )
    const all = yield* Stream.runCollect(store.readEvents("t"))
    NFS.writeFileSync("/tmp/p13.jsonl", [...all].map((f) => JSON.stringify(f)).join("\n"))
    const a = [],
      b = []
    for (let r = 0; r < 50; r++) {
      let t0 = performance.now()
      yield* Stream.runCollect(store.readEvents("t"))
      a.push(performance.now() - t0)
      t0 = performance.now()
      const s = yield* Effect.promise(() => NFS.promises.readFile("/tmp/p13.jsonl", "utf8"))
      const out = []
      for (const l of s.split("\n")) out.push(JSON.parse(l))
      b.push(performance.now() - t0)
    }
    const med = (xs) =>
      xs
        .slice(10)
        .sort((x, y) => x - y)[20]
        .toFixed(2)
    console.log("store warm", med(a), "baseline", med(b))
  }).pipe(Effect.provide(StateStore.layerFileSystem(dir)), Effect.provide(NodeContext.layer))
)
