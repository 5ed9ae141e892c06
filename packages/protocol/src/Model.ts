/**
 * Model-call accounting shared by events and responses: token usage, cost,
 * finish reasons and turn outcomes.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { optional } from "./Common.js"

/**
 * Token usage of a model call or a whole turn, with its cost when the
 * registry knows the model's prices.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Usage = Schema.Struct({
  input_tokens: Schema.Number.pipe(Schema.int(), Schema.nonNegative()),
  output_tokens: Schema.Number.pipe(Schema.int(), Schema.nonNegative()),
  cached_tokens: optional(Schema.Number.pipe(Schema.int(), Schema.nonNegative())),
  reasoning_tokens: optional(Schema.Number.pipe(Schema.int(), Schema.nonNegative())),
  cost_usd: optional(Schema.Number.pipe(Schema.nonNegative(), Schema.finite()))
}).annotations({ identifier: "Usage" })
/** @since 0.1.0 @category models */
export type Usage = typeof Usage.Type

/**
 * Why a model stopped.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FinishReason = Schema.Literal(
  "stop",
  "length",
  "tool_calls",
  "content_filter",
  "error",
  "cancelled",
  "unknown"
).annotations({ identifier: "FinishReason" })
/** @since 0.1.0 @category models */
export type FinishReason = typeof FinishReason.Type

/**
 * How a turn ended.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TurnOutcome = Schema.Literal(
  "completed",
  "awaiting_approval",
  "interrupted",
  "max_turns",
  "failed"
).annotations({ identifier: "TurnOutcome" })
/** @since 0.1.0 @category models */
export type TurnOutcome = typeof TurnOutcome.Type
