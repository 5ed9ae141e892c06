/**
 * The built-in demo model: when no provider is configured and no local
 * Ollama answers, `strata` starts `@strata/demo`'s scripted model server
 * in-process and says so in its banner ("demo model: no provider
 * configured"). The script is a short real task: it lists the workspace with
 * `shell__exec ls` (allowed by the distribution's policy), then asks to run
 * `touch strata-demo.txt` (the policy says `ask`: a person approves or
 * denies), then reports what happened. Every tool call is real.
 *
 * A prompt `run: <command>` makes the demo model run that command with
 * `shell__exec` (under the same policy): a way to try the policy and
 * approvals by hand.
 *
 * @since 0.1.0
 */
import type * as ScriptedModelServer from "@strata/demo/node/ScriptedModelServer"
import type { RecordedRequest, Turn } from "@strata/demo/ScriptedModel"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/**
 * The file the demo asks to create.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEMO_FILE = "strata-demo.txt"

/**
 * The demo's model id and provider id.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODEL = "demo"

const usage = { input_tokens: 120, output_tokens: 40 }

const lastCall = (request: RecordedRequest) => {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const call = request.messages[i]!.tool_calls?.[0]
    if (call !== undefined) return call
  }
  return undefined
}

const entries = (content: string): number | undefined => {
  try {
    const parsed = JSON.parse(content) as { output?: unknown }
    return typeof parsed.output === "string" ? parsed.output.split("\n").filter((l) => l !== "").length : undefined
  } catch {
    return undefined
  }
}

/**
 * The script, as a responder: what the demo model says given the
 * conversation so far.
 *
 * @since 0.1.0
 * @category constructors
 */
export const respond = (request: RecordedRequest): Turn => {
  const last = request.messages[request.messages.length - 1]
  const call = lastCall(request)
  const command =
    call !== undefined && typeof call.arguments === "object" && call.arguments !== null
      ? (call.arguments as { command?: unknown }).command
      : undefined
  if (last?.role === "user") {
    const asked = /^run:\s*(.+)$/s.exec(last.content.trim())
    if (asked !== null) {
      return {
        text: `Running \`${asked[1]}\`.`,
        toolCalls: [{ name: "shell__exec", arguments: { command: asked[1] } }],
        usage
      }
    }
  }
  if (last?.role !== "tool" || call === undefined) {
    return {
      text: "I am the built-in demo model: no provider is configured, so my answers are scripted, but the tools I call are real. First, a command the policy allows: listing the workspace.",
      toolCalls: [{ name: "shell__exec", arguments: { command: "ls" } }],
      usage,
      paced: true
    }
  }
  if (command === "ls") {
    const n = entries(last.content)
    return {
      text: `The workspace has ${n ?? "some"} entries. Next, a command the policy does not allow on its own: creating ${DEMO_FILE} needs your approval.`,
      toolCalls: [{ name: "shell__exec", arguments: { command: `touch ${DEMO_FILE}` } }],
      usage,
      paced: true
    }
  }
  const denied = /denied|not approved/i.test(last.content)
  if (typeof command === "string" && command !== `touch ${DEMO_FILE}`) {
    return { text: denied ? `\`${command}\` was denied.` : `Ran \`${command}\`.`, usage }
  }
  return {
    text: `${
      denied ? "The approval was denied, so the workspace is unchanged." : `Done: ${DEMO_FILE} exists now.`
    } That was the whole demo. For a real model, configure a provider in .strata/config.toml (see docs/compose-your-distribution.md) or run Ollama on 127.0.0.1:11434.`,
    usage,
    paced: true
  }
}

/**
 * Starts the demo model server for the lifetime of the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start: Effect.Effect<ScriptedModelServer.ScriptedModelServer, never, Scope.Scope> = Effect.flatMap(
  // imported when the demo model is the choice: a configured session never loads the server
  Effect.promise(() => import("@strata/demo/node/ScriptedModelServer")),
  (server) => server.make({ respond })
)
