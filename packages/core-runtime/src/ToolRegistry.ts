/**
 * `ToolRegistry`: every tool the model can call, from plugins, MCP servers
 * and the app, under one name space. Names are unique: registering a taken
 * name is a `ToolNameCollision` naming both owners. Registrations live as
 * long as the scope that made them.
 *
 * A tool flagged as executing shell commands (`shellCommand`) goes through
 * `ExecPolicy` before it runs (see `ToolInvoker`).
 *
 * @since 0.1.0
 */

import type * as PluginJob from "@strata/plugin/Job"
import type * as Plugin from "@strata/plugin/Plugin"
import * as PluginTool from "@strata/plugin/Tool"
import type { JsonValue } from "@strata/protocol/Common"
import type { ThreadId, ToolCallId } from "@strata/protocol/Ids"
import type { ToolOutput } from "@strata/protocol/Tool"
import type * as Sandbox from "@strata/sandbox/Sandbox"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"

/**
 * What a running tool knows about its call.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolContext {
  readonly call_id: ToolCallId
  readonly thread_id?: ThreadId | undefined
  readonly cwd: string
  /** The protected-path check, as `@strata/plugin`'s `ToolContext.protectedPath`. */
  readonly protectedPath?: ((absolutePath: string) => string | undefined) | undefined
  /** A person approved this call. */
  readonly approved?: boolean | undefined
  /** A person approved running it outside the sandbox (as `@strata/plugin`'s `ToolContext.unsandboxed`). */
  readonly unsandboxed?: boolean | undefined
}

/**
 * The tool's input did not match its schema; `detail` is written for the
 * model (every issue by field).
 *
 * @since 0.1.0
 * @category errors
 */
export class ToolInputInvalid extends Data.TaggedError("ToolInputInvalid")<{
  readonly tool: string
  readonly detail: string
}> {
  override get message(): string {
    return `Invalid input for tool ${this.tool}: ${this.detail}`
  }
}

/**
 * The tool ran and failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class ToolRunFailed extends Data.TaggedError("ToolRunFailed")<{
  readonly tool: string
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `Tool ${this.tool} failed: ${this.detail}`
  }
}

/**
 * A name registered twice.
 *
 * @since 0.1.0
 * @category errors
 */
export class ToolNameCollision extends Data.TaggedError("ToolNameCollision")<{
  readonly name: string
  readonly owner: string
  readonly existingOwner: string
}> {
  override get message(): string {
    return `Tool name "${this.name}" registered by ${this.owner} is already registered by ${this.existingOwner}`
  }
}

/**
 * A tool as the runtime runs it: JSON in, `ToolOutput` out.
 *
 * @since 0.1.0
 * @category models
 */
export interface RuntimeTool {
  /** The name the model calls (`git__status`, `mcp__fs__read_file`). */
  readonly name: string
  /** Who registered it (`plugin:git`, `mcp:fs`, `app`). */
  readonly owner: string
  readonly description: string
  /** JSON Schema of the input, for the model. */
  readonly inputSchema: JsonValue
  /** Set for tools that execute shell commands: extracts the command for `ExecPolicy`. */
  readonly shellCommand?: ((input: JsonValue) => string | undefined) | undefined
  /** The directory that command runs in, relative to the call's `cwd` (`shellCommand`'s tools that choose one). */
  readonly shellWorkdir?: ((input: JsonValue) => string | undefined) | undefined
  /** The files an input reads and writes, checked against the protected paths before the tool runs. */
  readonly fileAccess?: ((input: JsonValue) => ReadonlyArray<PluginTool.FileAccess>) | undefined
  /** Decodes (and may normalize) the input; the error is shown to the model. */
  readonly validate: (input: JsonValue) => Effect.Effect<JsonValue, ToolInputInvalid>
  readonly run: (input: JsonValue, context: ToolContext) => Effect.Effect<ToolOutput, ToolRunFailed>
  /** Per-call time limit (default: the invoker's). */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Registers tools for the lifetime of the scope; all or nothing. */
  readonly register: (tools: ReadonlyArray<RuntimeTool>) => Effect.Effect<void, ToolNameCollision, Scope.Scope>
  readonly get: (name: string) => Effect.Effect<Option.Option<RuntimeTool>>
  /** Every tool, by name. */
  readonly list: Effect.Effect<ReadonlyArray<RuntimeTool>>
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service> = Effect.sync(() => {
  const tools = new Map<string, RuntimeTool>()
  return {
    register: Effect.fn("ToolRegistry.register")(function* (batch: ReadonlyArray<RuntimeTool>) {
      const seen = new Map<string, string>()
      for (const tool of batch) {
        const existing = tools.get(tool.name)?.owner ?? seen.get(tool.name)
        if (existing !== undefined) {
          return yield* Effect.fail(
            new ToolNameCollision({ name: tool.name, owner: tool.owner, existingOwner: existing })
          )
        }
        seen.set(tool.name, tool.owner)
      }
      for (const tool of batch) tools.set(tool.name, tool)
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          for (const tool of batch) if (tools.get(tool.name) === tool) tools.delete(tool.name)
        })
      )
    }),
    get: (name) => Effect.sync(() => Option.fromNullable(tools.get(name))),
    list: Effect.sync(() => [...tools.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)))
  }
})

/**
 * The registry: one implementation, so an `Effect.Service` (see the README's
 * service style).
 *
 * @since 0.1.0
 * @category tags
 */
export class ToolRegistry extends Effect.Service<ToolRegistry>()("@strata/core-runtime/ToolRegistry", {
  effect: make
}) {}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<ToolRegistry> = ToolRegistry.Default

/**
 * Renders a tool's encoded output as model-facing content: a string as
 * text, anything else as JSON text plus `structured`.
 *
 * @since 0.1.0
 * @category utils
 */
export const toOutput = (value: unknown): ToolOutput =>
  typeof value === "string"
    ? { content: [{ type: "text", text: value }] }
    : {
        content: [{ type: "text", text: JSON.stringify(value) ?? "null" }],
        ...(value === undefined ? {} : { structured: value as JsonValue })
      }

/**
 * Adapts a plugin tool to the runtime, named `<pluginId>__<tool>`: the one
 * place a plugin's tool becomes a `RuntimeTool` (the runtime layer's config
 * plugins, an app's built-in tools, tests). `tool` is a definition
 * (`defineTool`) or a built plugin's tool (`Plugin.RegisteredTool`, its
 * plugin's services provided). With `sandbox`, the tool gets it in its
 * context (its processes start through it); `jobs` is its plugin's job
 * kinds (`context.jobs`). What it returns is not redacted here: the
 * invoker redacts every tool's output and error text, whatever the tool.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromPlugin = (
  pluginId: string,
  tool: PluginTool.Any<never> | Plugin.RegisteredTool,
  options?: {
    readonly shellCommand?: ((input: JsonValue) => string | undefined) | undefined
    readonly timeout?: Duration.DurationInput | undefined
    readonly jobs?: PluginJob.Jobs | undefined
    readonly sandbox?: Sandbox.Service | undefined
  }
): RuntimeTool => {
  const built = "invoke" in tool && "definition" in tool ? tool : undefined
  const definition: PluginTool.Any<any> = built === undefined ? (tool as PluginTool.Any<never>) : built.definition
  const name = built?.name ?? PluginTool.qualifiedName(pluginId, definition.name)
  const inputSchema = built?.description.input_schema ?? PluginTool.describe(definition, name).input_schema
  const validate = built?.validateInput ?? PluginTool.validator(definition, name)
  const invoke =
    built?.invoke ??
    ((input: unknown, context: PluginTool.ToolContext) =>
      PluginTool.invoke(definition as PluginTool.Any<never>, input, context, name))
  const sandbox = options?.sandbox
  const extra = {
    ...(options?.jobs === undefined ? {} : { jobs: options.jobs }),
    ...(sandbox === undefined ? {} : { sandbox })
  }
  return {
    name,
    owner: `plugin:${pluginId}`,
    description: definition.description,
    inputSchema,
    shellCommand: options?.shellCommand ?? (definition.shellCommand as RuntimeTool["shellCommand"]),
    shellWorkdir: definition.shellWorkdir as RuntimeTool["shellWorkdir"],
    fileAccess: definition.fileAccess as RuntimeTool["fileAccess"],
    timeout: options?.timeout,
    validate: (input) =>
      validate(input).pipe(Effect.mapError((e) => new ToolInputInvalid({ tool: name, detail: e.message }))),
    run: (input, context) =>
      invoke(input, { ...context, ...extra }).pipe(
        Effect.map(toOutput),
        Effect.mapError((e) => new ToolRunFailed({ tool: name, detail: e.message, cause: e }))
      )
  }
}
