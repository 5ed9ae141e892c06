/**
 * Turns as queued work through the built `strata`: two `strata serve
 * --cluster` API processes and two `strata worker` processes on the real
 * Redis (a unique prefix), the thread store on Redis (and on PostgreSQL).
 * Turns started on one API process run on a worker; the other API process
 * streams the thread over SSE and sees every frame once, in order (and
 * resumes from `Last-Event-ID`); a second turn while one runs is a
 * `Conflict`; an interrupt and an approval answered on the other API process
 * reach the worker; a worker killed with SIGKILL mid-turn leaves its thread
 * closed (`turn_ended: interrupted`, every call answered, the turn not run
 * twice) and the next turn runs.
 */
import type { ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as StrataClient from "@strata/client/StrataClient"
import { violations } from "@strata/core-runtime/TurnMachine"
import type { Event, EventFrame } from "@strata/protocol/Event"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import {
  call,
  deleteRedisPrefixes,
  eventually,
  type Project,
  postgresUrl,
  providerToml,
  q,
  redisUrl,
  type Served,
  spawnStrata,
  startServe,
  withModel,
  withPostgresSchema,
  withProject
} from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

const prefixes: Array<string> = []
const children: Array<ChildProcess> = []

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL")
  await deleteRedisPrefixes(prefixes)
})

interface Worker {
  readonly child: ChildProcess
  readonly out: () => string
  readonly exited: Promise<number | null>
}

const startWorker = (p: Project) =>
  new Promise<Worker>((resolve, reject) => {
    const child = spawnStrata(p.dir, p.home, ["worker"], { stdin: "ignore" })
    children.push(child)
    let out = ""
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)))
    const timer = setTimeout(() => reject(new Error(`worker not ready:\n${out}`)), 60_000)
    const onData = (d: Buffer) => {
      out += d
      if (/worker \S+ ready/.test(out)) {
        clearTimeout(timer)
        resolve({ child, out: () => out, exited })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    exited.then((code) => reject(new Error(`worker exited ${code}:\n${out}`)))
  })

const startApi = async (p: Project) => {
  const served = await startServe(p, ["--cluster", "--port", "0"])
  children.push(served.child)
  return served
}

const configure = (p: Project, model: Parameters<typeof providerToml>[0], storage: string) => {
  const prefix = `e2e-turns-${randomBytes(4).toString("hex")}`
  prefixes.push(prefix)
  p.config(
    [
      providerToml(model),
      storage.replace("PREFIX", prefix),
      "[jobs]",
      'backend = "bullmq"',
      `redis_url = ${q(redisUrl)}`,
      `prefix = ${q(prefix)}`,
      "lock_ms = 1000",
      // covers: jobs.turn_lease_ms
      "turn_lease_ms = 1500",
      ""
    ].join("\n")
  )
  return prefix
}

/** Frames of a thread's SSE stream on `served`, collected in the background until `stop`. */
const watch = (served: Served, threadId: string, after = 0) => {
  const client = StrataClient.make({ url: served.url })
  const abort = new AbortController()
  const frames: Array<EventFrame> = []
  const approvals: Array<StrataClient.StreamItem & { type: "approval" }> = []
  const done = (async () => {
    try {
      for await (const item of client.threadEvents(threadId, { after, signal: abort.signal })) {
        if (item.type === "frame") frames.push(item.frame)
        else if (item.type === "approval") approvals.push(item)
      }
    } catch (e) {
      if (!abort.signal.aborted) throw e
    }
  })()
  return {
    frames,
    approvals,
    stop: async () => {
      abort.abort()
      await done
    }
  }
}

const turnsEnded = (frames: ReadonlyArray<EventFrame>) =>
  frames.filter((f) => f.event === "turn_ended") as Array<EventFrame & { outcome: string }>

/** `GET /v1/events` (every thread's frames from now on), collected until `stop`. */
const watchAll = async (served: Served) => {
  const abort = new AbortController()
  const response = await fetch(`${served.url}/v1/events`, { signal: abort.signal })
  const frames: Array<EventFrame> = []
  const done = (async () => {
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    let buffer = ""
    try {
      while (true) {
        const { value, done } = await reader.read()
        if (done) return
        buffer += decoder.decode(value, { stream: true })
        let at = buffer.indexOf("\n\n")
        while (at >= 0) {
          const data = buffer
            .slice(0, at)
            .split("\n")
            .find((l) => l.startsWith("data: "))
          buffer = buffer.slice(at + 2)
          if (data !== undefined) {
            const parsed = JSON.parse(data.slice(6)) as EventFrame
            if (typeof parsed.seq === "number") frames.push(parsed)
          }
          at = buffer.indexOf("\n\n")
        }
      }
    } catch (e) {
      if (!abort.signal.aborted) throw e
    }
  })()
  return {
    frames,
    stop: async () => {
      abort.abort()
      await done
    }
  }
}

/** The turn invariants on a whole journal: turns never overlap and each is closed; every call answered once. */
const invariants = (frames: ReadonlyArray<EventFrame>) => {
  const problems = violations(frames as ReadonlyArray<Event>, { closed: true })
  let open: string | undefined
  for (const f of frames) {
    if (f.event === "turn_started") {
      if (open !== undefined) problems.push(`turn ${f.turn_id} started while ${open} was open`)
      open = f.turn_id
    } else if (f.event === "turn_ended") {
      if (open !== f.turn_id) problems.push(`turn ${f.turn_id} ended but ${open} was open`)
      open = undefined
    }
  }
  if (open !== undefined) problems.push(`turn ${open} never ended`)
  return problems
}

const journal = async (client: StrataClient.StrataClient, threadId: string) =>
  (await client.call("events/read", { thread_id: threadId, after: 0 })).events

/** Waits until the thread's journal has `count` turn_ended frames. */
const untilEnded = async (client: StrataClient.StrataClient, threadId: string, count: number) => {
  for (let i = 0; i < 1200; i++) {
    const events = await journal(client, threadId)
    if (turnsEnded(events).length >= count) return events
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`thread ${threadId}: ${count} turns did not end`)
}

const scenario = async (storage: string) =>
  withProject(async (p) => {
    let releaseHeld = () => {}
    const held = new Promise<void>((r) => {
      releaseHeld = r
    })
    await withModel(
      {
        turns: [
          { text: "Hello from a worker." },
          { text: "never sent", waitFor: () => held },
          { text: "Making it.", ...call("shell__exec", { command: "touch cluster.txt" }) },
          { text: "Made." },
          { text: "never sent either", waitFor: () => held },
          { text: "After the crash." }
        ]
      },
      async (model) => {
        configure(p, model, storage)
        try {
          const workers = [await startWorker(p), await startWorker(p)]
          const [api1, api2] = [await startApi(p), await startApi(p)]
          const one = StrataClient.make({ url: api1.url })
          const two = StrataClient.make({ url: api2.url })

          // A turn started on api1, answered by a worker; api2 streams it.
          const started = await one.call("thread/start", { name: "cluster" })
          const threadId = started.thread_id
          const stream = watch(api2, threadId)
          const everything = await watchAll(api2)
          const first = await one.call("turn/start", { thread_id: threadId, prompt: "hi", wait: true })
          expect(first).toMatchObject({ outcome: "completed", output: "Hello from a worker." })
          const ran = workers.filter((w) => w.out().includes(`turn on ${threadId} (prompt) taken by`))
          expect(ran).toHaveLength(1)
          expect(api1.output()).not.toContain("taken by")

          // A held turn: a second one is a Conflict; an interrupt on api2 reaches its worker.
          const heldTurn = await one.call("turn/start", { thread_id: threadId, prompt: "wait" })
          expect(heldTurn).toMatchObject({ status: "running" })
          await eventually(() => model.requests.length === 2, "the held model call", 60_000)
          await expect(one.call("turn/start", { thread_id: threadId, prompt: "again" })).rejects.toMatchObject({
            type: "Conflict"
          })
          expect(await two.call("turn/interrupt", { thread_id: threadId })).toEqual({
            thread_id: threadId,
            interrupted: true
          })
          expect(turnsEnded(await journal(two, threadId)).map((f) => f.outcome)).toEqual(["completed", "interrupted"])

          // An approval asked on a worker, answered on api2, continues on a worker.
          await one.call("turn/start", { thread_id: threadId, prompt: "make it" })
          await eventually(() => stream.approvals.length === 1, "the approval on api2's stream", 60_000)
          const approval = stream.approvals[0]!.approval
          expect(approval).toMatchObject({ status: "pending", command: "touch cluster.txt" })
          const resolved = await two.call("approval/resolve", { approval_id: approval.id, decision: "approve" })
          expect(resolved.approval.status).toBe("approved")
          // (a turn that asks pauses: it ends `awaiting_approval`; the decision continues it)
          const afterApproval = await untilEnded(two, threadId, 4)
          expect(turnsEnded(afterApproval).map((f) => f.outcome)).toEqual([
            "completed",
            "interrupted",
            "awaiting_approval",
            "completed"
          ])
          expect(p.exists("cluster.txt")).toBe(true)
          await expect(
            one.call("approval/resolve", { approval_id: approval.id, decision: "deny" })
          ).rejects.toMatchObject({ type: "Conflict" })

          // SIGKILL the worker running a turn: another closes the thread; the turn is not run twice.
          const prompts = (w: Worker) =>
            w
              .out()
              .split("\n")
              .filter((l) => l.includes(`turn on ${threadId} (prompt`)).length
          const before = workers.map(prompts)
          await one.call("turn/start", { thread_id: threadId, prompt: "crash" })
          await eventually(() => model.requests.length === 5, "the model call of the doomed turn", 60_000)
          const victim = workers.find((w, i) => prompts(w) > before[i]!)
          expect(victim).toBeDefined()
          const survivor = workers.find((w) => w !== victim)!
          victim!.child.kill("SIGKILL")
          await victim!.exited
          const recovered = await untilEnded(two, threadId, 5)
          expect(turnsEnded(recovered).map((f) => f.outcome)).toEqual([
            "completed",
            "interrupted",
            "awaiting_approval",
            "completed",
            "interrupted"
          ])
          expect(survivor.out()).toContain(`turn on ${threadId} (prompt, recovered) taken by`)
          expect(invariants(recovered)).toEqual([])
          // the prompt was sent once: one user message "crash", one model call for it
          expect(
            recovered.filter(
              (f) => f.event === "message_appended" && f.message.role === "user" && f.message.content === "crash"
            )
          ).toHaveLength(1)
          expect(model.requests).toHaveLength(5)

          // The next turn is accepted and runs on the surviving worker.
          const next = await two.call("turn/start", { thread_id: threadId, prompt: "still there?", wait: true })
          expect(next).toMatchObject({ outcome: "completed", output: "After the crash." })
          const final = await journal(two, threadId)
          expect(invariants(final)).toEqual([])
          const status = JSON.parse((await p.strata(["status", "--json"])).stdout)
          expect(status.jobs.queue.kinds.map((k: { kind: string }) => k.kind)).toContain("turns")
          expect(status.jobs.queue.stalledRecoveries).toBeGreaterThanOrEqual(1)

          // api2's one SSE stream saw every frame of the thread once, in order.
          await eventually(() => stream.frames.length >= final.length, "the stream to catch up", 30_000)
          await stream.stop()
          expect(stream.frames.map((f) => f.seq)).toEqual(final.map((_, i) => i + 1))
          expect(stream.frames).toEqual(final)
          // /v1/events on api2 carried the frames the workers appended, in order.
          await eventually(
            () => everything.frames.some((f) => f.thread_id === threadId && f.seq === final.length),
            "the global stream to see the last frame",
            30_000
          )
          await everything.stop()
          const seen = everything.frames.filter((f) => f.thread_id === threadId).map((f) => f.seq)
          expect(seen).toEqual([...seen].sort((a, b) => a - b))
          expect(new Set(seen).size).toBe(seen.length)
          expect(seen.length).toBeGreaterThan(final.length / 2)
          // Resumed from a Last-Event-ID on api1: exactly the rest.
          const cut = Math.floor(final.length / 2)
          const resumed = watch(api1, threadId, cut)
          await eventually(() => resumed.frames.length >= final.length - cut, "the resumed stream", 30_000)
          await resumed.stop()
          expect(resumed.frames.map((f) => f.seq)).toEqual(final.slice(cut).map((f) => f.seq))
        } finally {
          releaseHeld()
        }
      }
    )
  })

describe.concurrent("strata serve --cluster + strata worker: turns as queued work", { timeout: 240_000 }, () => {
  it("thread store on Redis: turns, SSE fan-out, Conflict, interrupt and approval across processes, SIGKILL mid-turn", async () => {
    await scenario(["[storage]", 'kind = "redis"', `url = ${q(redisUrl)}`, 'prefix = "PREFIX-store"'].join("\n"))
  })

  it("thread store on PostgreSQL: the same", async () => {
    await withPostgresSchema("e2e_turns", async (schema) => {
      await scenario(["[storage]", 'kind = "postgres"', `url = ${q(postgresUrl)}`, `schema = ${q(schema)}`].join("\n"))
    })
  })

  it("SIGTERM: a worker lets its turn run for shutdown_grace_ms, then interrupts it (closed, never handed back half done)", async () => {
    await withProject(async (p) => {
      let release = () => {}
      const held = new Promise<void>((r) => {
        release = r
      })
      await withModel(
        { turns: [{ text: "never sent", waitFor: () => held }, { text: "Next one." }] },
        async (model) => {
          configure(
            p,
            model,
            ["[storage]", 'kind = "redis"', `url = ${q(redisUrl)}`, 'prefix = "PREFIX-store"'].join("\n")
          )
          p.write(".strata/config.toml", `${p.read(".strata/config.toml")}shutdown_grace_ms = 300\n`)
          try {
            const worker = await startWorker(p)
            const api = await startApi(p)
            const client = StrataClient.make({ url: api.url })
            const started = await client.call("turn/start", { prompt: "long" })
            if (!("status" in started)) throw new Error("expected a running turn")
            await eventually(() => model.requests.length === 1, "the model call", 60_000)
            worker.child.kill("SIGTERM")
            expect(await worker.exited).toBe(130)
            const events = await untilEnded(client, started.thread_id, 1)
            expect(turnsEnded(events).map((f) => f.outcome)).toEqual(["interrupted"])
            expect(invariants(events)).toEqual([])
            const next = await startWorker(p)
            const answer = await client.call("turn/start", { thread_id: started.thread_id, prompt: "next", wait: true })
            expect(answer).toMatchObject({ outcome: "completed", output: "Next one." })
            next.child.kill("SIGTERM")
            await next.exited
          } finally {
            release()
          }
        }
      )
    })
  })

  it("a turn still queued (no worker yet) is taken off the queue by an interrupt: nothing of it runs", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "The one that ran." }] }, async (model) => {
        configure(
          p,
          model,
          ["[storage]", 'kind = "redis"', `url = ${q(redisUrl)}`, 'prefix = "PREFIX-store"'].join("\n")
        )
        const api = await startApi(p)
        const client = StrataClient.make({ url: api.url })
        const started = await client.call("turn/start", { prompt: "never run" })
        if (!("status" in started)) throw new Error("expected a queued turn")
        const waiting = client.call("turn/start", { thread_id: started.thread_id, prompt: "again" })
        await expect(waiting).rejects.toMatchObject({ type: "Conflict" })
        expect(await client.call("turn/interrupt", { thread_id: started.thread_id })).toEqual({
          thread_id: started.thread_id,
          interrupted: true
        })
        const worker = await startWorker(p)
        const answer = await client.call("turn/start", { thread_id: started.thread_id, prompt: "run me", wait: true })
        expect(answer).toMatchObject({ outcome: "completed", output: "The one that ran." })
        const events = await journal(client, started.thread_id)
        const prompts = events.flatMap((f) =>
          f.event === "message_appended" && f.message.role === "user" ? [f.message.content] : []
        )
        expect(prompts).toEqual(["run me"])
        expect(model.requests).toHaveLength(1)
        worker.child.kill("SIGTERM")
        await worker.exited
      })
    })
  })

  it("--cluster is refused without bullmq jobs or a shared store", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [] }, async (model) => {
        p.config(providerToml(model))
        const local = await p.strata(["serve", "--cluster", "--port", "0"])
        expect(local.code).toBe(2)
        expect(local.stderr).toContain('strata serve --cluster: [jobs] backend is "local"')
      })
    })
  })
})
