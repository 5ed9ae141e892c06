// A crash mid-turn: a child process runs a turn and is killed with SIGKILL
// while a tool call runs; a new runtime on the same store resumes the thread
// from its journal, closes the dead turn, and the conversation goes on.
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Runtime, RuntimeConfig } from "@strata/core-runtime"
import * as StateStore from "@strata/storage/StateStore"
import * as ScriptedModelServer from "@strata/testkit/node/ScriptedModelServer"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { configRuntime } from "./turnRuntime.js"

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = join(here, "..", "..", "..")
const dirs: Array<string> = []

beforeAll(() => {
  // The child runs the built packages: make sure dist is current (turbo caches).
  const build = spawnSync(
    "npx",
    ["turbo", "run", "build", "--filter=@strata/core-runtime...", "--output-logs=errors-only"],
    {
      cwd: repoRoot,
      encoding: "utf8"
    }
  )
  if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`)
}, 300_000)

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const runChild = (cwd: string, baseUrl: string) =>
  new Promise<{ threadId: string; ackedSeq: number }>((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, "fixtures", "crash-turn-child.mjs"), cwd, baseUrl], {
      cwd: join(here, ".."),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let threadId = ""
    let ackedSeq = 0
    let err = ""
    child.stderr.on("data", (d) => (err += d))
    child.stdout.on("data", (d: Buffer) => {
      for (const line of d.toString().split("\n")) {
        const thread = /^THREAD (\S+)$/.exec(line.trim())
        if (thread) threadId = thread[1]!
        const tool = /^TOOL_STARTED (\d+)$/.exec(line.trim())
        if (tool) {
          ackedSeq = Number(tool[1])
          child.kill("SIGKILL")
        }
      }
    })
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL" && threadId !== "") resolve({ threadId, ackedSeq })
      else reject(new Error(`child exited (code ${code}, signal ${signal}):\n${err}`))
    })
  })

describe("crash mid-turn", () => {
  it.live(
    "SIGKILL during a tool call; resume replays the full log, closes the turn, and the thread goes on",
    () =>
      Effect.gen(function* () {
        const cwd = mkdtempSync(join(tmpdir(), "strata-crash-turn-"))
        dirs.push(cwd)
        const server = yield* ScriptedModelServer.make({
          turns: [
            { text: "Waiting as asked.", toolCalls: [{ name: "time__wait", arguments: {} }] },
            { text: "The wait was interrupted; continuing." }
          ]
        })
        const { threadId, ackedSeq } = yield* Effect.promise(() => runChild(cwd, server.baseUrl("openai-compatible")))
        const config = Schema.decodeUnknownSync(RuntimeConfig.RuntimeConfig)({
          model: "scripted",
          storage: { kind: "fs", dir: "state" },
          providers: { local: { kind: "openai-compatible", base_url: server.baseUrl("openai-compatible") } },
          models: [{ id: "scripted", provider: "local", context_window: 32000, max_output_tokens: 1000 }],
          policy: { builtin: false }
        })
        const layer = configRuntime(config, { cwd, cliVersion: "test" })
        yield* Effect.gen(function* () {
          const rt = yield* Runtime.Runtime
          const store = yield* StateStore.StateStore
          const before = Chunk.toReadonlyArray(yield* Stream.runCollect(store.readEvents(threadId)))
          // every event acknowledged before the kill is there, in order, gap-free
          expect(before.length).toBeGreaterThanOrEqual(ackedSeq)
          expect(before.map((f) => f.seq)).toStrictEqual(before.map((_, i) => i + 1))
          expect(before.map((f) => f.event)).toEqual(
            expect.arrayContaining(["message_appended", "turn_started", "response_start", "tool_call_start"])
          )
          expect(before.some((f) => f.event === "turn_ended")).toBe(false)

          const resumed = yield* rt.handleThread({ kind: "resume", thread_id: threadId as never })
          expect(resumed.status).toBe("resumed")
          expect(resumed.data.history?.map((m) => m.role)).toStrictEqual(["user", "assistant", "tool"])
          expect(resumed.data.history?.[2]?.content).toMatch(/stopped before it finished/)
          const after = Chunk.toReadonlyArray(yield* Stream.runCollect(store.readEvents(threadId)))
          // the log before the crash is intact, then the repair
          expect(after.slice(0, before.length)).toStrictEqual(before)
          expect(after.at(-1)).toMatchObject({ event: "turn_ended", outcome: "interrupted" })

          const next = yield* rt.handlePrompt({ prompt: "go on", thread_id: threadId as never })
          expect(next).toMatchObject({ outcome: "completed", output: "The wait was interrupted; continuing." })
          const sent = server.requests[1]!.messages.map((m) => m.role)
          expect(sent).toStrictEqual(["user", "assistant", "tool", "user"])
        }).pipe(Effect.provide(layer))
      }).pipe(Effect.scoped),
    120_000
  )
})
