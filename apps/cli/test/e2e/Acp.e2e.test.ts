/**
 * `strata acp` driven by a real ACP client: the SDK's `ClientSideConnection`
 * spawns the built `strata acp` as a child process and speaks protocol v1
 * over its stdio, with the testkit's scripted model server as the model:
 * initialize → session/new → session/prompt with a tool call the policy asks
 * about (session/request_permission, each answer kind) → the result; cancel
 * mid-turn; session/load after the agent process was killed.
 */
import type { ChildProcess } from "node:child_process"
import { rmSync } from "node:fs"
import * as path from "node:path"
import { Readable, Writable } from "node:stream"
import * as acp from "@agentclientprotocol/sdk"
import { Fault } from "@strata/testkit/ScriptedModel"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import { call, fixtures, type Project, providerToml, q, spawnStrata, withModel, withProject } from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

type Answer = "allow_once" | "allow_always" | "reject_once" | "reject_always" | "cancelled"

interface Agent {
  readonly connection: acp.ClientSideConnection
  readonly updates: Array<acp.SessionNotification>
  readonly permissions: Array<acp.RequestPermissionRequest>
  readonly child: ChildProcess
  readonly stderr: () => string
  answers: Array<Answer>
  onPermission?: (() => void) | undefined
}

const startAgent = (p: Project): Agent => {
  const child = spawnStrata(p.dir, p.home, ["acp"])
  let stderr = ""
  child.stderr!.on("data", (d) => {
    stderr += d
  })
  const agent: Agent = {
    updates: [],
    permissions: [],
    child,
    stderr: () => stderr,
    answers: [],
    connection: undefined as never
  }
  const stream = acp.ndJsonStream(
    Writable.toWeb(child.stdin!) as WritableStream<Uint8Array>,
    Readable.toWeb(child.stdout!) as ReadableStream<Uint8Array>
  )
  ;(agent as { connection: acp.ClientSideConnection }).connection = new acp.ClientSideConnection(
    () => ({
      requestPermission: async (params) => {
        agent.permissions.push(params)
        agent.onPermission?.()
        const answer = agent.answers.shift() ?? "reject_once"
        if (answer === "cancelled") return { outcome: { outcome: "cancelled" } }
        return { outcome: { outcome: "selected", optionId: params.options.find((o) => o.kind === answer)!.optionId } }
      },
      sessionUpdate: async (params) => {
        agent.updates.push(params)
      }
    }),
    stream
  )
  return agent
}

const stop = (agent: Agent) =>
  new Promise<void>((resolve) => {
    if (agent.child.exitCode !== null || agent.child.signalCode !== null) return resolve()
    agent.child.on("close", () => resolve())
    agent.child.kill("SIGKILL")
  })

const init = (agent: Agent) =>
  agent.connection.initialize({
    protocolVersion: acp.PROTOCOL_VERSION,
    clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false }
  })

const textOf = (agent: Agent, sessionId: string) =>
  agent.updates
    .filter((u) => u.sessionId === sessionId && u.update.sessionUpdate === "agent_message_chunk")
    .map((u) => (u.update as { content: { text?: string } }).content.text ?? "")
    .join("")

describe.concurrent("strata acp", { timeout: 120_000 }, () => {
  // covers: issue 16 part 5
  it("a model stream that drops mid-answer: the client is told the partial answer is discarded, then gets the whole one", async () => {
    await withProject(async (p) => {
      await withModel(
        {
          turns: [
            { text: "PARTIAL answer that drops", chunkSize: 4, delayMs: 30, fault: Fault.disconnect(2) },
            { text: "The whole answer." }
          ]
        },
        async (server) => {
          p.config(providerToml(server))
          const agent = startAgent(p)
          try {
            await init(agent)
            const { sessionId } = await agent.connection.newSession({ cwd: p.dir, mcpServers: [] })
            const result = await agent.connection.prompt({ sessionId, prompt: [{ type: "text", text: "answer" }] })
            expect(result.stopReason).toBe("end_turn")
            expect(server.requests).toHaveLength(2)
            const text = textOf(agent, sessionId)
            expect(text).toMatch(/broke off \(Disconnected\) and is discarded; asking the model again, attempt 2 of 3/)
            expect(text.endsWith("The whole answer.")).toBe(true)
          } finally {
            await stop(agent)
          }
        }
      )
    })
  })

  it("initialize, a prompt whose tool call needs permission (allow_once), tool call updates, end_turn", async () => {
    await withProject(async (p) => {
      await withModel(
        {
          turns: [
            { text: "Creating it.", ...call("shell__exec", { command: "touch made-by-acp.txt" }) },
            { text: "Created the file." }
          ]
        },
        async (server) => {
          p.config(providerToml(server))
          const agent = startAgent(p)
          try {
            const info = await init(agent)
            expect(info.protocolVersion).toBe(1)
            expect(info.agentCapabilities).toMatchObject({ loadSession: true, sessionCapabilities: { list: {} } })
            const { sessionId } = await agent.connection.newSession({ cwd: p.dir, mcpServers: [] })
            agent.answers.push("allow_once")
            const result = await agent.connection.prompt({
              sessionId,
              prompt: [{ type: "text", text: "make the file" }]
            })
            expect(result.stopReason).toBe("end_turn")
            // the permission request carries the exact call the model made
            expect(agent.permissions).toHaveLength(1)
            expect(agent.permissions[0]!.toolCall).toMatchObject({
              title: "touch made-by-acp.txt",
              kind: "execute",
              rawInput: { command: "touch made-by-acp.txt" }
            })
            expect(agent.permissions[0]!.options.map((o) => o.kind).sort()).toEqual([
              "allow_always",
              "allow_once",
              "reject_always",
              "reject_once"
            ])
            expect(p.exists("made-by-acp.txt")).toBe(true)
            expect(textOf(agent, sessionId)).toContain("Created the file.")
            const kinds = agent.updates.map((u) => u.update.sessionUpdate)
            expect(kinds).toContain("tool_call")
            const toolId = agent.permissions[0]!.toolCall.toolCallId
            const last = agent.updates
              .filter((u) => u.update.sessionUpdate === "tool_call_update" && u.update.toolCallId === toolId)
              .at(-1)
            expect(last?.update).toMatchObject({ status: "completed" })
            // sessions are threads
            const listed = await agent.connection.listSessions({})
            expect(listed.sessions.map((s) => s.sessionId)).toContain(sessionId)
          } finally {
            await stop(agent)
          }
        }
      )
    })
  })

  it("reject_once denies the call; allow_always / reject_always are remembered for the exact call", async () => {
    await withProject(async (p) => {
      await withModel(
        {
          turns: [
            call("shell__exec", { command: "touch a.txt" }),
            { text: "denied, ok." },
            call("shell__exec", { command: "touch b.txt" }),
            call("shell__exec", { command: "touch b.txt" }),
            { text: "b twice." },
            call("shell__exec", { command: "touch c.txt" }),
            call("shell__exec", { command: "touch c.txt" }),
            { text: "c refused twice." }
          ]
        },
        async (server) => {
          p.config(providerToml(server))
          const agent = startAgent(p)
          try {
            await init(agent)
            const { sessionId } = await agent.connection.newSession({ cwd: p.dir, mcpServers: [] })
            agent.answers.push("reject_once")
            const first = await agent.connection.prompt({ sessionId, prompt: [{ type: "text", text: "a" }] })
            expect(first.stopReason).toBe("end_turn")
            expect(p.exists("a.txt")).toBe(false)
            expect(agent.permissions).toHaveLength(1)

            agent.answers.push("allow_always")
            const second = await agent.connection.prompt({ sessionId, prompt: [{ type: "text", text: "b" }] })
            expect(second.stopReason).toBe("end_turn")
            expect(p.exists("b.txt")).toBe(true)
            // the second identical call was not asked about
            expect(agent.permissions).toHaveLength(2)

            agent.answers.push("reject_always")
            const third = await agent.connection.prompt({ sessionId, prompt: [{ type: "text", text: "c" }] })
            expect(third.stopReason).toBe("end_turn")
            expect(p.exists("c.txt")).toBe(false)
            expect(agent.permissions).toHaveLength(3)
            expect(textOf(agent, sessionId)).toContain("c refused twice.")
          } finally {
            await stop(agent)
          }
        }
      )
    })
  })

  it("allow_always on a shell command adds its rule to .strata/approved.toml: another strata acp already running runs it unasked", async () => {
    await withProject(async (p) => {
      await withModel(
        {
          turns: [
            call("shell__exec", { command: "touch kept.txt" }),
            { text: "kept." },
            call("shell__exec", { command: "touch kept.txt" }),
            { text: "kept again, unasked." }
          ]
        },
        async (server) => {
          p.config(providerToml(server))
          const first = startAgent(p)
          const second = startAgent(p)
          try {
            await init(first)
            await init(second)
            const one = (await first.connection.newSession({ cwd: p.dir, mcpServers: [] })).sessionId
            // the second agent's session starts before the rule exists
            const two = (await second.connection.newSession({ cwd: p.dir, mcpServers: [] })).sessionId
            first.answers.push("allow_always")
            expect(
              (await first.connection.prompt({ sessionId: one, prompt: [{ type: "text", text: "a" }] })).stopReason
            ).toBe("end_turn")
            expect(first.permissions).toHaveLength(1)
            expect(p.exists("kept.txt")).toBe(true)
            expect(p.read(".strata/approved.toml")).toContain('prefix = ["touch","kept.txt"]\nexact = true')
            rmSync(path.join(p.dir, "kept.txt"))
            const again = await second.connection.prompt({ sessionId: two, prompt: [{ type: "text", text: "b" }] })
            expect(again.stopReason).toBe("end_turn")
            expect(second.permissions).toHaveLength(0)
            expect(p.exists("kept.txt")).toBe(true)
            expect(textOf(second, two)).toContain("kept again, unasked.")
          } finally {
            await stop(first)
            await stop(second)
          }
        }
      )
    })
  })

  it("allow_always on a tool that is not a shell command (an untrusted MCP server's) is remembered for the session only: no rule written", async () => {
    await withProject(async (p) => {
      await withModel(
        {
          turns: [
            call("mcp__wild__echo", { text: "one" }),
            call("mcp__wild__echo", { text: "one" }),
            { text: "echoed twice." },
            call("mcp__wild__echo", { text: "one" }),
            { text: "asked again in a new session." }
          ]
        },
        async (server) => {
          p.config(
            [
              providerToml(server),
              "[mcp_servers.wild]",
              `command = ${q(process.execPath)}`,
              `args = ${JSON.stringify([path.join(fixtures, "mcp-stdio.mjs")])}`,
              'trust = "untrusted"',
              'startup_timeout = "60s"',
              ""
            ].join("\n")
          )
          const agent = startAgent(p)
          try {
            await init(agent)
            const one = (await agent.connection.newSession({ cwd: p.dir, mcpServers: [] })).sessionId
            agent.answers.push("allow_always")
            await agent.connection.prompt({ sessionId: one, prompt: [{ type: "text", text: "echo" }] })
            expect(textOf(agent, one)).toContain("echoed twice.")
            // the second identical call was not asked about; nothing went to approved.toml
            expect(agent.permissions).toHaveLength(1)
            expect(p.exists(".strata/approved.toml")).toBe(false)
            const two = (await agent.connection.newSession({ cwd: p.dir, mcpServers: [] })).sessionId
            agent.answers.push("allow_once")
            await agent.connection.prompt({ sessionId: two, prompt: [{ type: "text", text: "echo" }] })
            expect(agent.permissions).toHaveLength(2)
            expect(textOf(agent, two)).toContain("asked again in a new session.")
          } finally {
            await stop(agent)
          }
        }
      )
    })
  })

  it("session/cancel mid-turn: stopReason cancelled; the session takes the next prompt", async () => {
    await withProject(async (p) => {
      await withModel(
        {
          turns: [{ text: "Thinking slowly ".repeat(200), chunkSize: 4, delayMs: 20 }, { text: "after cancel" }]
        },
        async (server) => {
          p.config(providerToml(server))
          const agent = startAgent(p)
          try {
            await init(agent)
            const { sessionId } = await agent.connection.newSession({ cwd: p.dir, mcpServers: [] })
            const running = agent.connection.prompt({ sessionId, prompt: [{ type: "text", text: "go" }] })
            const deadline = Date.now() + 30_000
            while (textOf(agent, sessionId).length < 20 && Date.now() < deadline)
              await new Promise((r) => setTimeout(r, 20))
            await agent.connection.cancel({ sessionId })
            const result = await running
            expect(result.stopReason).toBe("cancelled")
            // the session takes a new prompt afterwards
            const next = await agent.connection.prompt({ sessionId, prompt: [{ type: "text", text: "again" }] })
            expect(next.stopReason).toBe("end_turn")
          } finally {
            await stop(agent)
          }
        }
      )
    })
  })

  it("a cancelled permission request ends the prompt as cancelled; session/load after kill -9 replays the thread", async () => {
    await withProject(async (p) => {
      await withModel(
        {
          turns: [
            { text: "Remember 42.", ...call("shell__exec", { command: "touch never.txt" }) },
            { text: "Still here." }
          ]
        },
        async (server) => {
          p.config(providerToml(server))
          const first = startAgent(p)
          let sessionId = ""
          try {
            await init(first)
            sessionId = (await first.connection.newSession({ cwd: p.dir, mcpServers: [] })).sessionId
            first.answers.push("cancelled")
            const result = await first.connection.prompt({ sessionId, prompt: [{ type: "text", text: "remember" }] })
            expect(result.stopReason).toBe("cancelled")
            expect(p.exists("never.txt")).toBe(false)
          } finally {
            await stop(first)
          }
          const second = startAgent(p)
          try {
            await init(second)
            await second.connection.loadSession({ sessionId, cwd: p.dir, mcpServers: [] })
            const replayed = second.updates.filter((u) => u.sessionId === sessionId).map((u) => u.update)
            expect(replayed).toContainEqual(
              expect.objectContaining({
                sessionUpdate: "user_message_chunk",
                content: { type: "text", text: "remember" }
              })
            )
            expect(textOf(second, sessionId)).toContain("Remember 42.")
            const missing = await second.connection
              .loadSession({ sessionId: "thread-does-not-exist", cwd: p.dir, mcpServers: [] })
              .catch((e) => e)
            expect(missing).toMatchObject({ code: -32002 })
          } finally {
            await stop(second)
          }
        }
      )
    })
  })
})
