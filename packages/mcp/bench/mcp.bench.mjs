// Benchmarks for @strata/mcp (run on dist: `npm run bench -w @strata/mcp` after a build).
//
// 1. Tool-call latency, p50/p99, of server-everything's `echo` over stdio: McpManager.callTool
//    against the raw SDK Client (the baseline), each on its own server-everything process,
//    alternating rounds so drift hits both alike; sequential, then 8 concurrent callers.
// 1b. The same over the SDK's in-memory transport to an in-process SDK server: no IPC, so the
//    difference is the manager's own cost per call, without the noise of two server processes.
// 2. Startup: 5 I/O-bound servers (each waits 1 s before answering initialize) through one
//    startAll, against the slowest single one alone.
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js"
import { McpConfig, McpManager, McpTransport } from "@strata/mcp"
import * as McpStdio from "@strata/mcp/stdio"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"

const require = createRequire(import.meta.url)
const everything = require.resolve("@modelcontextprotocol/server-everything/dist/index.js")
const fixture = fileURLToPath(new URL("../test/fixtures/server.mjs", import.meta.url))

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10)
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 300)
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3000)

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}
const ms = (x) => `${x.toFixed(3)} ms`
const row = (label, raw, mgr) => {
  const r50 = pct(raw, 50)
  const m50 = pct(mgr, 50)
  const r99 = pct(raw, 99)
  const m99 = pct(mgr, 99)
  console.log(
    `${label.padEnd(26)} raw SDK p50 ${ms(r50)} p99 ${ms(r99)} | McpManager p50 ${ms(m50)} p99 ${ms(m99)} | ratio p50 ${(m50 / r50).toFixed(3)}x p99 ${(m99 / r99).toFixed(3)}x  (n=${raw.length}/${mgr.length})`
  )
}

const main = Effect.gen(function* () {
  const scope = yield* Scope.make()
  const mcp = yield* Scope.extend(
    McpManager.make(McpConfig.make({ everything: { command: process.execPath, args: [everything, "stdio"] } })),
    scope
  ).pipe(Effect.provide(McpStdio.layer))
  yield* mcp.startAll
  const client = new Client({ name: "bench", version: "0" })
  yield* Effect.promise(() =>
    client.connect(new StdioClientTransport({ command: process.execPath, args: [everything, "stdio"], stderr: "pipe" }))
  )
  yield* Effect.promise(() => client.listTools())

  const args = { message: "bench" }
  const rawCall = () => client.callTool({ name: "echo", arguments: args })
  const mgrCall = mcp.callTool("mcp__everything__echo", args)

  const rawSeq = async (n, out) => {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now()
      await rawCall()
      out?.push(performance.now() - t0)
    }
  }
  const mgrSeq = (n, out) =>
    Effect.gen(function* () {
      for (let i = 0; i < n; i++) {
        const t0 = performance.now()
        yield* mgrCall
        out?.push(performance.now() - t0)
      }
    })

  // Warm up both paths (JIT, server caches).
  yield* Effect.promise(() => rawSeq(WARMUP))
  yield* mgrSeq(WARMUP)

  const raw = []
  const mgr = []
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      yield* Effect.promise(() => rawSeq(PER_ROUND, raw))
      yield* mgrSeq(PER_ROUND, mgr)
    } else {
      yield* mgrSeq(PER_ROUND, mgr)
      yield* Effect.promise(() => rawSeq(PER_ROUND, raw))
    }
  }
  console.log(`# tool call latency, server-everything echo over stdio, ${ROUNDS} alternating rounds`)
  row("sequential", raw, mgr)

  const CALLERS = 8
  const perCaller = Math.max(50, Math.floor(PER_ROUND / 4))
  const rawC = []
  const mgrC = []
  for (let r = 0; r < ROUNDS; r++) {
    const doRaw = Effect.promise(() => Promise.all(Array.from({ length: CALLERS }, () => rawSeq(perCaller, rawC))))
    const doMgr = Effect.forEach(Array.from({ length: CALLERS }), () => mgrSeq(perCaller, mgrC), {
      concurrency: CALLERS,
      discard: true
    })
    if (r % 2 === 0) {
      yield* doRaw
      yield* doMgr
    } else {
      yield* doMgr
      yield* doRaw
    }
  }
  row(`${CALLERS} concurrent callers`, rawC, mgrC)
  yield* Effect.promise(() => client.close())
  yield* Scope.close(scope, Exit.void)

  // In-process: the manager's own overhead.
  const inMemoryServer = async () => {
    const server = new Server({ name: "mem", version: "1" }, { capabilities: { tools: {} } })
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: [{ name: "echo", inputSchema: { type: "object" } }]
    }))
    server.setRequestHandler(CallToolRequestSchema, async (r) => ({
      content: [{ type: "text", text: String(r.params.arguments?.message) }]
    }))
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
    await server.connect(serverSide)
    return clientSide
  }
  const inMemory = Layer.succeed(McpTransport.StdioTransport, {
    make: () =>
      Effect.promise(async () => ({ transport: await inMemoryServer(), pid: () => undefined, stderr: () => "" }))
  })
  const memScope = yield* Scope.make()
  const memMcp = yield* Scope.extend(McpManager.make(McpConfig.make({ mem: { command: "in-memory" } })), memScope).pipe(
    Effect.provide(inMemory)
  )
  yield* memMcp.startAll
  const memClient = new Client({ name: "bench", version: "0" })
  yield* Effect.promise(async () => memClient.connect(await inMemoryServer()))
  const memRaw = async (n, out) => {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now()
      await memClient.callTool({ name: "echo", arguments: args })
      out?.push(performance.now() - t0)
    }
  }
  const memCall = memMcp.callTool("mcp__mem__echo", args)
  const memMgr = (n, out) =>
    Effect.gen(function* () {
      for (let i = 0; i < n; i++) {
        const t0 = performance.now()
        yield* memCall
        out?.push(performance.now() - t0)
      }
    })
  yield* Effect.promise(() => memRaw(WARMUP))
  yield* memMgr(WARMUP)
  const memR = []
  const memM = []
  for (let r = 0; r < ROUNDS; r++) {
    yield* Effect.promise(() => memRaw(PER_ROUND * 3, memR))
    yield* memMgr(PER_ROUND * 3, memM)
  }
  row("in-process (no IPC)", memR, memM)
  console.log(
    `${"".padEnd(26)} manager overhead per call at p50: ${((pct(memM, 50) - pct(memR, 50)) * 1000).toFixed(1)} us`
  )
  yield* Scope.close(memScope, Exit.void)

  // Startup of I/O-bound servers.
  const startup = (count, delay = 1000) =>
    Effect.gen(function* () {
      const s = yield* Scope.make()
      const servers = Object.fromEntries(
        Array.from({ length: count }, (_, i) => [
          `s${i + 1}`,
          { command: process.execPath, args: [fixture, "--init-delay", String(delay)] }
        ])
      )
      const m = yield* Scope.extend(McpManager.make(McpConfig.make(servers)), s).pipe(Effect.provide(McpStdio.layer))
      const t0 = performance.now()
      const summary = yield* m.startAll
      const dt = performance.now() - t0
      if (summary.ready.length !== count) throw new Error(JSON.stringify(summary))
      yield* Scope.close(s, Exit.void)
      return dt
    })
  // Alternate and keep the median of 3, so process start-up noise hits both alike.
  const singles = []
  const fives = []
  const bootSingles = []
  const bootFives = []
  for (let i = 0; i < 3; i++) {
    singles.push(yield* startup(1))
    fives.push(yield* startup(5))
    bootSingles.push(yield* startup(1, 0))
    bootFives.push(yield* startup(5, 0))
  }
  const single = pct(singles, 50)
  const five = pct(fives, 50)
  console.log("# startup: servers that each wait 1 s before answering initialize (median of 3)")
  console.log(
    `${"startAll".padEnd(26)} slowest single ${ms(single)} | 5 servers ${ms(five)} | ratio ${(five / single).toFixed(3)}x (in series: ~5x)`
  )
  // What is not I/O: starting 5 Node processes at once on this machine's cores.
  const b1 = pct(bootSingles, 50)
  const b5 = pct(bootFives, 50)
  console.log(
    `${"same, no init delay".padEnd(26)} 1 server ${ms(b1)} | 5 servers ${ms(b5)} | process start-up CPU explains ${ms(b5 - b1)} of the ${ms(five - single)} difference`
  )
})

Effect.runPromise(main).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
