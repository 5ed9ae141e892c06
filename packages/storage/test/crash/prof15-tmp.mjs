import * as NFS from "node:fs"
import { Session } from "node:inspector/promises"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { StateStore } from "@strata/storage"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

const dir = NFS.mkdtempSync("/tmp/prof15-")
const ev = (i) => ({
  event: "response_delta",
  response_id: "resp-1",
  delta: "token ".repeat(1 + (i % 7)),
  channel: "text"
})
const session = new Session()
session.connect()
await Effect.runPromise(
  Effect.gen(function* () {
    const store = yield* StateStore.StateStore
    for (let i = 0; i < 10000; i += 500)
      yield* store.appendEvents(
        "t",
        Array.from({ length: 500 }, (_, k) => ev(i + k))
      )
    for (let r = 0; r < 10; r++) yield* Stream.runCollect(store.readEvents("t"))
    yield* Effect.promise(() =>
      session
        .post("Profiler.enable")
        .then(() => session.post("Profiler.setSamplingInterval", { interval: 100 }))
        .then(() => session.post("Profiler.start"))
    )
    for (let r = 0; r < 60; r++) yield* Stream.runCollect(store.readEvents("t"))
    const { profile } = yield* Effect.promise(() => session.post("Profiler.stop"))
    NFS.writeFileSync("/tmp/prof15.cpuprofile", JSON.stringify(profile))
  }).pipe(Effect.provide(StateStore.layerFileSystem(dir)), Effect.provide(NodeContext.layer))
)
