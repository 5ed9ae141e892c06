/**
 * Providers and models, through the built `strata` against the testkit's
 * wire servers (OpenAI chat completions, Anthropic messages, Ollama /api/chat
 * on 127.0.0.1): which model answers, what goes on the wire
 * (`max_tokens` from `max_output_tokens`, invalid tool arguments replayed as
 * the model sent them, `is_error`), keys, headers, timeouts, retries,
 * fallbacks, prices, capabilities, the system prompt and `max_turns`.
 */
import type { RecordedRequest } from "@strata/testkit/ScriptedModel"
import { Fault, type Turn } from "@strata/testkit/ScriptedModel"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import { call, jsonLines, providerToml, q, withModel, withProject } from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

/** A model that calls `shell__exec` with arguments that are not JSON, then answers. */
const brokenArguments = (request: RecordedRequest): Turn =>
  request.messages.at(-1)?.role === "tool"
    ? { text: "fixed" }
    : { toolCalls: [{ name: "shell__exec", rawArguments: '{"command": "ls"' }] }

const resultOf = (stdout: string) => jsonLines(stdout).find((e) => e.event === "run_result")!

/** Anthropic providers read ANTHROPIC_API_KEY unless api_key_env says otherwise; the scripted server takes any key. */
const anthropicKey = { env: { ANTHROPIC_API_KEY: "sk-ant-e2e" } }

describe.concurrent("providers and models", { timeout: 180_000 }, () => {
  it("the wire: max_output_tokens as max_tokens, invalid tool arguments replayed as sent (OpenAI) with the error said once, is_error (Anthropic)", async () => {
    await withProject(async (p) => {
      await withModel({ respond: brokenArguments }, async (server) => {
        // covers: providers
        // covers: providers.*.kind
        // covers: providers.*.base_url
        // covers: models
        // covers: models.*.id
        // covers: models.*.provider
        // covers: models.*.max_output_tokens
        p.config(
          [
            providerToml(server, { provider: "o", model: "m_o", maxOutputTokens: 777, selectModel: false }),
            providerToml(server, {
              kind: "anthropic",
              provider: "a",
              model: "m_a",
              maxOutputTokens: 555,
              selectModel: false
            })
          ].join("\n")
        )
        const openai = await p.strata(["run", "--model", "m_o", "--approval", "never", "go"])
        expect(openai.code, openai.stderr).toBe(0)
        expect(server.requests[0]!.wire).toBe("openai")
        expect(server.requests[0]!.body.max_tokens).toBe(777)
        expect(server.requests[0]!.body.max_completion_tokens).toBeUndefined()
        const replay = server.requests[1]!.body.messages as Array<Record<string, any>>
        const assistant = replay.find((m) => m.role === "assistant")!
        expect(assistant.tool_calls[0].function.arguments).toBe('{"command": "ls"')
        const error = replay.find((m) => m.role === "tool")!.content as string
        expect(error).toMatch(/^Error: The arguments of tool "shell__exec" are not valid JSON/)
        expect(error.split(/again/i)).toHaveLength(2)

        const anthropic = await p.strata(["run", "--model", "m_a", "--approval", "never", "go"], anthropicKey)
        expect(anthropic.code, anthropic.stderr).toBe(0)
        expect(server.requests[2]!.wire).toBe("anthropic")
        expect(server.requests[2]!.body.max_tokens).toBe(555)
        const messages = server.requests[3]!.body.messages as Array<{
          role: string
          content: Array<Record<string, unknown>>
        }>
        expect(messages[1]!.content).toEqual([
          expect.objectContaining({ type: "tool_use", name: "shell__exec", input: {} })
        ])
        expect(messages[2]!.content).toEqual([expect.objectContaining({ type: "tool_result", is_error: true })])
      })
    })
  })

  it("model, provider_default, default_model and a model's name decide which model answers", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "hello", repeat: true }] }, async (server) => {
        // covers: provider_default
        // covers: providers.*.default_model
        // covers: models.*.name
        const two = [
          providerToml(server, { provider: "o", model: "m_o", selectModel: false, modelExtra: 'name = "wire-o"' }),
          providerToml(server, {
            kind: "anthropic",
            provider: "a",
            model: "m_a",
            selectModel: false,
            extra: 'default_model = "m_a"',
            modelExtra: 'name = "wire-a"'
          })
        ]
        p.config([`provider_default = "a"`, ...two].join("\n"))
        expect((await p.strata(["run", "hi"], anthropicKey)).code).toBe(0)
        expect([server.requests[0]!.wire, server.requests[0]!.model]).toEqual(["anthropic", "wire-a"])
        // covers: model
        p.config([`provider_default = "a"`, `model = "m_o"`, ...two].join("\n"))
        expect((await p.strata(["run", "hi"])).code).toBe(0)
        expect([server.requests[1]!.wire, server.requests[1]!.model]).toEqual(["openai", "wire-o"])
      })
    })
  })

  it("api_key_env: the key is read from the variable it names; unset, the run says which variable", async () => {
    await withProject(async (p) => {
      await withModel({ apiKey: "sk-e2e-secret", turns: [{ text: "authorized" }] }, async (server) => {
        // covers: providers.*.api_key_env
        p.config(providerToml(server, { extra: 'api_key_env = "E2E_KEY"' }))
        const missing = await p.strata(["run", "--json", "hi"])
        expect(missing.code).toBe(1)
        expect(missing.stderr).toContain("$E2E_KEY")
        expect(missing.stderr).not.toContain("Unknown model")
        expect(resultOf(missing.stdout)).toMatchObject({
          outcome: "failed",
          error: { message: expect.stringContaining("$E2E_KEY") }
        })
        expect(server.requests).toHaveLength(0)
        const flag = await p.strata(["run", "--model", "scripted", "hi"])
        expect(flag.stderr).toContain("$E2E_KEY")
        const ok = await p.strata(["run", "hi"], { env: { E2E_KEY: "sk-e2e-secret" } })
        expect(ok.code, ok.stderr).toBe(0)
        expect(ok.stdout).toContain("authorized")
        expect(server.requests[0]!.headers.authorization).toBe("Bearer sk-e2e-secret")
      })
    })
  })

  it("headers go with every request", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "ok" }] }, async (server) => {
        // covers: providers.*.headers
        p.config(
          providerToml(server, { extra: 'headers = { x-team = "blue", HTTP-Referer = "https://example.test" }' })
        )
        expect((await p.strata(["run", "hi"])).code).toBe(0)
        expect(server.requests[0]!.headers).toMatchObject({ "x-team": "blue", "http-referer": "https://example.test" })
      })
    })
  })

  it("max_retries: retried as often as configured; retry notices stay off stdout with --json", async () => {
    await withProject(async (p) => {
      const limited = Fault.rateLimited({ retryAfterMs: 10 })
      await withModel({ turns: [{ fault: limited }, { fault: limited }, { text: "third time" }] }, async (server) => {
        // covers: providers.*.max_retries
        p.config(providerToml(server, { extra: "max_retries = 2" }))
        const run = await p.strata(["run", "--json", "hi"])
        expect(run.code, run.stderr).toBe(0)
        expect(server.requests).toHaveLength(3)
        expect(resultOf(run.stdout)).toMatchObject({ outcome: "completed", output: "third time" })
        expect(run.stderr).toMatch(/retrying/)
      })
      await withModel({ turns: [{ fault: limited }, { text: "never asked" }] }, async (server) => {
        p.config(providerToml(server, { extra: "max_retries = 0" }))
        const run = await p.strata(["run", "--json", "hi"])
        expect(run.code).toBe(1)
        expect(server.requests).toHaveLength(1)
        expect(resultOf(run.stdout)).toMatchObject({
          outcome: "failed",
          error: { type: "ProviderError", reason: "RateLimited" }
        })
      })
    })
  })

  it("stream_retries: a stream dropped mid-answer is asked again, its partial output discarded; 0 fails at once; past the retries the run fails", async () => {
    // covers: issue 16 part 5
    // covers: providers.*.stream_retries
    await withProject(async (p) => {
      const partial = (fault: ReturnType<typeof Fault.disconnect>, extra: Partial<Turn> = {}): Turn => ({
        text: "PARTIAL-ANSWER that breaks off before it ends",
        chunkSize: 5,
        delayMs: 30,
        fault,
        ...extra
      })
      // dropped twice (once mid-text, once as a malformed chunk), then whole
      await withModel(
        {
          strict: true,
          turns: [
            partial(Fault.disconnect(3)),
            partial(Fault.malformed(2)),
            { text: "the whole answer" },
            { text: "next answer" }
          ]
        },
        async (server) => {
          p.config(providerToml(server))
          const run = await p.strata(["run", "--json", "hi"])
          expect(run.code, run.stderr).toBe(0)
          expect(server.requests).toHaveLength(3)
          const events = jsonLines(run.stdout)
          const retries = events.filter((e) => e.event === "response_retry")
          expect(retries).toMatchObject([
            { attempt: 2, max_attempts: 3, reason: "Disconnected" },
            { attempt: 3, max_attempts: 3, reason: "InvalidResponse" }
          ])
          // every response that started ended; the retried ones with `error`
          const started = events.filter((e) => e.event === "response_start").map((e) => e.response_id)
          const ended = events.filter((e) => e.event === "response_end")
          expect(ended.map((e) => e.response_id)).toEqual(started)
          expect(ended.slice(0, 2).map((e) => e.finish_reason)).toEqual(["error", "error"])
          expect(retries.map((e) => e.response_id)).toEqual(started.slice(0, 2))
          expect(resultOf(run.stdout)).toMatchObject({ outcome: "completed", output: "the whole answer" })
          // the partial output is in no history: not in the retried request, not in the next turn's
          for (const r of server.requests.slice(1)) expect(JSON.stringify(r.messages)).not.toContain("PARTIAL")
          const threadId = resultOf(run.stdout).thread_id as string
          const next = await p.strata(["run", "--json", "--thread", threadId, "and then?"])
          expect(next.code, next.stderr).toBe(0)
          const replay = server.requests[3]!.messages
          expect(replay.map((m) => [m.role, m.content])).toEqual([
            ["user", "hi"],
            ["assistant", "the whole answer"],
            ["user", "and then?"]
          ])
          // a person reading the text output is told the broken answer is discarded
          server.push(partial(Fault.disconnect(2)), { text: "whole again" })
          const text = await p.strata(["run", "--thread", threadId, "once more"])
          expect(text.code, text.stderr).toBe(0)
          expect(text.stdout).toMatch(/broke off.*discarded, asking again, attempt 2 of 3/)
          expect(text.stdout).toContain("whole again")
          expect(server.problems).toStrictEqual([])
        }
      )
      // stream_retries = 0: one attempt, then a clean typed failure on one line
      await withModel({ turns: [partial(Fault.disconnect(2)), partial(Fault.disconnect(2))] }, async (server) => {
        p.config(providerToml(server, { extra: "stream_retries = 0" }))
        const run = await p.strata(["run", "--json", "hi"])
        expect(run.code).toBe(1)
        expect(server.requests).toHaveLength(1)
        expect(jsonLines(run.stdout).some((e) => e.event === "response_retry")).toBe(false)
        expect(resultOf(run.stdout)).toMatchObject({
          outcome: "failed",
          error: { type: "ProviderError", reason: "Disconnected" }
        })
        const plain = await p.strata(["run", "hi"])
        expect(plain.code).toBe(1)
        expect(server.requests).toHaveLength(2)
        const errorLines = plain.stderr.split("\n").filter((l) => l.startsWith("strata: "))
        expect(errorLines).toHaveLength(1)
        expect(errorLines[0]).toMatch(/stream disconnected/)
      })
      // a server that always drops: stream_retries + 1 attempts, then the run fails
      await withModel({ turns: [partial(Fault.disconnect(1), { repeat: true })] }, async (server) => {
        p.config(providerToml(server, { extra: "stream_retries = 3" }))
        const run = await p.strata(["run", "--json", "hi"])
        expect(run.code).toBe(1)
        expect(server.requests).toHaveLength(4)
        expect(jsonLines(run.stdout).filter((e) => e.event === "response_retry")).toHaveLength(3)
        expect(resultOf(run.stdout)).toMatchObject({ outcome: "failed", error: { reason: "Disconnected" } })
        // the thread is left valid and not running
        const threadId = resultOf(run.stdout).thread_id as string
        const list = JSON.parse((await p.strata(["threads", "list", "--json"])).stdout) as Array<{
          id: string
          status: string
        }>
        expect(list.find((t) => t.id === threadId)?.status).not.toBe("running")
      })
      // a value out of range is a typed config error naming the field
      await withModel({ turns: [{ text: "never asked" }] }, async (server) => {
        for (const bad of [
          "stream_retries = 11",
          "stream_retries = -1",
          "stream_retries = 1.5",
          'stream_retries = "two"'
        ]) {
          p.config(providerToml(server, { extra: bad }))
          const run = await p.strata(["run", "hi"])
          expect(run.code, bad).toBe(1)
          const lines = run.stderr.split("\n").filter((l) => l.startsWith("strata: "))
          expect(lines, bad).toHaveLength(1)
          expect(lines[0], bad).toMatch(/config\.toml:\d+.*providers\.local\.stream_retries/)
        }
        expect(server.requests).toHaveLength(0)
      })
    })
  })

  it("timeouts: connect_ms, first_token_ms and idle_ms end a call that is too slow, with the phase", async () => {
    await withProject(async (p) => {
      const cases = [
        // covers: providers.*.timeouts.connect_ms
        ["connect_ms", Fault.hang(), "connect"],
        // covers: providers.*.timeouts.first_token_ms
        ["first_token_ms", Fault.slowFirstToken(60_000), "first_token"],
        // covers: providers.*.timeouts.idle_ms
        ["idle_ms", Fault.stall(1), "idle"]
      ] as const
      for (const [key, fault, phase] of cases) {
        await withModel({ turns: [{ fault, text: "a long answer that stalls" }] }, async (server) => {
          // stream_retries = 0: a stalled stream is not made again here (see the stream_retries test)
          p.config(providerToml(server, { extra: `max_retries = 0\nstream_retries = 0\ntimeouts = { ${key} = 400 }` }))
          const run = await p.strata(["run", "--json", "hi"])
          expect(run.code, `${key}: ${run.stderr}`).toBe(1)
          expect(resultOf(run.stdout), run.stdout).toMatchObject({
            outcome: "failed",
            error: { reason: "Timeout", phase }
          })
          // A response that started is ended.
          const events = jsonLines(run.stdout)
          const started = events.filter((e) => e.event === "response_start").map((e) => e.response_id)
          const ended = events.filter((e) => e.event === "response_end").map((e) => e.response_id)
          expect(ended).toEqual(started)
        })
      }
    })
  })

  it("fallbacks and fallback_on: an overloaded model hands over to its fallback, unless that class is not listed", async () => {
    await withProject(async (p) => {
      const script = (): Array<Turn> => [
        { fault: Fault.overloaded(), match: (r) => r.model === "first", repeat: true },
        { text: "from the fallback", match: (r) => r.model === "second", repeat: true }
      ]
      await withModel({ turns: script() }, async (server) => {
        const models = (fallbackOn: string) =>
          [
            providerToml(server, {
              model: "first",
              extra: "max_retries = 0",
              modelExtra: `fallbacks = ["second"]${fallbackOn}`
            }),
            "[[models]]",
            'id = "second"',
            'provider = "local"',
            "context_window = 32000",
            "max_output_tokens = 100",
            ""
          ].join("\n")
        // covers: models.*.fallbacks
        p.config(models(""))
        const run = await p.strata(["run", "--json", "hi"])
        expect(run.code, run.stderr).toBe(0)
        expect(jsonLines(run.stdout).find((e) => e.event === "model_fallback")).toMatchObject({
          from: "first",
          to: "second"
        })
        expect(resultOf(run.stdout)).toMatchObject({ output: "from the fallback", model: "second" })
        // covers: models.*.fallback_on
        p.config(models('\nfallback_on = ["rate_limit"]'))
        const strict = await p.strata(["run", "--json", "hi"])
        expect(strict.code).toBe(1)
        expect(resultOf(strict.stdout)).toMatchObject({ outcome: "failed", error: { reason: "Overloaded" } })
      })
    })
  })

  it("price_per_mtok prices the usage", async () => {
    await withProject(async (p) => {
      const usage = { input_tokens: 2_000_000, output_tokens: 1_000_000, cached_tokens: 1_000_000 }
      await withModel({ turns: [{ text: "priced", usage }] }, async (server) => {
        // covers: models.*.price_per_mtok
        // covers: models.*.price_per_mtok.input
        // covers: models.*.price_per_mtok.output
        // covers: models.*.price_per_mtok.cached_input
        p.config(
          providerToml(server, { modelExtra: "price_per_mtok = { input = 1, output = 3, cached_input = 0.25 }" })
        )
        const run = await p.strata(["run", "--json", "hi"])
        expect(run.code, run.stderr).toBe(0)
        // 1M fresh input at 1 + 1M cached at 0.25 + 1M output at 3
        expect((resultOf(run.stdout).usage as { cost_usd: number }).cost_usd).toBeCloseTo(4.25, 9)
      })
    })
  })

  it("capabilities: a model without tools is offered none; a reasoning model is asked to think", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "plain", repeat: true }] }, async (server) => {
        // covers: models.*.capabilities
        // covers: models.*.capabilities.tools
        // covers: models.*.capabilities.reasoning
        p.config(
          [
            providerToml(server, {
              provider: "o",
              model: "toolless",
              selectModel: false,
              modelExtra: "capabilities = { tools = false }"
            }),
            providerToml(server, {
              kind: "anthropic",
              provider: "a",
              model: "thinker",
              selectModel: false,
              modelExtra: "capabilities = { reasoning = true }"
            })
          ].join("\n")
        )
        expect((await p.strata(["run", "--model", "toolless", "hi"])).code).toBe(0)
        expect(server.requests[0]!.tools).toEqual([])
        expect(server.requests[0]!.body.tools).toBeUndefined()
        expect((await p.strata(["run", "--model", "thinker", "hi"], anthropicKey)).code).toBe(0)
        expect(server.requests[1]!.body.thinking).toEqual({ type: "enabled", budget_tokens: 1024 })
        expect(server.requests[1]!.tools).toContain("shell__exec")
      })
    })
  })

  it("context_window goes to Ollama as num_ctx", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "local" }] }, async (server) => {
        // covers: models.*.context_window
        p.config(providerToml(server, { kind: "ollama" }).replace("context_window = 32000", "context_window = 4321"))
        expect((await p.strata(["run", "hi"])).code).toBe(0)
        expect(server.requests[0]!.body.options).toMatchObject({ num_ctx: 4321, num_predict: 1000 })
      })
    })
  })

  it("system_prompt is the first message; max_turns stops a model that keeps calling tools (exit 4)", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [call("shell__exec", { command: "ls" }, { repeat: true })] }, async (server) => {
        // covers: system_prompt
        // covers: max_turns
        p.config([`system_prompt = ${q("You are terse.")}`, "max_turns = 2", providerToml(server)].join("\n"))
        const run = await p.strata(["run", "--json", "list"])
        expect(run.code, run.stderr).toBe(4)
        expect(server.requests).toHaveLength(2)
        expect(server.requests[0]!.messages[0]).toMatchObject({ role: "system", content: "You are terse." })
        expect(resultOf(run.stdout)).toMatchObject({ outcome: "max_turns", exit_code: 4 })
      })
    })
  })
})
