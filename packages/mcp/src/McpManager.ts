/**
 * The MCP client manager: connects to every configured server (stdio or
 * streamable HTTP, falling back to legacy SSE) on the official SDK, starts
 * them in parallel with the seed's startup events, bridges their tools as
 * `mcp__<server>__<tool>`, supervises them (restart with backoff,
 * re-initialize lost HTTP sessions) and closes everything with its scope.
 *
 * ```ts
 * const program = Effect.gen(function* () {
 *   const mcp = yield* McpManager.McpManager
 *   const summary = yield* mcp.startAll            // emits StartupUpdate / StartupComplete
 *   const tools = yield* mcp.tools                 // [{ name: "mcp__fs__read_file", input_schema, ... }]
 *   const out = yield* mcp.callTool("mcp__fs__read_file", { path: "/work/a.txt" })
 * })
 * program.pipe(Effect.provide(McpManager.layer(config)), Effect.provide(McpStdio.layer))
 * ```
 *
 * @since 0.1.0
 */
import type * as Mcp from "@strata/protocol/Mcp"
import type { ContentPart, ToolOutput } from "@strata/protocol/Tool"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/manager.js"
import * as McpConfig from "./McpConfig.js"
import type { McpConfigError, McpError, McpStartupError } from "./McpError.js"
import type * as McpEvents from "./McpEvents.js"
import type { McpEvent } from "./McpEvents.js"
import type { StdioTransport } from "./McpTransport.js"

/**
 * A server tool bridged as a Strata tool. `name` is the qualified,
 * sanitized name the model sees; `tool` the server's own name;
 * `input_schema` the server's JSON Schema, passed through unchanged.
 *
 * @since 0.1.0
 * @category models
 */
export interface McpTool {
  readonly name: string
  readonly server: string
  readonly tool: string
  readonly title?: string
  readonly description?: string
  readonly input_schema: { readonly [key: string]: unknown }
  readonly output_schema?: { readonly [key: string]: unknown }
  readonly annotations?: { readonly [key: string]: unknown }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface McpResource {
  readonly server: string
  readonly uri: string
  readonly name: string
  readonly title?: string
  readonly description?: string
  readonly mime_type?: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface McpResourceTemplate {
  readonly server: string
  readonly uri_template: string
  readonly name: string
  readonly title?: string
  readonly description?: string
  readonly mime_type?: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface McpPrompt {
  readonly server: string
  readonly name: string
  readonly title?: string
  readonly description?: string
  readonly arguments: ReadonlyArray<{
    readonly name: string
    readonly description?: string
    readonly required?: boolean
  }>
}

/**
 * A rendered prompt: its messages, each with one content part.
 *
 * @since 0.1.0
 * @category models
 */
export interface McpPromptResult {
  readonly description?: string
  readonly messages: ReadonlyArray<{ readonly role: "user" | "assistant"; readonly content: ContentPart }>
}

/**
 * Per-call options. `timeout` overrides the server's `tool_timeout`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallOptions {
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * A form elicitation request from a server (`elicitation/create`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ElicitationRequest {
  readonly server: string
  readonly message: string
  readonly requested_schema: { readonly [key: string]: unknown }
}

/**
 * The answer to an elicitation. With `accept`, fields the user left out
 * are filled from the schema's defaults before the answer is sent.
 *
 * @since 0.1.0
 * @category models
 */
export interface ElicitationResponse {
  readonly action: "accept" | "decline" | "cancel"
  readonly content?: { readonly [key: string]: string | number | boolean | ReadonlyArray<string> }
}

/**
 * Who answers servers' elicitation requests, passed to {@link make} /
 * {@link layer} as `elicitation`: then the client advertises the
 * `elicitation` capability (form mode, defaults applied); otherwise it does
 * not, and servers do not ask. The tag carries a handler across layers.
 *
 * @since 0.1.0
 * @category tags
 */
export class McpElicitation extends Context.Tag("@strata/mcp/McpElicitation")<
  McpElicitation,
  { readonly elicit: (request: ElicitationRequest) => Effect.Effect<ElicitationResponse> }
>() {}

/**
 * The manager's operations. All of them are safe to call concurrently; a
 * call on one server never waits for another server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The decoded configuration the manager runs. */
  readonly config: McpConfig.McpConfig
  /**
   * Starts every enabled server that is not running, all in parallel, each
   * bounded by its `startup_timeout` (connect + initialize + tools/list).
   * Emits `StartupUpdate` `starting` then `ready` / `failed` (with `error`) /
   * `cancelled` per server as it happens, `cancelled` for disabled servers,
   * then one `StartupComplete` with servers in config order. Interrupting it
   * cancels the pending servers (reported `cancelled`) and still emits the
   * summary. Already-ready servers are reported `ready` without restarting.
   * Fails with `McpStartupError` (after the summary) when a `required` server
   * is not ready.
   */
  readonly startAll: Effect.Effect<Mcp.McpStartupCompleteEvent, McpStartupError>
  /**
   * Closes the server's connection (if any) and starts it again now,
   * resetting the backoff; fails with the startup error when it does not
   * come up (the server is then `failed`). Works on stopped and failed
   * servers; `Disabled` for disabled ones.
   */
  readonly restart: (server: string) => Effect.Effect<Mcp.McpServerStatus, McpError>
  /** Closes the server's connection (kills a stdio child), cancels any restart, status `stopped`. */
  readonly stop: (server: string) => Effect.Effect<Mcp.McpServerStatus, McpError>
  /** The status of every configured server, in config order, for `appStatus`. */
  readonly status: Effect.Effect<ReadonlyArray<Mcp.McpServerStatus>>
  /** Every event from now on; each subscriber gets all of them. */
  readonly events: Stream.Stream<McpEvent>
  /** A queue of every event from now on (subscribed when this effect runs), for the scope's lifetime. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<McpEvent>, never, Scope.Scope>
  /** The bridged tools of every ready server, servers in config order. */
  readonly tools: Effect.Effect<ReadonlyArray<McpTool>>
  /**
   * Calls a bridged tool by its qualified name. Bounded by the server's
   * `tool_timeout` (or `options.timeout`); interrupting the fiber sends
   * `notifications/cancelled`. `isError` results succeed with
   * `is_error: true`; failures of the call itself are `McpError`s (and a
   * `CallFailed` event).
   */
  readonly callTool: (name: string, args?: unknown, options?: CallOptions) => Effect.Effect<ToolOutput, McpError>
  /** Calls a tool by server name and the server's own tool name. */
  readonly callServerTool: (
    server: string,
    tool: string,
    args?: unknown,
    options?: CallOptions
  ) => Effect.Effect<ToolOutput, McpError>
  /** Resources of one server, or of every ready server that has them. */
  readonly listResources: (server?: string) => Effect.Effect<ReadonlyArray<McpResource>, McpError>
  /** Resource templates of one server, or of every ready server that has them. */
  readonly listResourceTemplates: (server?: string) => Effect.Effect<ReadonlyArray<McpResourceTemplate>, McpError>
  /** Reads a resource: its contents as `resource` content parts. */
  readonly readResource: (server: string, uri: string) => Effect.Effect<ReadonlyArray<ContentPart>, McpError>
  /** Prompts of one server, or of every ready server that has them. */
  readonly listPrompts: (server?: string) => Effect.Effect<ReadonlyArray<McpPrompt>, McpError>
  /** Renders a prompt with string arguments. */
  readonly getPrompt: (
    server: string,
    name: string,
    args?: { readonly [key: string]: string }
  ) => Effect.Effect<McpPromptResult, McpError>
  /** The pid of a stdio server's current process, if it has one. */
  readonly pid: (server: string) => Effect.Effect<Option.Option<number>, McpError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class McpManager extends Context.Tag("@strata/mcp/McpManager")<McpManager, Service>() {}

/**
 * The manager's optional collaborators. They are passed explicitly, not
 * looked up in the context, so a composition that builds the manager before
 * (or without) them cannot drop one silently.
 *
 * @since 0.2.0
 * @category models
 */
export interface Collaborators {
  /** Receives every event, in the fiber that produced it (see `McpEvents`). */
  readonly events?: McpEvents.McpEvents["Type"] | undefined
  /** Answers servers' elicitation requests; without it the client does not advertise `elicitation`. */
  readonly elicitation?: McpElicitation["Type"] | undefined
}

/**
 * Builds the manager in a scope: nothing is started until `startAll` (or
 * `restart`). Closing the scope closes every client and kills every stdio
 * child.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  config: McpConfig.McpConfig,
  collaborators?: Collaborators
) => Effect.Effect<Service, never, Scope.Scope | StdioTransport> = internal.make

/**
 * The manager as a layer; it needs a {@link StdioTransport}
 * (`@strata/mcp/stdio`'s `layer`, or `McpTransport.layerUnsupported`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  config: McpConfig.McpConfig,
  collaborators?: Collaborators
): Layer.Layer<McpManager, never, StdioTransport> => Layer.scoped(McpManager, make(config, collaborators))

/**
 * The manager from undecoded input (`{ servers: {...}, restart: {...} }`),
 * failing with the `McpConfigError` that names the server and field.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDecode = (
  input: unknown,
  options?: McpConfig.DecodeOptions,
  collaborators?: Collaborators
): Layer.Layer<McpManager, McpConfigError, StdioTransport> =>
  Layer.unwrapEffect(Effect.map(McpConfig.decode(input, options), (config) => layer(config, collaborators)))
