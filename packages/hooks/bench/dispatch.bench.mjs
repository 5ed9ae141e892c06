// Hook dispatch overhead, against its baselines in the same run:
//
// 1. PreToolUse dispatch with 0, 1 and 5 in-process hooks (and 5 hooks with an
//    observer subscribed), each followed by the tool call, against calling the
//    tool function directly. Target: < 20 µs added at p50 for 5 hooks.
// 2. A command hook round trip (dispatch -> spawn -> stdin JSON -> stdout JSON
//    -> decision) against a bare `child_process.spawn` of the same script with
//    the same stdin.
//
// Runs against dist: `npm run build -w @strata/hooks && npm run bench -w @strata/hooks`.
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { CommandHook, Hook, HookDispatcher, HookEvent, HookOutput } from "@strata/hooks"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"

const BATCHES = Number(process.env.BENCH_BATCHES ?? 300)
const BATCH = 100
const SPAWNS = Number(process.env.BENCH_SPAWNS ?? 60)

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]
const us = (ms) => `${(ms * 1000).toFixed(2)} µs`
const msf = (ms) => `${ms.toFixed(2)} ms`

const event = HookEvent.PreToolUse.make({
  tool_name: "exec",
  tool_input: { command: "ls -la" },
  tool_use_id: "call-bench",
  session_id: "bench"
})

// The tool: what the dispatch guards.
const tool = (input) => Effect.succeed({ content: [{ type: "text", text: `ran ${input.command}` }] })

// A realistic in-process guard: inspects the input, usually lets it through.
const guard = (i) =>
  Hook.define({
    event: "PreToolUse",
    name: `guard-${i}`,
    matcher: i % 2 === 0 ? "exec" : "exec|write_file",
    run: (e) => Effect.succeed(e.tool_input.command.includes("rm -rf") ? HookOutput.deny("no") : undefined)
  })

/** Per-call time of `body`, measured in batches of BATCH calls; returns sorted per-call ms. */
const measure = (body) =>
  Effect.gen(function* () {
    for (let i = 0; i < 50 * BATCH; i++) yield* body // warm up
    const samples = []
    for (let b = 0; b < BATCHES; b++) {
      const t0 = performance.now()
      for (let i = 0; i < BATCH; i++) yield* body
      samples.push((performance.now() - t0) / BATCH)
    }
    return samples.sort((a, b) => a - b)
  })

const inProcess = Effect.gen(function* () {
  const hooks = yield* HookDispatcher.HookDispatcher
  const direct = yield* measure(tool(event.tool_input))
  const rows = [["direct tool call (baseline)", direct]]
  for (const count of [0, 1, 5]) {
    const row = yield* Effect.scoped(
      Effect.gen(function* () {
        if (count > 0)
          yield* hooks.register(
            Array.from({ length: count }, (_, i) => guard(i)),
            { owner: "bench" }
          )
        return yield* measure(
          Effect.flatMap(hooks.dispatch(event), (result) =>
            result.decision === "deny" ? Effect.die("denied") : tool(result.event.tool_input)
          )
        )
      })
    )
    rows.push([`dispatch + tool, ${count} hook${count === 1 ? "" : "s"}`, row])
  }
  const observed = yield* Effect.scoped(
    Effect.gen(function* () {
      yield* hooks.register(
        Array.from({ length: 5 }, (_, i) => guard(i)),
        { owner: "bench" }
      )
      const queue = yield* hooks.subscribe
      // drain the observer queue between batches so it does not grow without bound
      return yield* measure(
        Effect.flatMap(hooks.dispatch(event), (result) => Effect.zipRight(queue.takeAll, tool(result.event.tool_input)))
      )
    })
  )
  rows.push(["dispatch + tool, 5 hooks + observer", observed])
  return rows
})

const fixtures = fileURLToPath(new URL("../test/fixtures", import.meta.url))
const script = "./guard.sh"
const stdin = JSON.stringify({ ...event, cwd: fixtures, permission_mode: "default" })

const bareSpawn = () =>
  new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", script], { cwd: fixtures, stdio: ["pipe", "pipe", "pipe"] })
    let out = ""
    child.stdout.on("data", (d) => {
      out += d
    })
    child.stderr.resume()
    child.on("error", reject)
    child.on("close", (code) => resolve([code, out]))
    child.stdin.end(stdin)
  })

const commandHook = Effect.gen(function* () {
  const hooks = yield* HookDispatcher.HookDispatcher
  const bare = []
  for (let i = 0; i < 5; i++) yield* Effect.promise(bareSpawn)
  for (let i = 0; i < SPAWNS; i++) {
    const t0 = performance.now()
    yield* Effect.promise(bareSpawn)
    bare.push(performance.now() - t0)
  }
  const specs = Either.getOrThrow(CommandHook.fromConfig({ PreToolUse: [{ command: script }] }))
  const viaHook = yield* Effect.scoped(
    Effect.gen(function* () {
      yield* CommandHook.register(specs, { cwd: fixtures })
      for (let i = 0; i < 5; i++) yield* hooks.dispatch(event)
      const samples = []
      for (let i = 0; i < SPAWNS; i++) {
        const t0 = performance.now()
        const result = yield* hooks.dispatch(event)
        samples.push(performance.now() - t0)
        if (result.errors.length > 0) throw new Error(JSON.stringify(result.errors))
      }
      return samples
    })
  )
  return [
    ["bare spawn of guard.sh (baseline)", bare.sort((a, b) => a - b)],
    ["dispatch with guard.sh as command hook", viaHook.sort((a, b) => a - b)]
  ]
})

const program = Effect.gen(function* () {
  console.log(`@strata/hooks dispatch bench: node ${process.version}, ${BATCHES} batches x ${BATCH} calls\n`)
  const rows = yield* inProcess
  const base = percentile(rows[0][1], 50)
  console.log("PreToolUse, in-process hooks (per call)")
  console.log(
    `${"case".padEnd(40)} ${"p50".padStart(10)} ${"p90".padStart(10)} ${"added p50".padStart(11)} ${"ratio".padStart(7)}`
  )
  for (const [name, samples] of rows) {
    const p50 = percentile(samples, 50)
    console.log(
      `${name.padEnd(40)} ${us(p50).padStart(10)} ${us(percentile(samples, 90)).padStart(10)} ${us(p50 - base).padStart(11)} ${`${(p50 / base).toFixed(1)}x`.padStart(7)}`
    )
  }
  const five = percentile(rows[3][1], 50) - base
  console.log(`\n5 hooks add ${us(five)} at p50 (target < 20 µs): ${five < 0.02 ? "met" : "NOT met"}\n`)

  const spawns = yield* commandHook
  const bare = percentile(spawns[0][1], 50)
  console.log(`Command hook round trip (${SPAWNS} runs each)`)
  console.log(`${"case".padEnd(40)} ${"p50".padStart(10)} ${"p90".padStart(10)} ${"ratio".padStart(7)}`)
  for (const [name, samples] of spawns) {
    const p50 = percentile(samples, 50)
    console.log(
      `${name.padEnd(40)} ${msf(p50).padStart(10)} ${msf(percentile(samples, 90)).padStart(10)} ${`${(p50 / bare).toFixed(2)}x`.padStart(7)}`
    )
  }
})

await Effect.runPromise(
  program.pipe(Effect.provide(Layer.mergeAll(HookDispatcher.HookDispatcher.Default, NodeContext.layer)))
)
