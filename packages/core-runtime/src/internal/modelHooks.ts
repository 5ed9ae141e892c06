/**
 * The model-call hooks of a turn: `BeforeToolSelection` (narrow the tools
 * offered), `BeforeModel` (block the call, add context, rewrite the text of
 * the request's messages or switch to another configured model) and
 * `AfterModel` (block the response before any of its tool calls runs, or
 * rewrite its text). Pure over the chat; the turn driver calls them.
 *
 * What a hook may change is bounded: a message rewrite keeps each message's
 * role, position and tool calls (only its text changes), a tool selection
 * only removes tools, a model switch names a configured model. Anything
 * else is a typed error naming the hook's field.
 *
 * @internal
 */

import type * as HookDispatcher from "@strata/hooks/HookDispatcher"
import type * as HookEvent from "@strata/hooks/HookEvent"
import type { Common } from "@strata/protocol"
import type * as Chat from "@strata/providers/Chat"
import type * as StreamPart from "@strata/providers/StreamPart"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"

/** A hook's rewrite that Strata cannot apply. @internal */
export class ModelHookRewriteError extends Data.TaggedError("ModelHookRewriteError")<{
  readonly event: "BeforeModel" | "AfterModel" | "BeforeToolSelection"
  readonly field: string
  readonly detail: string
}> {
  override get message() {
    return `${this.event} hook rewrite rejected at ${this.field}: ${this.detail}`
  }
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** A chat message as hooks read it: role and text (images and tool calls left out). */
const asText = (m: Chat.Message): HookEvent.LlmMessage => {
  if (m.role === "user" && typeof m.content !== "string") {
    return {
      role: "user",
      content: m.content
        .map((p) => (p.type === "text" ? p.text : ""))
        .filter((t) => t !== "")
        .join("\n")
    }
  }
  return { role: m.role, content: (m.content as string | undefined) ?? "" }
}

/** The request as hooks read it. @internal */
export const llmRequest = (
  model: string,
  messages: ReadonlyArray<Chat.Message>,
  tools: ReadonlyArray<Chat.ToolDefinition>
): HookEvent.LlmRequest => ({
  model,
  messages: messages.map(asText),
  tools: tools.map((t) => t.name)
})

/** Which of the three events have a hook: the request is only built for them. @internal */
export const wanted = (hooks: HookDispatcher.Service) =>
  Effect.map(hooks.hooks, (list) => {
    const has = (name: HookEvent.HookEventName) => list.some((h) => h.events === "*" || h.events.includes(name))
    return { selection: has("BeforeToolSelection"), before: has("BeforeModel"), after: has("AfterModel") }
  })

/**
 * `BeforeToolSelection`: the tools left after the hooks narrowed them. A
 * hook's list is names; a name not offered is ignored (a hook cannot add a
 * tool), so the result is always a subset of `tools`.
 *
 * @internal
 */
export const selectTools = (
  hooks: HookDispatcher.Service,
  common: { readonly thread_id: string; readonly session_id: string; readonly cwd: string },
  model: string,
  tools: ReadonlyArray<Chat.ToolDefinition>
) =>
  Effect.gen(function* () {
    const offered = new Set(tools.map((t) => t.name))
    const result = yield* hooks.dispatch(
      {
        hook_event_name: "BeforeToolSelection",
        ...(common as { thread_id: never; session_id: string; cwd: string }),
        model,
        tools: tools.map((t) => t.name)
      },
      {
        validateInput: (input) =>
          Array.isArray(input) && input.every((n) => typeof n === "string")
            ? Effect.succeed(input.filter((n) => offered.has(n as string)) as Common.JsonValue)
            : Effect.fail(
                new ModelHookRewriteError({
                  event: "BeforeToolSelection",
                  field: "tools",
                  detail: "expected a list of tool names"
                })
              )
      }
    )
    if (result.updatedInput === undefined || result.event.hook_event_name !== "BeforeToolSelection") return tools
    const keep = new Set(result.event.tools)
    return tools.filter((t) => keep.has(t.name))
  })

/**
 * Applies a `BeforeModel` rewrite (a partial request) to the request hooks
 * saw: `messages[i].content` replaces the text of message `i` (same role),
 * `model` a model id (checked by the caller against the registry).
 */
const mergeRequest = (
  current: HookEvent.LlmRequest,
  input: Common.JsonValue
): Effect.Effect<HookEvent.LlmRequest, ModelHookRewriteError> => {
  const reject = (field: string, detail: string) =>
    Effect.fail(new ModelHookRewriteError({ event: "BeforeModel", field, detail }))
  if (!isObject(input)) return reject("llm_request", "expected an object (a partial request)")
  let next = current
  if (input.model !== undefined) {
    if (typeof input.model !== "string" || input.model === "") return reject("llm_request.model", "expected a model id")
    next = { ...next, model: input.model }
  }
  if (input.messages !== undefined) {
    if (!Array.isArray(input.messages)) return reject("llm_request.messages", "expected a list of messages")
    if (input.messages.length !== current.messages.length)
      return reject(
        "llm_request.messages",
        `has ${input.messages.length} messages, the request ${current.messages.length}: a hook rewrites the text of messages, it cannot add or remove them`
      )
    const messages: Array<HookEvent.LlmMessage> = []
    for (let i = 0; i < input.messages.length; i++) {
      const m = input.messages[i]
      const was = current.messages[i]!
      if (!isObject(m) || typeof m.content !== "string")
        return reject(`llm_request.messages[${i}].content`, "expected a string")
      if (m.role !== undefined && m.role !== was.role)
        return reject(`llm_request.messages[${i}].role`, `is ${JSON.stringify(m.role)}, the message is ${was.role}`)
      messages.push({ role: was.role, content: m.content })
    }
    next = { ...next, messages }
  }
  return Effect.succeed(next)
}

/** The chat with the text of each message the hooks changed replaced. */
const rewriteChat = (
  chat: ReadonlyArray<Chat.Message>,
  before: HookEvent.LlmRequest,
  after: HookEvent.LlmRequest
): Array<Chat.Message> =>
  chat.map((m, i) => {
    const text = after.messages[i]!.content
    if (text === before.messages[i]!.content) return m
    if (m.role === "user") return { role: "user", content: text }
    return { ...m, content: text } as Chat.Message
  })

/** What `BeforeModel` decided. @internal */
export type BeforeModel =
  | { readonly _tag: "Blocked"; readonly reason: string }
  | {
      readonly _tag: "Call"
      readonly messages: ReadonlyArray<Chat.Message>
      readonly model: string
      readonly request: HookEvent.LlmRequest
    }

/** `BeforeModel`. @internal */
export const beforeModel = (
  hooks: HookDispatcher.Service,
  common: { readonly thread_id: string; readonly session_id: string; readonly cwd: string },
  model: string,
  chat: ReadonlyArray<Chat.Message>,
  tools: ReadonlyArray<Chat.ToolDefinition>
) =>
  Effect.gen(function* () {
    const request = llmRequest(model, chat, tools)
    const result = yield* hooks.dispatch(
      {
        hook_event_name: "BeforeModel",
        ...(common as { thread_id: never; session_id: string; cwd: string }),
        model,
        llm_request: request
      },
      {
        validateInput: (input) => mergeRequest(request, input) as Effect.Effect<Common.JsonValue, ModelHookRewriteError>
      }
    )
    if (result.decision === "deny" || !result.continue) {
      return {
        _tag: "Blocked",
        reason: result.reason ?? result.stopReason ?? `a BeforeModel hook (${result.decidedBy ?? "?"}) blocked the call`
      } as BeforeModel
    }
    const rewritten = result.event.hook_event_name === "BeforeModel" ? result.event.llm_request : request
    const messages = rewriteChat(chat, request, rewritten)
    for (const text of result.additionalContext) messages.push({ role: "system", content: text })
    return { _tag: "Call", messages, model: rewritten.model, request: rewritten } as BeforeModel
  })

/** What `AfterModel` decided. @internal */
export type AfterModel =
  | { readonly _tag: "Blocked"; readonly reason: string }
  | { readonly _tag: "Keep"; readonly text: string }

/** `AfterModel`: the whole response, before any of its tool calls runs. @internal */
export const afterModel = (
  hooks: HookDispatcher.Service,
  common: { readonly thread_id: string; readonly session_id: string; readonly cwd: string },
  model: string,
  request: HookEvent.LlmRequest,
  response: {
    readonly text: string
    readonly toolCalls: ReadonlyArray<StreamPart.ToolCall>
    readonly finish?: string | undefined
  }
) =>
  Effect.gen(function* () {
    const llm_response: HookEvent.LlmResponse = {
      text: response.text,
      tool_calls: response.toolCalls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments })),
      ...(response.finish === undefined ? {} : { finish_reason: response.finish })
    }
    const result = yield* hooks.dispatch(
      {
        hook_event_name: "AfterModel",
        ...(common as { thread_id: never; session_id: string; cwd: string }),
        model,
        llm_request: request,
        llm_response
      },
      {
        validateInput: (input) =>
          isObject(input) &&
          typeof input.text === "string" &&
          (input.tool_calls === undefined || Array.isArray(input.tool_calls))
            ? Effect.succeed({ ...llm_response, text: input.text } as Common.JsonValue)
            : Effect.fail(
                new ModelHookRewriteError({
                  event: "AfterModel",
                  field: "llm_response.text",
                  detail: "expected { text: string } (a hook rewrites the text, not the tool calls)"
                })
              )
      }
    )
    if (result.decision === "deny" || !result.continue) {
      return {
        _tag: "Blocked",
        reason:
          result.reason ?? result.stopReason ?? `an AfterModel hook (${result.decidedBy ?? "?"}) blocked the response`
      } as AfterModel
    }
    const text = result.event.hook_event_name === "AfterModel" ? result.event.llm_response.text : response.text
    return { _tag: "Keep", text } as AfterModel
  })
