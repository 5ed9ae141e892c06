// The crash-test child: appends events to one thread through the BUILT
// package (`@strata/storage` resolves to dist/ outside vitest) and prints one
// line per acknowledged event, so the parent knows exactly what was
// acknowledged when it kills this process with SIGKILL.
//
//   node child.mjs <kind> <dir> <threadId> <count> <seq|concurrent> <round>
//
// kind: fs (Strata's file store), unstorage-fs / unstorage-redis (Strata on
// unstorage's fs / redis driver, loaded by name), plain-fs / plain-redis
// (the plain driver: one setItem per event, no commit marker; the baseline).
//
// Output lines: `ready`, `ack <seq> <marker>`, `saving <n>`, `saved <n>`, `done`.
// Every 20 events it saves the "latest" checkpoint (256 KiB of state).
import * as NodeContext from "@effect/platform-node/NodeContext"
import { StateStore } from "@strata/storage"
import * as Unstorage from "@strata/storage/Unstorage"
import * as Effect from "effect/Effect"
import { driverOptions, plainStore } from "./plain.mjs"

const [kind, dir, threadId, countArg, mode, round] = process.argv.slice(2)
const count = Number(countArg)
const blob = "x".repeat(256 * 1024)
// Pipes are synchronous on Linux: a line is in the pipe before the next append starts.
const say = (line) => process.stdout.write(`${line}\n`)

const layer =
  kind === "fs"
    ? StateStore.layerFileSystem(dir)
    : kind.startsWith("plain-")
      ? plainStore(kind, dir)
      : Unstorage.layerDriver(driverOptions(kind, dir))

const event = (marker) => ({ event: "response_delta", response_id: "resp-1", delta: marker, channel: "text" })

const program = Effect.gen(function* () {
  const store = yield* StateStore.StateStore
  say("ready")
  const checkpoint = (n) =>
    Effect.gen(function* () {
      say(`saving ${n}`)
      yield* store.saveCheckpoint(threadId, "latest", { round: Number(round), upTo: n, blob })
      say(`saved ${n}`)
    })
  if (mode === "seq") {
    for (let i = 0; i < count; i++) {
      const [frame] = yield* store.appendEvents(threadId, [event(`r${round}-${i}`)])
      say(`ack ${frame.seq} r${round}-${i}`)
      if (i % 20 === 19) yield* checkpoint(i)
    }
  } else {
    // Four writers, batches of three: exercises group commit under a crash.
    const writers = 4
    const batches = Math.ceil(count / writers / 3)
    yield* Effect.forEach(
      Array.from({ length: writers }, (_, w) => w),
      (w) =>
        Effect.forEach(
          Array.from({ length: batches }, (_, b) => b),
          (b) =>
            Effect.gen(function* () {
              const markers = [0, 1, 2].map((k) => `r${round}-w${w}-b${b}-${k}`)
              const frames = yield* store.appendEvents(threadId, markers.map(event))
              for (const [k, f] of frames.entries()) say(`ack ${f.seq} ${markers[k]}`)
            }),
          { discard: true }
        ),
      { concurrency: writers, discard: true }
    )
  }
  say("done")
})

Effect.runPromise(program.pipe(Effect.provide(layer), Effect.provide(NodeContext.layer))).catch((e) => {
  process.stderr.write(`child failed: ${e?.stack ?? e}\n`)
  process.exit(2)
})
