/**
 * Scripted model turns and their rendering in the providers' wire formats:
 * OpenAI chat-completions SSE (with the DeepSeek and OpenRouter dialects),
 * Anthropic messages SSE, and Ollama's native NDJSON. Portable (no Node
 * APIs): the HTTP server that serves them lives in
 * `@strata/demo/node/ScriptedModelServer`.
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
import { renderAnthropic, renderOllama, renderOpenAi, sse } from "./internal/wire.js"

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
