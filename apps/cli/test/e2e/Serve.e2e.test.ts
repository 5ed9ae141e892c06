/**
 * `strata serve` as a real HTTP server process (the built binary), driven by
 * `@strata/client` and by raw fetch: every method, two clients on one
 * thread answering an approval, SSE resume after a dropped connection and
 * after kill -9 and a restart (no gap, no duplicate), tokens and scopes,
 * the rate limit, hostile bodies (typed JSON-RPC errors; the server never
 * crashes), and the same methods over `--stdio`.
 */
import type { ChildProcess } from "node:child_process"
import * as StrataClient from "@strata/client/StrataClient"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import { call, type Project, providerToml, type Served, startServe, withModel, withProject } from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

/** The servers a test started, killed when it ends (tests run concurrently: each kills only its own). */
const withServers = async (body: (start: typeof startServer) => Promise<void>) => {
  const mine = new Set<ChildProcess>()
  try {
    await body((p, args, env) =>
      startServer(p, args, env).then((served) => {
        mine.add(served.child)
        return served
      })
    )
  } finally {
    for (const child of mine) child.kill("SIGKILL")
  }
}

const startServer = (p: Project, args: ReadonlyArray<string> = [], env: Record<string, string> = {}) =>
  startServe(p, ["--port", "0", ...args], env)

const kill9 = (served: Served) =>
  new Promise<void>((resolve) => {
    served.child.removeAllListeners("close")
    served.child.on("close", () => resolve())
    served.child.kill("SIGKILL")
  })

const rpc = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${url}/v1/rpc`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })
  const text = await response.text()
  return { status: response.status, body: text === "" ? null : JSON.parse(text) }
}

const frames = async (
  client: StrataClient.StrataClient,
  threadId: string,
  until: (f: StrataClient.StreamItem) => boolean,
  options: StrataClient.EventsOptions = {}
) => {
  const seen: Array<StrataClient.StreamItem> = []
  for await (const item of client.threadEvents(threadId, options)) {
    seen.push(item)
    if (until(item)) break
  }
  return seen
}

const endedTurn = (item: StrataClient.StreamItem) => item.type === "frame" && item.frame.event === "turn_ended"

describe.concurrent("strata serve", { timeout: 180_000 }, () => {
  it("every method through @strata/client, and curl-style raw fetch", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "Hello from the model." }, { text: "Second." }] }, async (model) =>
        withServers(async (startServer) => {
          p.config(providerToml(model))
          const served = await startServer(p)
          const client = StrataClient.make({ url: served.url })
          const info = await client.info()
          expect(info).toMatchObject({ name: "strata", rpc_version: 1, auth: "none" })

          const started = await client.call("thread/start", { name: "first" })
          expect(started.status).toBe("started")
          const threadId = started.thread_id
          const answer = await client.call("turn/start", { thread_id: threadId, prompt: "hi", wait: true })
          expect(answer).toMatchObject({ outcome: "completed", output: "Hello from the model." })
          const read = await client.call("thread/read", { thread_id: threadId })
          expect(read.data.history?.map((m) => m.content)).toEqual(["hi", "Hello from the model."])
          const listed = await client.call("thread/list", {})
          expect(listed.threads.map((t) => t.id)).toContain(threadId)
          expect((await client.call("thread/set_name", { thread_id: threadId, name: "renamed" })).thread?.name).toBe(
            "renamed"
          )
          const events = await client.call("events/read", { thread_id: threadId })
          expect(events.events.map((f) => f.seq)).toEqual(events.events.map((_, i) => i + 1))
          expect(events.last_seq).toBe(events.events.length)
          const forked = await client.call("thread/fork", { thread_id: threadId })
          expect(forked.status).toBe("forked")
          expect((await client.call("thread/resume", { thread_id: threadId })).status).toBe("resumed")
          expect((await client.call("thread/archive", { thread_id: forked.thread_id })).status).toBe("archived")
          expect((await client.call("thread/unarchive", { thread_id: forked.thread_id })).status).toBe("unarchived")
          expect(await client.call("turn/interrupt", { thread_id: threadId })).toEqual({
            thread_id: threadId,
            interrupted: false
          })
          expect(await client.call("approval/list", {})).toEqual([])
          expect(Array.isArray(await client.call("jobs/list", {}))).toBe(true)
          const status = await client.call("app/status", {})
          expect(status.threads.total).toBeGreaterThanOrEqual(2)
          expect(await client.call("mcp/status", {})).toEqual([])
          const saved = await client.call("checkpoints/save", {
            thread_id: threadId,
            checkpoint_id: "mine",
            state: { step: 3 }
          })
          expect(saved.id).toBe("mine")
          const loaded = await client.call("checkpoints/load", { thread_id: threadId, checkpoint_id: "mine" })
          expect(loaded.checkpoint?.state).toEqual({ step: 3 })
          // typed errors for what does not exist
          await expect(client.call("thread/read", { thread_id: "thread-missing" })).rejects.toMatchObject({
            type: "NotFound",
            code: -32004
          })
          await expect(client.call("jobs/get", { id: "job-missing" })).rejects.toMatchObject({ type: "NotFound" })
          // jobs: enqueue, get, history, pause, resume, cancel
          const job = await client.call("jobs/enqueue", { name: "report", input: { n: 1 } })
          expect(job.status).toBe("queued")
          expect((await client.call("jobs/get", { id: job.id })).name).toBe("report")
          expect((await client.call("jobs/cancel", { id: job.id })).status).toBe("cancelled")
          expect((await client.call("jobs/history", { id: job.id })).map((h) => h.to)).toEqual(["queued", "cancelled"])
          await expect(client.call("jobs/resume", { id: job.id })).rejects.toMatchObject({ type: "Conflict" })
          await expect(client.call("jobs/pause", { id: job.id })).rejects.toMatchObject({ type: "Conflict" })

          // raw fetch, as curl would: a batch with a notification
          const batch = await rpc(served.url, [
            { jsonrpc: "2.0", id: "a", method: "thread/list", params: {} },
            { jsonrpc: "2.0", method: "app/status" },
            { jsonrpc: "2.0", id: 7, method: "nope/nope" }
          ])
          expect(batch.status).toBe(200)
          expect(batch.body).toHaveLength(2)
          expect(batch.body[0]).toMatchObject({ id: "a", result: { status: "ok" } })
          expect(batch.body[1]).toMatchObject({ id: 7, error: { code: -32601, data: { type: "MethodNotFound" } } })
          const sse = await fetch(`${served.url}/v1/threads/${threadId}/events?after=0`)
          expect(sse.headers.get("content-type")).toContain("text/event-stream")
          const reader = sse.body!.getReader()
          let text = ""
          while (!text.includes("id: 3\n")) text += new TextDecoder().decode((await reader.read()).value)
          await reader.cancel()
          expect(text).toMatch(/^: strata events\n\nid: 1\ndata: \{/)
        })
      )
    })
  })

  it("two clients on one thread: the approval carries the exact call, one answers, both see it decided", async () => {
    await withProject(async (p) => {
      await withModel(
        { turns: [{ text: "Making it.", ...call("shell__exec", { command: "touch served.txt" }) }, { text: "Made." }] },
        async (model) =>
          withServers(async (startServer) => {
            p.config(providerToml(model))
            const served = await startServer(p)
            const a = StrataClient.make({ url: served.url })
            const b = StrataClient.make({ url: served.url })
            const started = await a.call("turn/start", { prompt: "make it" })
            if (!("status" in started)) throw new Error("expected a running turn")
            const threadId = started.thread_id
            const watchB = frames(
              b,
              threadId,
              (i) =>
                endedTurn(i) && i.type === "frame" && i.frame.event === "turn_ended" && i.frame.outcome === "completed"
            )
            const untilApproval = await frames(a, threadId, (i) => i.type === "approval")
            const approval = untilApproval.at(-1)
            if (approval?.type !== "approval") throw new Error("no approval")
            expect(approval.approval).toMatchObject({
              status: "pending",
              command: "touch served.txt",
              call: { name: "shell__exec", arguments: { command: "touch served.txt" } }
            })
            const pending = await a.call("approval/list", { thread_id: threadId })
            expect(pending.map((x) => x.id)).toEqual([approval.approval.id])
            const resolved = await a.call("approval/resolve", {
              approval_id: approval.approval.id,
              decision: "approve"
            })
            expect(resolved.approval.status).toBe("approved")
            const seenB = await watchB
            const bFrames = seenB.flatMap((i) => (i.type === "frame" ? [i.frame] : []))
            expect(bFrames.map((f) => f.seq)).toEqual(bFrames.map((_, i) => i + 1))
            expect(bFrames).toContainEqual(
              expect.objectContaining({
                event: "approval_decided",
                approval_id: approval.approval.id,
                decision: "approved"
              })
            )
            expect(seenB.some((i) => i.type === "approval" && i.approval.id === approval.approval.id)).toBe(true)
            expect(p.exists("served.txt")).toBe(true)
            // answering again is a conflict, typed
            await expect(
              b.call("approval/resolve", { approval_id: approval.approval.id, decision: "deny" })
            ).rejects.toMatchObject({ type: "Conflict", code: -32009 })
          })
      )
    })
  })

  it("SSE resumes with Last-Event-ID after a dropped connection and after kill -9 and a restart: no gap, no duplicate", async () => {
    await withProject(async (p) => {
      await withModel(
        { turns: [{ text: "a long streamed answer ".repeat(30), chunkSize: 6, delayMs: 5 }] },
        async (model) =>
          withServers(async (startServer) => {
            p.config(providerToml(model))
            const first = await startServer(p)
            const client = StrataClient.make({ url: first.url })
            const started = await client.call("turn/start", { prompt: "stream" })
            if (!("status" in started)) throw new Error("expected a running turn")
            const threadId = started.thread_id
            // read some frames, then drop the connection
            const abort = new AbortController()
            const early = await frames(client, threadId, (i) => i.type === "frame" && i.frame.seq >= 10, {
              signal: abort.signal
            })
            abort.abort()
            const cut = (early.at(-1) as { frame: { seq: number } }).frame.seq
            // resume on the same server from the cut
            const middle = await frames(client, threadId, (i) => i.type === "frame" && i.frame.seq >= cut + 10, {
              after: cut
            })
            const cut2 = (middle.at(-1) as { frame: { seq: number } }).frame.seq
            expect(middle.flatMap((i) => (i.type === "frame" ? [i.frame.seq] : []))).toEqual(
              Array.from({ length: cut2 - cut }, (_, i) => cut + 1 + i)
            )
            // the turn ends; the server dies hard
            let last = 0
            for (let i = 0; i < 600; i++) {
              const read = await client.call("events/read", { thread_id: threadId, after: 0 })
              if (read.events.some((f) => f.event === "turn_ended")) {
                last = read.last_seq
                break
              }
              await new Promise((r) => setTimeout(r, 50))
            }
            expect(last).toBeGreaterThan(cut2)
            await kill9(first)
            const second = await startServer(p)
            const again = StrataClient.make({ url: second.url })
            const rest = await frames(again, threadId, (i) => i.type === "frame" && i.frame.seq >= last, {
              after: cut2
            })
            expect(rest.flatMap((i) => (i.type === "frame" ? [i.frame.seq] : []))).toEqual(
              Array.from({ length: last - cut2 }, (_, i) => cut2 + 1 + i)
            )
            // the Last-Event-ID header itself (what a browser EventSource sends)
            const raw = await fetch(`${second.url}/v1/threads/${threadId}/events`, {
              headers: { "last-event-id": String(last - 1) }
            })
            const reader = raw.body!.getReader()
            let text = ""
            while (!text.includes(`id: ${last}\n`)) text += new TextDecoder().decode((await reader.read()).value)
            await reader.cancel()
            expect([...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))).toEqual([last])
          })
      )
    })
  })

  it("tokens and scopes: 401 without or with a wrong token, Forbidden out of scope, 429 over the rate limit", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "ok" }] }, async (model) =>
        withServers(async (startServer) => {
          const { createHash } = await import("node:crypto")
          const sha = (t: string) => createHash("sha256").update(t).digest("hex")
          p.config(
            `${providerToml(model)}\n[server]\nrate_limit = 8\n[[server.tokens]]\nname = "reader"\nsha256 = "${sha("reader-secret")}"\nscopes = ["read"]\n`
          )
          const served = await startServer(p, [], { STRATA_SERVER_TOKEN: "admin-secret" })
          expect((await fetch(`${served.url}/v1`).then((r) => r.json() as Promise<{ auth: string }>)).auth).toBe(
            "bearer"
          )
          const none = await rpc(served.url, { jsonrpc: "2.0", id: 1, method: "thread/list", params: {} })
          expect(none.status).toBe(401)
          expect(none.body.error).toMatchObject({ code: -32001, data: { type: "Unauthorized" } })
          const wrong = await rpc(
            served.url,
            { jsonrpc: "2.0", id: 1, method: "thread/list" },
            {
              authorization: "Bearer nope"
            }
          )
          expect(wrong.status).toBe(401)
          const reader = StrataClient.make({ url: served.url, token: "reader-secret" })
          expect((await reader.call("thread/list", {})).status).toBe("ok")
          await expect(reader.call("turn/start", { prompt: "hi" })).rejects.toMatchObject({
            type: "Forbidden",
            code: -32003
          })
          const sse = await fetch(`${served.url}/v1/events`)
          expect(sse.status).toBe(401)
          const admin = StrataClient.make({ url: served.url, token: "admin-secret" })
          expect((await admin.call("thread/start", {})).status).toBe("started")
          // the reader has used 2 of its 8 per minute
          const statuses: Array<number> = []
          for (let i = 0; i < 8; i++) {
            statuses.push(
              (
                await rpc(
                  served.url,
                  { jsonrpc: "2.0", id: i, method: "thread/list" },
                  { authorization: "Bearer reader-secret" }
                )
              ).status
            )
          }
          expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1)
          expect(statuses.slice(0, 5).every((s) => s === 200)).toBe(true)
          // refusals are logged, the token never is
          expect(served.output()).toContain("refused POST /v1/rpc: Unauthorized")
          expect(served.output()).not.toContain("admin-secret")
          expect(served.output()).not.toContain("reader-secret")
        })
      )
    })
  })

  it("refuses to bind a non-loopback address without a token", async () => {
    await withProject(async (p) => {
      const run = await p.strata(["serve", "--host", "0.0.0.0", "--port", "0"], { timeoutMs: 120_000 })
      expect(run.code).toBe(2)
      expect(run.stderr).toContain("refusing to serve on 0.0.0.0 without a token")
    })
  })

  it("hostile bodies: typed JSON-RPC errors for every one, and the server keeps serving", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "ok" }] }, async (model) =>
        withServers(async (startServer) => {
          p.config(`${providerToml(model)}\n[server]\nmax_body_bytes = 65536\n`)
          const served = await startServer(p)
          const fixed: Array<[string, string, number]> = [
            ["{bad json", "ParseError", 200],
            ["[]", "InvalidRequest", 200],
            ['"just a string"', "InvalidRequest", 200],
            ['{"jsonrpc":"1.0","id":1,"method":"thread/list"}', "InvalidRequest", 200],
            [
              '{"jsonrpc":"2.0","id":1,"method":"thread/list","params":{"__proto__":{"admin":true}}}',
              "InvalidParams",
              200
            ],
            ['{"jsonrpc":"2.0","id":1,"method":"turn/start","params":{"prompt":1}}', "InvalidParams", 200],
            [
              '{"jsonrpc":"2.0","id":1,"method":"thread/read","params":{"thread_id":"../../etc/passwd"}}',
              "InvalidParams",
              200
            ],
            ['{"jsonrpc":"2.0","id":1,"method":"constructor"}', "MethodNotFound", 200],
            ['{"jsonrpc":"2.0","id":1,"method":"__proto__"}', "MethodNotFound", 200],
            [
              `{"jsonrpc":"2.0","id":1,"method":"thread/list","params":{"pad":"${"x".repeat(70_000)}"}}`,
              "PayloadTooLarge",
              413
            ]
          ]
          for (const [body, type, status] of fixed) {
            const answer = await rpc(served.url, body)
            const error = Array.isArray(answer.body) ? answer.body[0].error : answer.body.error
            expect({ body: body.slice(0, 80), type: error?.data?.type, status: answer.status }).toEqual({
              body: body.slice(0, 80),
              type,
              status
            })
          }
          const params = await rpc(served.url, { jsonrpc: "2.0", id: 1, method: "turn/start", params: { prompt: 1 } })
          expect(params.body.error.data.path).toBe("prompt")
          // a seeded fuzz: random mutations of valid requests
          let seed = 20_261_204
          const rand = () => {
            seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
            return seed / 2_147_483_648
          }
          const pick = <A>(xs: ReadonlyArray<A>) => xs[Math.floor(rand() * xs.length)]!
          const values = [null, true, -1, 1e308, "", "x".repeat(300), [], {}, { __proto__: null }, [1, [2, [3]]]]
          const methods = [
            "thread/list",
            "thread/read",
            "turn/start",
            "approval/resolve",
            "jobs/get",
            "events/read",
            "x"
          ]
          let answered = 0
          for (let i = 0; i < 200; i++) {
            const request: Record<string, unknown> = {
              jsonrpc: pick(["2.0", "2.0", "2.0", 2]),
              id: pick([i, `r${i}`, null, {}])
            }
            request.method = pick([...methods, ...values])
            const params: Record<string, unknown> = {}
            for (const key of ["thread_id", "prompt", "approval_id", "decision", "after", "id", "limit", "wait"]) {
              if (rand() < 0.4) params[key] = pick([...values, "thread-x", "approve", 3])
            }
            request.params = rand() < 0.8 ? params : pick(values)
            let body = JSON.stringify(request)
            if (rand() < 0.1) body = body.slice(0, Math.floor(rand() * body.length))
            if (rand() < 0.05) body = body.replace('"params":{', '"params":{"__proto__":{"x":1},')
            const answer = await rpc(served.url, body)
            expect([200, 204, 400, 404, 413]).toContain(answer.status)
            if (answer.body !== null) {
              const one = Array.isArray(answer.body) ? answer.body[0] : answer.body
              expect(one.jsonrpc).toBe("2.0")
              if (one.error !== undefined) expect(typeof one.error.data.type).toBe("string")
              expect(JSON.stringify(one)).not.toMatch(/at .*\.js:\d+/)
            }
            answered++
          }
          expect(answered).toBe(200)
          expect(served.child.exitCode).toBeNull()
          expect((await rpc(served.url, { jsonrpc: "2.0", id: 1, method: "thread/list", params: {} })).status).toBe(200)
        })
      )
    })
  })

  it("--stdio speaks the same methods, one JSON-RPC message per line", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "over stdio" }] }, async (model) =>
        withServers(async () => {
          p.config(providerToml(model))
          const run = await p.strata(["serve", "--stdio"], {
            stdin: `${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "turn/start", params: { prompt: "hi", wait: true } })}\n{oops\n`,
            timeoutMs: 60_000
          })
          const lines = run.stdout
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => JSON.parse(l))
          expect(lines.find((l) => l.id === 1)?.result).toMatchObject({ outcome: "completed", output: "over stdio" })
          expect(lines.find((l) => l.error?.data?.type === "ParseError")).toBeDefined()
          expect(lines.some((l) => l.method === "event" && l.params.event === "turn_ended")).toBe(true)
        })
      )
    })
  })
  it("strata remote: run (an approval ends it with exit 3), approvals with the exact call, approve --always (then unasked), threads, jobs", async () => {
    await withProject(async (p) => {
      await withModel(
        {
          turns: [
            { text: "Making it.", ...call("shell__exec", { command: "touch remote.txt" }) },
            { text: "Made remotely." },
            { text: "Again.", ...call("shell__exec", { command: "touch remote.txt" }) },
            { text: "Made again, unasked." }
          ]
        },
        async (model) =>
          withServers(async (startServer) => {
            p.config(providerToml(model))
            const served = await startServer(p)
            const env = { STRATA_REMOTE: served.url }
            const run = await p.strata(["remote", "run", "make", "it"], { env, timeoutMs: 60_000 })
            expect(run.code, run.stderr).toBe(3)
            expect(run.stdout).toContain("Making it.")
            expect(run.stderr).toContain("approval pending")
            const listed = JSON.parse((await p.strata(["remote", "approvals", "--json"], { env })).stdout)
            expect(listed).toHaveLength(1)
            expect(listed[0].call).toMatchObject({ name: "shell__exec", arguments: { command: "touch remote.txt" } })
            // covers: issue 22 part 1
            // --always: approved, and an exact allow rule in the server project's .strata/approved.toml
            expect((await p.strata(["remote", "deny", "--always", listed[0].id], { env })).code).toBe(2)
            const approved = await p.strata(["remote", "approve", "--always", listed[0].id, "--url", served.url])
            expect(approved.code, approved.stderr).toBe(0)
            expect(approved.stdout).toContain("approved")
            expect(approved.stdout).toContain('prefix = ["touch","remote.txt"]')
            expect(p.read(".strata/approved.toml")).toContain('prefix = ["touch","remote.txt"]\nexact = true')
            const threads = JSON.parse((await p.strata(["remote", "threads", "--json"], { env })).stdout)
            expect(threads.map((t: { id: string }) => t.id)).toContain(listed[0].thread_id)
            expect((await p.strata(["remote", "jobs"], { env })).stdout).toContain("no jobs")
            for (let i = 0; i < 200 && !p.exists("remote.txt"); i++) await new Promise((r) => setTimeout(r, 50))
            expect(p.exists("remote.txt")).toBe(true)
            // once the continued turn has ended, the same command again runs without asking (exit 0, not 3)
            const completed = async () => {
              const r = await fetch(`${served.url}/v1/rpc`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({
                  jsonrpc: "2.0",
                  id: 1,
                  method: "events/read",
                  params: { thread_id: listed[0].thread_id }
                })
              })
              const body = (await r.json()) as { result: { events: Array<{ event: string; outcome?: string }> } }
              return body.result.events.some((f) => f.event === "turn_ended" && f.outcome === "completed")
            }
            for (let i = 0; i < 400 && !(await completed()); i++) await new Promise((r) => setTimeout(r, 50))
            const again = await p.strata(["remote", "run", "--thread", listed[0].thread_id, "again"], {
              env,
              timeoutMs: 60_000
            })
            expect(again.code, again.stderr).toBe(0)
            expect(again.stdout).toContain("Made again, unasked.")
            const nowhere = await p.strata(["remote", "threads"])
            expect(nowhere.code).toBe(2)
          })
      )
    })
  })
})
