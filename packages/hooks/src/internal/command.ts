import * as Command from "@effect/platform/Command"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import type { PlatformError } from "@effect/platform/Error"
import * as Common from "@strata/protocol/Common"
import * as ProtocolError from "@strata/protocol/ProtocolError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Dialects from "../Dialects.js"
import { HookFailure } from "../HookError.js"
import type * as HookEvent from "../HookEvent.js"
import type * as HookOutput from "../HookOutput.js"

// The WHATWG encoding API exists on Node, Bun and Deno; the build's `lib` has no DOM types.
declare const TextDecoder: new (
  label: string,
  options?: { readonly fatal?: boolean }
) => { decode(input: Uint8Array): string }
declare const TextEncoder: new () => { encode(input: string): Uint8Array }

/** What a command hook needs to run (a normalized `CommandHookSpec`). */
export interface RunSpec {
  readonly id: string
  readonly command: string
  readonly shell: string
  readonly timeoutMs: number
  readonly maxOutputBytes: number
  readonly env: Readonly<Record<string, string>>
  readonly cwd: string | undefined
  /** How the hook reads events and writes output (default: Claude Code's I/O). */
  readonly dialect?: "gemini" | undefined
}

/** Claude Code's hook output on stdout (exit code 0). Unknown fields are ignored. */
export const ClaudeHookOutput = Schema.Struct({
  continue: Schema.optional(Schema.Boolean),
  stopReason: Schema.optional(Schema.String),
  suppressOutput: Schema.optional(Schema.Boolean),
  systemMessage: Schema.optional(Schema.String),
  decision: Schema.optional(Schema.Literal("approve", "block", "allow", "ask", "deny")),
  reason: Schema.optional(Schema.String),
  hookSpecificOutput: Schema.optional(
    Schema.Struct({
      hookEventName: Schema.optional(Schema.String),
      permissionDecision: Schema.optional(Schema.Literal("allow", "ask", "deny")),
      permissionDecisionReason: Schema.optional(Schema.String),
      updatedInput: Schema.optional(Common.JsonValue),
      updatedToolOutput: Schema.optional(Common.JsonValue),
      updatedMCPToolOutput: Schema.optional(Common.JsonValue),
      additionalContext: Schema.optional(Schema.String),
      decision: Schema.optional(
        Schema.Struct({
          behavior: Schema.Literal("allow", "ask", "deny"),
          updatedInput: Schema.optional(Common.JsonValue),
          message: Schema.optional(Schema.String),
          interrupt: Schema.optional(Schema.Boolean)
        })
      )
    })
  )
}).annotations({ identifier: "ClaudeHookOutput" })

const decodeClaudeOutput = ProtocolError.decodeUnknownEither(ClaudeHookOutput)

/** Events whose plain-text stdout is context for the model, as in Claude Code. */
const TEXT_IS_CONTEXT = new Set<string>(["UserPromptSubmit", "SessionStart"])

const fail = (reason: HookFailure["reason"], detail: string, cause?: unknown) =>
  new HookFailure({ reason, detail, ...(cause === undefined ? {} : { cause }) })

const firstLine = (text: string, max = 300) => {
  const line = text.trim().split("\n")[0] ?? ""
  return line.length > max ? `${line.slice(0, max)}...` : line
}

// Binary output: C0 controls other than tab, newline, carriage return, and DEL.
const BINARY = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/

const utf8 = (bytes: Uint8Array, name: string): Either.Either<string, HookFailure> => {
  try {
    return Either.right(new TextDecoder("utf-8", { fatal: true }).decode(bytes))
  } catch {
    return Either.left(fail("InvalidOutput", `${name} is not valid UTF-8`))
  }
}

const concat = (chunks: ReadonlyArray<Uint8Array>, size: number) => {
  const out = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}

const collect = (stream: Stream.Stream<Uint8Array, PlatformError>, cap: number, name: string) =>
  Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let size = 0
    return Stream.runForEach(stream, (chunk): Effect.Effect<void, HookFailure> => {
      size += chunk.length
      if (size > cap)
        return Effect.fail(fail("OutputTooLarge", `${name} exceeded ${cap} bytes; the process was killed`))
      chunks.push(chunk)
      return Effect.void
    }).pipe(
      Effect.mapError((e) =>
        e instanceof HookFailure ? e : fail("Crashed", `reading ${name} failed: ${e.message}`, e)
      ),
      Effect.map(() => concat(chunks, size))
    )
  })

/** Maps Claude Code's output fields to a `HookOutput`. */
export const fromClaudeOutput = (
  output: typeof ClaudeHookOutput.Type,
  eventName: string
): Either.Either<HookOutput.HookOutput, HookFailure> => {
  const specific = output.hookSpecificOutput
  if (specific?.hookEventName !== undefined && specific.hookEventName !== eventName) {
    return Either.left(
      fail(
        "InvalidOutput",
        `hookSpecificOutput.hookEventName is ${JSON.stringify(specific.hookEventName)}, expected ${JSON.stringify(eventName)}`
      )
    )
  }
  const legacy = output.decision === "approve" ? "allow" : output.decision === "block" ? "deny" : output.decision
  const decision = specific?.permissionDecision ?? specific?.decision?.behavior ?? legacy
  const reason = specific?.permissionDecisionReason ?? specific?.decision?.message ?? output.reason
  const updatedInput =
    specific?.updatedInput ??
    specific?.decision?.updatedInput ??
    (eventName === "PostToolUse" ? (specific?.updatedToolOutput ?? specific?.updatedMCPToolOutput) : undefined)
  const stop = output.continue === false || specific?.decision?.interrupt === true
  const result: {
    -readonly [K in keyof HookOutput.HookOutput]: HookOutput.HookOutput[K]
  } = {}
  if (decision !== undefined) result.decision = decision
  if (reason !== undefined) result.reason = reason
  if (updatedInput !== undefined) result.updatedInput = updatedInput
  if (specific?.additionalContext !== undefined) result.additionalContext = specific.additionalContext
  if (stop) {
    result.continue = false
    result.stopReason = output.stopReason ?? reason ?? "stopped by hook"
  }
  if (output.systemMessage !== undefined) result.systemMessage = output.systemMessage
  return Either.right(result)
}

/** Interprets a finished command hook, as Claude Code does. */
export const interpret = (
  eventName: string,
  code: number,
  stdoutBytes: Uint8Array,
  stderrBytes: Uint8Array
): Either.Either<HookOutput.HookOutput | undefined, HookFailure> => {
  const stderr = Either.getOrElse(utf8(stderrBytes, "stderr"), () => "<binary stderr>")
  if (code === 2) {
    const reason = stderr.trim()
    return Either.right({ decision: "deny", reason: reason === "" ? "blocked by hook (exit code 2)" : reason })
  }
  if (code !== 0) {
    const why = firstLine(stderr)
    return Either.left(fail("NonZeroExit", `exit code ${code}${why === "" ? "" : `: ${why}`}`))
  }
  return Either.flatMap(utf8(stdoutBytes, "stdout"), (raw) => {
    const text = raw.trim()
    if (text === "") return Either.right(undefined)
    if (BINARY.test(text)) return Either.left(fail("InvalidOutput", "stdout is binary, not JSON or text"))
    if (text.startsWith("{") || text.startsWith("[")) {
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch (error) {
        return Either.left(
          fail(
            "InvalidOutput",
            `stdout is not valid JSON (${String((error as Error).message)}): ${firstLine(text, 80)}`
          )
        )
      }
      return Either.flatMap(
        Either.mapLeft(decodeClaudeOutput(json), (e) => fail("InvalidOutput", `invalid hook output: ${e.message}`)),
        (output) => fromClaudeOutput(output, eventName)
      )
    }
    return Either.right(TEXT_IS_CONTEXT.has(eventName) ? { additionalContext: text } : undefined)
  })
}

/** gemini-cli's hook output (stdout, else stderr). Unknown fields are ignored. */
export const GeminiHookOutput = Schema.Struct({
  continue: Schema.optional(Schema.Boolean),
  stopReason: Schema.optional(Schema.String),
  suppressOutput: Schema.optional(Schema.Boolean),
  systemMessage: Schema.optional(Schema.String),
  decision: Schema.optional(Schema.NullOr(Schema.Literal("approve", "block", "allow", "ask", "deny"))),
  reason: Schema.optional(Schema.String),
  hookSpecificOutput: Schema.optional(
    Schema.Struct({
      hookEventName: Schema.optional(Schema.String),
      tool_input: Schema.optional(Common.JsonValue),
      additionalContext: Schema.optional(Schema.String),
      llm_request: Schema.optional(Common.JsonValue),
      llm_response: Schema.optional(Common.JsonValue),
      toolConfig: Schema.optional(
        Schema.Struct({
          mode: Schema.optional(Schema.String),
          allowedFunctionNames: Schema.optional(Schema.Array(Schema.String))
        })
      )
    })
  )
}).annotations({ identifier: "GeminiHookOutput" })

const decodeGeminiOutput = ProtocolError.decodeUnknownEither(GeminiHookOutput)

/**
 * Interprets a finished gemini-cli command hook as gemini-cli does: the
 * text is stdout, else stderr; JSON is its output object; exit 0 succeeds
 * (plain text is a system message), exit 1 is a warning (a hook failure
 * resolved by `on_error`, `allow` for imported hooks), any other exit code
 * blocks with the text as the reason.
 */
export const interpretGemini = (
  code: number,
  stdoutBytes: Uint8Array,
  stderrBytes: Uint8Array,
  eventName = ""
): Either.Either<HookOutput.HookOutput | undefined, HookFailure> => {
  const stdout = Either.getOrElse(utf8(stdoutBytes, "stdout"), () => "")
  const stderr = Either.getOrElse(utf8(stderrBytes, "stderr"), () => "")
  const text = stdout.trim() !== "" ? stdout.trim() : stderr.trim()
  if (BINARY.test(text)) return Either.left(fail("InvalidOutput", "output is binary, not JSON or text"))
  let json: unknown
  if (text.startsWith("{")) {
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
  }
  if (json === undefined) {
    if (code === 0) return Either.right(text === "" ? undefined : { systemMessage: text })
    if (code === 1)
      return Either.left(fail("NonZeroExit", `exit code 1 (a warning)${text === "" ? "" : `: ${firstLine(text)}`}`))
    return Either.right({ decision: "deny", reason: text === "" ? `blocked by hook (exit code ${code})` : text })
  }
  return Either.flatMap(
    Either.mapLeft(decodeGeminiOutput(json), (e) => fail("InvalidOutput", `invalid hook output: ${e.message}`)),
    (output) => {
      const result: { -readonly [K in keyof HookOutput.HookOutput]: HookOutput.HookOutput[K] } = {}
      const d = output.decision
      const decision =
        d === "block" || d === "deny"
          ? "deny"
          : d === "ask"
            ? "ask"
            : d === "allow" || d === "approve"
              ? "allow"
              : undefined
      // A non-zero exit other than 1 blocks whatever the JSON says.
      if (code !== 0 && code !== 1) result.decision = "deny"
      else if (decision !== undefined) result.decision = decision
      if (output.reason !== undefined) result.reason = output.reason
      const specific = output.hookSpecificOutput
      if (specific?.tool_input !== undefined) result.updatedInput = specific.tool_input
      const model = Dialects.fromTheirModelOutput(eventName, specific ?? {})
      if (model !== undefined) result.updatedInput = model
      if (specific?.additionalContext !== undefined) result.additionalContext = specific.additionalContext
      if (output.continue === false) {
        result.continue = false
        result.stopReason = output.stopReason ?? output.reason ?? "stopped by hook"
      }
      if (output.systemMessage !== undefined) result.systemMessage = output.systemMessage
      return Either.right(result)
    }
  )
}

/** The JSON a command hook reads on stdin: the event plus Claude Code's common fields. */
export const stdinJson = (event: HookEvent.HookEvent, cwd: string | undefined): string =>
  JSON.stringify({
    ...event,
    session_id: event.session_id ?? "",
    ...(event.cwd === undefined && cwd !== undefined ? { cwd } : {}),
    permission_mode: event.permission_mode ?? "default"
  })

const GRACE = Duration.seconds(1)

/**
 * Kills the process group: SIGTERM (the executor signals the whole group and
 * waits for the leader), then SIGKILL to whatever is left in the group, so a
 * child that traps SIGTERM or a grandchild holding the pipes cannot outlive
 * the hook.
 */
const killGroup = (child: CommandExecutor.Process) =>
  child
    .kill("SIGTERM")
    .pipe(
      Effect.timeout(GRACE),
      Effect.ignore,
      Effect.zipRight(child.kill("SIGKILL").pipe(Effect.timeout(GRACE), Effect.ignore))
    )

/** Runs one command hook: spawn, feed the event, collect capped output, interpret; kill on timeout or interruption. */
export const run = (
  executor: CommandExecutor.CommandExecutor,
  spec: RunSpec,
  event: HookEvent.HookEvent
): Effect.Effect<HookOutput.HookOutput | undefined, HookFailure> => {
  const env: Record<string, string> = { STRATA_HOOK_EVENT: event.hook_event_name, STRATA_HOOK_ID: spec.id, ...spec.env }
  const projectDir = spec.cwd ?? event.cwd
  if (projectDir !== undefined) {
    env.CLAUDE_PROJECT_DIR ??= projectDir
    env.STRATA_PROJECT_DIR ??= projectDir
    if (spec.dialect === "gemini") {
      env.GEMINI_PROJECT_DIR ??= projectDir
      env.GEMINI_CWD ??= projectDir
    }
  }
  let command = Command.make(spec.shell, "-c", spec.command).pipe(Command.env(env))
  if (spec.cwd !== undefined) command = Command.workingDirectory(command, spec.cwd)
  const input = new TextEncoder().encode(
    spec.dialect === "gemini"
      ? stdinJson(Dialects.toTheirEvent("gemini", event) as unknown as HookEvent.HookEvent, projectDir)
      : stdinJson(event, projectDir)
  )
  return Effect.scoped(
    Effect.gen(function* () {
      const child = yield* executor
        .start(command)
        .pipe(
          Effect.mapError((e) =>
            fail("SpawnFailed", `could not start ${JSON.stringify(spec.command)}: ${e.message}`, e)
          )
        )
      let finished = false
      // Added after `start`, so it runs before the executor's own release, which only sends SIGTERM and waits.
      yield* Effect.addFinalizer(() => (finished ? Effect.void : killGroup(child)))
      yield* Stream.run(Stream.succeed(input), child.stdin).pipe(Effect.ignore, Effect.forkScoped)
      const [stdout, stderr, code] = yield* Effect.all(
        [
          collect(child.stdout, spec.maxOutputBytes, "stdout"),
          collect(child.stderr, spec.maxOutputBytes, "stderr"),
          child.exitCode.pipe(
            Effect.mapError((e) => fail("Crashed", `the process died: ${e.message.replace(/^.*?: /, "")}`, e))
          )
        ],
        { concurrency: "unbounded" }
      )
      finished = true
      return yield* spec.dialect === "gemini"
        ? interpretGemini(code, stdout, stderr, event.hook_event_name)
        : interpret(event.hook_event_name, code, stdout, stderr)
    })
  ).pipe(
    Effect.timeoutFail({
      duration: Duration.millis(spec.timeoutMs),
      onTimeout: () => fail("Timeout", `no answer within ${spec.timeoutMs} ms; the process group was killed`)
    }),
    Effect.withSpan("CommandHook.run", {
      attributes: { hook: spec.id, hook_event_name: event.hook_event_name, command: spec.command }
    })
  )
}
