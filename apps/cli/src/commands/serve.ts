/**
 * `strata serve`: the runtime as a service. JSON-RPC 2.0 + SSE over HTTP
 * (see `@strata/server/Http` and docs/server.md), or the same methods over
 * stdio with `--stdio` (one JSON-RPC message per line; every event frame is
 * sent as an `event` notification).
 *
 * Bound to 127.0.0.1:7077 by default (`[server] host/port`, `--host`,
 * `--port`; `--port 0` picks a free port). Tokens: `[server] tokens` (each
 * `{ name, sha256, scopes }`, the SHA-256 of the secret: `strata serve
 * hash-token`) and `STRATA_SERVER_TOKEN` (an admin token, hashed in memory).
 * With no token every local caller is the owner; binding a non-loopback
 * address without a token is refused. Once listening, one JSON line on
 * stdout says where: `{"event":"listening","url":...,"auth":...}`.
 *
 * @since 0.2.0
 */
import { createServer } from "node:http"
import * as readline from "node:readline"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Auth from "@strata/server/Auth"
import * as Http from "@strata/server/Http"
import * as RpcServer from "@strata/server/RpcServer"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Cluster from "../Cluster.js"
import * as ConsoleAssets from "../ConsoleAssets.js"
import { CliError, processOptions } from "../common.js"
import * as Distribution from "../Distribution.js"

const host = Options.text("host").pipe(Options.optional, Options.withDescription("Address to bind (default 127.0.0.1)"))
const port = Options.integer("port").pipe(Options.optional, Options.withDescription("Port (default 7077; 0: any free)"))
const cluster = Options.boolean("cluster").pipe(
  Options.withDescription(
    'API only: queue turns for `strata worker` processes (needs [jobs] backend = "bullmq" and a shared store)'
  )
)
const stdio = Options.boolean("stdio").pipe(
  Options.withDescription("Speak JSON-RPC over stdin/stdout (one message per line) instead of HTTP")
)

/**
 * The `[server]` section of the loaded config, decoded (a bad value is an
 * error naming the key).
 *
 * @since 0.2.0
 * @category constructors
 */
export const serverConfig = (raw: unknown) => {
  const section = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>).server : undefined
  const decoded = Schema.decodeUnknownEither(Auth.ServerConfig, { errors: "all", onExcessProperty: "error" })(
    section ?? {}
  )
  if (Either.isRight(decoded)) return Effect.succeed(decoded.right)
  const issue = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0]
  return Effect.fail(
    new CliError({
      detail: `config [server]: ${issue === undefined ? "invalid" : `server.${issue.path.join(".")}: ${issue.message}`}`,
      hint: "see docs/server.md",
      code: 2
    })
  )
}

const tokensOf = (config: Auth.ServerConfig, env: Readonly<Record<string, string | undefined>>) =>
  Effect.gen(function* () {
    const tokens = [...config.tokens]
    const fromEnv = env.STRATA_SERVER_TOKEN
    if (fromEnv !== undefined && fromEnv !== "") {
      tokens.push({ name: "env", sha256: yield* Auth.hashToken(fromEnv), scopes: ["admin"] })
    }
    return tokens
  })

const serveStdio = Effect.gen(function* () {
  const server = yield* RpcServer.RpcServer
  const write = (value: unknown) => Effect.sync(() => process.stdout.write(`${JSON.stringify(value)}\n`))
  yield* server.allEvents.pipe(
    Stream.runForEach((frame) => write({ jsonrpc: "2.0", method: "event", params: frame })),
    Effect.forkScoped
  )
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })
  yield* Effect.addFinalizer(() => Effect.sync(() => lines.close()))
  yield* Stream.fromAsyncIterable(lines, (e) => e).pipe(
    Stream.filter((line) => line.trim() !== ""),
    Stream.mapEffect(
      (line) =>
        line.length > 16 * 1024 * 1024
          ? write({ jsonrpc: "2.0", id: null, error: { code: -32013, message: "the line is over 16 MiB" } })
          : Effect.flatMap(server.handleText(line, RpcServer.owner), (answer) =>
              answer === null ? Effect.void : write(answer)
            ),
      { concurrency: 16 }
    ),
    Stream.runDrain,
    Effect.orDie
  )
})

const serveCommand = Command.make("serve", { host, port, stdio, cluster }, (o) =>
  Effect.zipRight(
    // Refused before anything starts: the config alone says whether a token guards a non-loopback address.
    Effect.gen(function* () {
      const options = processOptions()
      const loaded = yield* Distribution.loadConfig(options)
      const config = yield* serverConfig(loaded.raw)
      if (o.cluster) {
        const refused = Cluster.refusal(loaded.value)
        if (refused !== undefined) {
          return yield* new CliError({
            detail: `strata serve --cluster: ${refused}`,
            hint: 'set [jobs] backend = "bullmq" and [storage] kind = "redis" or "postgres" (see docs/deployment.md)',
            code: 2
          })
        }
      }
      const bind = Option.getOrElse(o.host, () => config.host)
      if (!o.stdio && !Auth.isLoopback(bind) && (yield* tokensOf(config, options.env)).length === 0) {
        return yield* new CliError({
          detail: `refusing to serve on ${bind} without a token: anyone who can reach it could run commands`,
          hint: "set STRATA_SERVER_TOKEN or [server] tokens, or bind 127.0.0.1",
          code: 2
        })
      }
    }),
    Distribution.session(
      processOptions(),
      (setup) =>
        Effect.gen(function* () {
          const config = yield* serverConfig(setup.loaded.raw)
          const bind = Option.getOrElse(o.host, () => config.host)
          const listen = Option.getOrElse(o.port, () => config.port)
          const tokens = yield* tokensOf(config, setup.env)
          // With --cluster the server runs no turn itself: workers do (see Cluster).
          const rpcLayer = o.cluster
            ? RpcServer.layerCluster.pipe(Layer.provide(Cluster.layerApi(setup.config)))
            : RpcServer.layer
          if (o.stdio) return yield* Effect.scoped(serveStdio.pipe(Effect.provide(rpcLayer)))
          if (!Auth.isLoopback(bind) && tokens.length === 0) {
            return yield* new CliError({
              detail: `refusing to serve on ${bind} without a token: anyone who can reach it could run commands`,
              hint: "set STRATA_SERVER_TOKEN or [server] tokens, or bind 127.0.0.1",
              code: 2
            })
          }
          const auth = Auth.make({ tokens, ratePerMinute: config.rate_limit })
          const api = Http.make({ auth, maxBodyBytes: config.max_body_bytes, corsOrigins: config.cors_origins })
          const consoleRoot = ConsoleAssets.consoleDir(setup.env)
          // the web console's static files at /console/ (apps/console); everything else is the wire
          const app = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
            const path = request.url.split("?")[0] ?? ""
            return (request.method === "GET" || request.method === "HEAD") &&
              (path === "/console" || path.startsWith("/console/"))
              ? Effect.succeed(ConsoleAssets.respond(consoleRoot, path))
              : api
          })
          yield* Effect.scoped(
            Effect.gen(function* () {
              yield* HttpServer.serveEffect()(app)
              yield* HttpServer.addressWith((address) =>
                Effect.sync(() => {
                  const url =
                    address._tag === "TcpAddress"
                      ? `http://${address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname}:${address.port}`
                      : address.path
                  process.stdout.write(
                    `${JSON.stringify({ event: "listening", url, auth: auth.open ? "none" : "bearer", pid: process.pid, console: consoleRoot === undefined ? null : `${url}/console/` })}\n`
                  )
                })
              )
              return yield* Effect.never
            }).pipe(
              Effect.provide(rpcLayer),
              Effect.provide(
                NodeHttpServer.layer(() => createServer({ keepAliveTimeout: 65_000 }), { host: bind, port: listen })
              )
            )
          )
        }),
      { mcp: "start", sharedEventLoop: true }
    )
  )
).pipe(Command.withDescription("Serve the runtime: JSON-RPC 2.0 + SSE over HTTP (127.0.0.1:7077), or --stdio"))

const hashToken = Command.make("hash-token", {}, () =>
  Effect.gen(function* () {
    const token = Auth.generateToken()
    const sha256 = yield* Auth.hashToken(token)
    process.stdout.write(
      `token (give it to the client; it is not stored): ${token}\n` +
        `config (.strata/config.toml):\n[[server.tokens]]\nname = "client"\nsha256 = "${sha256}"\nscopes = ["read", "prompt", "approve"]\n`
    )
  })
).pipe(Command.withDescription("Make a new token and the config lines that admit it (only its hash is stored)"))

/**
 * @since 0.2.0
 * @category commands
 */
export const serve = serveCommand.pipe(Command.withSubcommands([hashToken]))
