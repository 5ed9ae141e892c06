/**
 * Ollama's native chat API (`POST {base}/api/chat`), streamed as
 * newline-delimited JSON. Chosen over Ollama's OpenAI-compatible `/v1`
 * endpoint because only the native API takes `options.num_ctx`: through
 * `/v1` every request runs with the server's default context window and long
 * agent conversations are silently truncated. The native API also takes
 * `think`, returns reasoning as `message.thinking`, and sends tool calls
 * whole, with arguments as objects.
 * https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type { Model as ProtocolModel } from "@strata/protocol"
import * as Redacted from "effect/Redacted"
import type * as Chat from "../Chat.js"
import type { Call, Decoder, WireFormat } from "../WireFormat.js"
import * as Decoding from "./decoding.js"
import { emitToolCall, finishPart, nonNegInt } from "./decoding.js"
import { classifyErrorType, type ErrorContext, providerError } from "./http.js"
import { LineSplitter } from "./sse.js"

export const messages = (input: ReadonlyArray<Chat.Message>): Array<unknown> => {
  const names = new Map<string, string>()
  return input.map((m) => {
    switch (m.role) {
      case "system":
        return { role: "system", content: m.content }
      case "user": {
        if (typeof m.content === "string") return { role: "user", content: m.content }
        const text = m.content.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n")
        const images = m.content.flatMap((p) => (p.type === "image" ? [p.data] : []))
        return images.length === 0 ? { role: "user", content: text } : { role: "user", content: text, images }
      }
      case "assistant": {
        const out: Record<string, unknown> = { role: "assistant", content: m.content }
        if (m.reasoning !== undefined) out.thinking = m.reasoning
        if (m.tool_calls !== undefined && m.tool_calls.length > 0) {
          out.tool_calls = m.tool_calls.map((c) => {
            names.set(c.id, c.name)
            return { function: { name: c.name, arguments: c.arguments } }
          })
        }
        return out
      }
      default: {
        const name = m.name ?? names.get(m.tool_call_id)
        return name === undefined
          ? { role: "tool", content: m.content }
          : { role: "tool", content: m.content, tool_name: name }
      }
    }
  })
}

export const body = (call: Call): Record<string, unknown> => {
  const o = call.options
  const options: Record<string, unknown> = {
    // The point of the native API: the configured window applies.
    num_ctx: call.model.context_window
  }
  options.num_predict = o.max_output_tokens ?? call.model.max_output_tokens
  if (o.temperature !== undefined) options.temperature = o.temperature
  if (o.top_p !== undefined) options.top_p = o.top_p
  if (o.stop !== undefined && o.stop.length > 0) options.stop = o.stop
  const out: Record<string, unknown> = {
    model: call.model.name,
    messages: messages(call.messages),
    stream: true,
    options
  }
  // Ollama has no tool_choice; "none" means: offer no tools.
  if (call.tools.length > 0 && o.tool_choice !== "none") {
    out.tools = call.tools.map((t) => ({
      type: "function",
      function: { name: t.name, description: t.description, parameters: t.parameters }
    }))
  }
  // `think` on a model that cannot think is an error in Ollama: only sent for reasoning models.
  if (call.model.capabilities.reasoning && o.reasoning !== undefined) out.think = o.reasoning !== false
  return out
}

const request = (call: Call): HttpClientRequest.HttpClientRequest => {
  const headers: Record<string, string> = {
    ...call.model.provider.headers,
    "content-type": "application/json",
    accept: "application/x-ndjson"
  }
  if (call.apiKey !== undefined) headers.authorization = `Bearer ${Redacted.value(call.apiKey)}`
  return HttpClientRequest.post(`${call.model.provider.base_url}/api/chat`).pipe(
    HttpClientRequest.setHeaders(headers),
    HttpClientRequest.bodyUnsafeJson(body(call))
  )
}

const doneReason = (raw: unknown, calls: boolean): ProtocolModel.FinishReason => {
  if (calls) return "tool_calls"
  switch (raw) {
    case "stop":
    case undefined:
      return "stop"
    case "length":
      return "length"
    default:
      return "unknown"
  }
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

export const decoder = (call: Call): Decoder => {
  const ctx: ErrorContext = {
    model: call.model,
    secret: call.apiKey === undefined ? undefined : Redacted.value(call.apiKey)
  }
  const lines = new LineSplitter()
  let emittedCalls = false
  const state = Decoding.initial()

  const onLine = (line: string) => {
    if (state.done || state.failure !== undefined) return
    let chunk: unknown
    try {
      chunk = JSON.parse(line)
    } catch {
      state.failure = providerError(ctx, "InvalidResponse", { detail: `malformed line: ${line.slice(0, 120)}` })
      return
    }
    if (!isObject(chunk)) {
      state.failure = providerError(ctx, "InvalidResponse", { detail: `unexpected line: ${line.slice(0, 120)}` })
      return
    }
    if (chunk.error !== undefined) {
      const message = typeof chunk.error === "string" ? chunk.error : JSON.stringify(chunk.error)
      state.failure = providerError(ctx, classifyErrorType("", "", message), { detail: message })
      return
    }
    const message = isObject(chunk.message) ? chunk.message : undefined
    if (message !== undefined) {
      if (typeof message.thinking === "string" && message.thinking !== "")
        state.out.push({ type: "reasoning_delta", text: message.thinking })
      if (typeof message.content === "string" && message.content !== "")
        state.out.push({ type: "text_delta", text: message.content })
      if (Array.isArray(message.tool_calls)) {
        for (const tc of message.tool_calls) {
          if (!isObject(tc)) continue
          const fn = isObject(tc.function) ? tc.function : {}
          const args = fn.arguments
          const raw = typeof args === "string" ? args : args === undefined ? "" : JSON.stringify(args)
          emitToolCall(
            state.out,
            typeof tc.id === "string" ? tc.id : undefined,
            typeof fn.name === "string" ? fn.name : "",
            raw
          )
          emittedCalls = true
        }
      }
    }
    if (chunk.done === true) {
      const input = nonNegInt(chunk.prompt_eval_count)
      const output = nonNegInt(chunk.eval_count)
      const usage =
        input === undefined && output === undefined
          ? undefined
          : { input_tokens: input ?? 0, output_tokens: output ?? 0 }
      state.out.push(finishPart(call.model, doneReason(chunk.done_reason, emittedCalls), usage))
      state.done = true
    }
  }

  return Decoding.decoder(state, {
    feed: (text) => lines.push(text, onLine),
    flush: () => lines.end(onLine),
    unfinished: () => providerError(ctx, "Disconnected", { detail: "the stream ended before done: true" })
  })
}

export const wireFormat: WireFormat = { name: "ollama-chat", request, decoder }
