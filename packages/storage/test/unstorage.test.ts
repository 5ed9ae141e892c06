import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createStorage, type Storage } from "unstorage"
import fsDriver from "unstorage/drivers/fs"
import * as StateStore from "../src/StateStore.js"
import * as StateStoreSuite from "./StateStoreSuite.js"
import { makeJob } from "./StateStoreSuite.js"

// The same contract on top of plain unstorage drivers: the memory driver and
// the fs driver (which is functionally complete, but not crash-safe: see the
// crash test and the README's durability table).

const raw = (storage: Storage) => ({
  appendEventWithVersion: (threadId: string, seq: number, version: number) =>
    Effect.promise(() =>
      storage.setItem(
        `j:${threadId}:${String(seq).padStart(12, "0")}`,
        `v${version} ${JSON.stringify({ seq, thread_id: threadId, timestamp: 1, event: "turn_started", turn_id: "x", model: "m" })}`
      )
    ),
  putJobWithVersion: (jobId: string, version: number) =>
    Effect.promise(() =>
      storage.setItem(
        `r:job:${jobId}`,
        `1 ${JSON.stringify({ schemaVersion: version, kind: "job", record: makeJob(jobId, 1) })}`
      )
    ),
  corruptEvent: (threadId: string, seq: number) =>
    Effect.promise(async () => {
      const key = `j:${threadId}:${String(seq).padStart(12, "0")}`
      const entry = String(await storage.getItem(key))
      await storage.setItem(key, entry.slice(0, Math.floor(entry.length / 2)))
    }),
  corruptThread: (threadId: string) => Effect.promise(() => storage.setItem(`r:thread:${threadId}`, '1 {"schemaVer'))
})

const memory = createStorage()
StateStoreSuite.run("unstorage memory driver", StateStore.layerUnstorage(memory), { raw: raw(memory) })

let fsStorage: Storage | undefined
const fsLayer = Layer.unwrapScoped(
  Effect.gen(function* () {
    const dir = yield* (yield* FileSystem.FileSystem).makeTempDirectoryScoped({ prefix: "strata-unstorage-" })
    fsStorage = createStorage({ driver: fsDriver({ base: dir }) })
    return StateStore.layerUnstorage(fsStorage)
  })
).pipe(Layer.provide(NodeContext.layer))

StateStoreSuite.run("unstorage fs driver", fsLayer, {
  raw: {
    appendEventWithVersion: (t, s, v) => Effect.suspend(() => raw(fsStorage!).appendEventWithVersion(t, s, v)),
    putJobWithVersion: (j, v) => Effect.suspend(() => raw(fsStorage!).putJobWithVersion(j, v)),
    corruptEvent: (t, s) => Effect.suspend(() => raw(fsStorage!).corruptEvent(t, s)),
    corruptThread: (t) => Effect.suspend(() => raw(fsStorage!).corruptThread(t))
  }
})
