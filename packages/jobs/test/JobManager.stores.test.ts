import { FileSystem } from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { JobBackend } from "@strata/jobs"
import { layerRedis } from "@strata/storage/redis"
import * as StateStore from "@strata/storage/StateStore"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as JobManagerSuite from "./JobManagerSuite.js"

// The same suite on the local backend over real stores: memory, a temp
// directory, and Redis on 127.0.0.1:6379 (a fresh key prefix per layer).
JobManagerSuite.run("StateStore memory", () => JobBackend.layerStateStore.pipe(Layer.provide(StateStore.layerMemory)))

JobManagerSuite.run("StateStore file system", () =>
  JobBackend.layerStateStore.pipe(
    Layer.provide(
      Layer.unwrapScoped(
        Effect.gen(function* () {
          const dir = yield* (yield* FileSystem).makeTempDirectoryScoped({ prefix: "strata-jobs-" })
          return StateStore.layerFileSystem(dir)
        })
      )
    ),
    Layer.provide(NodeContext.layer)
  )
)

JobManagerSuite.run("StateStore redis", () =>
  JobBackend.layerStateStore.pipe(
    Layer.provide(
      layerRedis({ url: "redis://127.0.0.1:6379", prefix: `strata-jobs-test:${globalThis.crypto.randomUUID()}` })
    )
  )
)
