#!/usr/bin/env node
// The adapter command for @modelcontextprotocol/conformance's client scenarios: it runs
// Strata's MCP client (McpManager) against the server URL the harness appends to the command,
// doing what the scenario named in MCP_CONFORMANCE_SCENARIO expects of a client.
//
//   conformance client --command "node bin/strata-mcp-conformance.mjs" --scenario tools_call
import { McpManager, McpTransport } from "@strata/mcp"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const url = process.argv.at(-1)
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? "initialize"

// Accept every elicitation with empty content: the client fills in the schema's defaults.
const elicitation = { elicit: () => Effect.succeed({ action: "accept", content: {} }) }

const program = Effect.gen(function* () {
  const mcp = yield* McpManager.McpManager
  const summary = yield* mcp.startAll
  console.log(`startup: ${JSON.stringify(summary)}`)
  const tools = yield* mcp.tools
  console.log(`tools: ${tools.map((t) => t.name).join(", ")}`)
  switch (scenario) {
    case "tools_call": {
      const out = yield* mcp.callServerTool("conformance", "add_numbers", { a: 5, b: 3 })
      console.log(`add_numbers: ${JSON.stringify(out)}`)
      break
    }
    case "elicitation-sep1034-client-defaults": {
      const out = yield* mcp.callServerTool("conformance", "test_client_elicitation_defaults", {})
      console.log(`elicitation: ${JSON.stringify(out)}`)
      break
    }
    case "sse-retry": {
      // The server closes the call's SSE stream after a priming event; the client must
      // reconnect with GET + Last-Event-ID after `retry` ms and get the result there.
      const out = yield* mcp.callServerTool("conformance", "test_reconnection", {})
      console.log(`test_reconnection: ${JSON.stringify(out)}`)
      break
    }
    default:
      break
  }
})

const main = program.pipe(
  Effect.provide(
    McpManager.layerDecode({ servers: { conformance: { url, required: true, startup_timeout: 20 } } }, undefined, {
      elicitation
    }).pipe(Layer.provide(McpTransport.layerUnsupported))
  )
)

Effect.runPromiseExit(main).then((exit) => {
  if (exit._tag === "Failure") {
    console.error(String(exit.cause))
    process.exit(1)
  }
  process.exit(0)
})
