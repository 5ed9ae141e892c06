/**
 * Hook tables of the three tools, all shaped
 * `{Event: [{matcher?, hooks: [{type: "command", command, timeout?}]}]}`:
 * Claude Code and codex (`timeout` in seconds) and gemini-cli (`timeout` in
 * milliseconds, its own event names). Each becomes an `ImportedHook` on the
 * Strata event, keeping the dialect its script expects.
 */
import * as Either from "effect/Either"
import { parse as parseTomlText, type TomlError } from "smol-toml"
import { ImportError } from "../ImportError.js"
import type { ImportedHook, Origin, SourceFile } from "../Model.js"
import type { Builder } from "./builder.js"

/** Strata's hook events (`@strata/hooks` `HookEvent.names`, decision events). */
const STRATA = new Set([
  "SessionStart",
  "SessionEnd",
  "UserPromptSubmit",
  "PreToolUse",
  "PostToolUse",
  "PostToolUseFailure",
  "PermissionRequest",
  "Stop",
  "PreCompact",
  "Notification"
])

/** gemini-cli's events and the Strata event each runs on. */
export const GEMINI_EVENTS: Readonly<Record<string, string | undefined>> = {
  BeforeTool: "PreToolUse",
  AfterTool: "PostToolUse",
  BeforeAgent: "UserPromptSubmit",
  AfterAgent: "Stop",
  SessionStart: "SessionStart",
  SessionEnd: "SessionEnd",
  Notification: "Notification",
  PreCompress: "PreCompact",
  BeforeModel: "BeforeModel",
  AfterModel: "AfterModel",
  BeforeToolSelection: "BeforeToolSelection"
}

/** gemini-cli's model events take no matcher (Strata's match the model id: an imported one is dropped). */
const MODEL_EVENTS = new Set(["BeforeModel", "AfterModel", "BeforeToolSelection"])

/** Where Strata's event differs from gemini-cli's, said in the report. */
const GEMINI_NOTES: Readonly<Record<string, string>> = {
  AfterModel:
    "; Strata runs it once per response, before its tool calls (gemini-cli: per streamed chunk): a rewrite changes the kept text, not the chunks already shown",
  BeforeToolSelection:
    "; several hooks' allowedFunctionNames narrow one after another (an intersection; gemini-cli takes their union)"
}

/**
 * The offset of the first syntax error in a JSON text (engines differ in
 * whether their messages carry one), found by a small scanner.
 */
export const jsonErrorOffset = (text: string): number => {
  let i = 0
  const ws = () => {
    while (i < text.length && " \t\r\n".includes(text[i]!)) i++
  }
  const fail = (): never => {
    throw i
  }
  const value = (): void => {
    ws()
    const c = text[i]
    if (c === "{") {
      i++
      ws()
      if (text[i] === "}") {
        i++
        return
      }
      for (;;) {
        ws()
        if (text[i] !== '"') fail()
        string()
        ws()
        if (text[i] !== ":") fail()
        i++
        value()
        ws()
        if (text[i] === ",") i++
        else if (text[i] === "}") {
          i++
          return
        } else fail()
      }
    }
    if (c === "[") {
      i++
      ws()
      if (text[i] === "]") {
        i++
        return
      }
      for (;;) {
        value()
        ws()
        if (text[i] === ",") i++
        else if (text[i] === "]") {
          i++
          return
        } else fail()
      }
    }
    if (c === '"') {
      string()
      return
    }
    const m = /^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)/.exec(text.slice(i))
    if (m === null) fail()
    i += m![0].length
  }
  const string = () => {
    i++
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\") i++
      else if (text.charCodeAt(i) < 0x20) fail()
      i++
    }
    if (i >= text.length) fail()
    i++
  }
  try {
    value()
    ws()
    if (i < text.length) fail()
  } catch (at) {
    return typeof at === "number" ? at : 0
  }
  return text.length
}

export const parseJson = (file: SourceFile): Either.Either<unknown, ImportError> => {
  try {
    return Either.right(JSON.parse(file.text) as unknown)
  } catch (error) {
    let offset = 0
    try {
      offset = Math.min(jsonErrorOffset(file.text), file.text.length)
    } catch {
      // Nesting deeper than the stack: no position.
    }
    const before = file.text.slice(0, offset)
    const line = before.split("\n").length
    const column = offset - before.lastIndexOf("\n")
    const message = String((error as Error).message).split("\n")[0]!
    return Either.left(
      new ImportError({
        reason: "Syntax",
        file: file.path,
        line,
        column,
        field: "",
        detail: `invalid JSON: ${message}`
      })
    )
  }
}

/** The line where `needle` first appears at or after line `from` (1-based); `from` when absent. */
/** A TOML source file's top-level table; a syntax error names its line and column. */
export const parseToml = (file: SourceFile): Either.Either<Record<string, unknown>, ImportError> => {
  try {
    return Either.right(parseTomlText(file.text) as Record<string, unknown>)
  } catch (error) {
    const e = error as TomlError
    return Either.left(
      new ImportError({
        reason: "Syntax",
        file: file.path,
        line: e.line ?? 0,
        column: e.column ?? 0,
        field: "",
        detail: `invalid TOML: ${String(e.message).split("\n")[0]}`
      })
    )
  }
}

/** A JSON source file whose root must be an object (`expected` says which, at `line`). */
export const parseJsonObject = (
  file: SourceFile,
  expected: string,
  line = 1
): Either.Either<Record<string, unknown>, ImportError> =>
  Either.flatMap(parseJson(file), (root) =>
    typeof root === "object" && root !== null && !Array.isArray(root)
      ? Either.right(root as Record<string, unknown>)
      : invalid(file.path, line, 1, "", expected)
  )

/** An `Invalid` import error at a place in a source file. */
export const invalid = (
  file: string,
  line: number,
  column: number,
  field: string,
  detail: string
): Either.Either<never, ImportError> =>
  Either.left(new ImportError({ reason: "Invalid", file, line, column, field, detail }))

export const findLine = (text: string, needle: string, from = 1): number => {
  const lines = text.split("\n")
  for (let i = Math.max(0, from - 1); i < lines.length; i++) if (lines[i]!.includes(needle)) return i + 1
  for (let i = 0; i < lines.length; i++) if (lines[i]!.includes(needle)) return i + 1
  return 0
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Reads a hooks table. `dialect` decides the event names (gemini's are
 * mapped) and the timeout unit. Malformed entries fail with the field path.
 */
export const fromClaudeShape = (
  table: unknown,
  source: {
    readonly file: string
    readonly text: string
    readonly dialect: ImportedHook["dialect"]
    readonly toml: boolean
  },
  builder: Builder
): Either.Either<void, ImportError> => {
  const invalid = (field: string, detail: string, line = 0) =>
    Either.left(new ImportError({ reason: "Invalid", file: source.file, line, column: 1, field, detail }))
  if (!isRecord(table)) return invalid("hooks", "expected a table of events")
  for (const [event, groups] of Object.entries(table)) {
    const eventLine = findLine(source.text, source.toml ? `hooks.${event}` : `"${event}"`)
    const field = `hooks.${event}`
    if (source.toml && event === "state") continue
    const strata = source.dialect === "gemini" ? GEMINI_EVENTS[event] : STRATA.has(event) ? event : undefined
    if (!Array.isArray(groups)) return invalid(field, "expected a list of matcher groups", eventLine)
    if (strata === undefined) {
      const why = `unknown hook event ${JSON.stringify(event)}`
      builder.refused(
        { file: source.file, line: eventLine, field },
        `${event}: ${groups.length} group(s)`,
        `not imported: ${why}`,
        true
      )
      continue
    }
    for (let g = 0; g < groups.length; g++) {
      const group: unknown = groups[g]
      if (!isRecord(group)) return invalid(`${field}[${g}]`, "expected a matcher group object", eventLine)
      const matcher = group["matcher"]
      if (matcher !== undefined && typeof matcher !== "string")
        return invalid(`${field}[${g}].matcher`, "matcher must be a string", eventLine)
      const hooks = group["hooks"]
      if (!Array.isArray(hooks)) return invalid(`${field}[${g}].hooks`, "expected a list of hooks", eventLine)
      for (let h = 0; h < hooks.length; h++) {
        const hook: unknown = hooks[h]
        const path = `${field}[${g}].hooks[${h}]`
        if (!isRecord(hook)) return invalid(path, "expected a hook object", eventLine)
        const type = hook["type"] ?? "command"
        const command = hook["command"]
        const origin: Origin = {
          file: source.file,
          line:
            typeof command === "string"
              ? findLine(source.text, source.toml ? command : JSON.stringify(command).slice(1, -1), eventLine)
              : eventLine,
          field: path
        }
        if (type !== "command") {
          builder.refused(
            origin,
            `${event} ${String(type)} hook`,
            `not imported: hook type ${JSON.stringify(type)} (only command hooks)`,
            true
          )
          continue
        }
        if (typeof command !== "string" || command.trim() === "")
          return invalid(`${path}.command`, "a command hook needs a command", origin.line)
        const timeout = hook["timeout"]
        if (timeout !== undefined && (typeof timeout !== "number" || !(timeout > 0) || !Number.isFinite(timeout)))
          return invalid(`${path}.timeout`, "timeout must be a positive number", origin.line)
        const timeoutSeconds =
          timeout === undefined
            ? undefined
            : source.dialect === "gemini"
              ? Math.max(1, Math.ceil(timeout / 1000))
              : timeout
        const kept = MODEL_EVENTS.has(strata) ? undefined : matcher
        builder.hook({
          event: strata,
          ...(kept === undefined || kept === "" ? {} : { matcher: kept }),
          command,
          ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
          dialect: source.dialect,
          origin
        })
        builder.converted(
          origin,
          command,
          `${event}${strata === event ? "" : ` → ${strata}`} command hook (${source.dialect} dialect${kept ? `, matcher ${JSON.stringify(kept)}` : ""}); review it: it runs this command${source.dialect === "gemini" ? (GEMINI_NOTES[strata] ?? "") : ""}`
        )
      }
    }
  }
  return Either.right(undefined)
}
