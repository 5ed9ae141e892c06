// Per-chunk overhead and time-to-first-token overhead of the provider stream,
// against a raw `fetch` + hand-written SSE parse of the same local server
// stream, in the same process and run. Runs on the built output:
//
//   npm run build -w @strata/testkit -w @strata/providers && npm run bench -w @strata/providers
//
// Prints figures and ratios; asserts nothing.
import { LanguageModel, ModelRegistry } from "@strata/providers"
import * as Server from "@strata/testkit/node/ScriptedModelServer"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"

const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 2000)
const RUNS = Number(process.env.BENCH_RUNS ?? 15)
const TTFT_RUNS = Number(process.env.BENCH_TTFT_RUNS ?? 200)

process.env.STRATA_BENCH_KEY = "sk-bench"

const server = await Server.start({
  turns: [
    { text: "x".repeat(CHUNKS * 4), chunkSize: 4, repeat: true, match: (r) => r.model === "bulk" },
    { text: "x".repeat(CHUNKS * 4), chunkSize: 4, repeat: true, paced: true, match: (r) => r.model === "paced" },
    { text: "hello world", chunkSize: 4, repeat: true, match: (r) => r.model === "short" }
  ]
})

const kinds = ["openai-compatible", "anthropic"]
const config = {
  providers: Object.fromEntries(
    kinds.map((kind) => [kind, { kind, base_url: server.baseUrl(kind), api_key_env: "STRATA_BENCH_KEY" }])
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

const url = (kind) =>
  kind === "anthropic" ? `${server.baseUrl(kind)}/v1/messages` : `${server.baseUrl(kind)}/chat/completions`

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
    let end
    while ((end = buffer.indexOf("\n\n")) !== -1) {
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
    }
  }
  return { deltas, text }
}

const provider = (kind, model, onFirst) =>
  runtime.runPromise(
    Stream.runFold(
      lm.stream({ model: `${kind}/${model}`, messages: [{ role: "user", content: "hi" }] }),
      { deltas: 0, text: 0 },
      (acc, part) => {
        if (part.type === "text_delta") {
          if (acc.deltas === 0) onFirst?.()
          acc.deltas++
          acc.text += part.text.length
        }
        return acc
      }
    )
  )

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

const time = async (f) => {
  const start = performance.now()
  const result = await f()
  return { ms: performance.now() - start, result }
}

const perChunk = async (kind, model) => {
  for (let i = 0; i < 3; i++) {
    await raw(kind, model)
    await provider(kind, model)
  }
  const rawMs = []
  const provMs = []
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, alternating who goes first, so drift hits both alike.
    const pair = i % 2 === 0 ? [raw, provider] : [provider, raw]
    for (const f of pair) {
      const { ms, result } = await time(() => f(kind, model))
      if (result.deltas !== CHUNKS) throw new Error(`${f.name}: expected ${CHUNKS} deltas, got ${result.deltas}`)
      ;(f === raw ? rawMs : provMs).push(ms)
    }
  }
  const r = (median(rawMs) * 1000) / CHUNKS
  const p = (median(provMs) * 1000) / CHUNKS
  console.log(
    `  ${kind.padEnd(18)} ${model.padEnd(6)} raw fetch+SSE ${r.toFixed(2).padStart(6)} µs/chunk   provider stream ${p
      .toFixed(2)
      .padStart(6)} µs/chunk   ratio ${(p / r).toFixed(2)}x`
  )
  return p / r
}

const ttft = async (kind) => {
  const measure = async (f) => {
    let first = 0
    const start = performance.now()
    await f(kind, "short", () => {
      first = performance.now() - start
    })
    return first
  }
  for (let i = 0; i < 20; i++) {
    await measure(raw)
    await measure(provider)
  }
  const rawMs = []
  const provMs = []
  for (let i = 0; i < TTFT_RUNS; i++) {
    rawMs.push(await measure(raw))
    provMs.push(await measure(provider))
  }
  const r = median(rawMs)
  const p = median(provMs)
  console.log(
    `  ${kind.padEnd(18)} raw ${(r * 1000).toFixed(0).padStart(5)} µs   provider ${(p * 1000)
      .toFixed(0)
      .padStart(5)} µs   overhead ${((p - r) * 1000).toFixed(0).padStart(4)} µs   ratio ${(p / r).toFixed(2)}x`
  )
}

console.log(
  `@strata/providers stream bench (node ${process.version}, ${CHUNKS} text deltas per stream, median of ${RUNS})`
)
console.log("per-chunk cost, whole stream / deltas (bulk: server writes all at once; paced: one chunk per write)")
for (const kind of kinds) {
  await perChunk(kind, "bulk")
  await perChunk(kind, "paced")
}
console.log(`time to first token (3-delta answer, median of ${TTFT_RUNS})`)
for (const kind of kinds) await ttft(kind)

await runtime.dispose()
await server.close()
