import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import * as Effect from "effect/Effect"
import { afterEach, describe, expect, it } from "vitest"
import * as Choice from "../src/Choice.js"

const servers: Array<Server> = []
afterEach(() => Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r)))))

/** A real HTTP server on 127.0.0.1 answering `GET /api/tags` as Ollama does. */
const listen = (handler: Parameters<typeof createServer>[1]): Promise<string> =>
  new Promise((resolve) => {
    const server = createServer(handler).listen(0, "127.0.0.1", () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    )
    servers.push(server)
  })

describe("probeOllama", () => {
  it("names the first model of a server that answers /api/tags", async () => {
    const url = await listen((req, res) => {
      res.setHeader("content-type", "application/json")
      res.end(JSON.stringify(req.url === "/api/tags" ? { models: [{ name: "llama3:8b" }, { name: "qwen" }] } : {}))
    })
    // a budget no loaded machine exceeds: what is checked is the answer, not the speed
    expect(await Effect.runPromise(Choice.probeOllama(url, 30_000))).toBe("llama3:8b")
  })

  it("is undefined where nothing listens, where the server fails, and where it has no model", async () => {
    const closed = await listen(() => {})
    await new Promise((r) => servers.pop()!.close(r))
    expect(await Effect.runPromise(Choice.probeOllama(closed))).toBeUndefined()
    const failing = await listen((_req, res) => {
      res.statusCode = 500
      res.end()
    })
    expect(await Effect.runPromise(Choice.probeOllama(failing, 30_000))).toBeUndefined()
    const empty = await listen((_req, res) => res.end(JSON.stringify({ models: [] })))
    expect(await Effect.runPromise(Choice.probeOllama(empty, 30_000))).toBeUndefined()
  })

  it("gives up on a server that accepts the connection but does not answer in time", async () => {
    const silent = await listen(() => {})
    expect(await Effect.runPromise(Choice.probeOllama(silent, 200))).toBeUndefined()
  })
})
