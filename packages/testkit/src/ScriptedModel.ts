/**
 * Scripted model turns and their rendering in the providers' wire formats:
 * OpenAI chat-completions SSE (with the DeepSeek and OpenRouter dialects),
 * Anthropic messages SSE, and Ollama's native NDJSON. Portable (no Node
 * APIs): the HTTP server that serves them lives in
 * `@strata/testkit/node/ScriptedModelServer`.
 *
 * A script is a list of turns; each request takes the first remaining turn
 * whose `match` accepts it (or that has none):
 *
 * ```ts
 * const turns = [
 *   Turn.toolCalls([{ name: "read_file", arguments: { path: "a.txt" } }]),
 *   Turn.text("The file says hello.", { match: lastMessageIs("tool") })
 * ]
 * ```
 *
 * @since 0.1.0
 */

/**
 * The wire dialects the scripted server speaks.
 *
 * @since 0.1.0
 * @category models
 */
export type Wire = "openai" | "deepseek" | "openrouter" | "anthropic" | "ollama"

/**
 * A tool call the scripted model makes. `rawArguments` is sent verbatim
 * instead of `JSON.stringify(arguments)` (to script invalid JSON; the Ollama
 * wire carries arguments as objects and ignores it).
 *
 * @since 0.1.0
 * @category models
 */
export interface ScriptedToolCall {
  readonly id?: string | undefined
  readonly name: string
  readonly arguments?: unknown
  readonly rawArguments?: string | undefined
}

/**
 * Token usage the scripted model reports. `input_tokens` counts every input
 * token, `cached_tokens` those served from cache (rendered per wire: OpenAI
 * `prompt_tokens_details.cached_tokens`, DeepSeek `prompt_cache_hit_tokens`,
 * Anthropic `cache_read_input_tokens` with `input_tokens` excluding them).
 *
 * @since 0.1.0
 * @category models
 */
export interface ScriptedUsage {
  readonly input_tokens: number
  readonly output_tokens: number
  readonly cached_tokens?: number | undefined
  readonly reasoning_tokens?: number | undefined
}

/**
 * A fault, injected into a turn.
 *
 * - `hang`: never answer (no status line, no headers) until the client
 *   goes away.
 * - `status`: answer with this HTTP status and the wire's error body for
 *   `kind`, with `retry-after` (seconds) / `retry-after-ms` headers if given.
 * - `disconnect`: destroy the socket after `afterDeltas` content chunks.
 * - `truncate`: end the body cleanly after `afterDeltas` content chunks,
 *   without the terminal event.
 * - `malformed`: send a chunk that is not JSON after `afterDeltas` content
 *   chunks, then end.
 * - `stall`: stop sending after `afterDeltas` content chunks and keep the
 *   connection open.
 * - `slowFirstToken`: wait `delayMs` before the first content chunk, sending
 *   the wire's keep-alives (SSE comments, Anthropic `ping`) meanwhile.
 * - `streamError`: an in-stream error (Anthropic `error` event, an OpenAI
 *   chunk with `error`, an Ollama `{"error": ...}` line) after `afterDeltas`.
 *
 * @since 0.1.0
 * @category models
 */
export type Fault =
  | { readonly type: "hang" }
  | {
      readonly type: "status"
      readonly status: number
      readonly kind?: ErrorKind | undefined
      readonly retryAfter?: number | undefined
      readonly retryAfterMs?: number | undefined
    }
  | { readonly type: "disconnect"; readonly afterDeltas: number }
  | { readonly type: "truncate"; readonly afterDeltas: number }
  | { readonly type: "malformed"; readonly afterDeltas: number }
  | { readonly type: "stall"; readonly afterDeltas: number }
  | { readonly type: "slowFirstToken"; readonly delayMs: number }
  | { readonly type: "streamError"; readonly afterDeltas: number; readonly kind: ErrorKind }

/**
 * The kinds of provider error the server can render.
 *
 * @since 0.1.0
 * @category models
 */
export type ErrorKind = "rate_limit" | "overloaded" | "server" | "context_too_long" | "unauthorized" | "bad_request"

/**
 * One scripted answer.
 *
 * @since 0.1.0
 * @category models
 */
export interface Turn {
  readonly reasoning?: string | undefined
  readonly text?: string | undefined
  readonly toolCalls?: ReadonlyArray<ScriptedToolCall> | undefined
  readonly usage?: ScriptedUsage | undefined
  /** Defaults to `tool_calls` when there are tool calls, else `stop`. */
  readonly finish?: "stop" | "length" | "tool_calls" | undefined
  /** Characters per text/reasoning/argument delta (default 8). */
  readonly chunkSize?: number | undefined
  /** Pause between chunks, in ms (default: none, all chunks written at once). */
  readonly delayMs?: number | undefined
  /**
   * Write each chunk in its own turn of the event loop, after the previous
   * one was handed to the socket (so the client sees about one chunk per
   * read, as with a real provider), without a fixed delay.
   */
  readonly paced?: boolean | undefined
  readonly fault?: Fault | undefined
  /** Only requests this accepts take the turn. */
  readonly match?: ((request: RecordedRequest) => boolean) | undefined
  /** Keep the turn in the script after use. */
  readonly repeat?: boolean | undefined
  /** Replay these body chunks verbatim (a recorded transcript) instead of rendering. */
  readonly raw?: ReadonlyArray<string> | undefined
  /**
   * The answer starts once this resolves (nothing is written before): a test
   * holds the model until something outside happened (a server restarted).
   */
  readonly waitFor?: (() => Promise<unknown>) | undefined
}

/**
 * A message of a received request, normalized across wire formats.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedMessage {
  readonly role: "system" | "user" | "assistant" | "tool"
  readonly content: string
  readonly reasoning?: string | undefined
  readonly tool_calls?: ReadonlyArray<{
    readonly id?: string | undefined
    readonly name: string
    readonly arguments: unknown
  }>
  readonly tool_call_id?: string | undefined
  readonly name?: string | undefined
}

/**
 * A request the server received.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedRequest {
  readonly index: number
  readonly wire: Wire
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: any
  readonly model: string
  readonly messages: ReadonlyArray<RecordedMessage>
  readonly tools: ReadonlyArray<string>
}

/**
 * Turn constructors.
 *
 * @since 0.1.0
 * @category constructors
 */
export const Turn = {
  text: (text: string, options: Omit<Turn, "text"> = {}): Turn => ({ ...options, text }),
  toolCalls: (toolCalls: ReadonlyArray<ScriptedToolCall>, options: Omit<Turn, "toolCalls"> = {}): Turn => ({
    ...options,
    toolCalls
  }),
  fault: (fault: Fault, options: Omit<Turn, "fault"> = {}): Turn => ({ ...options, fault })
}

/**
 * Fault constructors.
 *
 * @since 0.1.0
 * @category constructors
 */
export const Fault = {
  hang: (): Fault => ({ type: "hang" }),
  rateLimited: (options: { readonly retryAfter?: number; readonly retryAfterMs?: number } = {}): Fault => ({
    type: "status",
    status: 429,
    kind: "rate_limit",
    ...options
  }),
  overloaded: (status = 529): Fault => ({ type: "status", status, kind: "overloaded" }),
  serverError: (status = 500): Fault => ({ type: "status", status, kind: "server" }),
  contextTooLong: (): Fault => ({ type: "status", status: 400, kind: "context_too_long" }),
  unauthorized: (): Fault => ({ type: "status", status: 401, kind: "unauthorized" }),
  disconnect: (afterDeltas: number): Fault => ({ type: "disconnect", afterDeltas }),
  truncate: (afterDeltas: number): Fault => ({ type: "truncate", afterDeltas }),
  malformed: (afterDeltas: number): Fault => ({ type: "malformed", afterDeltas }),
  stall: (afterDeltas: number): Fault => ({ type: "stall", afterDeltas }),
  slowFirstToken: (delayMs: number): Fault => ({ type: "slowFirstToken", delayMs }),
  streamError: (afterDeltas: number, kind: ErrorKind = "overloaded"): Fault => ({
    type: "streamError",
    afterDeltas,
    kind
  })
}

/**
 * Matches requests whose last message has this role (`"tool"`: the model is
 * being given tool results).
 *
 * @since 0.1.0
 * @category matchers
 */
export const lastMessageIs =
  (role: RecordedMessage["role"]) =>
  (request: RecordedRequest): boolean =>
    request.messages[request.messages.length - 1]?.role === role

/**
 * Matches requests whose last user message contains `text`.
 *
 * @since 0.1.0
 * @category matchers
 */
export const lastUserMessageIncludes =
  (text: string) =>
  (request: RecordedRequest): boolean =>
    [...request.messages]
      .reverse()
      .find((m) => m.role === "user")
      ?.content.includes(text) ?? false

/**
 * Matches requests for this model name.
 *
 * @since 0.1.0
 * @category matchers
 */
export const forModel =
  (model: string) =>
  (request: RecordedRequest): boolean =>
    request.model === model

/**
 * A responder for demos: answers with the last user message, echoed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const echo = (request: RecordedRequest): Turn => {
  const last = [...request.messages].reverse().find((m) => m.role === "user")
  return Turn.text(`You said: ${last?.content ?? ""}`, { usage: { input_tokens: 10, output_tokens: 5 } })
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

/**
 * One chunk of a rendered body. `content` marks chunks that carry model
 * output (text, reasoning, tool-call deltas): faults count these.
 *
 * @since 0.1.0
 * @category models
 */
export interface Chunk {
  readonly data: string
  readonly content: boolean
}

const split = (text: string, size: number): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out
}

const argumentsText = (call: ScriptedToolCall): string => call.rawArguments ?? JSON.stringify(call.arguments ?? {})

const finishOf = (turn: Turn): "stop" | "length" | "tool_calls" =>
  turn.finish ?? ((turn.toolCalls?.length ?? 0) > 0 ? "tool_calls" : "stop")

const sse = (data: unknown, event?: string): string =>
  `${event === undefined ? "" : `event: ${event}\n`}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`

const CREATED = 1_735_689_600

const renderOpenAi = (
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

const renderAnthropic = (turn: Turn, request: RecordedRequest, seq: number): Array<Chunk> => {
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

const renderOllama = (turn: Turn, request: RecordedRequest): Array<Chunk> => {
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

/**
 * Renders a turn as the body chunks of `wire`.
 *
 * @since 0.1.0
 * @category rendering
 */
export const render = (wire: Wire, turn: Turn, request: RecordedRequest, seq = request.index): ReadonlyArray<Chunk> => {
  if (turn.raw !== undefined) return turn.raw.map((data) => ({ data, content: true }))
  switch (wire) {
    case "anthropic":
      return renderAnthropic(turn, request, seq)
    case "ollama":
      return renderOllama(turn, request)
    default:
      return renderOpenAi(wire, turn, request, seq)
  }
}

/**
 * The in-stream error chunk of `wire` for `kind`.
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderStreamError = (wire: Wire, kind: ErrorKind): string => {
  const { message, type, code } = errorText(wire, kind, undefined)
  switch (wire) {
    case "anthropic":
      return sse({ type: "error", error: { type, message } }, "error")
    case "ollama":
      return `${JSON.stringify({ error: message })}\n`
    default:
      return sse({ error: { message, type, code }, choices: [{ index: 0, delta: {}, finish_reason: "error" }] })
  }
}

/**
 * A chunk that is not valid for `wire` (truncated JSON).
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderMalformed = (wire: Wire): string =>
  wire === "ollama" ? `{"message":{"role":"assistant","content":"oo\n` : `data: {"choices":[{"delta":{"content":"oo\n\n`

const errorText = (
  wire: Wire,
  kind: ErrorKind,
  presentedKey: string | undefined
): { message: string; type: string; code: string | null } => {
  const anthropic = wire === "anthropic"
  switch (kind) {
    case "rate_limit":
      return anthropic
        ? {
            message: "Number of request tokens has exceeded your per-minute rate limit",
            type: "rate_limit_error",
            code: null
          }
        : { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded" }
    case "overloaded":
      return anthropic
        ? { message: "Overloaded", type: "overloaded_error", code: null }
        : { message: "The server is overloaded, please try again later.", type: "server_error", code: "overloaded" }
    case "server":
      return anthropic
        ? { message: "Internal server error", type: "api_error", code: null }
        : { message: "The server had an error while processing your request.", type: "server_error", code: null }
    case "context_too_long":
      return anthropic
        ? { message: "prompt is too long: 208310 tokens > 200000 maximum", type: "invalid_request_error", code: null }
        : {
            message:
              "This model's maximum context length is 65536 tokens. However, you requested 70321 tokens (70321 in the messages, 0 in the completion). Please reduce the length of the messages or completion.",
            type: "invalid_request_error",
            code: "context_length_exceeded"
          }
    case "unauthorized":
      // Echoes the presented key in full (real providers echo a masked one): the client must scrub it.
      return anthropic
        ? { message: `invalid x-api-key: ${presentedKey ?? ""}`, type: "authentication_error", code: null }
        : {
            message: `Incorrect API key provided: ${presentedKey ?? ""}. You can find your API key in your account settings.`,
            type: "invalid_request_error",
            code: "invalid_api_key"
          }
    case "bad_request":
      return { message: "Invalid request", type: "invalid_request_error", code: null }
  }
}

/**
 * The error body of `wire` for an HTTP error of `kind`.
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderErrorBody = (wire: Wire, kind: ErrorKind, presentedKey?: string): string => {
  const { message, type, code } = errorText(wire, kind, presentedKey)
  switch (wire) {
    case "anthropic":
      return JSON.stringify({ type: "error", error: { type, message } })
    case "ollama":
      return JSON.stringify({ error: message })
    default:
      return JSON.stringify({ error: { message, type, param: null, code } })
  }
}

/**
 * The error kind an HTTP status stands for, by default.
 *
 * @since 0.1.0
 * @category rendering
 */
export const kindOfStatus = (status: number): ErrorKind =>
  status === 429
    ? "rate_limit"
    : status === 529 || status === 503
      ? "overloaded"
      : status === 401 || status === 403
        ? "unauthorized"
        : status >= 500
          ? "server"
          : "bad_request"

// ---------------------------------------------------------------------------
// Request normalization
// ---------------------------------------------------------------------------

const textOf = (content: unknown): string => {
  if (typeof content === "string") return content
  if (Array.isArray(content)) {
    return content
      .map((p) => (typeof p === "object" && p !== null && typeof p.text === "string" ? p.text : ""))
      .join("")
  }
  return ""
}

const parseMaybe = (text: unknown): unknown => {
  if (typeof text !== "string") return text
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/**
 * Normalizes the messages and tool names of a request body of `wire`.
 *
 * @since 0.1.0
 * @category normalization
 */
export const normalize = (
  wire: Wire,
  body: any
): { model: string; messages: Array<RecordedMessage>; tools: Array<string> } => {
  const model = typeof body?.model === "string" ? body.model : ""
  const messages: Array<RecordedMessage> = []
  const raw: Array<any> = Array.isArray(body?.messages) ? body.messages : []
  if (wire === "anthropic") {
    const system = body?.system
    if (system !== undefined) messages.push({ role: "system", content: textOf(system) })
    for (const m of raw) {
      if (typeof m.content === "string") {
        messages.push({ role: m.role, content: m.content })
        continue
      }
      const blocks: Array<any> = Array.isArray(m.content) ? m.content : []
      const text = blocks
        .filter((b) => b.type === "text")
        .map((b) => b.text)
        .join("")
      const thinking = blocks.find((b) => b.type === "thinking")?.thinking
      const calls = blocks
        .filter((b) => b.type === "tool_use")
        .map((b) => ({ id: b.id, name: b.name, arguments: b.input }))
      const results = blocks.filter((b) => b.type === "tool_result")
      for (const r of results) messages.push({ role: "tool", tool_call_id: r.tool_use_id, content: textOf(r.content) })
      if (text !== "" || calls.length > 0 || results.length === 0) {
        messages.push({
          role: m.role,
          content: text,
          ...(thinking === undefined ? {} : { reasoning: thinking }),
          ...(calls.length === 0 ? {} : { tool_calls: calls })
        })
      }
    }
    const tools = Array.isArray(body?.tools) ? body.tools.map((t: any) => String(t.name)) : []
    return { model, messages, tools }
  }
  for (const m of raw) {
    const calls: Array<any> = Array.isArray(m.tool_calls) ? m.tool_calls : []
    messages.push({
      role: m.role,
      content: textOf(m.content),
      ...(typeof m.thinking === "string" ? { reasoning: m.thinking } : {}),
      ...(calls.length === 0
        ? {}
        : {
            tool_calls: calls.map((c) => ({
              ...(typeof c.id === "string" ? { id: c.id } : {}),
              name: String(c.function?.name ?? ""),
              arguments: parseMaybe(c.function?.arguments)
            }))
          }),
      ...(typeof m.tool_call_id === "string" ? { tool_call_id: m.tool_call_id } : {}),
      ...(typeof m.tool_name === "string" ? { name: m.tool_name } : {})
    })
  }
  const tools = Array.isArray(body?.tools) ? body.tools.map((t: any) => String(t.function?.name ?? t.name)) : []
  return { model, messages, tools }
}

/**
 * What a real provider API would reject (HTTP 400) in a request's
 * messages: an assistant tool call without exactly one result placed after
 * it and before the next user or assistant message, or a tool result for a
 * call that is not open. Empty when the request is valid.
 *
 * @since 0.2.0
 * @category normalization
 */
export const toolPairingProblems = (messages: ReadonlyArray<RecordedMessage>): Array<string> => {
  const problems: Array<string> = []
  let open = new Set<string>()
  const answered = new Set<string>()
  messages.forEach((m, i) => {
    if (m.role === "tool") {
      const id = m.tool_call_id ?? ""
      if (answered.has(id)) problems.push(`messages[${i}]: a second result for tool call ${id}`)
      else if (!open.has(id)) problems.push(`messages[${i}]: a result for ${id}, which is not an open tool call`)
      open.delete(id)
      answered.add(id)
      return
    }
    if (m.role === "user" || m.role === "assistant") {
      for (const id of open) problems.push(`messages[${i}]: ${m.role} message before the result of tool call ${id}`)
      open = new Set()
      for (const c of m.tool_calls ?? []) open.add(c.id ?? "")
    }
  })
  for (const id of open) problems.push(`tool call ${id} has no result`)
  return problems
}
