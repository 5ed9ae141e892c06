/**
 * Tool definitions: plain data (a name, a description for the model, input
 * and output Schemas) plus an Effect function. The `ToolRegistry` of
 * `@strata/core-runtime` executes them; this module gives it what it needs:
 * the JSON Schema the model sees (`describe`), input decoding with errors
 * written for the model (`decodeInput`), and one call that decodes, runs and
 * checks the output (`invoke`).
 *
 * @since 0.1.0
 */
import type * as Common from "@strata/protocol/Common"
import type * as Ids from "@strata/protocol/Ids"
import * as ProtocolError from "@strata/protocol/ProtocolError"
import type * as Sandbox from "@strata/sandbox/Sandbox"
import * as Effect from "effect/Effect"
import * as JSONSchema from "effect/JSONSchema"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Job from "./Job.js"
import { ToolFailure, ToolInputError, ToolOutputError } from "./PluginError.js"

/**
 * What a tool knows about the call it serves.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolContext {
  readonly call_id: Ids.ToolCallId
  readonly thread_id?: Ids.ThreadId | undefined
  readonly cwd?: string | undefined
  /**
   * The runtime's protected paths (its own control files): returns the
   * pattern that covers an absolute path, or `undefined`. The runtime checks
   * a tool's declared `fileAccess` before the call; a tool that resolves
   * paths itself checks the final real path again before it writes, and
   * refuses unless `approved`.
   */
  readonly protectedPath?: ((absolutePath: string) => string | undefined) | undefined
  /** A person approved this call (it was asked about and allowed). */
  readonly approved?: boolean | undefined
  /** Starts this plugin's background jobs (`defineJob`) and waits for them; absent without a job manager. */
  readonly jobs?: Job.Jobs | undefined
  /**
   * How this call starts processes: every process a tool spawns goes through
   * `sandbox.prepare` (environment policy, sandbox, containment) and is
   * spawned exactly as prepared, with `release` when the call's command
   * ends. Absent outside a runtime (a tool run on its own).
   */
  readonly sandbox?: Sandbox.Service | undefined
  /**
   * A person approved running this call outside the sandbox (after the
   * sandbox refused it): prepare with `sandboxed: false`.
   */
  readonly unsandboxed?: boolean | undefined
}

/**
 * One file a tool call reads or writes, as the call names it (relative to
 * the workspace root, the context's `cwd`, or absolute).
 *
 * @since 0.2.0
 * @category models
 */
export interface FileAccess {
  readonly path: string
  readonly access: "read" | "write"
}

/**
 * A tool. `name` is local to its plugin (`status`); the runtime exposes it as
 * `plugin__name` (`git__status`). Every input field needs a description
 * annotation: it is what the model reads.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolDefinition<I = any, II = any, O = any, OI = any, E = never, R = never> {
  readonly name: string
  readonly description: string
  readonly input: Schema.Schema<I, II>
  readonly output: Schema.Schema<O, OI>
  /**
   * Marks a tool that executes shell commands: returns the command line an
   * input would run. The runtime checks it with `ExecPolicy` (and asks or
   * denies) before the tool runs.
   */
  readonly shellCommand?: ((input: I) => string | undefined) | undefined
  /**
   * The directory the command of `shellCommand` runs in, when the input
   * chooses one (relative to the workspace root, the context's `cwd`): the
   * runtime resolves the command's paths against it, so that a command run
   * in `.git/hooks` is judged as writing there.
   */
  readonly shellWorkdir?: ((input: I) => string | undefined) | undefined
  /**
   * Declares the files an input reads and writes (a move or delete is a
   * write of both paths). The runtime checks them against its protected
   * paths (its own control files: `.strata/`, `.git/config`, `.git/hooks/`,
   * `.claude/settings*.json`, …) before the tool runs and asks or refuses;
   * every tool that touches files declares them.
   */
  readonly fileAccess?: ((input: I) => ReadonlyArray<FileAccess>) | undefined
  run(input: I, context: ToolContext): Effect.Effect<O, E, R>
}

/**
 * Any tool whose `run` requires at most `R`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Any<R = never> {
  readonly name: string
  readonly description: string
  readonly input: Schema.Schema<any, any>
  readonly output: Schema.Schema<any, any>
  readonly shellCommand?: ((input: never) => string | undefined) | undefined
  readonly shellWorkdir?: ((input: never) => string | undefined) | undefined
  readonly fileAccess?: ((input: never) => ReadonlyArray<FileAccess>) | undefined
  run(input: never, context: ToolContext): Effect.Effect<unknown, unknown, R>
}

/**
 * Defines a tool; the identity, typed from the schemas.
 *
 * @example
 * ```ts
 * const Status = defineTool({
 *   name: "status",
 *   description: "Show the working tree status",
 *   input: Schema.Struct({ path: Schema.String.annotations({ description: "repository path" }) }),
 *   output: Schema.Struct({ clean: Schema.Boolean }),
 *   run: ({ path }) => Effect.succeed({ clean: path.length > 0 })
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const define = <I, II, O, OI, E = never, R = never>(
  definition: ToolDefinition<I, II, O, OI, E, R>
): ToolDefinition<I, II, O, OI, E, R> => definition

/**
 * What a tool name may be: letters and digits, single `_` or `-` between
 * them (never `__`, the plugin separator), at most 48 characters.
 *
 * @since 0.1.0
 * @category utils
 */
export const NAME_PATTERN: RegExp = /^[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)*$/

/**
 * The separator between a plugin id and a tool name.
 *
 * @since 0.1.0
 * @category utils
 */
export const SEPARATOR = "__"

/**
 * The name the runtime and the model use for a plugin's tool.
 *
 * @since 0.1.0
 * @category utils
 */
export const qualifiedName = (pluginId: string, toolName: string): string => `${pluginId}${SEPARATOR}${toolName}`

/**
 * A tool as the model sees it: its name, description and the JSON Schemas of
 * its input and output.
 *
 * @since 0.1.0
 * @category models
 */
export interface Description {
  readonly name: string
  readonly description: string
  readonly input_schema: Common.JsonValue
  readonly output_schema: Common.JsonValue
}

/**
 * Describes a tool for the model, under `name` (default: its own name).
 * Throws when a schema cannot be expressed as JSON Schema; `Plugin.validate`
 * checks this for every tool of a plugin before it is used.
 *
 * @since 0.1.0
 * @category utils
 */
export const describe = (tool: Any<any>, name: string = tool.name): Description => ({
  name,
  description: tool.description,
  input_schema: JSONSchema.make(tool.input) as unknown as Common.JsonValue,
  output_schema: JSONSchema.make(tool.output) as unknown as Common.JsonValue
})

/**
 * The issues of a parse error, by field. An optional field that fails also
 * reports "Expected undefined" (the other member of its union): noise for the
 * model, dropped when the field has a real issue.
 */
const issuesOf = (schema: Schema.Schema.AnyNoContext, error: ParseResult.ParseError) => {
  const issues = ProtocolError.fromParseError(schema, error).issues
  return issues.filter(
    (issue) =>
      !issue.message.startsWith("Expected undefined,") ||
      !issues.some((other) => other !== issue && other.path === issue.path)
  )
}

/**
 * Decodes raw input (model output) with the tool's input schema. Fails with
 * a `ToolInputError` listing every issue by field, for the model.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeInput =
  <I>(tool: { readonly name: string; readonly input: Schema.Schema<I, any> }, name: string = tool.name) =>
  (input: unknown): Effect.Effect<I, ToolInputError> =>
    Schema.decodeUnknown(tool.input, { errors: "all", onExcessProperty: "error" })(input).pipe(
      Effect.mapError((error) => {
        const issues = issuesOf(tool.input, error)
        return new ToolInputError({ tool: name, path: issues[0]?.path ?? "", issues })
      })
    )

/**
 * A validator for `HookDispatcher.dispatch`'s `validateInput`: accepts a
 * rewritten input only when it decodes, and keeps it as JSON.
 *
 * @since 0.1.0
 * @category decoding
 */
export const validator =
  (tool: Any<any>, name: string = tool.name) =>
  (input: Common.JsonValue): Effect.Effect<Common.JsonValue, ToolInputError> =>
    Effect.as(decodeInput(tool, name)(input), input)

/**
 * Runs a tool on raw input: decodes the input (`ToolInputError`), runs it
 * (any failure becomes a `ToolFailure`), checks and encodes the output
 * (`ToolOutputError`). Returns the encoded output (JSON).
 *
 * @since 0.1.0
 * @category combinators
 */
export const invoke = <R>(
  tool: Any<R>,
  input: unknown,
  context: ToolContext,
  name: string = tool.name
): Effect.Effect<unknown, ToolInputError | ToolOutputError | ToolFailure, R> =>
  Effect.gen(function* () {
    const decoded = yield* decodeInput(tool, name)(input)
    const output = yield* Effect.suspend(() => tool.run(decoded as never, context)).pipe(
      Effect.mapError((error) =>
        error instanceof ToolFailure
          ? error
          : new ToolFailure({
              tool: name,
              detail:
                typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
                  ? error.message
                  : String(error),
              cause: error
            })
      )
    )
    return yield* Schema.encodeUnknown(tool.output, { errors: "all" })(output).pipe(
      Effect.mapError((error) => {
        const issues = issuesOf(tool.output, error)
        return new ToolOutputError({
          tool: name,
          path: issues[0]?.path ?? "",
          detail: issues.map((i) => (i.path === "" ? i.message : `${i.path}: ${i.message}`)).join("; ")
        })
      })
    )
  })
