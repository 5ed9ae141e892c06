// Test helpers: fixture paths, config builders, child-process servers, event collection.
import { type ChildProcess, spawn } from "node:child_process"
import { createRequire } from "node:module"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { McpEvent } from "../src/McpEvents.js"

const require = createRequire(import.meta.url)

export const fixture = fileURLToPath(new URL("./fixtures/server.mjs", import.meta.url))
export const httpFixture = fileURLToPath(new URL("./fixtures/http-server.mjs", import.meta.url))
export const everythingBin = require.resolve("@modelcontextprotocol/server-everything/dist/index.js")
export const memoryBin = require.resolve("@modelcontextprotocol/server-memory/dist/index.js")
export const filesystemBin = require.resolve("@modelcontextprotocol/server-filesystem/dist/index.js")

/** A stdio server config running the fixture with `args`. */
export const fixtureServer = (args: ReadonlyArray<string> = [], extra: Record<string, unknown> = {}) => ({
  command: process.execPath,
  args: [fixture, ...args],
  ...extra
})

/** Is a process with this pid still there (and not a zombie)? */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    // A zombie still answers kill(0); /proc tells it apart (Linux).
    const stat = require("node:fs").readFileSync(`/proc/${pid}/stat`, "utf8") as string
    return !/^\d+ \(.*\) Z/.test(stat)
  } catch {
    return true
  }
}

/** Waits (bounded) until the pid is gone; true when it is. A liveness poll, not a timing assertion. */
export const waitGone = (pid: number, tries = 100): Effect.Effect<boolean> =>
  Effect.gen(function* () {
    for (let i = 0; i < tries; i++) {
      if (!isAlive(pid)) return true
      yield* Effect.sleep("50 millis")
    }
    return !isAlive(pid)
  })

export const freePort = (): Effect.Effect<number> =>
  Effect.async<number>((resume) => {
    const srv = createServer()
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      srv.close(() => resume(Effect.succeed(port)))
    })
  })

/** Spawns a child in the scope; killed (and awaited) when the scope closes. */
export const spawnScoped = (
  command: string,
  args: ReadonlyArray<string>,
  env: Record<string, string> = {}
): Effect.Effect<ChildProcess, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() =>
      spawn(command, [...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
    ),
    (child) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
        child.once("exit", () => resume(Effect.void))
        child.kill("SIGKILL")
      })
  )

/** Waits until the child prints a line matching `re` on stdout or stderr; returns the match. */
export const waitForOutput = (child: ChildProcess, re: RegExp): Effect.Effect<RegExpMatchArray> =>
  Effect.async<RegExpMatchArray>((resume) => {
    let seen = ""
    const onData = (chunk: Buffer) => {
      seen += chunk.toString()
      const m = seen.match(re)
      if (m !== null) {
        child.stdout?.off("data", onData)
        child.stderr?.off("data", onData)
        resume(Effect.succeed(m))
      }
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", onData)
    child.once("exit", (code) => resume(Effect.die(new Error(`child exited (${code}) before ${re}: ${seen}`))))
  })

/** Starts the HTTP fixture; returns its url and the child. */
export const httpFixtureServer = (port?: number) =>
  Effect.gen(function* () {
    const child = yield* spawnScoped(process.execPath, [
      httpFixture,
      ...(port === undefined ? [] : ["--port", String(port)])
    ])
    const m = yield* waitForOutput(child, /PORT=(\d+)/)
    return { child, port: Number(m[1]), url: `http://127.0.0.1:${m[1]}/mcp` }
  })

/** Starts server-everything in `streamableHttp` or `sse` mode on a free 127.0.0.1 port. */
export const everythingHttp = (mode: "streamableHttp" | "sse") =>
  Effect.gen(function* () {
    const port = yield* freePort()
    const child = yield* spawnScoped(process.execPath, [everythingBin, mode], { PORT: String(port) })
    yield* waitForOutput(child, /(listening|running) on port/i)
    return { child, port, base: `http://127.0.0.1:${port}` }
  })

/** Everything the queue holds right now. */
export const drain = (queue: Queue.Dequeue<McpEvent>): Effect.Effect<Array<McpEvent>> =>
  Effect.map(Queue.takeAll(queue), Chunk.toArray)

/** Takes events until one matches; returns all taken, the match last. */
export const takeUntil = (
  queue: Queue.Dequeue<McpEvent>,
  predicate: (e: McpEvent) => boolean
): Effect.Effect<Array<McpEvent>> =>
  Effect.gen(function* () {
    const out: Array<McpEvent> = []
    while (true) {
      const e = yield* Queue.take(queue)
      out.push(e)
      if (predicate(e)) return out
    }
  })

export const startupUpdates = (events: ReadonlyArray<McpEvent>) =>
  events.flatMap((e) => (e._tag === "StartupUpdate" ? [`${e.update.server_name}:${e.update.status}`] : []))
