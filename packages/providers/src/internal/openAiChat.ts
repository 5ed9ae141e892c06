/**
 * The OpenAI chat-completions wire format (`POST {base}/chat/completions`,
 * `stream: true`), spoken by OpenAI-compatible servers, DeepSeek and
 * OpenRouter. Reasoning arrives as `delta.reasoning_content` (DeepSeek,
 * vLLM) or `delta.reasoning` (OpenRouter, Ollama /v1, LM Studio).
 * https://platform.openai.com/docs/api-reference/chat-streaming
 * https://api-docs.deepseek.com/api/create-chat-completion
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

const userContent = (content: string | ReadonlyArray<Chat.UserContent>) =>
  typeof content === "string"
    ? content
    : content.map((part) =>
        part.type === "text"
          ? { type: "text", text: part.text }
          : { type: "image_url", image_url: { url: `data:${part.mime_type};base64,${part.data}` } }
      )

export const messages = (input: ReadonlyArray<Chat.Message>): Array<unknown> =>
  input.map((m) => {
    switch (m.role) {
      case "system":
        return { role: "system", content: m.content }
      case "user":
        return { role: "user", content: userContent(m.content) }
      case "assistant": {
        const calls = m.tool_calls ?? []
        return calls.length === 0
          ? { role: "assistant", content: m.content }
          : {
              role: "assistant",
              content: m.content === "" ? null : m.content,
              tool_calls: calls.map((c) => ({
                id: c.id,
                type: "function",
                // Arguments that were not valid JSON go back as the model sent them.
                function: { name: c.name, arguments: c.raw_arguments ?? JSON.stringify(c.arguments) }
              }))
            }
      }
      default:
        return { role: "tool", tool_call_id: m.tool_call_id, content: m.content }
    }
  })

const toolChoice = (choice: Chat.ToolChoice) =>
  typeof choice === "string" ? choice : { type: "function", function: { name: choice.name } }

/**
 * The field the output limit goes in: OpenAI's own API wants
 * `max_completion_tokens` (`max_tokens` is deprecated there and refused by
 * its reasoning models); DeepSeek, OpenRouter and the OpenAI-compatible
 * servers (vLLM, llama.cpp, LM Studio, Ollama's /v1) read `max_tokens`.
 */
export const maxTokensField = (call: Call): "max_tokens" | "max_completion_tokens" => {
  if (call.model.provider.kind !== "openai-compatible") return "max_tokens"
  const host = /^https?:\/\/([^/:]+)/i.exec(call.model.provider.base_url)?.[1]?.toLowerCase() ?? ""
  return host === "api.openai.com" || host.endsWith(".openai.azure.com") ? "max_completion_tokens" : "max_tokens"
}

export const body = (call: Call): Record<string, unknown> => {
  const o = call.options
  const out: Record<string, unknown> = {
    model: call.model.name,
    messages: messages(call.messages),
    stream: true,
    stream_options: { include_usage: true }
  }
  if (call.tools.length > 0) {
    out.tools = call.tools.map((t) => ({
      type: "function",
      function: { name: t.name, description: t.description, parameters: t.parameters }
    }))
    if (o.tool_choice !== undefined) out.tool_choice = toolChoice(o.tool_choice)
  }
  out[maxTokensField(call)] = o.max_output_tokens ?? call.model.max_output_tokens
  if (o.temperature !== undefined) out.temperature = o.temperature
  if (o.top_p !== undefined) out.top_p = o.top_p
  if (o.stop !== undefined && o.stop.length > 0) out.stop = o.stop
  return out
}

const request = (call: Call): HttpClientRequest.HttpClientRequest => {
  const headers: Record<string, string> = {
    ...call.model.provider.headers,
    "content-type": "application/json",
    accept: "text/event-stream"
  }
  if (call.apiKey !== undefined) headers.authorization = `Bearer ${Redacted.value(call.apiKey)}`
  return HttpClientRequest.post(`${call.model.provider.base_url}/chat/completions`).pipe(
    HttpClientRequest.setHeaders(headers),
    HttpClientRequest.bodyUnsafeJson(body(call))
  )
}

const finishReason = (raw: string): ProtocolModel.FinishReason => {
  switch (raw) {
    case "stop":
    case "end_turn":
      return "stop"
    case "length":
      return "length"
    case "tool_calls":
    case "function_call":
      return "tool_calls"
    case "content_filter":
      return "content_filter"
    case "error":
    case "insufficient_system_resource":
      return "error"
    default:
      return "unknown"
  }
}

const usageOf = (u: Record<string, unknown>): ProtocolModel.Usage => {
  const details = (u.prompt_tokens_details ?? {}) as Record<string, unknown>
  const completion = (u.completion_tokens_details ?? {}) as Record<string, unknown>
  // DeepSeek reports cache hits as prompt_cache_hit_tokens; OpenAI as prompt_tokens_details.cached_tokens.
  const cached = nonNegInt(u.prompt_cache_hit_tokens) ?? nonNegInt(details.cached_tokens)
  const reasoning = nonNegInt(completion.reasoning_tokens)
  return {
    input_tokens: nonNegInt(u.prompt_tokens) ?? 0,
    output_tokens: nonNegInt(u.completion_tokens) ?? 0,
    ...(cached === undefined ? {} : { cached_tokens: cached }),
    ...(reasoning === undefined ? {} : { reasoning_tokens: reasoning })
  }
}

interface PendingCall {
  id: string | undefined
  name: string
  args: string
}

export const decoder = (call: Call): Decoder => {
  const ctx: ErrorContext = {
    model: call.model,
    secret: call.apiKey === undefined ? undefined : Redacted.value(call.apiKey)
  }
  const sse = new SseParser()
  let pending: Array<PendingCall | undefined> = []
  let emittedCalls = false
  let finish: ProtocolModel.FinishReason | undefined
  let usage: ProtocolModel.Usage | undefined
  const state = Decoding.initial()

  const flushCalls = () => {
    for (const c of pending) {
      if (c === undefined) continue
      emitToolCall(state.out, c.id, c.name, c.args)
      emittedCalls = true
    }
    pending = []
  }

  const complete = () => {
    flushCalls()
    const reason =
      finish === undefined || (finish === "stop" && emittedCalls) ? (emittedCalls ? "tool_calls" : "stop") : finish
    state.out.push(finishPart(call.model, reason, usage))
    state.done = true
  }

  const onEvent = (event: { readonly data: string }) => {
    if (state.done || state.failure !== undefined) return
    const data = event.data
    if (data === "[DONE]") {
      complete()
      return
    }
    let chunk: Record<string, unknown>
    try {
      chunk = JSON.parse(data)
    } catch {
      state.failure = providerError(ctx, "InvalidResponse", { detail: `malformed chunk: ${data.slice(0, 120)}` })
      return
    }
    if (typeof chunk !== "object" || chunk === null) {
      state.failure = providerError(ctx, "InvalidResponse", { detail: `unexpected chunk: ${data.slice(0, 120)}` })
      return
    }
    const error = chunk.error as Record<string, unknown> | undefined
    if (error !== undefined && error !== null) {
      const message = typeof error.message === "string" ? error.message : JSON.stringify(error)
      state.failure = providerError(
        ctx,
        classifyErrorType(String(error.type ?? ""), String(error.code ?? ""), message),
        {
          detail: message
        }
      )
      return
    }
    const u = chunk.usage
    if (typeof u === "object" && u !== null) usage = usageOf(u as Record<string, unknown>)
    const choices = chunk.choices
    if (!Array.isArray(choices)) return
    for (const choice of choices) {
      if (typeof choice !== "object" || choice === null) continue
      if (choice.index !== undefined && choice.index !== 0) continue
      const delta = choice.delta
      if (typeof delta === "object" && delta !== null) {
        const reasoning = delta.reasoning_content ?? delta.reasoning
        if (typeof reasoning === "string" && reasoning.length > 0)
          state.out.push({ type: "reasoning_delta", text: reasoning })
        const content = delta.content
        if (typeof content === "string" && content.length > 0) state.out.push({ type: "text_delta", text: content })
        const calls = delta.tool_calls
        if (Array.isArray(calls)) {
          for (let i = 0; i < calls.length; i++) {
            const tc = calls[i]
            if (typeof tc !== "object" || tc === null) continue
            const index = typeof tc.index === "number" ? tc.index : i
            const slot = (pending[index] ??= { id: undefined, name: "", args: "" })
            if (typeof tc.id === "string" && tc.id !== "") slot.id = tc.id
            const fn = tc.function
            if (typeof fn === "object" && fn !== null) {
              if (typeof fn.name === "string" && fn.name !== "" && fn.name !== slot.name) slot.name += fn.name
              if (typeof fn.arguments === "string") slot.args += fn.arguments
              else if (typeof fn.arguments === "object" && fn.arguments !== null)
                slot.args = JSON.stringify(fn.arguments)
            }
          }
        }
      }
      if (typeof choice.finish_reason === "string") {
        finish = finishReason(choice.finish_reason)
        flushCalls()
      }
    }
  }

  return Decoding.decoder(state, {
    feed: (text) => sse.push(text, onEvent),
    flush: () => sse.end(),
    unfinished: () => {
      if (finish === undefined) {
        return providerError(ctx, "Disconnected", { detail: "the stream ended before a finish_reason or [DONE]" })
      }
      complete()
      return undefined
    }
  })
}

export const wireFormat: WireFormat = { name: "openai-chat", request, decoder }
