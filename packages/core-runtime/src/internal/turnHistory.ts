/**
 * What the model reads of a thread: the journal's messages as a chat (tool
 * results rendered, images attached), the usage arithmetic of a turn, and
 * the default compaction (a summary written by the model).
 *
 * @internal
 */
import type { Message } from "@strata/protocol/Message"
import type { Usage } from "@strata/protocol/Model"
import type * as Chat from "@strata/providers/Chat"
import { LanguageModel } from "@strata/providers/LanguageModel"
import * as Effect from "effect/Effect"
import type { InvokeResult } from "../ToolInvoker.js"
import type * as T from "../Turn.js"

export const zeroUsage = (): Usage => ({ input_tokens: 0, output_tokens: 0, cached_tokens: 0, cost_usd: 0 })
export const addUsage = (a: Usage, b: Usage): Usage => ({
  input_tokens: a.input_tokens + b.input_tokens,
  output_tokens: a.output_tokens + b.output_tokens,
  cached_tokens: (a.cached_tokens ?? 0) + (b.cached_tokens ?? 0),
  cost_usd: (a.cost_usd ?? 0) + (b.cost_usd ?? 0)
})

/** What the model reads for a tool result. */
export const renderResult = (
  result: InvokeResult
): { content: string; is_error: boolean; images?: ReadonlyArray<{ data: string; mime_type: string }> } => {
  const context = result.additional_context?.length ? `\n\n${result.additional_context.join("\n")}` : ""
  switch (result.status) {
    case "completed": {
      const images = result.output.content.flatMap((part) =>
        part.type === "image" ? [{ data: part.data, mime_type: part.mime_type }] : []
      )
      const text = result.output.content
        .map((part) =>
          part.type === "text"
            ? part.text
            : part.type === "resource"
              ? (part.text ?? `[resource ${part.uri}]`)
              : `[${part.type} ${part.mime_type}]`
        )
        .join("\n")
      return {
        content: text + context,
        is_error: result.output.is_error === true,
        ...(images.length === 0 ? {} : { images })
      }
    }
    case "failed":
      return { content: `Error: ${result.error}${context}`, is_error: true }
    case "denied":
      return { content: `Denied: ${result.reason}${context}`, is_error: true }
    case "approval_required":
      return { content: `Waiting for approval: ${result.reason}`, is_error: true }
  }
}

/**
 * Turns a thread's history into the provider-neutral chat messages. For a
 * model with the `images` capability, the images tool calls returned follow
 * their tool results as one user message (every wire takes images there).
 */
export const toChat = (
  messages: ReadonlyArray<Message>,
  systemPrompt: string | undefined,
  options: { readonly images?: boolean | undefined } = {}
): Array<Chat.Message> => {
  const out: Array<Chat.Message> = []
  if (systemPrompt) out.push({ role: "system", content: systemPrompt })
  let images: Array<Chat.UserContent> = []
  const flushImages = () => {
    if (images.length === 0) return
    out.push({
      role: "user",
      content: [{ type: "text", text: "The images the tool calls above returned:" }, ...images]
    })
    images = []
  }
  for (const m of messages) {
    if (m.role !== "tool") flushImages()
    else if (options.images === true) {
      for (const image of m.images ?? []) images.push({ type: "image", data: image.data, mime_type: image.mime_type })
    }
    switch (m.role) {
      case "system":
        out.push({ role: "system", content: m.content })
        break
      case "user":
        out.push({ role: "user", content: m.content })
        break
      case "assistant":
        out.push({
          role: "assistant",
          content: m.content,
          ...(m.reasoning === undefined ? {} : { reasoning: m.reasoning }),
          ...(m.tool_calls === undefined || m.tool_calls.length === 0
            ? {}
            : {
                tool_calls: m.tool_calls.map((c) => ({
                  id: c.id,
                  name: c.name,
                  arguments: c.arguments,
                  ...(c.raw_arguments === undefined ? {} : { raw_arguments: c.raw_arguments })
                }))
              })
        })
        break
      case "tool":
        out.push({
          role: "tool",
          tool_call_id: m.tool_call_id ?? "",
          content: m.content,
          ...(m.is_error === true ? { is_error: true } : {})
        })
        break
    }
  }
  flushImages()
  return out
}

export const estimateTokens = (value: unknown) => Math.ceil((JSON.stringify(value)?.length ?? 0) / 4)

/** @internal */
export const summarize: T.CompactionStrategy = {
  name: "summarize",
  compact: ({ model, messages }) =>
    Effect.gen(function* () {
      const lm = yield* LanguageModel
      const transcript = messages
        .map(
          (m) =>
            `${m.role}${m.tool_calls?.length ? ` (calls ${m.tool_calls.map((c) => c.name).join(", ")})` : ""}: ${m.content}`
        )
        .join("\n")
      const response = yield* lm.generate({
        model,
        messages: [
          {
            role: "system",
            content:
              "Summarize the conversation below for yourself: the goal, what was done, decisions, open questions and facts needed to continue. Be concise."
          },
          { role: "user", content: transcript }
        ]
      })
      return response.text
    })
}
