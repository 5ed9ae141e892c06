/**
 * `strata acp`: Strata as an Agent Client Protocol agent over stdio (see
 * `@strata/server/Acp` and docs/acp.md). stdout carries only ACP messages
 * (newline-delimited JSON-RPC); logs go to stderr. The process ends when
 * the editor closes stdin.
 *
 * @since 0.2.0
 */
import { Readable, Writable } from "node:stream"
import * as acp from "@agentclientprotocol/sdk"
import * as Command from "@effect/cli/Command"
import * as Acp from "@strata/server/Acp"
import * as RpcServer from "@strata/server/RpcServer"
import * as Effect from "effect/Effect"
import { processOptions } from "../common.js"
import * as Distribution from "../Distribution.js"
import { version } from "../version.js"

/**
 * @since 0.2.0
 * @category commands
 */
export const acpCommand = Command.make("acp", {}, () =>
  Distribution.session(
    processOptions(),
    () =>
      Effect.gen(function* () {
        const agent = yield* Acp.make({ name: "strata", version })
        const stream = acp.ndJsonStream(
          Writable.toWeb(process.stdout) as WritableStream<Uint8Array>,
          Readable.toWeb(process.stdin) as ReadableStream<Uint8Array>
        )
        const connection = new acp.AgentSideConnection(agent, stream)
        yield* Effect.promise(() => connection.closed)
      }).pipe(Effect.provide(RpcServer.layer)),
    // an editor's sessions share this process's event loop, as serve's do
    { mcp: "start", sharedEventLoop: true }
  )
).pipe(Command.withDescription("Run as an Agent Client Protocol agent on stdio (for Zed, JetBrains, Neovim, ...)"))
