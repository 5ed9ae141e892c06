/**
 * The parts a `LanguageModel` stream emits.
 *
 * Order within one stream: zero or more `retry` / `model_fallback` parts
 * (nothing was shown to the caller yet), then exactly one `start` naming the
 * model that answers, then `text_delta`, `reasoning_delta`,
 * `reasoning_signature`, `tool_call` and `tool_call_error` parts in the order
 * the model produced them, then exactly one `finish`. A stream that fails
 * after `start` fails with a `ProviderError`: nothing is retried once output
 * has reached the caller.
 *
 * @since 0.1.0
 */

import type { Event, Ids as IdsT } from "@strata/protocol"
import * as Common from "@strata/protocol/Common"
import * as Ids from "@strata/protocol/Ids"
import * as Model from "@strata/protocol/Model"
import * as Schema from "effect/Schema"
import { FallbackClass, ProviderErrorReason } from "./ProviderError.js"

/**
 * The model answers: emitted once, right before its first output.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Start = Schema.Struct({
  type: Schema.Literal("start"),
  model: Schema.String,
  provider: Schema.String,
  attempt: Schema.Number
}).annotations({ identifier: "StreamPart.Start" })

/** @since 0.1.0 @category schemas */
export const TextDelta = Schema.Struct({ type: Schema.Literal("text_delta"), text: Schema.String }).annotations({
  identifier: "StreamPart.TextDelta"
})

/**
 * Reasoning text: DeepSeek / OpenRouter / vLLM `reasoning_content` or
 * `reasoning`, Anthropic `thinking`, Ollama `thinking`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ReasoningDelta = Schema.Struct({
  type: Schema.Literal("reasoning_delta"),
  text: Schema.String
}).annotations({ identifier: "StreamPart.ReasoningDelta" })

/**
 * The signature Anthropic attaches to a thinking block. Send it back as the
 * assistant message's `reasoning_signature` so the thinking can be replayed.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ReasoningSignature = Schema.Struct({
  type: Schema.Literal("reasoning_signature"),
  signature: Schema.String
}).annotations({ identifier: "StreamPart.ReasoningSignature" })

/**
 * A complete tool call, assembled from the provider's deltas, with its
 * arguments parsed. `id` is the provider's call id when it is a valid
 * `ToolCallId`, otherwise a sanitized or generated one; send the same id
 * back in the tool result.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolCall = Schema.Struct({
  type: Schema.Literal("tool_call"),
  id: Ids.ToolCallId,
  name: Schema.String,
  arguments: Common.JsonValue
}).annotations({ identifier: "StreamPart.ToolCall" })

/**
 * A tool call the model got wrong: its arguments are not JSON
 * (`InvalidJson`) or it has no name (`MissingName`). The turn reports
 * `message` back to the model as the call's (error) result.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolCallError = Schema.Struct({
  type: Schema.Literal("tool_call_error"),
  id: Ids.ToolCallId,
  name: Schema.String,
  reason: Schema.Literal("InvalidJson", "MissingName"),
  raw_arguments: Schema.String,
  message: Schema.String
}).annotations({ identifier: "StreamPart.ToolCallError" })

/**
 * The call failed before any output and will be sent again after
 * `delay_ms` (the provider's `retry-after` when it gave one).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Retry = Schema.Struct({
  type: Schema.Literal("retry"),
  model: Schema.String,
  attempt: Schema.Number,
  delay_ms: Schema.Number,
  reason: ProviderErrorReason,
  message: Schema.String
}).annotations({ identifier: "StreamPart.Retry" })

/**
 * The call to `from` failed with an error of class `reason` (after its
 * retries) and `to` is tried next. Maps one to one onto the protocol's
 * `model_fallback` event (see {@link toEvent}).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ModelFallback = Schema.Struct({
  type: Schema.Literal("model_fallback"),
  from: Schema.String,
  to: Schema.String,
  reason: FallbackClass,
  message: Schema.String
}).annotations({ identifier: "StreamPart.ModelFallback" })

/**
 * The model is done: why it stopped, and the call's usage with `cost_usd`
 * from the registry's prices (absent when the model has none).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Finish = Schema.Struct({
  type: Schema.Literal("finish"),
  model: Schema.String,
  reason: Model.FinishReason,
  usage: Model.Usage
}).annotations({ identifier: "StreamPart.Finish" })

/**
 * Every part.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StreamPart = Schema.Union(
  Start,
  TextDelta,
  ReasoningDelta,
  ReasoningSignature,
  ToolCall,
  ToolCallError,
  Retry,
  ModelFallback,
  Finish
).annotations({ identifier: "StreamPart" })
/** @since 0.1.0 @category models */
export type StreamPart = typeof StreamPart.Type
/** @since 0.1.0 @category models */
export type Start = typeof Start.Type
/** @since 0.1.0 @category models */
export type TextDelta = typeof TextDelta.Type
/** @since 0.1.0 @category models */
export type ReasoningDelta = typeof ReasoningDelta.Type
/** @since 0.1.0 @category models */
export type ReasoningSignature = typeof ReasoningSignature.Type
/** @since 0.1.0 @category models */
export type ToolCall = typeof ToolCall.Type
/** @since 0.1.0 @category models */
export type ToolCallError = typeof ToolCallError.Type
/** @since 0.1.0 @category models */
export type Retry = typeof Retry.Type
/** @since 0.1.0 @category models */
export type ModelFallback = typeof ModelFallback.Type
/** @since 0.1.0 @category models */
export type Finish = typeof Finish.Type

/**
 * The protocol event a part becomes in the thread log, if any: text and
 * reasoning deltas become `response_delta` (channel `text` / `reasoning`),
 * `model_fallback` becomes `model_fallback`. Tool calls, start and finish
 * are turned into events by the turn loop, which owns their ids.
 *
 * @since 0.1.0
 * @category utils
 */
export const toEvent = (part: StreamPart, responseId: IdsT.ResponseId): Event.Event | undefined => {
  switch (part.type) {
    case "text_delta":
      return { event: "response_delta", response_id: responseId, delta: part.text, channel: "text" }
    case "reasoning_delta":
      return { event: "response_delta", response_id: responseId, delta: part.text, channel: "reasoning" }
    case "model_fallback":
      return { event: "model_fallback", from: part.from, to: part.to, reason: part.reason }
    default:
      return undefined
  }
}
