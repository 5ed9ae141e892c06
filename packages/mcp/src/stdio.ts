/**
 * `@strata/mcp/stdio`: the {@link StdioTransport} for Node, Bun and Deno,
 * on the SDK's `StdioClientTransport` (which spawns the server with
 * `node:child_process`). The only module of the package that touches a
 * process API; the manager core stays portable.
 *
 * ```ts
 * import { McpManager } from "@strata/mcp"
 * import * as McpStdio from "@strata/mcp/stdio"
 * const live = McpManager.layer(config).pipe(Layer.provide(McpStdio.layer))
 * ```
 *
 * On shutdown the child's stdin is closed, SIGTERM follows after a grace
 * period (500 ms by default) and the SDK's SIGKILL 2 s later, so no child
 * outlives the manager's scope.
 *
 * @since 0.1.0
 */

import * as process from "node:process"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { StdioServerConfig } from "./McpConfig.js"
import { McpError } from "./McpError.js"
import { type StdioHandle, StdioTransport } from "./McpTransport.js"

const STDERR_TAIL = 4096

/**
 * The SDK transport with a shorter shutdown: when the child has not exited
 * `graceMs` after its stdin was closed, it gets SIGTERM (the SDK alone waits
 * 2 s before SIGTERM and 2 s more before SIGKILL, which it still does).
 */
class StdioClientTransportWithGrace extends StdioClientTransport {
  constructor(
    params: ConstructorParameters<typeof StdioClientTransport>[0],
    private readonly graceMs: number,
    private readonly release: () => Promise<void>
  ) {
    super(params)
  }
  override async close(): Promise<void> {
    const pid = this.pid
    const timer =
      pid === null
        ? undefined
        : setTimeout(() => {
            try {
              process.kill(pid, "SIGTERM")
            } catch {
              // already gone
            }
          }, this.graceMs)
    try {
      await super.close()
    } finally {
      if (timer !== undefined) clearTimeout(timer)
      await this.release()
    }
  }
}

/**
 * Options of {@link layerWith}: `shutdownGrace` is how long a child may take
 * to exit after its stdin is closed before it gets SIGTERM (default 500 ms).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly shutdownGrace?: Duration.DurationInput | undefined
  /**
   * Rewrites the process before it is spawned (the runtime's sandbox: the
   * environment policy, the OS sandbox, containment): the server runs as
   * `command` `args` in `cwd` with `env` (on top of the SDK's minimal
   * inherited `HOME`, `PATH`, ...), and `release` runs when the
   * transport closes (ending whatever the server started).
   */
  readonly prepare?: ((spec: ProcessSpec) => Effect.Effect<PreparedProcess, { readonly message: string }>) | undefined
}

/**
 * A server process, as the config names it.
 *
 * @since 0.2.0
 * @category models
 */
export interface ProcessSpec {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly cwd: string
  readonly env: Readonly<Record<string, string>>
}

/**
 * The process to spawn instead, and how to end what it started.
 *
 * @since 0.2.0
 * @category models
 */
export interface PreparedProcess {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly cwd: string
  readonly env: Readonly<Record<string, string>>
  readonly release: Effect.Effect<void>
}

/**
 * The stdio transport with options.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options: Options): Layer.Layer<StdioTransport> => {
  const graceMs = Duration.toMillis(Duration.decode(options.shutdownGrace ?? "500 millis"))
  const spawnWith = (config: StdioServerConfig, spec: ProcessSpec, release: Effect.Effect<void>) =>
    Effect.try({
      try: (): StdioHandle => {
        const transport = new StdioClientTransportWithGrace(
          {
            command: spec.command,
            args: [...spec.args],
            env: { ...spec.env },
            cwd: spec.cwd,
            stderr: "pipe"
          },
          graceMs,
          () => Effect.runPromise(release)
        )
        let tail = ""
        transport.stderr?.on("data", (chunk: Uint8Array | string) => {
          tail += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk)
          if (tail.length > STDERR_TAIL) tail = tail.slice(tail.length - STDERR_TAIL)
        })
        return { transport, pid: () => transport.pid ?? undefined, stderr: () => tail }
      },
      catch: (cause) =>
        new McpError({
          reason: "Transport",
          server: config.name,
          operation: "initialize",
          detail: `cannot create the stdio transport: ${String(cause)}`,
          cause
        })
    })
  return Layer.succeed(StdioTransport, {
    make: Effect.fn("StdioTransport.make")((config: StdioServerConfig) => {
      const spec: ProcessSpec = {
        command: config.command,
        args: config.args,
        cwd: config.cwd ?? process.cwd(),
        env: config.env
      }
      if (options.prepare === undefined) return spawnWith(config, spec, Effect.void)
      return options.prepare(spec).pipe(
        Effect.mapError(
          (cause) =>
            new McpError({
              reason: "Transport",
              server: config.name,
              operation: "initialize",
              detail: `cannot start the server: ${cause.message}`,
              cause
            })
        ),
        Effect.flatMap((prepared) =>
          spawnWith(config, prepared, prepared.release).pipe(Effect.tapError(() => prepared.release))
        )
      )
    })
  })
}

/**
 * The stdio transport: spawns `command` with `args`, `cwd` and `env` (added
 * to the SDK's minimal inherited environment), pipes stderr into a 4 KiB
 * tail used in error messages, SIGTERMs a child that has not exited 500 ms
 * after its stdin closed.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<StdioTransport> = layerWith({})
