// Per-chunk overhead and time-to-first-token overhead of the provider stream,
// against a raw `fetch` + hand-written SSE parse of the same local server
// stream, in the same run. The scripted server runs in a child process
// (bench/server.mjs), so the CPU time measured here is the client's alone;
// wall time is shown too, but on a shared machine it moves with the load.
// Runs on the built output:
//
//   npm run build -w @strata/testkit -w @strata/providers && npm run bench -w @strata/providers
//
// Prints figures and ratios; asserts nothing.
import { spawn } from "node:child_process"
import { LanguageModel, ModelRegistry } from "@strata/providers"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"

const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 2000)
const RUNS = Number(process.env.BENCH_RUNS ?? 15)
const TTFT_RUNS = Number(process.env.BENCH_TTFT_RUNS ?? 200)

process.env.STRATA_BENCH_KEY = "sk-bench"

const child = spawn(process.execPath, [new URL("./server.mjs", import.meta.url).pathname], {
  env: { ...process.env, BENCH_CHUNKS: String(CHUNKS) },
  stdio: ["ignore", "pipe", "inherit"]
})
const serverUrl = await new Promise((resolve) => child.stdout.once("data", (d) => resolve(String(d).trim())))
const baseUrl = (kind) => (kind === "anthropic" ? serverUrl : `${serverUrl}/v1`)
const url = (kind) => (kind === "anthropic" ? `${serverUrl}/v1/messages` : `${serverUrl}/v1/chat/completions`)

const kinds = ["openai-compatible", "anthropic"]
const config = {
  providers: Object.fromEntries(
    kinds.map((kind) => [kind, { kind, base_url: baseUrl(kind), api_key_env: "STRATA_BENCH_KEY" }])
  ),
  models: kinds.flatMap((kind) =>
    ["bulk", "paced", "short"].map((name) => ({
      id: `${kind}/${name}`,
      provider: kind,
      name,
      context_window: 8192,
      max_output_tokens: 1024
    }))
  )
}
const runtime = ManagedRuntime.make(LanguageModel.layerFetch().pipe(Layer.provide(ModelRegistry.layer(config))))
const lm = await runtime.runPromise(LanguageModel.LanguageModel)

/** The baseline: fetch, decode, split events, JSON.parse, pick the delta text. */
const raw = async (kind, model, onFirst) => {
  const response = await fetch(url(kind), {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer sk-bench", "x-api-key": "sk-bench" },
    body: JSON.stringify({
      model,
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      max_tokens: 1024,
      stream_options: { include_usage: true }
    })
  })
  const reader = response.body.getReader()
  const decoder = new TextDecoder()
  let buffer = ""
  let text = 0
  let deltas = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    buffer += decoder.decode(value, { stream: true })
    let end = buffer.indexOf("\n\n")
    while (end !== -1) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      for (const line of block.split("\n")) {
        if (!line.startsWith("data: ")) continue
        const data = line.slice(6)
        if (data === "[DONE]") continue
        const event = JSON.parse(data)
        const piece = kind === "anthropic" ? event.delta?.text : event.choices?.[0]?.delta?.content
        if (typeof piece === "string" && piece !== "") {
          if (deltas === 0) onFirst?.()
          deltas++
          text += piece.length
        }
      }
      end = buffer.indexOf("\n\n")
    }
  }
  return { deltas, text }
}

// The cheapest idiomatic consumer (a loop per chunk), as the raw side loops per event.
const provider = (kind, model, onFirst) => {
  const acc = { deltas: 0, text: 0 }
  return runtime.runPromise(
    Stream.runForEachChunk(
      lm.stream({ model: `${kind}/${model}`, messages: [{ role: "user", content: "hi" }] }),
      (chunk) =>
        Effect.sync(() => {
          for (const part of chunk) {
            if (part.type === "text_delta") {
              if (acc.deltas === 0) onFirst?.()
              acc.deltas++
              acc.text += part.text.length
            }
          }
        })
    ).pipe(Effect.as(acc))
  )
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const measure = async (f, onFirstAt) => {
  const cpu = process.cpuUsage()
  const start = performance.now()
  let first = 0
  const result = await f(() => {
    first = performance.now() - start
  })
  const wall = performance.now() - start
  const used = process.cpuUsage(cpu)
  void onFirstAt
  return { wall, first, cpu: (used.user + used.system) / 1000, result }
}

/** Runs both sides interleaved (alternating who goes first, so drift hits both alike); medians. */
const compare = async (runs, rawCall, providerCall) => {
  for (let i = 0; i < Math.min(20, runs); i++) {
    await measure(rawCall)
    await measure(providerCall)
  }
  const r = { wall: [], first: [], cpu: [] }
  const p = { wall: [], first: [], cpu: [] }
  for (let i = 0; i < runs; i++) {
    const order =
      i % 2 === 0
        ? [
            [rawCall, r],
            [providerCall, p]
          ]
        : [
            [providerCall, p],
            [rawCall, r]
          ]
    for (const [f, into] of order) {
      const m = await measure(f)
      if (m.result.deltas === 0) throw new Error("no deltas")
      into.wall.push(m.wall)
      into.first.push(m.first)
      into.cpu.push(m.cpu)
    }
  }
  return { r, p }
}

const us = (ms) => ms * 1000
const fix = (n, w = 6) => n.toFixed(2).padStart(w)

console.log(
  `@strata/providers stream bench (node ${process.version}, ${CHUNKS} text deltas per stream, median of ${RUNS})`
)
console.log("per-chunk cost = whole stream / deltas; bulk: the server writes all at once, paced: one event per write")
const summary = []
for (const kind of kinds) {
  for (const model of ["bulk", "paced"]) {
    const { r, p } = await compare(
      RUNS,
      (onFirst) => raw(kind, model, onFirst),
      (onFirst) => provider(kind, model, onFirst)
    )
    const cpuR = us(median(r.cpu)) / CHUNKS
    const cpuP = us(median(p.cpu)) / CHUNKS
    const wallR = us(median(r.wall)) / CHUNKS
    const wallP = us(median(p.wall)) / CHUNKS
    summary.push({ kind, model, cpu: cpuP / cpuR, wall: wallP / wallR })
    console.log(
      `  ${kind.padEnd(18)} ${model.padEnd(6)} cpu  raw ${fix(cpuR)}  provider ${fix(cpuP)} µs/chunk  ratio ${(cpuP / cpuR).toFixed(2)}x (+${(cpuP - cpuR).toFixed(2)} µs)` +
        `   wall  raw ${fix(wallR)}  provider ${fix(wallP)} µs/chunk  ratio ${(wallP / wallR).toFixed(2)}x`
    )
  }
}
console.log(`time to first token (a 3-delta answer, median of ${TTFT_RUNS})`)
for (const kind of kinds) {
  const { r, p } = await compare(
    TTFT_RUNS,
    (onFirst) => raw(kind, "short", onFirst),
    (onFirst) => provider(kind, "short", onFirst)
  )
  const fr = us(median(r.first))
  const fp = us(median(p.first))
  console.log(
    `  ${kind.padEnd(18)} first token  raw ${fr.toFixed(0).padStart(5)} µs  provider ${fp.toFixed(0).padStart(5)} µs  overhead ${(fp - fr).toFixed(0).padStart(5)} µs  ratio ${(fp / fr).toFixed(2)}x` +
      `   cpu per call  raw ${us(median(r.cpu)).toFixed(0).padStart(5)} µs  provider ${us(median(p.cpu)).toFixed(0).padStart(5)} µs`
  )
}

await runtime.dispose()
child.kill("SIGTERM")
