/**
 * Hook dialects of gemini-cli and codex: command hooks written for those
 * tools run on Strata's events unchanged. A dialect says which event name,
 * tool names and tool input fields the hook's script reads, and how its
 * output is read back.
 *
 * gemini-cli (`settings.json` `hooks`):
 *
 * | gemini-cli            | Strata event        |
 * | --------------------- | ------------------- |
 * | `BeforeTool`          | `PreToolUse`        |
 * | `AfterTool`           | `PostToolUse`       |
 * | `BeforeAgent`         | `UserPromptSubmit`  |
 * | `AfterAgent`          | `Stop`              |
 * | `SessionStart` / `SessionEnd` / `Notification` | the same |
 * | `PreCompress`         | `PreCompact`        |
 * | `BeforeModel` / `AfterModel` / `BeforeToolSelection` | the same |
 *
 * Tools: `run_shell_command` ↔ `shell__exec` (`command`, `dir_path`),
 * `read_file` ↔ `fs__read_file`, `write_file` ↔ `fs__write_file`,
 * `replace` ↔ `fs__edit` (`file_path` ↔ `path`), `glob` ↔ `fs__glob`,
 * `grep_search` ↔ `fs__grep` (`dir_path` ↔ `path`). Output: `decision`
 * (`allow` / `approve`, `ask`, `deny` / `block`), `reason`, `continue`,
 * `stopReason`, `systemMessage`, `hookSpecificOutput.tool_input` (the new
 * tool input), `hookSpecificOutput.additionalContext`, and for the model
 * events `hookSpecificOutput.llm_request` (partial), `llm_response` (its
 * `text`, else the first candidate's parts) and `toolConfig` (`mode: "NONE"`
 * offers no tool; `allowedFunctionNames` narrows the tools: Strata applies
 * several hooks' lists one after another, an intersection, where gemini-cli
 * takes their union). The model request reads as gemini-cli's stable model
 * API: roles `user`, `model`, `system` (a tool result reads as `user`).
 * Exit codes as
 * gemini-cli reads them: 0 success, 1 a warning (the call goes on), any
 * other code blocks with stdout or stderr as the reason. The environment
 * has `GEMINI_PROJECT_DIR`, `GEMINI_CWD` and `CLAUDE_PROJECT_DIR`.
 *
 * codex (`hooks.json`, `[hooks]` in `config.toml`): Claude Code's event
 * names, input and output; tools `Bash` ↔ `shell__exec`, `apply_patch` ↔
 * `fs__apply_patch`.
 *
 * @since 0.2.0
 */
import type { Common } from "@strata/protocol"
import { renameKeys } from "./internal/renameKeys.js"

type JsonObject = { readonly [key: string]: Common.JsonValue }

const isObject = (u: unknown): u is JsonObject => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * One tool of a dialect and the Strata tool it stands for, with the field
 * renames (`[strata, theirs]`).
 *
 * @since 0.2.0
 * @category models
 */
export interface Alias {
  readonly theirs: string
  readonly strata: string
  readonly fields: ReadonlyArray<readonly [string, string]>
}

/**
 * gemini-cli's tools.
 *
 * @since 0.2.0
 * @category constants
 */
export const geminiTools: ReadonlyArray<Alias> = [
  { theirs: "run_shell_command", strata: "shell__exec", fields: [["cwd", "dir_path"]] },
  { theirs: "read_file", strata: "fs__read_file", fields: [["path", "file_path"]] },
  { theirs: "write_file", strata: "fs__write_file", fields: [["path", "file_path"]] },
  { theirs: "replace", strata: "fs__edit", fields: [["path", "file_path"]] },
  { theirs: "glob", strata: "fs__glob", fields: [["path", "dir_path"]] },
  { theirs: "grep_search", strata: "fs__grep", fields: [["path", "dir_path"]] }
]

/**
 * codex's tools.
 *
 * @since 0.2.0
 * @category constants
 */
export const codexTools: ReadonlyArray<Alias> = [
  { theirs: "Bash", strata: "shell__exec", fields: [["timeout_ms", "timeout"]] },
  { theirs: "apply_patch", strata: "fs__apply_patch", fields: [] }
]

/**
 * Strata's event → gemini-cli's event name.
 *
 * @since 0.2.0
 * @category constants
 */
export const geminiEvents: Readonly<Record<string, string>> = {
  PreToolUse: "BeforeTool",
  PostToolUse: "AfterTool",
  UserPromptSubmit: "BeforeAgent",
  Stop: "AfterAgent",
  SessionStart: "SessionStart",
  SessionEnd: "SessionEnd",
  Notification: "Notification",
  PreCompact: "PreCompress",
  BeforeModel: "BeforeModel",
  AfterModel: "AfterModel",
  BeforeToolSelection: "BeforeToolSelection"
}

const rename = renameKeys

/**
 * The dialect's name of a Strata tool (other names are their own).
 *
 * @since 0.2.0
 * @category utils
 */
export const theirName = (tools: ReadonlyArray<Alias>, strata: string): string =>
  tools.find((t) => t.strata === strata)?.theirs ?? strata

/**
 * The Strata tool's input from what the dialect's hook wrote back.
 *
 * @since 0.2.0
 * @category utils
 */
export const fromTheirInput = (
  tools: ReadonlyArray<Alias>,
  strata: string,
  input: Common.JsonValue
): Common.JsonValue => {
  const alias = tools.find((t) => t.strata === strata)
  return alias === undefined ? input : rename(input, alias.fields, 1)
}

const theirRole = (role: unknown) => (role === "assistant" ? "model" : role === "tool" ? "user" : role)

/** The stable model API's request (gemini-cli): roles `user`, `model`, `system`; tools by their names. */
const theirRequest = (request: unknown): unknown => {
  if (!isObject(request)) return request
  const messages = Array.isArray(request.messages) ? request.messages : []
  const tools = Array.isArray(request.tools) ? request.tools : []
  return {
    model: request.model ?? "",
    messages: messages.map((m) => (isObject(m) ? { role: theirRole(m.role), content: m.content ?? "" } : m)),
    toolConfig: {
      allowedFunctionNames: tools.map((t) => (typeof t === "string" ? theirName(geminiTools, t) : t))
    }
  }
}

/**
 * A gemini-cli model hook's `hookSpecificOutput` as the Strata rewrite of
 * the event's field (`llm_request`, `llm_response`, `tools`); `undefined`
 * when it rewrites nothing.
 *
 * @since 0.3.0
 * @category utils
 */
export const fromTheirModelOutput = (
  event: string,
  specific: {
    readonly llm_request?: Common.JsonValue | undefined
    readonly llm_response?: Common.JsonValue | undefined
    readonly toolConfig?:
      | { readonly mode?: string | undefined; readonly allowedFunctionNames?: ReadonlyArray<string> | undefined }
      | undefined
  }
): Common.JsonValue | undefined => {
  if (event === "BeforeModel" && isObject(specific.llm_request)) {
    const request = specific.llm_request
    const out: Record<string, Common.JsonValue> = {}
    if (typeof request.model === "string") out.model = request.model
    if (Array.isArray(request.messages))
      out.messages = request.messages.map((m) =>
        isObject(m) ? { ...m, ...(m.role === "model" ? { role: "assistant" } : {}) } : m
      )
    return out
  }
  if (event === "AfterModel" && isObject(specific.llm_response)) {
    const response = specific.llm_response
    if (typeof response.text === "string") return { text: response.text }
    const first = Array.isArray(response.candidates) ? response.candidates[0] : undefined
    const parts = isObject(first) && isObject(first.content) ? first.content.parts : undefined
    if (Array.isArray(parts)) return { text: parts.map((p) => (typeof p === "string" ? p : "")).join("") }
    return undefined
  }
  if (event === "BeforeToolSelection" && specific.toolConfig !== undefined) {
    if (specific.toolConfig.mode?.toUpperCase() === "NONE") return []
    const names = specific.toolConfig.allowedFunctionNames
    if (names === undefined) return undefined
    return names.map((n) => geminiTools.find((t) => t.theirs === n)?.strata ?? n)
  }
  return undefined
}

const text = (output: unknown): string => {
  if (!isObject(output) || !Array.isArray(output.content)) return ""
  return output.content
    .map((part) => (isObject(part) && typeof part.text === "string" ? part.text : ""))
    .filter((t) => t !== "")
    .join("\n")
}

/**
 * An event as the dialect's hook reads it on stdin: event and tool names,
 * tool input fields, and (gemini-cli) its payload fields.
 *
 * @since 0.2.0
 * @category utils
 */
export const toTheirEvent = (
  dialect: "gemini" | "codex",
  event: { readonly hook_event_name: string } & Record<string, unknown>
): Record<string, unknown> => {
  const tools = dialect === "gemini" ? geminiTools : codexTools
  const out: Record<string, unknown> = { ...event }
  const tool = event["tool_name"]
  if (typeof tool === "string") {
    const alias = tools.find((t) => t.strata === tool)
    if (alias !== undefined) {
      out["tool_name"] = alias.theirs
      if (event["tool_input"] !== undefined)
        out["tool_input"] = rename(event["tool_input"] as Common.JsonValue, alias.fields, 0)
    }
  }
  if (dialect === "codex") return out
  out["hook_event_name"] = geminiEvents[event.hook_event_name] ?? event.hook_event_name
  out["timestamp"] = new Date().toISOString()
  if (event.hook_event_name === "PostToolUse") {
    const response = event["tool_response"]
    out["tool_response"] = {
      llmContent: text(response),
      returnDisplay: text(response),
      ...(isObject(response) && response.is_error === true ? { error: text(response) } : {})
    }
  }
  if (event["llm_request"] !== undefined) out["llm_request"] = theirRequest(event["llm_request"])
  if (event.hook_event_name === "BeforeToolSelection") {
    out["llm_request"] = theirRequest({ model: event["model"], messages: [], tools: event["tools"] })
  }
  const response = event["llm_response"]
  if (isObject(response)) {
    out["llm_response"] = {
      text: response.text,
      candidates: [
        {
          content: { role: "model", parts: [response.text] },
          ...(typeof response.finish_reason === "string" ? { finishReason: response.finish_reason.toUpperCase() } : {})
        }
      ]
    }
  }
  if (event.hook_event_name === "Stop") {
    out["prompt"] = ""
    out["prompt_response"] = event["last_assistant_message"] ?? ""
  }
  return out
}
