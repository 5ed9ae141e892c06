// Cross-runtime conformance for @strata/server and @strata/client (built
// output): the HTTP app over a Runtime composed from config (memory store),
// as a web handler (Request -> Response, no sockets), driven by the typed
// client, under Node, Bun and Deno.
import assert from "node:assert/strict"
import * as HttpApp from "@effect/platform/HttpApp"
import { NodeContext } from "@effect/platform-node"
import { StrataClient } from "@strata/client"
import { RuntimeConfig, RuntimeLayer } from "@strata/core-runtime"
import * as McpStdio from "@strata/mcp/stdio"
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import { Auth, Http, RpcServer } from "@strata/server"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { run, test } from "../../../scripts/conformance.mjs"

const config = Schema.decodeUnknownSync(RuntimeConfig.RuntimeConfig)({ storage: { kind: "memory" } })
const layer = RpcServer.layer.pipe(
  Layer.provideMerge(RuntimeLayer.layer(config, { cwd: "/tmp", cliVersion: "conformance" })),
  Layer.provide(
    Layer.mergeAll(
      NodeContext.layer,
      NodeWorkspace.layer({ durable: false }),
      McpStdio.layer,
      RuntimeLayer.layerUnsandboxed(config, { cwd: "/tmp" })
    )
  )
)

const serve = (tokens = []) => {
  const app = Http.make({ auth: Auth.make({ tokens, ratePerMinute: 1000 }), maxBodyBytes: 4096 })
  const web = HttpApp.toWebHandlerLayer(app, layer)
  const fetch = (input, init) => web.handler(new Request(input, init))
  return { web, client: (token) => StrataClient.make({ url: "http://strata.test", fetch, token }), fetch }
}

test("threads through the typed client", async () => {
  const { web, client } = serve()
  try {
    const c = client()
    const started = await c.call("thread/start", { name: "conformance" })
    assert.equal(started.status, "started")
    const listed = await c.call("thread/list", {})
    assert.ok(listed.threads.some((t) => t.id === started.thread_id))
    const events = await c.call("events/read", { thread_id: started.thread_id })
    assert.equal(events.last_seq, events.events.length)
  } finally {
    await web.dispose()
  }
})

test("typed errors: unknown method, bad params, __proto__, oversized body", async () => {
  const { web, client, fetch } = serve()
  try {
    const c = client()
    await assert.rejects(c.call("thread/read", { thread_id: "../x" }), (e) => e.type === "InvalidParams")
    const post = (body) =>
      fetch("http://strata.test/v1/rpc", { method: "POST", headers: { "content-type": "application/json" }, body })
    const unknown = await (await post('{"jsonrpc":"2.0","id":1,"method":"nope"}')).json()
    assert.equal(unknown.error.data.type, "MethodNotFound")
    const proto = await (await post('{"jsonrpc":"2.0","id":2,"method":"thread/list","params":{"__proto__":{}}}')).json()
    assert.equal(proto.error.data.type, "InvalidParams")
    const big = await post(
      JSON.stringify({ jsonrpc: "2.0", id: 3, method: "thread/list", params: { x: "y".repeat(5000) } })
    )
    assert.equal(big.status, 413)
  } finally {
    await web.dispose()
  }
})

test("bearer tokens are checked against their SHA-256", async () => {
  const sha256 = await import("effect/Effect").then((Effect) => Effect.runPromise(Auth.hashToken("s3cret")))
  const { web, client } = serve([{ name: "t", sha256, scopes: ["read"] }])
  try {
    await assert.rejects(client().call("thread/list", {}), (e) => e.type === "Unauthorized" && e.status === 401)
    assert.equal((await client("s3cret").call("thread/list", {})).status, "ok")
    await assert.rejects(client("s3cret").call("thread/start", {}), (e) => e.type === "Forbidden")
  } finally {
    await web.dispose()
  }
})

test("parseSse reads id, event and data across chunk boundaries", async () => {
  const text = ': hi\n\nid: 1\ndata: {"a":1}\n\nevent: approval\ndata: x\ndata: y\n\n'
  const bytes = new TextEncoder().encode(text)
  const body = new ReadableStream({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 3) controller.enqueue(bytes.slice(i, i + 3))
      controller.close()
    }
  })
  const out = []
  for await (const m of StrataClient.parseSse(body)) out.push(m)
  assert.deepEqual(out, [
    { id: "1", event: "message", data: '{"a":1}' },
    { id: undefined, event: "approval", data: "x\ny" }
  ])
})

await run("@strata/server")
