/**
 * "Approve always" across processes: two built `strata serve` processes on
 * one project. The first approves a command always over the wire (`strata
 * remote approve --always`); the second, started before the rule was
 * added, runs the same command without asking: its policy takes up the new
 * `.strata/approved.toml` before the decision. A file that no longer loads
 * keeps the second server's policy in force (a deny rule included).
 */
import type { ChildProcess } from "node:child_process"
import { rmSync } from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import {
  call,
  eventually,
  type Project,
  providerToml,
  type Served,
  startServe,
  withModel,
  withProject
} from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

const withServers = async (body: (start: (p: Project) => Promise<Served>) => Promise<void>) => {
  const mine = new Set<ChildProcess>()
  try {
    await body((p) =>
      startServe(p, ["--port", "0"]).then((served) => {
        mine.add(served.child)
        return served
      })
    )
  } finally {
    for (const child of mine) child.kill("SIGKILL")
  }
}

const turnEnded = async (url: string, threadId: string, outcome: string) => {
  const r = await fetch(`${url}/v1/rpc`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "events/read", params: { thread_id: threadId } })
  })
  const body = (await r.json()) as { result?: { events: Array<{ event: string; outcome?: string }> } }
  return (body.result?.events ?? []).filter((f) => f.event === "turn_ended" && f.outcome === outcome).length
}

describe("approve always across processes", { timeout: 240_000 }, () => {
  it("a rule one strata serve adds is in force in another already running on the project; a broken file keeps the last good policy", async () => {
    await withProject(async (p) => {
      await withModel(
        {
          turns: [
            { text: "Making it.", ...call("shell__exec", { command: "touch across.txt" }) },
            { text: "Made by the first." },
            { text: "Again.", ...call("shell__exec", { command: "touch across.txt" }) },
            { text: "Made by the second, unasked." },
            { text: "Removing.", ...call("shell__exec", { command: "rm across.txt" }) },
            { text: "Denied, as it should be." },
            { text: "Removing again.", ...call("shell__exec", { command: "rm across.txt" }) },
            { text: "Still denied." }
          ]
        },
        async (model) =>
          withServers(async (start) => {
            p.config(providerToml(model))
            const first = await start(p)
            const second = await start(p)
            const run = await p.strata(["remote", "run", "make", "it"], {
              env: { STRATA_REMOTE: first.url },
              timeoutMs: 60_000
            })
            expect(run.code, run.stderr).toBe(3)
            const listed = JSON.parse(
              (await p.strata(["remote", "approvals", "--json"], { env: { STRATA_REMOTE: first.url } })).stdout
            )
            expect(listed).toHaveLength(1)
            const approved = await p.strata(["remote", "approve", "--always", listed[0].id, "--url", first.url])
            expect(approved.code, approved.stderr).toBe(0)
            expect(p.read(".strata/approved.toml")).toContain('prefix = ["touch","across.txt"]')
            await eventually(() => p.exists("across.txt"), "the first server ran the approved command")
            for (let i = 0; i < 400 && (await turnEnded(first.url, listed[0].thread_id, "completed")) === 0; i++)
              await new Promise((r) => setTimeout(r, 50))
            rmSync(path.join(p.dir, "across.txt"))
            // the second server, running since before the rule existed, runs it unasked (exit 0, not 3)
            const again = await p.strata(["remote", "run", "again"], {
              env: { STRATA_REMOTE: second.url },
              timeoutMs: 60_000
            })
            expect(again.code, again.stderr).toBe(0)
            expect(again.stdout).toContain("Made by the second, unasked.")
            expect(p.exists("across.txt")).toBe(true)
            // a deny rule added by hand is in force in the second server at its next check ...
            p.write(
              ".strata/approved.toml",
              `${p.read(".strata/approved.toml")}[[rule]]\nprefix = ["rm"]\ndecision = "deny"\n`
            )
            const remove = async (prompt: string, said: string) => {
              const denied = await p.strata(["remote", "run", prompt], {
                env: { STRATA_REMOTE: second.url },
                timeoutMs: 60_000
              })
              expect(denied.code, denied.stderr).toBe(0)
              expect(denied.stdout).toContain(said)
              expect(p.exists("across.txt")).toBe(true)
            }
            await remove("remove it", "Denied, as it should be.")
            // ... and stays when the file then no longer loads (half a rule): the last good policy is kept
            p.write(".strata/approved.toml", `${p.read(".strata/approved.toml")}[[rule]]\nprefix = ["cp"\n`)
            await remove("remove it again", "Still denied.")
            expect(second.output()).toContain("no longer loads")
            expect(second.child.exitCode).toBeNull()
          })
      )
    })
  })
})
