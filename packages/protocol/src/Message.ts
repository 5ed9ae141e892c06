/**
 * Messages: the entries of a thread's history.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { JsonValue, optional, Timestamp } from "./Common.js"
import { MessageId, ToolCallId } from "./Ids.js"

/**
 * Who wrote a message.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Role = Schema.Literal("system", "user", "assistant", "tool").annotations({ identifier: "Role" })
/** @since 0.1.0 @category models */
export type Role = typeof Role.Type

/**
 * A tool call requested by the model inside an assistant message.
 * `raw_arguments` holds the arguments exactly as the model sent them when
 * they were not valid JSON (the call was answered with an error); they are
 * sent back to the model as they were.
 *
 * @since 0.1.0
 * @category schemas
 */
export const MessageToolCall = Schema.Struct({
  id: ToolCallId,
  name: Schema.String,
  arguments: JsonValue,
  raw_arguments: optional(Schema.String)
}).annotations({ identifier: "MessageToolCall" })

/**
 * One entry of a thread's history.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Message = Schema.Struct({
  id: MessageId,
  role: Role,
  content: Schema.String,
  created_at: Timestamp,
  tool_calls: optional(Schema.Array(MessageToolCall)),
  tool_call_id: optional(ToolCallId),
  model: optional(Schema.String),
  reasoning: optional(Schema.String),
  /** On a tool message: the call failed, was denied or is waiting (the provider is told, e.g. Anthropic's `is_error`). */
  is_error: optional(Schema.Boolean),
  /**
   * On a tool message: the images the tool returned (base64). A model with
   * the `images` capability is sent them; others read `[image <mime>]`.
   */
  images: optional(Schema.Array(Schema.Struct({ data: Schema.String, mime_type: Schema.String })))
}).annotations({ identifier: "Message" })
/** @since 0.1.0 @category models */
export type Message = typeof Message.Type
