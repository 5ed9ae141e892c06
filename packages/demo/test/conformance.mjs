// Cross-runtime conformance for @strata/demo: runs unchanged under Node, Bun and Deno on dist.
// The demo model's server (node:http, which all three provide) answers real requests in the
// OpenAI, Anthropic and Ollama wire formats.
import assert from "node:assert/strict"
import * as Server from "@strata/demo/node/ScriptedModelServer"
import { Turn } from "@strata/demo/ScriptedModel"
import { run, test } from "../../../scripts/conformance.mjs"

const post = async (url, body) => {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body)
  })
  return { status: response.status, text: await response.text() }
}

test("a scripted turn streams as OpenAI SSE, Anthropic SSE and Ollama NDJSON", async () => {
  const server = await Server.start({ turns: [Turn.text("hello demo", { repeat: true })] })
  try {
    const messages = [{ role: "user", content: "hi" }]
    const openai = await post(`${server.baseUrl("openai-compatible")}/chat/completions`, {
      model: "m",
      stream: true,
      messages
    })
    assert.equal(openai.status, 200)
    const deltas = openai.text
      .split("\n")
      .filter((l) => l.startsWith("data: ") && l !== "data: [DONE]")
      .map((l) => JSON.parse(l.slice(6)).choices[0]?.delta?.content ?? "")
    assert.equal(deltas.join(""), "hello demo")
    const anthropic = await post(`${server.url}/v1/messages`, { model: "m", max_tokens: 10, stream: true, messages })
    assert.equal(anthropic.status, 200)
    assert.match(anthropic.text, /event: message_stop/)
    const ollama = await post(`${server.url}/api/chat`, { model: "m", messages })
    assert.equal(ollama.status, 200)
    const lines = ollama.text
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l))
    assert.equal(lines.map((l) => l.message?.content ?? "").join(""), "hello demo")
    assert.equal(lines.at(-1).done, true)
    assert.equal(server.requests.length, 3)
  } finally {
    await server.close()
  }
})

test("a responder answers when no scripted turn is left", async () => {
  const server = await Server.start({ respond: (r) => ({ text: `you said ${r.messages.at(-1).content}` }) })
  try {
    const answer = await post(`${server.baseUrl("openai-compatible")}/chat/completions`, {
      model: "m",
      stream: true,
      messages: [{ role: "user", content: "ping" }]
    })
    assert.equal(answer.status, 200)
    assert.match(answer.text, /you said/)
  } finally {
    await server.close()
  }
})

await run("@strata/demo")
