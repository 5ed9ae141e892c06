// Benchmarks of @strata/core-runtime (built output):
// 1. the overhead of one tool call through ToolInvoker (exec policy + 5 hooks
//    + registry + events persisted on the fs store) vs calling the tool directly;
// 2. resuming a 10,000-event thread vs reading the same JSONL and JSON.parse per line.
// Run: npm run build && npm run bench -w @strata/core-runtime
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeContext } from "@effect/platform-node"
import { ThreadManager, ToolInvoker, ToolRegistry } from "@strata/core-runtime"
import { ExecPolicy } from "@strata/exec-policy"
import { Hook, HookDispatcher } from "@strata/hooks"
import { Tool as PluginTool } from "@strata/plugin"
import * as Sandbox from "@strata/sandbox/Sandbox"
import * as StateStore from "@strata/storage/StateStore"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

const CALLS = Number(process.env.CALLS ?? 2000)
const EVENTS = 10_000
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return { p50: pct(s, 50), p99: pct(s, 99) }
}
const us = (ms) => `${(ms * 1000).toFixed(1)} µs`

const Echo = PluginTool.define({
  name: "echo",
  description: "Echo a command line",
  input: Schema.Struct({ command: Schema.String }),
  output: Schema.String,
  run: ({ command }) => Effect.succeed(command)
})
const rules = 'default = "ask"\n[[rule]]\nprefix = [["ls", "echo", "git"]]\ndecision = "allow"\n'

const dir = mkdtempSync(join(tmpdir(), "strata-runtime-bench-"))
const layer = ToolInvoker.layer().pipe(
  Layer.provideMerge(ThreadManager.layer({ cwd: dir, providerDefault: "bench", cliVersion: "bench" })),
  Layer.provideMerge(ToolRegistry.layer),
  Layer.provideMerge(HookDispatcher.HookDispatcher.Default),
  Layer.provideMerge(Sandbox.layerUnsandboxed({ workspace: dir })),
  Layer.provideMerge(StateStore.layerFileSystem(join(dir, "state"))),
  Layer.provideMerge(
    Layer.unwrapEffect(
      Effect.map(ExecPolicy.loadGrammar, (grammar) =>
        ExecPolicy.layerSources([{ file: "rules.toml", layer: "project", text: rules }], { grammar, builtin: false })
      )
    )
  ),
  Layer.provideMerge(NodeContext.layer)
)

const program = Effect.gen(function* () {
  const registry = yield* ToolRegistry.ToolRegistry
  yield* registry.register([ToolRegistry.fromPlugin("shell", Echo, { shellCommand: (i) => i.command })])
  const hooks = yield* HookDispatcher.HookDispatcher
  yield* hooks.register(
    Array.from({ length: 5 }, (_, i) =>
      Hook.define({ event: "PreToolUse", name: `h${i}`, matcher: "shell__*", run: () => Effect.succeed(undefined) })
    ),
    { owner: "bench" }
  )
  const invoker = yield* ToolInvoker.ToolInvoker
  const threads = yield* ThreadManager.ThreadManager
  const thread = yield* threads.createThread({})
  const command = "git status && ls -la | echo done"

  // direct: decode the input and run the tool, nothing else
  const direct = []
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now()
    yield* PluginTool.invoke(Echo, { command }, { call_id: "c" })
    direct.push(performance.now() - t)
  }
  for (const persisted of [false, true]) {
    const through = []
    for (let i = 0; i < CALLS; i++) {
      const call = {
        id: `call-${i}-${persisted}`,
        name: "shell__echo",
        arguments: { command },
        ...(persisted ? { thread_id: thread.id } : {})
      }
      const t = performance.now()
      const r = yield* invoker.invokeTool(call, "on-request", dir)
      through.push(performance.now() - t)
      if (r.status !== "completed") throw new Error(JSON.stringify(r))
    }
    const d = stats(direct)
    const s = stats(through)
    console.log(
      `invokeTool (policy + 5 hooks + registry${persisted ? " + 2 events fsync'd on fs" : ""}): p50 ${us(s.p50)}, p99 ${us(s.p99)}; direct p50 ${us(d.p50)}; added at p50 ${us(s.p50 - d.p50)} (target < 200 µs${persisted ? ", with durable persistence" : ""})`
    )
  }

  // resume a 10,000-event thread
  const big = yield* threads.createThread({})
  const batch = []
  for (let i = 0; i < EVENTS; i++) {
    batch.push(
      i % 10 === 0
        ? {
            event: "message_appended",
            message: {
              id: `m${i}`,
              role: i % 20 === 0 ? "user" : "assistant",
              content: `message ${i} `.repeat(8),
              created_at: Date.now()
            }
          }
        : { event: "response_delta", response_id: "r1", delta: `delta ${i} `.repeat(4), channel: "text" }
    )
    if (batch.length === 500) {
      yield* threads.append(big.id, batch.splice(0))
    }
  }
  const store = yield* StateStore.StateStore
  const jsonl = Chunk.toReadonlyArray(yield* Stream.runCollect(store.readEvents(big.id)))
    .map((f) => JSON.stringify(f))
    .join("\n")
  const raw = join(dir, "raw.jsonl")
  writeFileSync(raw, jsonl)
  const rounds = 7
  const resume = []
  const baseline = []
  for (let r = 0; r < rounds; r++) {
    let t = performance.now()
    const response = yield* threads.handle({ kind: "resume", thread_id: big.id })
    resume.push(performance.now() - t)
    if (response.status !== "resumed" || response.data.history.length !== 500) throw new Error("resume failed")
    t = performance.now()
    const frames = readFileSync(raw, "utf8")
      .split("\n")
      .map((line) => JSON.parse(line))
    if (frames.length !== EVENTS) throw new Error("raw read failed")
    baseline.push(performance.now() - t)
  }
  const rs = stats(resume)
  const bs = stats(baseline)
  console.log(
    `resume of a ${EVENTS}-event thread on fs: median ${rs.p50.toFixed(1)} ms vs raw JSONL read + JSON.parse ${bs.p50.toFixed(1)} ms = ${(rs.p50 / bs.p50).toFixed(2)}x`
  )
})

Effect.runPromise(program.pipe(Effect.provide(layer), Effect.scoped))
  .catch((e) => {
    console.error(e)
    process.exitCode = 1
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }))
