/**
 * @internal
 *
 * The scripted turns in each provider's wire format: OpenAI chat-completions
 * SSE (and its DeepSeek and OpenRouter dialects), Anthropic messages SSE and
 * Ollama's NDJSON. `ScriptedModel.render` picks one.
 */
import type { Chunk, RecordedRequest, ScriptedToolCall, Turn } from "../ScriptedModel.js"

const split = (text: string, size: number): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out
}

const argumentsText = (call: ScriptedToolCall): string => call.rawArguments ?? JSON.stringify(call.arguments ?? {})

const finishOf = (turn: Turn): "stop" | "length" | "tool_calls" =>
  turn.finish ?? ((turn.toolCalls?.length ?? 0) > 0 ? "tool_calls" : "stop")

export const sse = (data: unknown, event?: string): string =>
  `${event === undefined ? "" : `event: ${event}\n`}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`

const CREATED = 1_735_689_600

export const renderOpenAi = (
  wire: "openai" | "deepseek" | "openrouter",
  turn: Turn,
  request: RecordedRequest,
  seq: number
) => {
  const size = turn.chunkSize ?? 8
  const id = wire === "openrouter" ? `gen-${CREATED}-${seq}` : `chatcmpl-${seq}`
  const base = {
    id,
    object: "chat.completion.chunk",
    created: CREATED,
    model: request.model,
    ...(wire === "openai" ? { system_fingerprint: "fp_testkit" } : {}),
    ...(wire === "openrouter" ? { provider: "Testkit" } : {})
  }
  const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) =>
    sse({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...extra
    })
  const out: Array<Chunk> = []
  if (wire === "openrouter") out.push({ data: ": OPENROUTER PROCESSING\n\n", content: false })
  out.push({
    data: chunk(wire === "deepseek" ? { role: "assistant", content: null } : { role: "assistant", content: "" }),
    content: false
  })
  for (const piece of split(turn.reasoning ?? "", size)) {
    const delta =
      wire === "openrouter"
        ? { role: "assistant", content: "", reasoning: piece }
        : { content: null, reasoning_content: piece }
    out.push({ data: chunk(delta), content: true })
  }
  for (const piece of split(turn.text ?? "", size)) out.push({ data: chunk({ content: piece }), content: true })
  for (const [index, call] of (turn.toolCalls ?? []).entries()) {
    out.push({
      data: chunk({
        tool_calls: [
          {
            index,
            id: call.id ?? `call_${seq}_${index}`,
            type: "function",
            function: { name: call.name, arguments: "" }
          }
        ]
      }),
      content: true
    })
    for (const piece of split(argumentsText(call), size)) {
      out.push({ data: chunk({ tool_calls: [{ index, function: { arguments: piece } }] }), content: true })
    }
  }
  const u = turn.usage
  const usage =
    u === undefined
      ? undefined
      : wire === "deepseek"
        ? {
            prompt_tokens: u.input_tokens,
            completion_tokens: u.output_tokens,
            total_tokens: u.input_tokens + u.output_tokens,
            prompt_tokens_details: { cached_tokens: u.cached_tokens ?? 0 },
            ...(u.reasoning_tokens === undefined
              ? {}
              : { completion_tokens_details: { reasoning_tokens: u.reasoning_tokens } }),
            prompt_cache_hit_tokens: u.cached_tokens ?? 0,
            prompt_cache_miss_tokens: u.input_tokens - (u.cached_tokens ?? 0)
          }
        : {
            prompt_tokens: u.input_tokens,
            completion_tokens: u.output_tokens,
            total_tokens: u.input_tokens + u.output_tokens,
            prompt_tokens_details: { cached_tokens: u.cached_tokens ?? 0 },
            completion_tokens_details: { reasoning_tokens: u.reasoning_tokens ?? 0 }
          }
  // DeepSeek puts usage on the finish chunk; OpenAI and OpenRouter send a last chunk with empty choices.
  if (wire === "deepseek") {
    out.push({ data: chunk({ content: "" }, finishOf(turn), usage === undefined ? {} : { usage }), content: false })
  } else {
    out.push({ data: chunk({}, finishOf(turn)), content: false })
    const wantsUsage = request.body?.stream_options?.include_usage === true
    if (usage !== undefined && wantsUsage) out.push({ data: sse({ ...base, choices: [], usage }), content: false })
  }
  out.push({ data: "data: [DONE]\n\n", content: false })
  return out
}

export const renderAnthropic = (turn: Turn, request: RecordedRequest, seq: number): Array<Chunk> => {
  const size = turn.chunkSize ?? 8
  const u = turn.usage
  const cached = u?.cached_tokens ?? 0
  const out: Array<Chunk> = []
  const event = (type: string, data: Record<string, unknown>, content = false) =>
    out.push({ data: sse({ type, ...data }, type), content })
  event("message_start", {
    message: {
      id: `msg_testkit_${seq}`,
      type: "message",
      role: "assistant",
      content: [],
      model: request.model,
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: (u?.input_tokens ?? 0) - cached,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: cached,
        output_tokens: 1
      }
    }
  })
  event("ping", {})
  let index = 0
  if (turn.reasoning !== undefined && turn.reasoning !== "") {
    event("content_block_start", { index, content_block: { type: "thinking", thinking: "", signature: "" } })
    for (const piece of split(turn.reasoning, size)) {
      event("content_block_delta", { index, delta: { type: "thinking_delta", thinking: piece } }, true)
    }
    event("content_block_delta", { index, delta: { type: "signature_delta", signature: `sig-testkit-${seq}` } })
    event("content_block_stop", { index })
    index++
  }
  if (turn.text !== undefined && turn.text !== "") {
    event("content_block_start", { index, content_block: { type: "text", text: "" } })
    for (const piece of split(turn.text, size)) {
      event("content_block_delta", { index, delta: { type: "text_delta", text: piece } }, true)
    }
    event("content_block_stop", { index })
    index++
  }
  for (const [i, call] of (turn.toolCalls ?? []).entries()) {
    event("content_block_start", {
      index,
      content_block: { type: "tool_use", id: call.id ?? `toolu_testkit_${seq}_${i}`, name: call.name, input: {} }
    })
    event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: "" } }, true)
    for (const piece of split(argumentsText(call), size)) {
      event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: piece } }, true)
    }
    event("content_block_stop", { index })
    index++
  }
  const finish = finishOf(turn)
  event("message_delta", {
    delta: {
      stop_reason: finish === "tool_calls" ? "tool_use" : finish === "length" ? "max_tokens" : "end_turn",
      stop_sequence: null
    },
    usage: { output_tokens: u?.output_tokens ?? 0 }
  })
  event("message_stop", {})
  return out
}

export const renderOllama = (turn: Turn, request: RecordedRequest): Array<Chunk> => {
  const size = turn.chunkSize ?? 8
  const out: Array<Chunk> = []
  const createdAt = "2025-01-01T00:00:00.000000Z"
  const line = (message: Record<string, unknown>, content = true, extra: Record<string, unknown> = {}) =>
    out.push({
      data: `${JSON.stringify({ model: request.model, created_at: createdAt, message: { role: "assistant", content: "", ...message }, done: false, ...extra })}\n`,
      content
    })
  for (const piece of split(turn.reasoning ?? "", size)) line({ thinking: piece })
  for (const piece of split(turn.text ?? "", size)) line({ content: piece })
  const calls = turn.toolCalls ?? []
  if (calls.length > 0) {
    line({
      tool_calls: calls.map((c) => ({ function: { name: c.name, arguments: c.arguments ?? {} } }))
    })
  }
  const u = turn.usage
  const finish = finishOf(turn)
  out.push({
    data: `${JSON.stringify({
      model: request.model,
      created_at: createdAt,
      message: { role: "assistant", content: "" },
      done_reason: finish === "length" ? "length" : "stop",
      done: true,
      total_duration: 1_000_000,
      load_duration: 100_000,
      prompt_eval_count: u?.input_tokens ?? 0,
      prompt_eval_duration: 100_000,
      eval_count: u?.output_tokens ?? 0,
      eval_duration: 800_000
    })}\n`,
    content: false
  })
  return out
}
