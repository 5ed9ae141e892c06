/**
 * The model-call hooks through the built `strata`, with real hook scripts
 * and a real model server on 127.0.0.1: `BeforeModel` redacts the request
 * and blocks a call, `AfterModel` blocks a response before its tool call
 * runs and rewrites its text, `PostToolUse` rewrites the output the model
 * reads (`updatedToolOutput`), and a gemini-cli `BeforeToolSelection` hook
 * narrows the tools offered, in gemini's own dialect.
 */
import * as path from "node:path"
import type { RecordedRequest, Turn } from "@strata/testkit/ScriptedModel"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import { call, jsonLines, type Project, providerToml, q, withModel, withProject } from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

const node = (p: Project, file: string, body: string) => {
  p.write(file, `const input = JSON.parse(require("node:fs").readFileSync(0, "utf8"))\n${body}\n`)
  return `${q(process.execPath)} ${q(path.join(p.dir, file))}`
}

const rules = `
[[rule]]
prefix = [["echo", "rm"]]
decision = "allow"
`

const lastUser = (r: RecordedRequest) => r.messages.filter((m) => m.role === "user").at(-1)?.content ?? ""

const respond = (r: RecordedRequest): Turn => {
  const prompt = lastUser(r)
  const answered = r.messages.at(-1)?.role === "tool"
  if (answered) return { text: `done: ${r.messages.at(-1)?.content}` }
  if (prompt.includes("delete")) return { text: "Deleting.", ...call("shell__exec", { command: "rm victim.txt" }) }
  if (prompt.includes("show")) return { text: "Showing.", ...call("shell__exec", { command: "echo TOKEN=abc123" }) }
  if (prompt.includes("rude")) return { text: "this is bad-word indeed" }
  return { text: `heard: ${prompt}` }
}

describe("model-call hooks", { timeout: 300_000 }, () => {
  // covers: issue 23 part 2 (before/after the model call, tool-output rewriting)
  it("BeforeModel redacts and blocks, AfterModel blocks and rewrites, PostToolUse rewrites the output", async () => {
    await withProject(async (p) => {
      p.write(".strata/policy.toml", rules)
      p.write("victim.txt", "keep me\n")
      const before = node(
        p,
        "hooks/before.cjs",
        `const msgs = input.llm_request.messages
if (msgs.some((m) => m.content.includes("forbidden"))) {
  console.log(JSON.stringify({ decision: "block", reason: "no forbidden topics" }))
} else {
  console.log(JSON.stringify({ hookSpecificOutput: { hookEventName: "BeforeModel",
    updatedInput: { messages: msgs.map((m) => ({ ...m, content: m.content.replaceAll("SECRET-123", "[redacted]") })) } } }))
}`
      )
      const after = node(
        p,
        "hooks/after.cjs",
        `const res = input.llm_response
if (res.tool_calls.some((c) => String(c.arguments.command).startsWith("rm "))) {
  console.log(JSON.stringify({ decision: "block", reason: "no deleting" }))
} else if (res.text.includes("bad-word")) {
  console.log(JSON.stringify({ hookSpecificOutput: { hookEventName: "AfterModel", updatedInput: { text: res.text.replace("bad-word", "***") } } }))
}`
      )
      const post = node(
        p,
        "hooks/post.cjs",
        `const text = input.tool_response.content.map((c) => c.text ?? "").join("")
if (text.includes("TOKEN=")) console.log(JSON.stringify({ hookSpecificOutput: { hookEventName: "PostToolUse", updatedToolOutput: "[hidden by hook]" } }))`
      )
      await withModel({ respond, strict: true }, async (server) => {
        p.config(
          [
            providerToml(server),
            "[[hooks.BeforeModel]]",
            `command = ${q(before)}`,
            "",
            "[[hooks.AfterModel]]",
            `command = ${q(after)}`,
            "",
            "[[hooks.PostToolUse]]",
            `command = ${q(post)}`,
            ""
          ].join("\n")
        )
        // BeforeModel rewrites the text the model reads
        const redacted = await p.strata(["run", "--json", "my key is SECRET-123"])
        expect(redacted.code, redacted.stderr).toBe(0)
        expect(lastUser(server.requests.at(-1)!)).toBe("my key is [redacted]")
        expect(JSON.stringify(server.requests.map((r) => r.messages))).not.toContain("SECRET-123")

        // BeforeModel blocks: no request reaches the model, the turn fails with the reason
        const sent = server.requests.length
        const blocked = await p.strata(["run", "--json", "tell me something forbidden"])
        expect(blocked.code).not.toBe(0)
        expect(blocked.stderr).toContain("no forbidden topics")
        expect(server.requests.length).toBe(sent)

        // AfterModel blocks the response: its tool call never runs, and the thread stays valid
        const deleting = await p.strata(["run", "--json", "--yes", "please delete it"])
        expect(deleting.code).not.toBe(0)
        expect(deleting.stderr).toContain("no deleting")
        expect(p.read("victim.txt")).toBe("keep me\n")
        const threadId = jsonLines(deleting.stdout).find((e) => typeof e.thread_id === "string")?.thread_id as string
        expect(threadId).toBeDefined()
        const next = await p.strata(["run", "--json", "--thread", threadId, "and now?"])
        expect(next.code, next.stderr).toBe(0)
        expect(server.problems).toEqual([])
        const history = server.requests.at(-1)!.messages
        expect(history.find((m) => m.role === "tool")?.content).toContain("an AfterModel hook blocked this response")

        // AfterModel rewrites the text kept in the history and printed
        const rude = await p.strata(["run", "--json", "be rude"])
        expect(rude.code, rude.stderr).toBe(0)
        expect(rude.stdout).toContain("this is *** indeed")
        const rudeThread = jsonLines(rude.stdout).find((e) => typeof e.thread_id === "string")?.thread_id as string
        await p.strata(["run", "--json", "--thread", rudeThread, "again"])
        expect(JSON.stringify(server.requests.at(-1)!.messages)).not.toContain("bad-word")

        // PostToolUse rewrites the output the model reads
        const show = await p.strata(["run", "--json", "--yes", "show the token"])
        expect(show.code, show.stderr).toBe(0)
        const toolMessage = server.requests.at(-1)!.messages.at(-1)!
        expect(toolMessage.role).toBe("tool")
        expect(toolMessage.content).toContain("[hidden by hook]")
        expect(toolMessage.content).not.toContain("abc123")
      })
    })
  })

  it("a gemini-cli BeforeToolSelection hook narrows the tools offered, in gemini's names", async () => {
    await withProject(async (p) => {
      const select = node(
        p,
        "hooks/select.cjs",
        `const offered = input.llm_request.toolConfig.allowedFunctionNames
if (!offered.includes("run_shell_command")) process.exit(2)
console.log(JSON.stringify({ hookSpecificOutput: { toolConfig: { allowedFunctionNames: ["run_shell_command", "no_such_tool"] } } }))`
      )
      const none = node(
        p,
        "hooks/none.cjs",
        `console.log(JSON.stringify({ hookSpecificOutput: { toolConfig: { mode: "NONE" } } }))`
      )
      await withModel({ respond }, async (server) => {
        const withHook = (command: string) =>
          p.config(
            [
              providerToml(server),
              "[[hooks.BeforeToolSelection]]",
              `command = ${q(command)}`,
              'dialect = "gemini"',
              ""
            ].join("\n")
          )
        withHook(select)
        const narrowed = await p.strata(["run", "--json", "hello"])
        expect(narrowed.code, narrowed.stderr).toBe(0)
        expect(server.requests.at(-1)!.tools).toEqual(["shell__exec"])

        withHook(none)
        const offered = await p.strata(["run", "--json", "hello again"])
        expect(offered.code, offered.stderr).toBe(0)
        expect(server.requests.at(-1)!.tools).toEqual([])
      })
    })
  })
})
