// The cost of the wire, measured on loopback (built output; run
// `npx turbo run build --filter=@strata/server...` first):
//
// 1. Request latency: `thread/read` through the HTTP server (fetch with
//    keep-alive, a JSON-RPC body) against the same `handleThread` call on the
//    Runtime in-process: p50 / p99 and the ratio.
// 2. Streaming: THREADS concurrent turns (default 50) streaming from the
//    testkit's scripted model server through the runtime and the server to
//    one SSE client per thread (the typed client). Per event: the time from
//    the frame being persisted (its `timestamp`) to the client having it;
//    events/s; lost events (frames the journal has that the client did not
//    get, and duplicates). Baseline: a bare SSE relay (a plain node:http
//    server that reads the same model stream and forwards each chunk as an
//    SSE message), measured from the relay having the chunk to the client
//    having it. Same run, same machine, the ratio of the two p50s.
//
// Bounded: loopback only, a fixed number of requests and turns; it stops by itself.
import { createServer } from "node:http"
import * as HttpServer from "@effect/platform/HttpServer"
import { NodeContext, NodeHttpServer } from "@effect/platform-node"
import { StrataClient } from "@strata/client"
import { Runtime, RuntimeConfig, RuntimeLayer } from "@strata/core-runtime"
import * as McpStdio from "@strata/mcp/stdio"
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import { Auth, Http, RpcServer } from "@strata/server"
import * as ScriptedModelServer from "@strata/testkit/node/ScriptedModelServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"

const REQUESTS = Number(process.env.REQUESTS ?? 500)
const THREADS = Number(process.env.THREADS ?? 50)
const CHUNKS = Number(process.env.CHUNKS ?? 100)

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}
const ms = (x) => `${x.toFixed(3)} ms`

const text = "abcdefghij".repeat(CHUNKS)
const model = await ScriptedModelServer.start({ turns: [{ text, chunkSize: 10, delayMs: 1, repeat: true }] })
const config = Schema.decodeUnknownSync(RuntimeConfig.RuntimeConfig)({
  model: "scripted",
  storage: { kind: "memory" },
  providers: { local: { kind: "openai-compatible", base_url: model.baseUrl("openai-compatible") } },
  models: [{ id: "scripted", provider: "local", context_window: 1_000_000, max_output_tokens: 100_000 }]
})
const runtimeLayer = RpcServer.layer.pipe(
  Layer.provideMerge(RuntimeLayer.layer(config, { cwd: process.cwd(), cliVersion: "bench" })),
  Layer.provide(
    Layer.mergeAll(
      NodeContext.layer,
      NodeWorkspace.layer({ durable: false }),
      McpStdio.layer,
      RuntimeLayer.layerUnsandboxed(config, { cwd: process.cwd() })
    )
  )
)
const app = Http.make({ auth: Auth.make({ tokens: [], ratePerMinute: 10_000_000 }), maxBodyBytes: 1 << 20 })
const serverLayer = HttpServer.serve(app).pipe(
  Layer.provideMerge(
    NodeHttpServer.layer(() => createServer({ keepAliveTimeout: 65_000, noDelay: true }), {
      host: "127.0.0.1",
      port: 0
    })
  ),
  Layer.provideMerge(runtimeLayer)
)
const managed = ManagedRuntime.make(serverLayer)
const address = await managed.runPromise(HttpServer.addressWith((a) => Effect.succeed(a)))
const url = `http://127.0.0.1:${address.port}`
const client = StrataClient.make({ url })

// 1. request latency
const { thread_id } = await client.call("thread/start", {})
const inProcess = []
const overHttp = []
for (let i = 0; i < 50; i++) {
  await managed.runPromise(Effect.flatMap(Runtime.Runtime, (rt) => rt.handleThread({ kind: "read", thread_id })))
  await client.call("thread/read", { thread_id })
}
for (let i = 0; i < REQUESTS; i++) {
  let t = performance.now()
  await managed.runPromise(Effect.flatMap(Runtime.Runtime, (rt) => rt.handleThread({ kind: "read", thread_id })))
  inProcess.push(performance.now() - t)
  t = performance.now()
  await client.call("thread/read", { thread_id })
  overHttp.push(performance.now() - t)
}
const bare = []
for (let i = 0; i < REQUESTS; i++) {
  const t = performance.now()
  await (await fetch(`${url}/v1`)).text()
  bare.push(performance.now() - t)
}
console.log(`thread/read, ${REQUESTS} calls each (alternating):`)
console.log(`  Runtime in-process   p50 ${ms(pct(inProcess, 50))}  p99 ${ms(pct(inProcess, 99))}`)
console.log(`  strata serve (HTTP)  p50 ${ms(pct(overHttp, 50))}  p99 ${ms(pct(overHttp, 99))}`)
console.log(
  `  GET /v1 (no method)  p50 ${ms(pct(bare, 50))}  p99 ${ms(pct(bare, 99))}  (the HTTP floor: fetch + the platform server)`
)
console.log(`  ratio HTTP / in-process (p50): ${(pct(overHttp, 50) / pct(inProcess, 50)).toFixed(2)}x`)

// 2. streaming through the server
const served = async () => {
  const latencies = []
  let lost = 0
  let duplicates = 0
  const started = performance.now()
  let events = 0
  await Promise.all(
    Array.from({ length: THREADS }, async () => {
      const turn = await client.call("turn/start", { prompt: "stream" })
      const seen = new Set()
      for await (const item of client.threadEvents(turn.thread_id)) {
        if (item.type !== "frame") continue
        if (seen.has(item.frame.seq)) duplicates++
        seen.add(item.frame.seq)
        latencies.push(Date.now() - item.frame.timestamp)
        events++
        if (item.frame.event === "turn_ended") break
      }
      const journal = await client.call("events/read", { thread_id: turn.thread_id, limit: 10_000 })
      lost += journal.events.filter((f) => !seen.has(f.seq)).length
    })
  )
  const seconds = (performance.now() - started) / 1000
  return { latencies, lost, duplicates, events, seconds }
}

const relay = async () => {
  // A bare SSE relay of the same model stream: what a hand-written proxy would do.
  const server = createServer(async (_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" })
    const upstream = await fetch(`${model.baseUrl("openai-compatible")}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "scripted", stream: true, messages: [{ role: "user", content: "stream" }] })
    })
    const decoder = new TextDecoder()
    let buffer = ""
    let id = 0
    for await (const part of upstream.body) {
      buffer += decoder.decode(part, { stream: true })
      let nl = buffer.indexOf("\n\n")
      while (nl >= 0) {
        const chunk = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 2)
        nl = buffer.indexOf("\n\n")
        if (chunk.startsWith("data: "))
          res.write(`id: ${++id}\ndata: ${JSON.stringify({ at: Date.now(), chunk: chunk.slice(6) })}\n\n`)
      }
    }
    res.end()
  })
  await new Promise((r) => server.listen(0, "127.0.0.1", r))
  const port = server.address().port
  const latencies = []
  let events = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: THREADS }, async () => {
      const response = await fetch(`http://127.0.0.1:${port}/`)
      for await (const message of StrataClient.parseSse(response.body)) {
        latencies.push(Date.now() - JSON.parse(message.data).at)
        events++
      }
    })
  )
  const seconds = (performance.now() - started) / 1000
  server.close()
  return { latencies, events, seconds }
}

const viaServer = await served()
const viaRelay = await relay()
console.log(`\n${THREADS} concurrent threads, ${CHUNKS} model chunks each, one SSE client per thread:`)
console.log(
  `  strata serve     events ${viaServer.events}  ${(viaServer.events / viaServer.seconds).toFixed(0)} events/s  ` +
    `persisted->client p50 ${viaServer.latencies.length ? pct(viaServer.latencies, 50) : "-"} ms  p99 ${pct(viaServer.latencies, 99)} ms  ` +
    `lost ${viaServer.lost}  duplicates ${viaServer.duplicates}`
)
console.log(
  `  bare SSE relay   events ${viaRelay.events}  ${(viaRelay.events / viaRelay.seconds).toFixed(0)} events/s  ` +
    `received->client p50 ${pct(viaRelay.latencies, 50)} ms  p99 ${pct(viaRelay.latencies, 99)} ms`
)
console.log(
  `  ratio (p50 latency, strata / relay): ${(Math.max(1, pct(viaServer.latencies, 50)) / Math.max(1, pct(viaRelay.latencies, 50))).toFixed(2)}x ` +
    `(millisecond clock; a 0 ms p50 counts as 1 ms)`
)
await managed.dispose()
await model.close()
process.exit(0)
