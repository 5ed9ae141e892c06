/**
 * Strata as an Agent Client Protocol agent (protocol v1, on the official
 * `@agentclientprotocol/sdk`): what `strata acp` runs over stdio for Zed,
 * JetBrains, Neovim, Emacs and every other ACP editor.
 *
 * - Sessions are Strata threads: `session/new` starts one, `session/load`
 *   resumes one from its journal (also after the agent process died) and
 *   replays its history as `session/update`s, `session/list` lists them.
 * - `session/prompt` runs a turn through the `Runtime` facade. Its events
 *   become `session/update`s in journal order: text as
 *   `agent_message_chunk`, reasoning as `agent_thought_chunk`, tool calls as
 *   `tool_call` / `tool_call_update` (a file write or edit carries a `diff`).
 * - The policy's `ask` is `session/request_permission` with the exact call
 *   (title = the command, `rawInput` = the arguments the model sent) and
 *   the four option kinds. `allow_always` on a shell command under the
 *   execution policy adds its allow rules to `.strata/approved.toml`
 *   (`RuntimePolicy.ApprovedRules`, as `approval/resolve` with
 *   `approve_always`): in force for this session, later ones and other
 *   processes on the project. Otherwise `allow_always` / `reject_always`
 *   remember the exact call for the session: the same tool with the same
 *   arguments is answered the same way without asking again.
 * - `session/cancel` interrupts the turn: running tools are cancelled, the
 *   turn records `interrupted`, a pending permission request is withdrawn,
 *   and the prompt answers `stopReason: "cancelled"`.
 * - Stop reasons: `end_turn` (completed, or an approval left pending),
 *   `max_turn_requests` (max turns), `cancelled`.
 *
 * @since 0.2.0
 */
import * as acp from "@agentclientprotocol/sdk"
import { Runtime, ThreadManager } from "@strata/core-runtime"
import * as RuntimePolicy from "@strata/core-runtime/RuntimePolicy"
import type { EventFrame } from "@strata/protocol/Event"
import type { Message } from "@strata/protocol/Message"
import type { PromptResponse } from "@strata/protocol/Prompt"
import { StateStore } from "@strata/storage/StateStore"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as EffectRuntime from "effect/Runtime"
import * as Stream from "effect/Stream"
import * as RpcServer from "./RpcServer.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  readonly name?: string | undefined
  readonly version?: string | undefined
}

/** The kind of a tool call, from its name. */
const kindOf = (tool: string): acp.ToolKind => {
  const name = tool.split("__").at(-1) ?? tool
  if (name === "exec" || name === "bash" || name === "shell") return "execute"
  if (name === "read_file" || name === "read") return "read"
  if (name === "write_file" || name === "edit" || name === "apply_patch") return "edit"
  if (name === "glob" || name === "grep" || name === "search") return "search"
  if (name === "fetch") return "fetch"
  return "other"
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}

/** A diff for a file-editing call (what the editor shows before and after). */
const diffOf = (tool: string, args: unknown): ReadonlyArray<acp.ToolCallContent> => {
  const a = record(args)
  const name = tool.split("__").at(-1) ?? tool
  if (typeof a.path !== "string") return []
  if (name === "write_file" && typeof a.content === "string") {
    return [{ type: "diff", path: a.path, oldText: null, newText: a.content }]
  }
  if (name === "edit" && typeof a.old_string === "string" && typeof a.new_string === "string") {
    return [{ type: "diff", path: a.path, oldText: a.old_string, newText: a.new_string }]
  }
  return []
}

const titleOf = (tool: string, args: unknown): string => {
  const a = record(args)
  if (typeof a.command === "string") return a.command
  if (typeof a.path === "string") return `${tool} ${a.path}`
  return tool
}

const text = (t: string): acp.ContentBlock => ({ type: "text", text: t })

const resultText = (frame: Extract<EventFrame, { event: "tool_call_result" }>): string => {
  const r = frame.result
  if (r.ok) return r.output.content.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n")
  if (r.status === "failed") return r.error
  return r.reason
}

/** The session updates of one frame. */
const updatesOf = (frame: EventFrame): ReadonlyArray<acp.SessionUpdate> => {
  switch (frame.event) {
    case "response_delta":
      return frame.delta === ""
        ? []
        : [
            {
              sessionUpdate: frame.channel === "reasoning" ? "agent_thought_chunk" : "agent_message_chunk",
              content: text(frame.delta)
            }
          ]
    case "tool_call_start":
      return [
        {
          sessionUpdate: "tool_call",
          toolCallId: frame.call_id,
          title: titleOf(frame.tool_name, frame.arguments),
          kind: kindOf(frame.tool_name),
          status: "pending",
          rawInput: frame.arguments,
          content: [...diffOf(frame.tool_name, frame.arguments)]
        }
      ]
    case "tool_call_result": {
      const r = frame.result
      if (r.status === "approval_required") return []
      return [
        {
          sessionUpdate: "tool_call_update",
          toolCallId: frame.call_id,
          status: r.ok ? "completed" : "failed",
          content: [{ type: "content", content: text(resultText(frame)) }],
          rawOutput: r
        }
      ]
    }
    case "response_retry":
      // ACP has no way to take back chunks already sent: the client is told they are void.
      return [
        {
          sessionUpdate: "agent_message_chunk",
          content: text(
            `\n[the answer above broke off (${frame.reason}) and is discarded; asking the model again, attempt ${frame.attempt} of ${frame.max_attempts}]\n`
          )
        }
      ]
    case "error":
      return [{ sessionUpdate: "agent_message_chunk", content: text(`\n[error] ${frame.message}\n`) }]
    default:
      return []
  }
}

/** The session updates that replay a stored message (session/load). */
const replayOf = (message: Message): ReadonlyArray<acp.SessionUpdate> => {
  switch (message.role) {
    case "user":
      return [{ sessionUpdate: "user_message_chunk", content: text(message.content) }]
    case "assistant": {
      const out: Array<acp.SessionUpdate> = []
      if (message.content !== "") out.push({ sessionUpdate: "agent_message_chunk", content: text(message.content) })
      for (const call of message.tool_calls ?? []) {
        out.push({
          sessionUpdate: "tool_call",
          toolCallId: call.id,
          title: titleOf(call.name, call.arguments),
          kind: kindOf(call.name),
          status: "completed",
          rawInput: call.arguments
        })
      }
      return out
    }
    case "tool":
      return message.tool_call_id === undefined
        ? []
        : [
            {
              sessionUpdate: "tool_call_update",
              toolCallId: message.tool_call_id,
              status: message.is_error === true ? "failed" : "completed",
              content: [{ type: "content", content: text(message.content) }]
            }
          ]
    default:
      return []
  }
}

const stopReasonOf = (outcome: PromptResponse["outcome"]): acp.StopReason => {
  switch (outcome) {
    case "max_turns":
      return "max_turn_requests"
    case "interrupted":
      return "cancelled"
    default:
      return "end_turn"
  }
}

const promptText = (blocks: ReadonlyArray<acp.ContentBlock>): string =>
  blocks
    .flatMap((b) => {
      if (b.type === "text") return [b.text]
      if (b.type === "resource" && "text" in b.resource)
        return [`<context uri="${b.resource.uri}">\n${b.resource.text}\n</context>`]
      if (b.type === "resource_link") return [`@${b.uri}`]
      return []
    })
    .join("\n")

const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v) =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]])
        )
      : v
  )

interface Session {
  readonly id: string
  readonly remembered: Map<string, "approve" | "deny">
  turn: Fiber.RuntimeFiber<unknown, unknown> | undefined
  cancelled: boolean
}

/**
 * The agent's factory for `AgentSideConnection`, over the Runtime (and the
 * `RpcServer` event sequencing) in context.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: Options = {}) =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<
      Runtime.Runtime | ThreadManager.ThreadManager | StateStore | RpcServer.RpcServer
    >()
    const run = <A, E>(
      effect: Effect.Effect<A, E, Runtime.Runtime | ThreadManager.ThreadManager | StateStore | RpcServer.RpcServer>
    ) => EffectRuntime.runPromise(runtime)(effect)
    const fork = EffectRuntime.runFork(runtime)
    const approvedRules = yield* RuntimePolicy.ApprovedRules
    // A rule that cannot be written leaves the answer as it was: approved now, remembered for the session.
    const approveAlways = (command: string) =>
      run(
        approvedRules
          .approveAlways(command, { justification: "approved always in the editor (ACP allow_always)" })
          .pipe(
            Effect.tapError((error) => Effect.logWarning(`allow_always: no rule added: ${error.message}`)),
            Effect.orElseSucceed((): ReadonlyArray<string> => [])
          )
      )
    return (connection: acp.AgentSideConnection): acp.Agent => {
      const sessions = new Map<string, Session>()
      const sessionOf = (id: string): Session => {
        let s = sessions.get(id)
        if (s === undefined) {
          s = { id, remembered: new Map(), turn: undefined, cancelled: false }
          sessions.set(id, s)
        }
        return s
      }
      const requireThread = (id: string) =>
        run(
          Effect.flatMap(ThreadManager.ThreadManager, (t) => t.get(id)).pipe(
            Effect.map(Option.getOrUndefined),
            Effect.orElseSucceed(() => undefined)
          )
        ).then((thread) => {
          if (thread === undefined) throw acp.RequestError.resourceNotFound(id)
          return thread
        })

      const prompt = async (params: acp.PromptRequest): Promise<acp.PromptResponse> => {
        // the session id names a thread the store holds: its id, as the store decoded it
        const threadId = (await requireThread(params.sessionId)).id
        const session = sessionOf(params.sessionId)
        if (session.turn !== undefined) throw acp.RequestError.invalidRequest(undefined, "a prompt is already running")
        session.cancelled = false
        const after = await run(Effect.flatMap(StateStore, (s) => s.lastSeq(threadId)))
        let delivered = after
        const forward = fork(
          Effect.gen(function* () {
            const server = yield* RpcServer.RpcServer
            const frames = yield* server.threadEvents(threadId, after)
            yield* Stream.runForEach(frames, (frame) =>
              Effect.promise(async () => {
                for (const update of updatesOf(frame)) {
                  await connection.sessionUpdate({ sessionId: params.sessionId, update }).catch(() => {})
                }
                delivered = frame.seq
              })
            )
          })
        )
        const drain = async () => {
          const last = await run(Effect.flatMap(StateStore, (s) => s.lastSeq(threadId)))
          for (let i = 0; i < 400 && delivered < last; i++) await new Promise((r) => setTimeout(r, 5))
          await run(Fiber.interrupt(forward))
        }
        const runTurn = async <A>(
          effect: Effect.Effect<A, unknown, Runtime.Runtime>
        ): Promise<Exit.Exit<A, unknown>> => {
          const fiber = fork(effect)
          session.turn = fiber as Fiber.RuntimeFiber<unknown, unknown>
          try {
            return await run(Fiber.await(fiber))
          } finally {
            session.turn = undefined
          }
        }
        try {
          let exit = await runTurn(
            Effect.flatMap(Runtime.Runtime, (rt) =>
              rt.handlePrompt({ thread_id: threadId, prompt: promptText(params.prompt) })
            )
          )
          while (Exit.isSuccess(exit) && exit.value.outcome === "awaiting_approval" && !session.cancelled) {
            const pending = await run(
              Effect.flatMap(StateStore, (s) => s.listApprovals({ status: "pending", threadId }))
            )
            if (pending.length === 0) break
            let continued: PromptResponse | undefined
            for (const approval of pending) {
              if (session.cancelled) break
              const key = `${approval.call.name}\u0000${canonical(approval.call.arguments)}`
              let decision = session.remembered.get(key)
              let reason = decision === undefined ? undefined : `remembered for this session (${decision})`
              if (decision === undefined) {
                const answer = await connection.requestPermission({
                  sessionId: params.sessionId,
                  toolCall: {
                    toolCallId: approval.call.id,
                    title: approval.command ?? titleOf(approval.call.name, approval.call.arguments),
                    kind: kindOf(approval.call.name),
                    status: "pending",
                    rawInput: approval.call.arguments,
                    content: [
                      ...diffOf(approval.call.name, approval.call.arguments),
                      { type: "content", content: text(approval.reason) }
                    ]
                  },
                  options: [
                    { optionId: "allow_once", name: "Allow once", kind: "allow_once" },
                    { optionId: "allow_always", name: "Always allow this exact call", kind: "allow_always" },
                    { optionId: "reject_once", name: "Reject", kind: "reject_once" },
                    { optionId: "reject_always", name: "Always reject this exact call", kind: "reject_always" }
                  ]
                })
                if (answer.outcome.outcome === "cancelled" || session.cancelled) {
                  session.cancelled = true
                  break
                }
                const chosen = answer.outcome.optionId
                decision = chosen.startsWith("allow") ? "approve" : "deny"
                reason = `${chosen} in the editor`
                // allow_always on a shell command under the policy: the same rules as approve_always over the
                // wire (.strata/approved.toml, beyond this session); otherwise the exact call is remembered here.
                const rules =
                  chosen === "allow_always" && approval.command !== undefined
                    ? await approveAlways(approval.command)
                    : []
                if (rules.length > 0) reason = `${chosen} in the editor (rules added to .strata/approved.toml)`
                else if (chosen === "allow_always" || chosen === "reject_always") session.remembered.set(key, decision)
              }
              const resolved = await runTurn(
                Effect.flatMap(Runtime.Runtime, (rt) => rt.resolveApproval(approval.id, decision, { reason }))
              )
              if (Exit.isFailure(resolved)) {
                exit = resolved as Exit.Exit<never, unknown>
                break
              }
              if (resolved.value.turn !== undefined) continued = resolved.value.turn
            }
            if (Exit.isFailure(exit) || continued === undefined) break
            exit = Exit.succeed(continued)
          }
          if (session.cancelled) {
            await drain()
            return { stopReason: "cancelled" }
          }
          await drain()
          if (Exit.isFailure(exit)) {
            throw acp.RequestError.internalError(undefined, "the turn failed")
          }
          return { stopReason: stopReasonOf(exit.value.outcome) }
        } finally {
          await run(Fiber.interrupt(forward)).catch(() => {})
        }
      }

      return {
        initialize: async () => ({
          protocolVersion: acp.PROTOCOL_VERSION,
          agentCapabilities: {
            loadSession: true,
            promptCapabilities: { image: false, audio: false, embeddedContext: true },
            sessionCapabilities: { list: {} }
          },
          agentInfo: { name: options.name ?? "strata", version: options.version ?? "0.0.0" },
          authMethods: []
        }),
        authenticate: async () => ({}),
        newSession: async (params) => {
          const started = await run(
            Effect.flatMap(Runtime.Runtime, (rt) =>
              rt.handleThread({ kind: "start", ...(params.cwd === "" ? {} : { cwd: params.cwd }) })
            )
          )
          sessionOf(started.thread_id)
          return { sessionId: started.thread_id }
        },
        loadSession: async (params) => {
          const { id } = await requireThread(params.sessionId)
          const resumed = await run(
            Effect.flatMap(Runtime.Runtime, (rt) => rt.handleThread({ kind: "resume", thread_id: id }))
          )
          for (const message of resumed.data.history ?? []) {
            for (const update of replayOf(message)) {
              await connection.sessionUpdate({ sessionId: params.sessionId, update })
            }
          }
          sessionOf(params.sessionId)
          return {}
        },
        listSessions: async (params) => {
          const listed = await run(Effect.flatMap(Runtime.Runtime, (rt) => rt.handleThread({ kind: "list" })))
          return {
            sessions: listed.threads
              .filter((t) => params.cwd == null || params.cwd === "" || t.cwd === params.cwd)
              .map((t) => ({
                sessionId: t.id,
                cwd: t.cwd,
                title: t.name ?? (t.preview === "" ? null : t.preview),
                updatedAt: new Date(t.updated_at).toISOString()
              }))
          }
        },
        prompt,
        cancel: async (params) => {
          const session = sessions.get(params.sessionId)
          if (session === undefined) return
          session.cancelled = true
          const turn = session.turn
          if (turn !== undefined) await run(Fiber.interrupt(turn))
        }
      }
    }
  })
