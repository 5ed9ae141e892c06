// Spans exported over OTLP/HTTP JSON to a real collector stand-in: an HTTP
// server on 127.0.0.1 that records what it receives on /v1/traces.
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Runtime, RuntimeConfig, ToolRegistry } from "@strata/core-runtime"
import * as ScriptedModelServer from "@strata/testkit/node/ScriptedModelServer"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Add } from "./tools.js"
import { configRuntime } from "./turnRuntime.js"

interface OtlpSpan {
  readonly name: string
  readonly spanId: string
  readonly parentSpanId?: string | undefined
  readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: Record<string, unknown> }>
}

const collector = Effect.acquireRelease(
  Effect.async<{ url: string; spans: Array<OtlpSpan>; paths: Array<string>; close: () => void }>((resume) => {
    const spans: Array<OtlpSpan> = []
    const paths: Array<string> = []
    const server = createServer((req, res) => {
      let body = ""
      req.on("data", (d) => (body += d))
      req.on("end", () => {
        paths.push(req.url ?? "")
        if (req.url === "/v1/traces") {
          const doc = JSON.parse(body) as {
            resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<OtlpSpan> }> }>
          }
          for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans)
        }
        res.writeHead(200, { "content-type": "application/json" })
        res.end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, spans, paths, close: () => server.close() }))
    })
  }),
  (c) => Effect.sync(c.close)
)

const attr = (span: OtlpSpan | undefined, key: string) => {
  const value = span?.attributes.find((a) => a.key === key)?.value
  return value === undefined ? undefined : Object.values(value)[0]
}

describe("Tracing", () => {
  it.live(
    "turn, model call and tool call spans reach an OTLP collector with token and cost attributes",
    () =>
      Effect.gen(function* () {
        const otlp = yield* collector
        const server = yield* ScriptedModelServer.make({
          turns: [
            {
              toolCalls: [{ name: "math__add", arguments: { a: 1, b: 2 } }],
              usage: { input_tokens: 1000, output_tokens: 100 }
            },
            { text: "3", usage: { input_tokens: 2000, output_tokens: 10 } }
          ]
        })
        const config = Schema.decodeUnknownSync(RuntimeConfig.RuntimeConfig)({
          model: "scripted",
          storage: { kind: "memory" },
          providers: { local: { kind: "openai-compatible", base_url: server.baseUrl("openai-compatible") } },
          models: [
            {
              id: "scripted",
              provider: "local",
              context_window: 32000,
              max_output_tokens: 1000,
              price_per_mtok: { input: 3, output: 15 }
            }
          ],
          policy: { builtin: false },
          telemetry: { otlp_endpoint: otlp.url, service_name: "strata-test" }
        })
        yield* Effect.scoped(
          Effect.gen(function* () {
            const rt = yield* Runtime.Runtime
            const response = yield* rt.handlePrompt({ prompt: "1+2" })
            expect(response.outcome).toBe("completed")
          }).pipe(
            Effect.provide(
              configRuntime(config, {
                cwd: process.cwd(),
                cliVersion: "test",
                tools: [ToolRegistry.fromPlugin("math", Add)]
              })
            )
          )
        )
        // the exporter flushes when its layer shuts down
        expect(otlp.paths).toContain("/v1/traces")
        const names = otlp.spans.map((s) => s.name)
        expect(names).toEqual(expect.arrayContaining(["Runtime.turn", "Runtime.modelCall", "Runtime.invokeTool"]))
        const turn = otlp.spans.find((s) => s.name === "Runtime.turn")
        expect(Number(attr(turn, "strata.input_tokens"))).toBe(3000)
        expect(Number(attr(turn, "strata.output_tokens"))).toBe(110)
        expect(Number(attr(turn, "strata.cost_usd"))).toBeCloseTo((3000 * 3 + 110 * 15) / 1e6, 9)
        expect(attr(turn, "strata.outcome")).toBe("completed")
        const tool = otlp.spans.find((s) => s.name === "Runtime.invokeTool")
        expect(attr(tool, "tool")).toBe("math__add")
        // The public operation's span (Effect.fn) is the turn's parent; the sandbox's and the
        // store's operations have theirs.
        const prompt = otlp.spans.find((s) => s.name === "TurnRunner.handlePrompt")
        expect(prompt).toBeDefined()
        expect(turn?.parentSpanId).toBe(prompt?.spanId)
        expect(names).toEqual(
          expect.arrayContaining(["ModelRegistry.resolve", "StateStore.appendEvents", "StateStore.createThread"])
        )
      }).pipe(Effect.scoped),
    60_000
  )
})
