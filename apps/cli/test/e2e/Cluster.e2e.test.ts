/**
 * Scale-out through the built `strata`: `[jobs] backend = "bullmq"` puts a
 * plugin's jobs on a BullMQ queue in the real Redis; `strata worker`
 * processes run them, `strata run` only enqueues and waits; a worker killed
 * with SIGKILL has its run recovered by its kind's policy after `lock_ms`,
 * and one stopped with SIGTERM hands its run back after
 * `shutdown_grace_ms`. `strata status` shows the queue and the workers.
 */
import type { ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import {
  call,
  deleteRedisPrefixes,
  eventually,
  fixtures,
  lastToolResult,
  linkWorkspace,
  type Project,
  providerToml,
  q,
  spawnStrata,
  withModel,
  withProject
} from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

const redisUrl = "redis://127.0.0.1:6379"
const prefixes: Array<string> = []
const children: Array<ChildProcess> = []

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL")
  await deleteRedisPrefixes(prefixes)
})

/** `strata worker` in the project, with its output collected; resolves once it says it is ready. */
const startWorker = (p: Project) =>
  new Promise<{ child: ChildProcess; out: () => string; exited: Promise<number | null> }>((resolve, reject) => {
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
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    exited.then((code) => reject(new Error(`worker exited ${code}:\n${out}`)))
  })

const setup = (p: Project, server: Parameters<typeof providerToml>[0], jobsExtra: string) => {
  const prefix = `e2e-cluster-${randomBytes(4).toString("hex")}`
  prefixes.push(prefix)
  linkWorkspace(p, ["@strata/plugin", "effect"])
  p.write("cluster.mjs", readFileSync(path.join(fixtures, "cluster-plugin.mjs"), "utf8"))
  p.config(
    [
      `plugins = ["./cluster.mjs"]`,
      providerToml(server),
      "[storage]",
      'kind = "redis"',
      `prefix = ${q(`${prefix}-store`)}`,
      "[jobs]",
      // covers: jobs.backend
      'backend = "bullmq"',
      // covers: jobs.redis_url
      `redis_url = ${q(redisUrl)}`,
      // covers: jobs.prefix
      `prefix = ${q(prefix)}`,
      "concurrency = 1",
      jobsExtra,
      ""
    ].join("\n")
  )
  return prefix
}

/** `start <job> <pid>` lines of the jobs' log. */
const starts = (p: Project) =>
  p.exists("jobs.log")
    ? p
        .read("jobs.log")
        .split("\n")
        .filter((l) => l.startsWith("start"))
        .map((l) => ({ job: l.split(" ")[1]!, pid: Number(l.split(" ")[2]) }))
    : []

const jobsList = async (p: Project) =>
  JSON.parse((await p.strata(["jobs", "list", "--json"])).stdout) as Array<{
    id: string
    status: string
    history: Array<{ phase: string }>
  }>

describe.concurrent('[jobs] backend = "bullmq"', { timeout: 240_000 }, () => {
  it("strata worker processes run the jobs strata run enqueues; strata status shows the queue", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [call("cluster__run_batch", { count: 4 }), { text: "batched" }] }, async (server) => {
        setup(p, server, "")
        const a = await startWorker(p)
        const b = await startWorker(p)
        const status = JSON.parse((await p.strata(["status", "--json"])).stdout)
        expect(status.jobs.queue).toMatchObject({ reachable: true, workers: 2 })
        // the plugin's kind, and the turns every worker also takes (see ClusterTurns.e2e.test.ts)
        expect(status.jobs.queue.kinds.map((k: { kind: string }) => k.kind)).toEqual(["cluster__wait", "turns"])
        p.write("release", "")
        const run = await p.strata(["run", "batch"])
        expect(run.code, run.stderr).toBe(0)
        const result = JSON.parse(lastToolResult(server.requests[1]!))
        expect(result.statuses).toEqual(["completed", "completed", "completed", "completed"])
        // Run by the workers, not by the process that enqueued them.
        const pids = new Set(starts(p).map((s) => s.pid))
        expect(starts(p)).toHaveLength(4)
        expect([...pids].every((pid) => pid === a.child.pid || pid === b.child.pid)).toBe(true)
        expect(pids.has(result.pid)).toBe(false)
        const text = (await p.strata(["status"])).stdout
        expect(text).toMatch(/jobs {6}bullmq, 0 waiting, 0 active, 0 delayed; 2 workers; 0 stalled runs recovered/)
        a.child.kill("SIGTERM")
        b.child.kill("SIGTERM")
        expect(await a.exited).toBe(130)
        await b.exited
      })
    })
  })

  it("a worker killed with SIGKILL mid-run: after lock_ms its kind's policy pauses the job; resumed from the CLI, another worker finishes it", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [call("cluster__run_batch", { count: 1 }), { text: "done" }] }, async (server) => {
        // covers: jobs.lock_ms
        setup(p, server, "lock_ms = 1000")
        const a = await startWorker(p)
        const running = p.strata(["run", "one"], { timeoutMs: 200_000 })
        await eventually(() => starts(p).length === 1, "the job to start on the worker", 60_000)
        expect(starts(p)[0]!.pid).toBe(a.child.pid)
        a.child.kill("SIGKILL")
        const b = await startWorker(p)
        // Not idempotent: recovery pauses it (a person decides).
        let jobs = await jobsList(p)
        for (let i = 0; i < 200 && jobs[0]?.status !== "paused"; i++) {
          await new Promise((r) => setTimeout(r, 100))
          jobs = await jobsList(p)
        }
        expect(jobs[0]!.status).toBe("paused")
        expect(jobs[0]!.history.map((h) => h.phase)).toEqual(["created", "running", "interrupted"])
        p.write("release", "")
        const resumed = await p.strata(["jobs", "resume", jobs[0]!.id])
        expect(resumed.code, resumed.stderr).toBe(0)
        const run = await running
        expect(run.code, run.stderr).toBe(0)
        expect(JSON.parse(lastToolResult(server.requests[1]!)).statuses).toEqual(["completed"])
        expect(starts(p).map((s) => s.pid)).toEqual([a.child.pid, b.child.pid])
        const status = JSON.parse((await p.strata(["status", "--json"])).stdout)
        expect(status.jobs.queue.stalledRecoveries).toBe(1)
        b.child.kill("SIGTERM")
        await b.exited
      })
    })
  })

  it("SIGTERM: a worker lets its run finish for shutdown_grace_ms, then hands it back to another worker", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [call("cluster__run_batch", { count: 1 }), { text: "done" }] }, async (server) => {
        // covers: jobs.shutdown_grace_ms
        setup(p, server, "shutdown_grace_ms = 500")
        const a = await startWorker(p)
        const running = p.strata(["run", "one"], { timeoutMs: 200_000 })
        await eventually(() => starts(p).length === 1, "the job to start on the worker", 60_000)
        const b = await startWorker(p)
        const stopping = Date.now()
        a.child.kill("SIGTERM")
        expect(await a.exited).toBe(130)
        // It waited for the grace period, not for the run (which waits for release).
        expect(Date.now() - stopping).toBeGreaterThanOrEqual(500)
        await eventually(() => starts(p).length === 2, "the handed-back job to start on the other worker", 60_000)
        p.write("release", "")
        const run = await running
        expect(run.code, run.stderr).toBe(0)
        expect(starts(p).map((s) => s.pid)).toEqual([a.child.pid, b.child.pid])
        const jobs = await jobsList(p)
        expect(jobs[0]!.history.map((h) => h.phase).filter((ph) => ph !== "progress")).toEqual([
          "created",
          "running",
          "handed-back",
          "completed"
        ])
        b.child.kill("SIGTERM")
        await b.exited
      })
    })
  })

  it('a local store with backend = "bullmq" is refused, naming the file, line and key', async () => {
    await withProject(async (p) => {
      p.config('[jobs]\nbackend = "bullmq"\n')
      const run = await p.strata(["worker"])
      expect(run.code).toBe(1)
      expect(run.stderr).toContain('.strata/config.toml:2 (jobs.backend): "bullmq" runs jobs on other processes')
    })
  })
})
