/**
 * The `--json` contract and the exit codes of the built `strata`: stdout
 * carries only JSON lines (logs and warnings on stderr), every run ends with
 * one `run_result` line (also on failure and on Ctrl-C, with an `error`
 * object), no `response_start` without its end; SIGINT exits 130; `strata
 * resume <id>` without a terminal continues that thread.
 */

import { Fault } from "@strata/testkit/ScriptedModel"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import { call, jsonLines, providerToml, withModel, withProject } from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

const balanced = (events: ReadonlyArray<Record<string, unknown>>) => {
  const started = events.filter((e) => e.event === "response_start").map((e) => e.response_id)
  const ended = events.filter((e) => e.event === "response_end").map((e) => e.response_id)
  expect(ended).toEqual(started)
}

describe.concurrent("--json and exit codes", { timeout: 180_000 }, () => {
  it("a failing run ends with a run_result carrying the error; stdout holds only JSON", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ fault: Fault.unauthorized() }] }, async (server) => {
        p.config(providerToml(server, { extra: "max_retries = 0" }))
        const run = await p.strata(["run", "--json", "hi"])
        expect(run.code).toBe(1)
        const events = jsonLines(run.stdout)
        expect(events.filter((e) => e.event === "run_result")).toHaveLength(1)
        expect(events.at(-1)).toMatchObject({
          event: "run_result",
          outcome: "failed",
          exit_code: 1,
          error: { type: "ProviderError", reason: "Unauthorized", message: expect.any(String) }
        })
        expect(events.find((e) => e.event === "turn_ended")).toMatchObject({ outcome: "failed" })
        balanced(events)
        // the one-line error is on stderr
        expect(run.stderr).toMatch(/^strata: .*(401|auth)/im)
      })
    })
  })

  it("SIGINT interrupts the turn: exit 130, a run_result with outcome interrupted, every response ended", async () => {
    await withProject(async (p) => {
      await withModel(
        { turns: [{ text: "a very long answer ".repeat(400), chunkSize: 4, delayMs: 20, repeat: true }] },
        async (server) => {
          p.config(providerToml(server))
          const run = await p.strata(["run", "--json", "talk"], {
            signalWhen: { text: '"response_delta"', signal: "SIGINT" }
          })
          expect(run.code).toBe(130)
          const events = jsonLines(run.stdout)
          expect(events.at(-1)).toMatchObject({ event: "run_result", outcome: "interrupted", exit_code: 130 })
          expect(events.find((e) => e.event === "turn_ended")).toMatchObject({ outcome: "interrupted" })
          balanced(events)
          const text = await p.strata(["run", "talk"], { signalWhen: { text: "a very long", signal: "SIGINT" } })
          expect(text.code).toBe(130)
        }
      )
    })
  })

  it("strata resume <id> without a terminal sends stdin's lines to that thread", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "first answer" }, { text: "second answer" }] }, async (server) => {
        p.config(providerToml(server))
        const first = await p.strata(["run", "--json", "remember the number 42"])
        const thread = jsonLines(first.stdout).at(-1)!.thread_id as string
        const resumed = await p.strata(["resume", thread], { stdin: "what was the number?\n" })
        expect(resumed.code, resumed.stderr).toBe(0)
        expect(resumed.stdout).toContain("second answer")
        expect(resumed.stdout).toContain(`thread ${thread}`)
        // the model saw the earlier exchange: the same thread
        expect(server.requests[1]!.messages.map((m) => m.content)).toEqual(
          expect.arrayContaining(["remember the number 42", "first answer", "what was the number?"])
        )
        const threads = JSON.parse((await p.strata(["threads", "list", "--json"])).stdout) as Array<{ id: string }>
        expect(threads.map((t) => t.id)).toEqual([thread])
        const nothing = await p.strata(["resume", thread])
        expect(nothing.code).toBe(0)
        expect(nothing.stdout).toContain("nothing to send")
        expect(server.requests).toHaveLength(2)
      })
    })
  })

  it("an approval left pending exits 3 with the run_result; a model that keeps calling tools exits 4", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [call("shell__exec", { command: "touch x" })] }, async (server) => {
        p.config(providerToml(server))
        const run = await p.strata(["run", "--json", "touch"])
        expect(run.code).toBe(3)
        expect(jsonLines(run.stdout).at(-1)).toMatchObject({ outcome: "awaiting_approval", exit_code: 3 })
      })
    })
  })
})
