/**
 * Prompts: the request that starts a turn, its response, and the CLI
 * overrides that take part in model resolution.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { optional } from "./Common.js"
import { EventFrame } from "./Event.js"
import { ThreadId } from "./Ids.js"
import { FinishReason, TurnOutcome, Usage } from "./Model.js"
import { AskForApproval } from "./Tool.js"

/**
 * A prompt: text for the model, on a thread (a new one when absent), with an
 * optional model override (the first step of model resolution).
 *
 * @since 0.1.0
 * @category schemas
 */
export const PromptRequest = Schema.Struct({
  thread_id: optional(ThreadId),
  prompt: Schema.String,
  model: optional(Schema.String),
  cwd: optional(Schema.String),
  approval_policy: optional(AskForApproval),
  max_turns: optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 1000)))
}).annotations({ identifier: "PromptRequest" })
/** @since 0.1.0 @category models */
export type PromptRequest = typeof PromptRequest.Type

/**
 * Overrides given on the command line; they rank after the request and before
 * the config file in model resolution. API keys are never carried here: a
 * provider names the environment variable that holds its key.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CliRuntimeOverrides = Schema.Struct({
  model: optional(Schema.String),
  provider: optional(Schema.String),
  approval_policy: optional(AskForApproval),
  sandbox_mode: optional(Schema.String),
  base_url: optional(Schema.String),
  cwd: optional(Schema.String),
  max_turns: optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 1000)))
}).annotations({ identifier: "CliRuntimeOverrides" })
/** @since 0.1.0 @category models */
export type CliRuntimeOverrides = typeof CliRuntimeOverrides.Type

/**
 * The answer to a prompt: the final text, the model that produced it, how the
 * turn ended, its usage, and the events it emitted.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PromptResponse = Schema.Struct({
  thread_id: ThreadId,
  output: Schema.String,
  model: Schema.String,
  outcome: TurnOutcome,
  finish_reason: optional(FinishReason),
  usage: optional(Usage),
  events: Schema.optionalWith(Schema.Array(EventFrame), { default: () => [] })
}).annotations({ identifier: "PromptResponse" })
/** @since 0.1.0 @category models */
export type PromptResponse = typeof PromptResponse.Type
