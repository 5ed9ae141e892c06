/**
 * Claude Code's tool names and tool inputs, mapped to Strata's first-party
 * tools both ways, so a hook written for Claude Code (`.claude/settings.json`)
 * runs unchanged: its matcher `Bash` matches `shell__exec`, it reads
 * `tool_input.file_path`, and the `updatedInput` it writes back in Claude's
 * fields is turned into the Strata tool's input.
 *
 * | Claude Code | Strata            | fields (Claude ↔ Strata)                                        |
 * | ----------- | ----------------- | --------------------------------------------------------------- |
 * | `Bash`      | `shell__exec`     | `command`, `timeout` ↔ `timeout_ms`                             |
 * | `Read`      | `fs__read_file`   | `file_path` ↔ `path`, `offset`, `limit`                         |
 * | `Write`     | `fs__write_file`  | `file_path` ↔ `path`, `content`                                 |
 * | `Edit`      | `fs__edit`        | `file_path` ↔ `path`, `old_string`, `new_string`, `replace_all` |
 * | `MultiEdit` | `fs__apply_patch` | `file_path` + `edits[]` (one per hunk) ↔ `patch`                |
 * | `Glob`      | `fs__glob`        | `pattern`, `path`                                               |
 * | `Grep`      | `fs__grep`        | `pattern`, `path`, `glob`, `-i` ↔ `ignore_case`                 |
 *
 * Fields without a counterpart pass through unchanged; other tools (plugins,
 * `mcp__server__tool`) keep their names and inputs.
 *
 * `MultiEdit`: a hook sees the patch as `file_path` (the first file it
 * changes), `edits` (each hunk's old and new lines) and the original
 * `patch`. An `updatedInput` with a `patch` string is used as the new patch;
 * otherwise one is written from `file_path` and `edits` (each edit's
 * `old_string` must then be whole lines of the file).
 *
 * @since 0.1.0
 */
import type { Common } from "@strata/protocol"
import { renameKeys } from "./internal/renameKeys.js"

/**
 * One Claude Code tool and the Strata tool it stands for.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolAlias {
  readonly claude: string
  readonly strata: string
  /** Strata input to the input a Claude Code hook expects. */
  readonly toClaude: (input: Common.JsonValue) => Common.JsonValue
  /** A Claude Code hook's `updatedInput` back to the Strata tool's input. */
  readonly fromClaude: (input: Common.JsonValue) => Common.JsonValue
}

type JsonObject = { readonly [key: string]: Common.JsonValue }

const isObject = (u: unknown): u is JsonObject => typeof u === "object" && u !== null && !Array.isArray(u)

/** Renames keys (`[strata, claude]` pairs); other keys pass through. */
const renaming = (pairs: ReadonlyArray<readonly [string, string]>) => {
  const rename = (input: Common.JsonValue, from: 0 | 1): Common.JsonValue => renameKeys(input, pairs, from)
  return {
    toClaude: (input: Common.JsonValue) => rename(input, 0),
    fromClaude: (input: Common.JsonValue) => rename(input, 1)
  }
}

const stripPrefix = (name: string): string | undefined => {
  const path = name.split("\t")[0]!.trim()
  if (path === "/dev/null") return undefined
  return /^[ab]\//.test(path) ? path.slice(2) : path
}

/** A unified diff as Claude's MultiEdit input: the first file changed and one edit per hunk. */
const patchToMultiEdit = (input: Common.JsonValue): Common.JsonValue => {
  if (!isObject(input) || typeof input.patch !== "string") return input
  let file: string | undefined
  const edits: Array<{ old_string: string; new_string: string }> = []
  let before: Array<string> | undefined
  let after: Array<string> = []
  const flush = () => {
    if (before !== undefined) edits.push({ old_string: before.join("\n"), new_string: after.join("\n") })
    before = undefined
    after = []
  }
  for (const line of input.patch.replace(/\r?\n$/, "").split(/\r?\n/)) {
    if (line.startsWith("--- ")) {
      flush()
      file ??= stripPrefix(line.slice(4))
    } else if (line.startsWith("+++ ")) {
      flush()
      file ??= stripPrefix(line.slice(4))
    } else if (line.startsWith("@@")) {
      flush()
      before = []
    } else if (before !== undefined) {
      if (line.startsWith("-")) before.push(line.slice(1))
      else if (line.startsWith("+")) after.push(line.slice(1))
      else if (line.startsWith(" ") || line === "") {
        before.push(line.slice(1))
        after.push(line.slice(1))
      }
    }
  }
  flush()
  return { ...input, ...(file === undefined ? {} : { file_path: file }), edits }
}

/** Claude's MultiEdit input back to a patch: its `patch` when given, else one hunk per edit. */
const multiEditToPatch = (input: Common.JsonValue): Common.JsonValue => {
  if (!isObject(input)) return input
  if (typeof input.patch === "string") return { patch: input.patch }
  const file = input.file_path
  const edits = input.edits
  if (typeof file !== "string" || !Array.isArray(edits)) return input
  const hunks = edits.flatMap((edit) => {
    if (!isObject(edit) || typeof edit.old_string !== "string" || typeof edit.new_string !== "string") return []
    const removed = edit.old_string.split("\n").map((l) => `-${l}`)
    const added = edit.new_string === "" ? [] : edit.new_string.split("\n").map((l) => `+${l}`)
    return [`@@ -1,${removed.length} +1,${added.length} @@`, ...removed, ...added]
  })
  return { patch: [`--- a/${file}`, `+++ b/${file}`, ...hunks, ""].join("\n") }
}

/**
 * The mapped tools.
 *
 * @since 0.1.0
 * @category constants
 */
export const tools: ReadonlyArray<ToolAlias> = [
  {
    claude: "Bash",
    strata: "shell__exec",
    ...renaming([["timeout_ms", "timeout"]])
  },
  { claude: "Read", strata: "fs__read_file", ...renaming([["path", "file_path"]]) },
  { claude: "Write", strata: "fs__write_file", ...renaming([["path", "file_path"]]) },
  { claude: "Edit", strata: "fs__edit", ...renaming([["path", "file_path"]]) },
  { claude: "MultiEdit", strata: "fs__apply_patch", toClaude: patchToMultiEdit, fromClaude: multiEditToPatch },
  { claude: "Glob", strata: "fs__glob", ...renaming([]) },
  { claude: "Grep", strata: "fs__grep", ...renaming([["ignore_case", "-i"]]) }
]

const byStrata = new Map(tools.map((t) => [t.strata, t]))
const byClaude = new Map(tools.map((t) => [t.claude, t]))

/**
 * The Claude Code name of a Strata tool (`shell__exec` → `Bash`); other
 * names are their own.
 *
 * @since 0.1.0
 * @category utils
 */
export const claudeName = (strataName: string): string => byStrata.get(strataName)?.claude ?? strataName

/**
 * The Strata name of a Claude Code tool (`Bash` → `shell__exec`); other
 * names are their own.
 *
 * @since 0.1.0
 * @category utils
 */
export const strataName = (claudeName: string): string => byClaude.get(claudeName)?.strata ?? claudeName

/**
 * A Strata tool's input as a Claude Code hook reads it.
 *
 * @since 0.1.0
 * @category utils
 */
export const toClaudeInput = (strataTool: string, input: Common.JsonValue): Common.JsonValue =>
  byStrata.get(strataTool)?.toClaude(input) ?? input

/**
 * A Claude Code hook's `updatedInput` as the Strata tool's input.
 *
 * @since 0.1.0
 * @category utils
 */
export const fromClaudeInput = (strataTool: string, input: Common.JsonValue): Common.JsonValue =>
  byStrata.get(strataTool)?.fromClaude(input) ?? input

/**
 * An event as a Claude Code hook reads it: for tool events, `tool_name` is
 * the Claude name and `tool_input` is in Claude's fields; other events are
 * unchanged.
 *
 * @since 0.1.0
 * @category utils
 */
export const toClaudeEvent = <E extends { readonly hook_event_name: string }>(event: E): E => {
  const record = event as unknown as { readonly tool_name?: unknown; readonly tool_input?: Common.JsonValue }
  if (typeof record.tool_name !== "string" || !byStrata.has(record.tool_name)) return event
  return {
    ...event,
    tool_name: claudeName(record.tool_name),
    ...(record.tool_input === undefined ? {} : { tool_input: toClaudeInput(record.tool_name, record.tool_input) })
  }
}
