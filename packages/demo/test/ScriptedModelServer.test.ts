import { describe, expect, it } from "@effect/vitest"
import * as Server from "@strata/demo/node/ScriptedModelServer"
import { echo, Fault, lastMessageIs, render, Turn } from "@strata/demo/ScriptedModel"
import * as Effect from "effect/Effect"

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  Effect.promise(async () => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body)
    })
    return { status: response.status, headers: response.headers, text: await response.text() }
  })

const sseData = (text: string) =>
  text
    .split("\n\n")
    .flatMap((block) => block.split("\n").filter((l) => l.startsWith("data: ")))
    .map((l) => l.slice(6))

describe("ScriptedModelServer", () => {
  it.scopedLive(
    "strict: a history with an unanswered, doubled or stray tool result is an HTTP 400, as the real APIs",
    () =>
      Effect.gen(function* () {
        const server = yield* Server.make({ strict: true, turns: [Turn.text("ok", { repeat: true })] })
        const url = `${server.baseUrl("openai-compatible")}/chat/completions`
        const call = { id: "c1", type: "function", function: { name: "t", arguments: "{}" } }
        const assistant = { role: "assistant", content: "", tool_calls: [call] }
        const result = { role: "tool", tool_call_id: "c1", content: "done" }
        const valid = yield* post(url, { model: "m", messages: [{ role: "user", content: "a" }, assistant, result] })
        expect(valid.status).toBe(200)
        const unanswered = yield* post(url, { model: "m", messages: [assistant, { role: "user", content: "b" }] })
        expect(unanswered.status).toBe(400)
        expect(unanswered.text).toContain("user message before the result of tool call c1")
        const doubled = yield* post(url, { model: "m", messages: [assistant, result, result] })
        expect(doubled.status).toBe(400)
        const stray = yield* post(url, { model: "m", messages: [{ role: "user", content: "a" }, result] })
        expect(stray.status).toBe(400)
        // Anthropic's wire: tool_result blocks in the next user message
        const anthropic = yield* post(`${server.url}/v1/messages`, {
          model: "m",
          max_tokens: 10,
          messages: [
            { role: "user", content: "a" },
            { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "t", input: {} }] },
            { role: "user", content: [{ type: "text", text: "no result" }] }
          ]
        })
        expect(anthropic.status).toBe(400)
        expect(server.problems.filter((p) => p.includes("rejected (strict)"))).toHaveLength(4)
      })
  )

  it.scopedLive("serves each wire on its route, in its format", () =>
    Effect.gen(function* () {
      const server = yield* Server.make({
        turns: [Turn.text("hi", { repeat: true, usage: { input_tokens: 3, output_tokens: 1 } })]
      })
      const openai = yield* post(`${server.baseUrl("openai-compatible")}/chat/completions`, {
        model: "m",
        messages: [],
        stream: true,
        stream_options: { include_usage: true }
      })
      expect(openai.headers.get("content-type")).toBe("text/event-stream")
      const data = sseData(openai.text)
      expect(data.at(-1)).toBe("[DONE]")
      expect(JSON.parse(data.at(-2)!).usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 1 })
      const deepseek = yield* post(`${server.baseUrl("deepseek")}/chat/completions`, { model: "m", messages: [] })
      expect(JSON.parse(sseData(deepseek.text).at(-2)!).usage.prompt_cache_miss_tokens).toBe(3)
      const openrouter = yield* post(`${server.baseUrl("openrouter")}/chat/completions`, { model: "m", messages: [] })
      expect(openrouter.text.startsWith(": OPENROUTER PROCESSING")).toBe(true)
      const anthropic = yield* post(`${server.baseUrl("anthropic")}/v1/messages`, { model: "m", messages: [] })
      expect(anthropic.text).toContain("event: message_start")
      expect(anthropic.text.trim().endsWith('data: {"type":"message_stop"}')).toBe(true)
      const ollama = yield* post(`${server.baseUrl("ollama")}/api/chat`, { model: "m", messages: [] })
      expect(ollama.headers.get("content-type")).toBe("application/x-ndjson")
      const lines = ollama.text
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
      expect(lines.at(-1)).toMatchObject({ done: true, prompt_eval_count: 3, eval_count: 1 })
      expect(server.requests.map((r) => r.wire)).toEqual(["openai", "deepseek", "openrouter", "anthropic", "ollama"])
    })
  )

  it.scopedLive("picks the next turn by inspecting the request, and records it normalized", () =>
    Effect.gen(function* () {
      const server = yield* Server.make({
        turns: [Turn.text("after the tool", { match: lastMessageIs("tool") }), Turn.toolCalls([{ name: "ls" }])]
      })
      const url = `${server.baseUrl("anthropic")}/v1/messages`
      const first = yield* post(url, { model: "m", messages: [{ role: "user", content: "list" }] })
      expect(first.text).toContain('"name":"ls"')
      yield* post(url, {
        model: "m",
        system: "sys",
        messages: [
          { role: "user", content: "list" },
          { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "ls", input: {} }] },
          { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "a.txt" }] }
        ]
      })
      expect(server.requests[1]!.messages).toEqual([
        { role: "system", content: "sys" },
        { role: "user", content: "list" },
        { role: "assistant", content: "", tool_calls: [{ id: "toolu_1", name: "ls", arguments: {} }] },
        { role: "tool", tool_call_id: "toolu_1", content: "a.txt" }
      ])
      expect(server.remaining()).toBe(0)
    })
  )

  it.scopedLive("renders status faults with retry-after and the wire's error body", () =>
    Effect.gen(function* () {
      const server = yield* Server.make({
        turns: [Turn.fault(Fault.rateLimited({ retryAfter: 2, retryAfterMs: 1500 })), Turn.fault(Fault.overloaded())]
      })
      const limited = yield* post(`${server.baseUrl("openai-compatible")}/chat/completions`, { model: "m" })
      expect(limited.status).toBe(429)
      expect(limited.headers.get("retry-after")).toBe("2")
      expect(limited.headers.get("retry-after-ms")).toBe("1500")
      expect(JSON.parse(limited.text).error.code).toBe("rate_limit_exceeded")
      const overloaded = yield* post(`${server.baseUrl("anthropic")}/v1/messages`, { model: "m" })
      expect(overloaded.status).toBe(529)
      expect(JSON.parse(overloaded.text)).toEqual({
        type: "error",
        error: { type: "overloaded_error", message: "Overloaded" }
      })
    })
  )

  it.scopedLive("checks the key when told to, and reports what it could not serve", () =>
    Effect.gen(function* () {
      const server = yield* Server.make({ apiKey: "sk-right" })
      const wrong = yield* post(
        `${server.baseUrl("openai-compatible")}/chat/completions`,
        { model: "m" },
        {
          authorization: "Bearer sk-wrong"
        }
      )
      expect(wrong.status).toBe(401)
      const empty = yield* post(
        `${server.baseUrl("anthropic")}/v1/messages`,
        { model: "m" },
        { "x-api-key": "sk-right" }
      )
      expect(empty.status).toBe(500)
      const unknown = yield* post(`${server.url}/v2/unknown`, {})
      expect(unknown.status).toBe(404)
      expect(server.problems).toEqual([
        "no scripted turn left for request #1 (anthropic m)",
        "no route for POST /v2/unknown"
      ])
    })
  )

  it.scopedLive("answers with `respond` when the script has nothing (the demo model)", () =>
    Effect.gen(function* () {
      const server = yield* Server.make({ respond: echo })
      const reply = yield* post(`${server.baseUrl("ollama")}/api/chat`, {
        model: "m",
        messages: [{ role: "user", content: "ping" }]
      })
      const text = reply.text
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).message.content)
        .join("")
      expect(text).toBe("You said: ping")
    })
  )

  it("splits text into deltas of chunkSize and counts only content chunks", () => {
    const request = {
      index: 0,
      wire: "openai" as const,
      path: "",
      headers: {},
      body: {},
      model: "m",
      messages: [],
      tools: []
    }
    const chunks = render("openai", Turn.text("abcdefg", { chunkSize: 3 }), request)
    expect(chunks.filter((c) => c.content).length).toBe(3)
  })
})
