import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { type ModelConfig, ModelRegistry, type StreamPart, WireFormat } from "@strata/providers"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import { harness, withKey } from "./utils.js"

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8")

const registry = Effect.runSync(
  ModelRegistry.make({
    providers: {
      openai: { kind: "openai-compatible" },
      deepseek: { kind: "deepseek" },
      openrouter: { kind: "openrouter" },
      anthropic: { kind: "anthropic" },
      ollama: { kind: "ollama" }
    },
    models: (["openai", "deepseek", "openrouter", "anthropic", "ollama"] as const).map((p) => ({
      id: p,
      provider: p,
      context_window: 8192,
      max_output_tokens: 1024,
      price_per_mtok: { input: 3, output: 15, cached_input: 0.3 },
      capabilities: { reasoning: true }
    }))
  })
)

const model = (id: string) => registry.models.find((m) => m.id === id)!

const call = (id: string): WireFormat.Call => ({
  model: model(id),
  messages: [{ role: "user", content: "hi" }],
  tools: [],
  options: {},
  apiKey: undefined
})

const decode = (id: string, pieces: ReadonlyArray<string>) => {
  const m = model(id)
  const decoder = WireFormat.forKind(m.provider.kind).decoder(call(id))
  const parts: Array<StreamPart.StreamPart> = []
  for (const piece of pieces) {
    const error = decoder.push(piece, parts)
    if (error !== undefined) return { parts, error }
  }
  return { parts, error: decoder.done() ? undefined : decoder.end(parts) }
}

const withoutGeneratedIds = (parts: ReadonlyArray<StreamPart.StreamPart>) =>
  parts.map((p) => (p.type === "tool_call" && p.id.startsWith("call-") ? { ...p, id: "generated" } : p))

const splitAt = (text: string, cuts: ReadonlyArray<number>): Array<string> => {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b)
  const out: Array<string> = []
  let last = 0
  for (const p of points) {
    out.push(text.slice(last, p))
    last = p
  }
  out.push(text.slice(last))
  return out
}

const cases: ReadonlyArray<{
  readonly name: string
  readonly model: string
  readonly kind: ModelConfig.ProviderKind
  readonly expected: ReadonlyArray<unknown>
}> = [
  {
    name: "openai-chat-tool-calls.sse",
    model: "openai",
    kind: "openai-compatible",
    expected: [
      {
        type: "tool_call",
        id: "call_DdmO9pD3xa9XTPNJ32zg2hcA",
        name: "get_weather",
        arguments: { location: "Paris, France" }
      },
      {
        type: "tool_call",
        id: "call_0bo0ZOOZ8jsYKc53G6HeX3sU",
        name: "get_weather",
        arguments: { location: "Bogotá, Colombia" }
      },
      {
        type: "finish",
        model: "openai",
        reason: "tool_calls",
        usage: { input_tokens: 82, output_tokens: 49, cached_tokens: 0, reasoning_tokens: 0, cost_usd: 0.000981 }
      }
    ]
  },
  {
    name: "deepseek-reasoner.sse",
    model: "deepseek",
    kind: "deepseek",
    expected: [
      { type: "reasoning_delta", text: "9.11 and 9.8: compare" },
      { type: "reasoning_delta", text: " the tenths: 1 < 8." },
      { type: "text_delta", text: "9.8 is" },
      { type: "text_delta", text: " greater." },
      {
        type: "finish",
        model: "deepseek",
        reason: "stop",
        usage: { input_tokens: 18, output_tokens: 96, cached_tokens: 0, reasoning_tokens: 82, cost_usd: 0.001494 }
      }
    ]
  },
  {
    name: "openrouter-reasoning.sse",
    model: "openrouter",
    kind: "openrouter",
    expected: [
      { type: "reasoning_delta", text: "The user greets me." },
      { type: "text_delta", text: "Hello" },
      { type: "text_delta", text: "! How can I help?" },
      {
        type: "finish",
        model: "openrouter",
        reason: "stop",
        usage: { input_tokens: 12, output_tokens: 27, cached_tokens: 0, reasoning_tokens: 19, cost_usd: 0.000441 }
      }
    ]
  },
  {
    name: "anthropic-thinking-tool-use.sse",
    model: "anthropic",
    kind: "anthropic",
    expected: [
      { type: "reasoning_delta", text: "The user wants the weather in San Francisco." },
      { type: "reasoning_delta", text: " I should call get_weather." },
      { type: "reasoning_signature", signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds" },
      { type: "text_delta", text: "Okay, let's check" },
      { type: "text_delta", text: " the weather for San Francisco, CA:" },
      {
        type: "tool_call",
        id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
        name: "get_weather",
        arguments: { location: "San Francisco, CA", unit: "fahrenheit" }
      },
      {
        type: "finish",
        model: "anthropic",
        reason: "tool_calls",
        // 472 uncached + 2048 cache reads.
        usage: { input_tokens: 2520, output_tokens: 89, cached_tokens: 2048, cost_usd: 0.0033654 }
      }
    ]
  },
  {
    name: "ollama-chat-tools.ndjson",
    model: "ollama",
    kind: "ollama",
    expected: [
      { type: "reasoning_delta", text: "The user asks for" },
      { type: "reasoning_delta", text: " the weather in Toronto." },
      {
        type: "tool_call",
        id: "generated",
        name: "get_current_weather",
        arguments: { format: "celsius", location: "Toronto" }
      },
      {
        type: "finish",
        model: "ollama",
        reason: "tool_calls",
        usage: { input_tokens: 180, output_tokens: 68, cost_usd: 0.00156 }
      }
    ]
  }
]

describe("wire formats on recorded transcripts", () => {
  for (const c of cases) {
    it(`${c.name} decodes to the expected parts`, () => {
      const { parts, error } = decode(c.model, [fixture(c.name)])
      expect(error).toBeUndefined()
      expect(withoutGeneratedIds(parts)).toEqual(c.expected)
    })

    it(`${c.name} decodes the same however the body is split (property)`, () => {
      const text = fixture(c.name)
      FastCheck.assert(
        FastCheck.property(FastCheck.array(FastCheck.nat(), { maxLength: 40 }), (cuts) => {
          const { parts, error } = decode(c.model, splitAt(text, cuts))
          expect(error).toBeUndefined()
          expect(withoutGeneratedIds(parts)).toEqual(c.expected)
        }),
        { numRuns: 200 }
      )
    })

    it.scopedLive(`${c.name} replayed by the scripted server streams through LanguageModel`, () =>
      Effect.gen(function* () {
        const text = fixture(c.name)
        const chunks = c.kind === "ollama" ? text.split(/(?<=\n)/) : text.split(/(?<=\n\n)/)
        const { lm } = yield* harness(c.kind, { turns: [{ raw: chunks }] })
        const response = yield* lm.generate({ model: "primary", messages: [{ role: "user", content: "hi" }] })
        const finish = c.expected.at(-1) as StreamPart.Finish
        expect(response.model).toBe("primary")
        expect(response.finish_reason).toBe(finish.reason)
        expect(response.usage.input_tokens).toBe(finish.usage.input_tokens)
        const calls = c.expected.filter(
          (p): p is StreamPart.ToolCall => (p as StreamPart.StreamPart).type === "tool_call"
        )
        expect(response.tool_calls.map((t) => t.arguments)).toEqual(calls.map((t) => t.arguments))
      }).pipe(Effect.withConfigProvider(withKey))
    )
  }

  it("an Anthropic error event fails with its class", () => {
    const { parts, error } = decode("anthropic", [fixture("anthropic-overloaded-error.sse")])
    expect(parts).toEqual([])
    expect(error).toMatchObject({ _tag: "ProviderError", reason: "Overloaded", detail: "Overloaded" })
  })

  it("an OpenRouter in-stream error chunk fails with its class", () => {
    const { error } = decode("openrouter", [
      'data: {"id":"gen-1","object":"chat.completion.chunk","error":{"code":429,"message":"Rate limit exceeded"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}\n\n'
    ])
    expect(error).toMatchObject({ reason: "RateLimited" })
  })
})

describe("requests in each wire format", () => {
  const messages = [
    { role: "system" as const, content: "Be brief." },
    { role: "user" as const, content: "Weather?" },
    {
      role: "assistant" as const,
      content: "",
      reasoning: "call the tool",
      reasoning_signature: "sig",
      tool_calls: [{ id: "call_1", name: "get_weather", arguments: { city: "Oslo" } }]
    },
    { role: "tool" as const, tool_call_id: "call_1", name: "get_weather", content: "-3C", is_error: false },
    { role: "tool" as const, tool_call_id: "call_2", name: "get_weather", content: "boom", is_error: true }
  ]
  const body = (id: string, options = {}) =>
    JSON.parse(
      new TextDecoder().decode(
        (
          WireFormat.forKind(model(id).provider.kind).request({
            ...call(id),
            messages,
            options,
            tools: [{ name: "get_weather", description: "w", parameters: { type: "object" } }]
          }).body as { body: Uint8Array }
        ).body
      )
    )

  it("OpenAI: tool calls as JSON strings, usage requested, no reasoning sent back", () => {
    const b = body("deepseek", { tool_choice: "required", max_output_tokens: 100 })
    expect(b).toMatchObject({ model: "deepseek", stream: true, stream_options: { include_usage: true } })
    expect(b.messages[2]).toEqual({
      role: "assistant",
      content: null,
      tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }]
    })
    expect(JSON.stringify(b.messages)).not.toContain("reasoning")
    expect(b.tool_choice).toBe("required")
    expect(b.max_tokens).toBe(100)
  })

  it("Anthropic: system on top, thinking replayed with its signature, tool results merged into one user turn", () => {
    const b = body("anthropic", { reasoning: { budget_tokens: 2048 }, tool_choice: { name: "get_weather" } })
    expect(b.system).toBe("Be brief.")
    expect(b.thinking).toEqual({ type: "enabled", budget_tokens: 2048 })
    expect(b.max_tokens).toBe(2049)
    expect(b.tool_choice).toEqual({ type: "tool", name: "get_weather" })
    expect(b.messages.map((m: { role: string }) => m.role)).toEqual(["user", "assistant", "user"])
    expect(b.messages[1].content[0]).toEqual({ type: "thinking", thinking: "call the tool", signature: "sig" })
    expect(b.messages[2].content).toEqual([
      { type: "tool_result", tool_use_id: "call_1", content: "-3C" },
      { type: "tool_result", tool_use_id: "call_2", content: "boom", is_error: true }
    ])
  })

  it("Ollama: the configured context window goes out as num_ctx, results carry tool_name", () => {
    const b = body("ollama", { reasoning: true, max_output_tokens: 64 })
    expect(b.options).toEqual({ num_ctx: 8192, num_predict: 64 })
    expect(b.think).toBe(true)
    expect(b.messages[2].tool_calls).toEqual([{ function: { name: "get_weather", arguments: { city: "Oslo" } } }])
    expect(b.messages[3]).toEqual({ role: "tool", content: "-3C", tool_name: "get_weather" })
  })

  it("the output limit goes out from max_output_tokens, in the field each provider reads", () => {
    // No call option: the model's max_output_tokens (1024).
    expect(body("deepseek").max_tokens).toBe(1024)
    expect(body("openrouter").max_tokens).toBe(1024)
    expect(body("openai")).toMatchObject({ max_completion_tokens: 1024 })
    expect(body("openai").max_tokens).toBeUndefined()
    expect(body("openai", { max_output_tokens: 7 }).max_completion_tokens).toBe(7)
    expect(body("anthropic").max_tokens).toBe(1024)
    expect(body("ollama").options.num_predict).toBe(1024)
    // An OpenAI-compatible server elsewhere (vLLM, llama.cpp, LM Studio) reads max_tokens.
    const local = {
      ...model("openai"),
      provider: { ...model("openai").provider, base_url: "http://127.0.0.1:8000/v1" }
    }
    const request = WireFormat.openAiChat.request({ ...call("openai"), model: local })
    const sent = JSON.parse(new TextDecoder().decode((request.body as { body: Uint8Array }).body))
    expect([sent.max_tokens, sent.max_completion_tokens]).toEqual([1024, undefined])
  })

  it("invalid tool arguments go back as the model sent them (OpenAI) or as {} (Anthropic), with is_error", () => {
    const broken = [
      { role: "user" as const, content: "go" },
      {
        role: "assistant" as const,
        content: "",
        tool_calls: [{ id: "call_9", name: "get_weather", arguments: {}, raw_arguments: '{"city": "Oslo"' }]
      },
      { role: "tool" as const, tool_call_id: "call_9", content: "Error: not valid JSON", is_error: true }
    ]
    const sent = (id: string) =>
      JSON.parse(
        new TextDecoder().decode(
          (
            WireFormat.forKind(model(id).provider.kind).request({ ...call(id), messages: broken }).body as {
              body: Uint8Array
            }
          ).body
        )
      )
    expect(sent("deepseek").messages[1].tool_calls[0].function.arguments).toBe('{"city": "Oslo"')
    const anthropic = sent("anthropic")
    expect(anthropic.messages[1].content).toEqual([{ type: "tool_use", id: "call_9", name: "get_weather", input: {} }])
    expect(anthropic.messages[2].content).toEqual([
      { type: "tool_result", tool_use_id: "call_9", content: "Error: not valid JSON", is_error: true }
    ])
  })
})
