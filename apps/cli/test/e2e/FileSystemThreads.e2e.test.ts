/**
 * Which thread does the store's file work, seen from outside with strace on
 * the built `strata`: a one-shot command (`strata run`) takes its journal's
 * lock and writes its events from the main thread (the synchronous file
 * system) and leaves the flush (`fsync`) to the thread pool; `strata serve`,
 * whose event loop many sessions share, does all of it on the thread pool
 * (`@effect/platform-node`'s file system), so one session's disk never
 * holds another's turn up; so does `strata acp`, whose sessions share one
 * editor's process.
 */
import { spawn, spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { Readable, Writable } from "node:stream"
import * as acp from "@agentclientprotocol/sdk"
import * as StrataClient from "@strata/client/StrataClient"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import { bin, type Project, providerToml, withModel, withProject } from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

const hasStrace = process.platform === "linux" && spawnSync("strace", ["-V"]).status === 0

/** `strata <args>` under `strace -f`: the calls named in `syscalls`, each with the thread that made it. */
const traced = (p: Project, args: ReadonlyArray<string>, syscalls: string) => {
  const out = `${p.dir}/.strace.txt`
  const child = spawn(
    "strace",
    ["-f", "-qq", "-e", `trace=execve,${syscalls}`, "-o", out, process.execPath, bin, ...args],
    {
      cwd: p.dir,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: p.home, XDG_CONFIG_HOME: "", NO_COLOR: "1" },
      // `acp` speaks ACP on its stdio; the others get no input
      stdio: [args.includes("acp") ? "pipe" : "ignore", "pipe", "pipe"]
    }
  )
  let output = ""
  if (!args.includes("acp")) {
    child.stdout!.on("data", (d: Buffer) => {
      output += d
    })
  }
  child.stderr!.on("data", (d: Buffer) => {
    output += d
  })
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve))
  const lines = () => (existsSync(out) ? readFileSync(out, "utf8").split("\n") : [])
  /** The traced process: the thread that exec'd node. */
  const mainPid = () =>
    lines()
      .find((l) => /^\d+\s+execve\(/.test(l))
      ?.split(/\s+/)[0]
  /** The calls traced so far, each marked whether the main thread made it. */
  const calls = () => {
    const main = mainPid()
    return lines().flatMap((l) => {
      // strace pads the thread id: "9591  link(...)", "32103 link(...)"
      const m = /^(\d+)\s+(\w+)\((.*)$/.exec(l)
      return m === null || m[2] === "execve" ? [] : [{ main: m[1] === main, call: m[2]!, args: m[3]! }]
    })
  }
  /** Ends the traced process (strace ends with it). */
  const kill = () => {
    const pid = mainPid()
    if (pid !== undefined) process.kill(Number(pid), "SIGKILL")
    else child.kill("SIGKILL")
  }
  return { child, exited, calls, kill, mainPid, output: () => output }
}

/** The journal's lock taken (a hard link to `threads/<id>/lock`) and its events written. */
const journalWork = (calls: ReadonlyArray<{ main: boolean; call: string; args: string }>) => ({
  locks: calls.filter((c) => c.call === "link" && /\/threads\/[^"/]+\/lock"/.test(c.args)),
  fsyncs: calls.filter((c) => c.call === "fsync")
})

/** A process whose event loop sessions share: it took its journal's locks, none on its main thread. */
const expectLocksOnThePool = (run: ReturnType<typeof traced>) => {
  expect(run.mainPid()).toBeDefined()
  const { locks } = journalWork(run.calls())
  expect(locks.length).toBeGreaterThan(0)
  expect(locks.some((c) => c.main)).toBe(false)
}

/** Ends a traced process and waits for strace to finish. */
const end = (run: ReturnType<typeof traced>) => {
  run.kill()
  return run.exited
}

describe.skipIf(!hasStrace)("the store's file work, by thread", { timeout: 180_000 }, () => {
  it("strata run: the journal's locks on the main thread, the flushes on the thread pool", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "a reply in a few chunks", chunkSize: 4 }] }, async (model) => {
        p.config(providerToml(model))
        const run = traced(p, ["run", "--json", "hi"], "link,fsync")
        expect(await run.exited, run.output()).toBe(0)
        expect(run.output()).toContain("a reply in a few chunks")
        const { locks, fsyncs } = journalWork(run.calls())
        expect(locks.length).toBeGreaterThan(0)
        expect(locks.every((c) => c.main)).toBe(true)
        expect(fsyncs.length).toBeGreaterThan(0)
        expect(fsyncs.some((c) => !c.main)).toBe(true)
      })
    })
  })

  it("strata serve: the journal's locks and flushes on the thread pool", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "served", chunkSize: 4 }] }, async (model) => {
        p.config(providerToml(model))
        const serve = traced(p, ["serve", "--port", "0"], "link,fsync")
        try {
          let url: string | undefined
          for (let i = 0; i < 600 && url === undefined; i++) {
            const line = serve
              .output()
              .split("\n")
              .find((l) => l.includes('"listening"'))
            if (line !== undefined) url = (JSON.parse(line) as { url: string }).url
            else await new Promise((r) => setTimeout(r, 100))
          }
          expect(url, serve.output()).toBeDefined()
          const client = StrataClient.make({ url: url! })
          const answer = await client.call("turn/start", { prompt: "hi", wait: true })
          expect(answer).toMatchObject({ outcome: "completed", output: "served" })
          expectLocksOnThePool(serve)
        } finally {
          await end(serve)
        }
      })
    })
  })

  it("strata acp: the journal's locks on the thread pool", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "from acp", chunkSize: 4 }] }, async (model) => {
        p.config(providerToml(model))
        const agent = traced(p, ["acp"], "link,fsync")
        try {
          const connection = new acp.ClientSideConnection(
            () => ({
              requestPermission: async () => ({ outcome: { outcome: "cancelled" } }),
              sessionUpdate: async () => {}
            }),
            acp.ndJsonStream(
              Writable.toWeb(agent.child.stdin!) as WritableStream<Uint8Array>,
              Readable.toWeb(agent.child.stdout!) as ReadableStream<Uint8Array>
            )
          )
          await connection.initialize({
            protocolVersion: acp.PROTOCOL_VERSION,
            clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false }
          })
          const { sessionId } = await connection.newSession({ cwd: p.dir, mcpServers: [] })
          const result = await connection.prompt({ sessionId, prompt: [{ type: "text", text: "hi" }] })
          expect(result.stopReason, agent.output()).toBe("end_turn")
          expectLocksOnThePool(agent)
        } finally {
          await end(agent)
        }
      })
    })
  })
})
