/**
 * "Approve always" across processes: two built `strata serve` processes on
 * one project. The first approves a command always over the wire (`strata
 * remote approve --always`); the second, started before the rule was
 * added, runs the same command without asking: its policy takes up the new
 * `.strata/approved.toml` before the decision. A file that no longer loads
 * keeps the second server's policy in force (a deny rule included).
 */
import type { ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import { rmSync } from "node:fs"
import * as path from "node:path"
import * as StrataClient from "@strata/client/StrataClient"
import type { EventFrame } from "@strata/protocol/Event"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import {
  call,
  deleteRedisPrefixes,
  eventually,
  type Project,
  providerToml,
  q,
  redisUrl,
  type Served,
  spawnStrata,
  startServe,
  withModel,
  withProject
} from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

const prefixes: Array<string> = []
const children: Array<ChildProcess> = []

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL")
  await deleteRedisPrefixes(prefixes)
})

/** A `strata worker` on the project, once it says it is ready. */
const startWorker = (p: Project) =>
  new Promise<{ readonly child: ChildProcess; readonly out: () => string }>((resolve, reject) => {
    const child = spawnStrata(p.dir, p.home, ["worker"], { stdin: "ignore" })
    children.push(child)
    let out = ""
    const timer = setTimeout(() => reject(new Error(`worker not ready:\n${out}`)), 60_000)
    const onData = (d: Buffer) => {
      out += d
      if (/worker \S+ ready/.test(out)) {
        clearTimeout(timer)
        resolve({ child, out: () => out })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    child.on("exit", (code: number | null) => reject(new Error(`worker exited ${code}:\n${out}`)))
  })

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

  it("a cluster: approve_always answered on the API process is in force on a worker running since before", async () => {
    await withProject(async (p) => {
      await withModel(
        {
          turns: [
            { text: "Making it.", ...call("shell__exec", { command: "touch cluster-always.txt" }) },
            { text: "Made on a worker." },
            { text: "Again.", ...call("shell__exec", { command: "touch cluster-always.txt" }) },
            { text: "Made again on a worker, unasked." }
          ]
        },
        async (model) => {
          const prefix = `e2e-approved-${randomBytes(4).toString("hex")}`
          prefixes.push(prefix)
          p.config(
            [
              providerToml(model),
              "[storage]",
              'kind = "redis"',
              `url = ${q(redisUrl)}`,
              `prefix = ${q(`${prefix}-store`)}`,
              "[jobs]",
              'backend = "bullmq"',
              `redis_url = ${q(redisUrl)}`,
              `prefix = ${q(prefix)}`,
              ""
            ].join("\n")
          )
          const worker = await startWorker(p)
          const api = await startServe(p, ["--cluster", "--port", "0"])
          children.push(api.child)
          const client = StrataClient.make({ url: api.url })
          const threadId = (await client.call("thread/start", { name: "always" })).thread_id
          const ended = async (count: number) => {
            for (let i = 0; i < 1200; i++) {
              const events = (await client.call("events/read", { thread_id: threadId, after: 0 })).events
              const outcomes = events
                .filter((f: EventFrame) => f.event === "turn_ended")
                .map((f: EventFrame) => (f as EventFrame & { outcome: string }).outcome)
              if (outcomes.length >= count) return outcomes
              await new Promise((r) => setTimeout(r, 50))
            }
            throw new Error(`${count} turns did not end`)
          }
          await client.call("turn/start", { thread_id: threadId, prompt: "make it" })
          expect(await ended(1)).toEqual(["awaiting_approval"])
          const pending = JSON.parse(
            (await p.strata(["remote", "approvals", "--json"], { env: { STRATA_REMOTE: api.url } })).stdout
          )
          expect(pending).toHaveLength(1)
          const resolved = await client.call("approval/resolve", {
            approval_id: pending[0].id,
            decision: "approve_always"
          })
          expect(resolved.rules?.join("\n")).toContain('prefix = ["touch","cluster-always.txt"]')
          expect(await ended(2)).toEqual(["awaiting_approval", "completed"])
          expect(p.exists("cluster-always.txt")).toBe(true)
          rmSync(path.join(p.dir, "cluster-always.txt"))
          // the worker, running since before the rule was added, runs the command without asking
          const again = await client.call("turn/start", { thread_id: threadId, prompt: "again", wait: true })
          expect(again).toMatchObject({ outcome: "completed", output: "Made again on a worker, unasked." })
          expect(p.exists("cluster-always.txt")).toBe(true)
          expect(worker.out()).toContain(`turn on ${threadId}`)
          expect(api.output()).not.toContain("taken by")
        }
      )
    })
  })
})
