/**
 * Prompts: the request that starts a turn, its response, and the CLI
 * overrides that take part in model resolution.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
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
  thread_id: Schema.optional(ThreadId),
  prompt: Schema.String,
  model: Schema.optional(Schema.String),
  cwd: Schema.optional(Schema.String),
  approval_policy: Schema.optional(AskForApproval),
  max_turns: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 1000)))
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
  model: Schema.optional(Schema.String),
  provider: Schema.optional(Schema.String),
  approval_policy: Schema.optional(AskForApproval),
  sandbox_mode: Schema.optional(Schema.String),
  base_url: Schema.optional(Schema.String),
  cwd: Schema.optional(Schema.String),
  max_turns: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 1000)))
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
  finish_reason: Schema.optional(FinishReason),
  usage: Schema.optional(Usage),
  events: Schema.optionalWith(Schema.Array(EventFrame), { default: () => [] })
}).annotations({ identifier: "PromptResponse" })
/** @since 0.1.0 @category models */
export type PromptResponse = typeof PromptResponse.Type
