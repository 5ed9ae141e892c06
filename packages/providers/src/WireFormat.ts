/**
 * One implementation per wire format: how a call becomes an HTTP request and
 * how the response body becomes `StreamPart`s. The `LanguageModel` layer owns
 * everything around it (keys, timeouts, retries, fallbacks); a wire format is
 * pure translation, so it is tested on recorded fixtures without a network.
 *
 * @since 0.1.0
 */
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as Redacted from "effect/Redacted"
import type * as Chat from "./Chat.js"
import * as anthropic from "./internal/anthropicMessages.js"
import * as ollama from "./internal/ollamaChat.js"
import * as openAi from "./internal/openAiChat.js"
import type { ProviderKind } from "./ModelConfig.js"
import type { Model } from "./ModelRegistry.js"
import type { ProviderError } from "./ProviderError.js"
import type { StreamPart } from "./StreamPart.js"

/**
 * One model call, as a wire format sees it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Call {
  readonly model: Model
  readonly messages: ReadonlyArray<Chat.Message>
  readonly tools: ReadonlyArray<Chat.ToolDefinition>
  readonly options: Chat.Options
  readonly apiKey: Redacted.Redacted<string> | undefined
}

/**
 * Turns response body text into parts. `push` takes text as it arrives
 * (split anywhere) and appends parts to `out`; `end` is called when the body
 * ends. Either returns a `ProviderError` to fail the stream. `done` turns
 * true once the terminal event was seen (`[DONE]`, `message_stop`,
 * `done: true`): the body need not be read further.
 *
 * @since 0.1.0
 * @category models
 */
export interface Decoder {
  readonly push: (text: string, out: Array<StreamPart>) => ProviderError | undefined
  readonly end: (out: Array<StreamPart>) => ProviderError | undefined
  readonly done: () => boolean
}

/**
 * A wire format.
 *
 * @since 0.1.0
 * @category models
 */
export interface WireFormat {
  readonly name: "openai-chat" | "anthropic-messages" | "ollama-chat"
  /** The streaming HTTP request for a call (URL, headers with the key, JSON body). */
  readonly request: (call: Call) => HttpClientRequest.HttpClientRequest
  /** A fresh decoder for one response body. */
  readonly decoder: (call: Call) => Decoder
}

/**
 * OpenAI chat completions, SSE (`{base}/chat/completions`): `openai-compatible`,
 * `deepseek`, `openrouter`.
 *
 * @since 0.1.0
 * @category wire formats
 */
export const openAiChat: WireFormat = openAi.wireFormat

/**
 * Anthropic messages, SSE (`{base}/v1/messages`).
 *
 * @since 0.1.0
 * @category wire formats
 */
export const anthropicMessages: WireFormat = anthropic.wireFormat

/**
 * Ollama's native chat, NDJSON (`{base}/api/chat`).
 *
 * @since 0.1.0
 * @category wire formats
 */
export const ollamaChat: WireFormat = ollama.wireFormat

/**
 * The wire format a provider kind speaks.
 *
 * @since 0.1.0
 * @category wire formats
 */
export const forKind = (kind: ProviderKind): WireFormat => {
  switch (kind) {
    case "anthropic":
      return anthropicMessages
    case "ollama":
      return ollamaChat
    default:
      return openAiChat
  }
}
