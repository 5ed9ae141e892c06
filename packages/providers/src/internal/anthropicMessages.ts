/**
 * The Anthropic messages wire format (`POST {base}/v1/messages`,
 * `stream: true`): `message_start`, `content_block_start/delta/stop` (text,
 * thinking with its signature, tool_use with `input_json_delta`),
 * `message_delta` (stop reason, cumulative usage), `message_stop`, `ping`,
 * and `error` events.
 * https://docs.anthropic.com/en/docs/build-with-claude/streaming
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type { Model as ProtocolModel } from "@strata/protocol"
import * as Redacted from "effect/Redacted"
import type * as Chat from "../Chat.js"
import type { Call, Decoder, WireFormat } from "../WireFormat.js"
import * as Decoding from "./decoding.js"
import { emitToolCall, finishPart, nonNegInt } from "./decoding.js"
import { classifyErrorType, type ErrorContext, providerError } from "./http.js"
import { SseParser } from "./sse.js"

export const ANTHROPIC_VERSION = "2023-06-01"
const DEFAULT_THINKING_BUDGET = 1024

type Block = Record<string, unknown>

const userBlocks = (content: string | ReadonlyArray<Chat.UserContent>): Array<Block> =>
  typeof content === "string"
    ? [{ type: "text", text: content }]
    : content.map((part) =>
        part.type === "text"
          ? { type: "text", text: part.text }
          : { type: "image", source: { type: "base64", media_type: part.mime_type, data: part.data } }
      )

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Converts messages; consecutive messages of one role merge (tool results become user turns). */
export const messages = (
  input: ReadonlyArray<Chat.Message>
): { system: string | undefined; messages: Array<unknown> } => {
  const system: Array<string> = []
  const out: Array<{ role: "user" | "assistant"; content: Array<Block> }> = []
  const append = (role: "user" | "assistant", blocks: Array<Block>) => {
    if (blocks.length === 0) return
    const last = out[out.length - 1]
    if (last !== undefined && last.role === role) last.content.push(...blocks)
    else out.push({ role, content: blocks })
  }
  for (const m of input) {
    switch (m.role) {
      case "system":
        system.push(m.content)
        break
      case "user":
        append("user", userBlocks(m.content))
        break
      case "assistant": {
        const blocks: Array<Block> = []
        if (m.reasoning !== undefined && m.reasoning_signature !== undefined) {
          blocks.push({ type: "thinking", thinking: m.reasoning, signature: m.reasoning_signature })
        }
        if (m.content !== "") blocks.push({ type: "text", text: m.content })
        for (const c of m.tool_calls ?? []) {
          blocks.push({ type: "tool_use", id: c.id, name: c.name, input: isObject(c.arguments) ? c.arguments : {} })
        }
        append("assistant", blocks)
        break
      }
      case "tool":
        append("user", [
          {
            type: "tool_result",
            tool_use_id: m.tool_call_id,
            content: m.content,
            ...(m.is_error === true ? { is_error: true } : {})
          }
        ])
        break
    }
  }
  return { system: system.length === 0 ? undefined : system.join("\n\n"), messages: out }
}

const toolChoice = (choice: Chat.ToolChoice) => {
  if (typeof choice !== "string") return { type: "tool", name: choice.name }
  switch (choice) {
    case "auto":
      return { type: "auto" }
    case "none":
      return { type: "none" }
    case "required":
      return { type: "any" }
  }
}

export const body = (call: Call): Record<string, unknown> => {
  const o = call.options
  const converted = messages(call.messages)
  let maxTokens = o.max_output_tokens ?? call.model.max_output_tokens
  const out: Record<string, unknown> = {
    model: call.model.name,
    messages: converted.messages,
    stream: true
  }
  if (converted.system !== undefined) out.system = converted.system
  if (call.tools.length > 0) {
    out.tools = call.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.parameters }))
    if (o.tool_choice !== undefined) out.tool_choice = toolChoice(o.tool_choice)
  }
  if (call.model.capabilities.reasoning && o.reasoning !== undefined && o.reasoning !== false) {
    const budget = o.reasoning === true ? DEFAULT_THINKING_BUDGET : o.reasoning.budget_tokens
    // Anthropic requires max_tokens > budget_tokens.
    maxTokens = Math.max(maxTokens, budget + 1)
    out.thinking = { type: "enabled", budget_tokens: budget }
  }
  out.max_tokens = maxTokens
  if (o.temperature !== undefined) out.temperature = o.temperature
  if (o.top_p !== undefined) out.top_p = o.top_p
  if (o.stop !== undefined && o.stop.length > 0) out.stop_sequences = o.stop
  return out
}

const request = (call: Call): HttpClientRequest.HttpClientRequest => {
  const headers: Record<string, string> = {
    ...call.model.provider.headers,
    "content-type": "application/json",
    accept: "text/event-stream",
    "anthropic-version": ANTHROPIC_VERSION
  }
  if (call.apiKey !== undefined) headers["x-api-key"] = Redacted.value(call.apiKey)
  return HttpClientRequest.post(`${call.model.provider.base_url}/v1/messages`).pipe(
    HttpClientRequest.setHeaders(headers),
    HttpClientRequest.bodyUnsafeJson(body(call))
  )
}

const stopReason = (raw: string): ProtocolModel.FinishReason => {
  switch (raw) {
    case "end_turn":
    case "stop_sequence":
      return "stop"
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length"
    case "tool_use":
      return "tool_calls"
    case "refusal":
      return "content_filter"
    default:
      return "unknown"
  }
}

interface OpenBlock {
  readonly type: string
  readonly id: string | undefined
  readonly name: string
  json: string
}

export const decoder = (call: Call): Decoder => {
  const ctx: ErrorContext = {
    model: call.model,
    secret: call.apiKey === undefined ? undefined : Redacted.value(call.apiKey)
  }
  const sse = new SseParser()
  const blocks = new Map<number, OpenBlock>()
  let input = 0
  let cacheRead: number | undefined
  let cacheWrite = 0
  let output = 0
  let sawUsage = false
  let finish: ProtocolModel.FinishReason | undefined
  const state = Decoding.initial()

  const readUsage = (u: unknown) => {
    if (!isObject(u)) return
    sawUsage = true
    input = nonNegInt(u.input_tokens) ?? input
    output = nonNegInt(u.output_tokens) ?? output
    cacheRead = nonNegInt(u.cache_read_input_tokens) ?? cacheRead
    cacheWrite = nonNegInt(u.cache_creation_input_tokens) ?? cacheWrite
  }

  const usage = (): ProtocolModel.Usage | undefined =>
    sawUsage
      ? {
          // Anthropic's input_tokens excludes cache reads and writes; Strata's counts every input token.
          input_tokens: input + (cacheRead ?? 0) + cacheWrite,
          output_tokens: output,
          ...(cacheRead === undefined ? {} : { cached_tokens: cacheRead })
        }
      : undefined

  const complete = () => {
    state.out.push(finishPart(call.model, finish ?? "stop", usage()))
    state.done = true
  }

  const onEvent = (event: { readonly data: string }) => {
    if (state.done || state.failure !== undefined) return
    let data: Record<string, unknown>
    try {
      data = JSON.parse(event.data)
    } catch {
      state.failure = providerError(ctx, "InvalidResponse", { detail: `malformed event: ${event.data.slice(0, 120)}` })
      return
    }
    if (!isObject(data)) {
      state.failure = providerError(ctx, "InvalidResponse", { detail: `unexpected event: ${event.data.slice(0, 120)}` })
      return
    }
    switch (data.type) {
      case "message_start":
        if (isObject(data.message)) readUsage(data.message.usage)
        return
      case "content_block_start": {
        const index = Number(data.index)
        const block = isObject(data.content_block) ? data.content_block : {}
        const type = String(block.type ?? "")
        blocks.set(index, {
          type,
          id: typeof block.id === "string" ? block.id : undefined,
          name: typeof block.name === "string" ? block.name : "",
          json: ""
        })
        if (type === "text" && typeof block.text === "string" && block.text !== "")
          state.out.push({ type: "text_delta", text: block.text })
        if (type === "thinking" && typeof block.thinking === "string" && block.thinking !== "")
          state.out.push({ type: "reasoning_delta", text: block.thinking })
        return
      }
      case "content_block_delta": {
        const delta = isObject(data.delta) ? data.delta : {}
        switch (delta.type) {
          case "text_delta":
            if (typeof delta.text === "string" && delta.text !== "")
              state.out.push({ type: "text_delta", text: delta.text })
            return
          case "thinking_delta":
            if (typeof delta.thinking === "string" && delta.thinking !== "")
              state.out.push({ type: "reasoning_delta", text: delta.thinking })
            return
          case "signature_delta":
            if (typeof delta.signature === "string")
              state.out.push({ type: "reasoning_signature", signature: delta.signature })
            return
          case "input_json_delta": {
            const block = blocks.get(Number(data.index))
            if (block !== undefined && typeof delta.partial_json === "string") block.json += delta.partial_json
            return
          }
          default:
            return
        }
      }
      case "content_block_stop": {
        const index = Number(data.index)
        const block = blocks.get(index)
        blocks.delete(index)
        if (block !== undefined && block.type === "tool_use") emitToolCall(state.out, block.id, block.name, block.json)
        return
      }
      case "message_delta":
        if (isObject(data.delta) && typeof data.delta.stop_reason === "string")
          finish = stopReason(data.delta.stop_reason)
        readUsage(data.usage)
        return
      case "message_stop":
        complete()
        return
      case "error": {
        const error = isObject(data.error) ? data.error : {}
        const message = typeof error.message === "string" ? error.message : "error event"
        state.failure = providerError(ctx, classifyErrorType(String(error.type ?? ""), "", message), {
          detail: message
        })
        return
      }
      default:
        // `ping` and event types added later are ignored.
        return
    }
  }

  return Decoding.decoder(state, {
    feed: (text) => sse.push(text, onEvent),
    flush: () => sse.end(),
    unfinished: () => {
      if (finish === undefined) {
        return providerError(ctx, "Disconnected", { detail: "the stream ended before message_stop" })
      }
      complete()
      return undefined
    }
  })
}

export const wireFormat: WireFormat = { name: "anthropic-messages", request, decoder }
