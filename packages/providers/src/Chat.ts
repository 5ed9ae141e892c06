/**
 * What a `LanguageModel` call takes: the conversation (`Message`), the tools
 * the model may call (`ToolDefinition`, parameters as JSON Schema) and call
 * options. Provider-neutral; each wire format translates it.
 *
 * @since 0.1.0
 */
import * as Common from "@strata/protocol/Common"
import * as Schema from "effect/Schema"

/**
 * The system prompt. Several are joined (Anthropic takes one top-level
 * `system`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const SystemMessage = Schema.Struct({
  role: Schema.Literal("system"),
  content: Schema.String
}).annotations({ identifier: "Chat.SystemMessage" })

/**
 * A part of a user message: text, or a base64 image (needs the model's
 * `images` capability).
 *
 * @since 0.1.0
 * @category schemas
 */
export const UserContent = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text"), text: Schema.String }),
  Schema.Struct({ type: Schema.Literal("image"), data: Schema.String, mime_type: Schema.String })
).annotations({ identifier: "Chat.UserContent" })
/** @since 0.1.0 @category models */
export type UserContent = typeof UserContent.Type

/** @since 0.1.0 @category schemas */
export const UserMessage = Schema.Struct({
  role: Schema.Literal("user"),
  content: Schema.Union(Schema.String, Schema.Array(UserContent))
}).annotations({ identifier: "Chat.UserMessage" })

/**
 * A tool call inside an assistant message, as the model made it earlier. For
 * a call that came back as a `tool_call_error`, put the text the model sent
 * in `raw_arguments` (and `arguments: {}`) and report the error in the
 * matching tool message (`is_error: true`): wire formats whose tool calls
 * carry arguments as a string (OpenAI's) send it back as it was; those that
 * carry an object (Anthropic, Ollama) send `{}`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AssistantToolCall = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  arguments: Common.JsonValue,
  raw_arguments: Schema.optional(Schema.String)
}).annotations({ identifier: "Chat.AssistantToolCall" })
/** @since 0.1.0 @category models */
export type AssistantToolCall = typeof AssistantToolCall.Type

/**
 * An earlier answer of the model. `reasoning` is sent back only where the
 * wire format takes it (Anthropic, with `reasoning_signature`; Ollama
 * `thinking`); OpenAI-format providers never get it back (DeepSeek rejects
 * `reasoning_content` in input).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AssistantMessage = Schema.Struct({
  role: Schema.Literal("assistant"),
  content: Schema.optionalWith(Schema.String, { default: () => "" }),
  reasoning: Schema.optional(Schema.String),
  reasoning_signature: Schema.optional(Schema.String),
  tool_calls: Schema.optional(Schema.Array(AssistantToolCall))
}).annotations({ identifier: "Chat.AssistantMessage" })

/**
 * The result of one tool call. `name` is the tool's name (Ollama's native
 * format matches results by name); `is_error` marks a failed call.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolMessage = Schema.Struct({
  role: Schema.Literal("tool"),
  tool_call_id: Schema.String,
  name: Schema.optional(Schema.String),
  content: Schema.String,
  is_error: Schema.optional(Schema.Boolean)
}).annotations({ identifier: "Chat.ToolMessage" })

/**
 * One message of the conversation.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Message = Schema.Union(SystemMessage, UserMessage, AssistantMessage, ToolMessage).annotations({
  identifier: "Chat.Message"
})
/** @since 0.1.0 @category models */
export type Message = typeof Message.Type
/** @since 0.1.0 @category models */
export type MessageEncoded = typeof Message.Encoded

/**
 * A tool the model may call: `parameters` is a JSON Schema object.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolDefinition = Schema.Struct({
  name: Schema.String.pipe(Schema.minLength(1)),
  description: Schema.String,
  parameters: Common.JsonObject
}).annotations({ identifier: "Chat.ToolDefinition" })
/** @since 0.1.0 @category models */
export type ToolDefinition = typeof ToolDefinition.Type

/**
 * Whether and which tool the model must call.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolChoice = Schema.Union(
  Schema.Literal("auto", "none", "required"),
  Schema.Struct({ name: Schema.String })
).annotations({ identifier: "Chat.ToolChoice" })
/** @since 0.1.0 @category models */
export type ToolChoice = typeof ToolChoice.Type

/**
 * Call options. `max_output_tokens` defaults to the model's
 * `max_output_tokens`; every wire sends it (OpenAI format: `max_tokens`, or
 * `max_completion_tokens` for OpenAI's own API; Anthropic: `max_tokens`;
 * Ollama: `options.num_predict`).
 * `reasoning` asks a reasoning-capable model to think (Anthropic: a budget,
 * default 1024 tokens; Ollama: `think`); it is ignored for models without
 * the `reasoning` capability.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Options = Schema.Struct({
  max_output_tokens: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive())),
  temperature: Schema.optional(Schema.Number),
  top_p: Schema.optional(Schema.Number),
  stop: Schema.optional(Schema.Array(Schema.String)),
  tool_choice: Schema.optional(ToolChoice),
  reasoning: Schema.optional(
    Schema.Union(Schema.Boolean, Schema.Struct({ budget_tokens: Schema.Number.pipe(Schema.int(), Schema.positive()) }))
  )
}).annotations({ identifier: "Chat.Options" })
/** @since 0.1.0 @category models */
export type Options = typeof Options.Type
