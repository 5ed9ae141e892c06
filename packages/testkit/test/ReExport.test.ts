/**
 * The testkit's scripted model is `@strata/demo`'s, re-exported: a server
 * started through the testkit's subpaths answers real requests in the wire
 * format (the server's own suite lives in packages/demo/test).
 */
import { describe, expect, it } from "@effect/vitest"
import * as DemoServer from "@strata/demo/node/ScriptedModelServer"
import * as DemoModel from "@strata/demo/ScriptedModel"
import * as Server from "@strata/testkit/node/ScriptedModelServer"
import { lastMessageIs, Turn } from "@strata/testkit/ScriptedModel"
import * as Effect from "effect/Effect"

describe("@strata/testkit re-exports @strata/demo", () => {
  it("exports the same values, not a copy", () => {
    expect(Server.make).toBe(DemoServer.make)
    expect(Turn).toBe(DemoModel.Turn)
  })

  it.scopedLive("a server started through the testkit streams a scripted OpenAI turn", () =>
    Effect.gen(function* () {
      const server = yield* Server.make({
        turns: [Turn.text("hello from the script", { match: lastMessageIs("user") })]
      })
      const response = yield* Effect.promise(() =>
        fetch(`${server.baseUrl("openai-compatible")}/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: "hi" }] })
        }).then(async (r) => ({ status: r.status, text: await r.text() }))
      )
      expect(response.status).toBe(200)
      const deltas = response.text
        .split("\n")
        .filter((l) => l.startsWith("data: ") && l !== "data: [DONE]")
        .map(
          (l) =>
            (JSON.parse(l.slice(6)) as { choices: Array<{ delta?: { content?: string } }> }).choices[0]?.delta
              ?.content ?? ""
        )
      expect(deltas.join("")).toBe("hello from the script")
      expect(server.requests).toHaveLength(1)
      expect(server.requests[0]!.messages[0]!.content).toBe("hi")
    })
  )
})
