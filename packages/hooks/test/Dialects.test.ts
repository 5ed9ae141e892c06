/**
 * gemini-cli and codex hooks run as real processes on Strata's events: they
 * read their own event and tool names and input fields on stdin, and their
 * output (gemini-cli's `decision` / `hookSpecificOutput.tool_input` and
 * exit codes, codex's Claude-style output) decides.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { Ids, type Tool } from "@strata/protocol"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { CommandHook, Dialects, HookDispatcher, HookEvent, Matcher } from "../src/index.js"

const TestLayer = Layer.mergeAll(HookDispatcher.HookDispatcher.Default, NodeContext.layer)
const callId = Ids.unsafeMake("ToolCallId", "call-9")

const pre = (tool_name: string, tool_input: Record<string, string>) =>
  HookEvent.PreToolUse.make({ tool_name, tool_input, tool_use_id: callId, session_id: "s-1" })

const register = (dir: string, table: Record<string, unknown>) =>
  Effect.gen(function* () {
    const specs = yield* CommandHook.fromConfig(table)
    return yield* CommandHook.register(specs, { cwd: dir })
  })

const seenLines = (file: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    return (yield* fs.readFileString(file))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>)
  })

describe("gemini-cli dialect", () => {
  it.scopedLive("BeforeTool hooks see gemini-cli's names and fields, block with exit 2, rewrite with tool_input", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const seen = `${dir}/seen.jsonl`
      // A guard as a gemini-cli user writes it: blocks rm -rf (exit 2, reason on stderr), records its input.
      yield* fs.writeFileString(
        `${dir}/guard.sh`,
        [
          "#!/bin/sh",
          "input=$(cat)",
          `printf '%s\\n' "$input" >> ${seen}`,
          'case "$input" in *"rm -rf"*) echo "no tree deletion" >&2; exit 2;; esac',
          'echo "{\\"decision\\": \\"allow\\", \\"systemMessage\\": \\"checked in $GEMINI_PROJECT_DIR\\"}"'
        ].join("\n")
      )
      yield* fs.chmod(`${dir}/guard.sh`, 0o755)
      const rewrite = `cat >> ${seen}; echo '{"hookSpecificOutput":{"hookEventName":"BeforeTool","tool_input":{"file_path":"safe.txt","content":"x"}}}'`
      const infos = yield* register(dir, {
        PreToolUse: [
          { matcher: "run_shell_command", command: "./guard.sh", dialect: "gemini" },
          { matcher: "write_file|replace", command: rewrite, dialect: "gemini" }
        ]
      })
      expect(infos).toHaveLength(2)
      const hooks = yield* HookDispatcher.HookDispatcher
      const blocked = yield* hooks.dispatch(pre("shell__exec", { command: "rm -rf build" }))
      expect(blocked.decision).toBe("deny")
      expect(blocked.reason).toBe("no tree deletion")
      const ok = yield* hooks.dispatch(pre("shell__exec", { command: "ls" }))
      expect(ok.decision).toBe("allow")
      expect(ok.systemMessages).toEqual([`checked in ${dir}`])
      const write = yield* hooks.dispatch(pre("fs__write_file", { path: "a.txt", content: "x" }))
      expect(write.updatedInput).toEqual({ path: "safe.txt", content: "x" })
      // Not matched by either matcher: no process runs.
      yield* hooks.dispatch(pre("fs__read_file", { path: "a.txt" }))
      const inputs = yield* seenLines(seen)
      expect(inputs.map((i) => [i.hook_event_name, i.tool_name, i.tool_input])).toEqual([
        ["BeforeTool", "run_shell_command", { command: "rm -rf build" }],
        ["BeforeTool", "run_shell_command", { command: "ls" }],
        ["BeforeTool", "write_file", { file_path: "a.txt", content: "x" }]
      ])
      expect(typeof inputs[0]!.timestamp).toBe("string")
    }).pipe(Effect.provide(TestLayer))
  )

  it.scopedLive("exit 1 is a warning, not a block; decision deny in JSON blocks; AfterTool sees llmContent", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const seen = `${dir}/seen.jsonl`
      yield* register(dir, {
        PreToolUse: [
          { matcher: "glob", command: "echo 'careful' >&2; exit 1", dialect: "gemini" },
          { matcher: "grep_search", command: `echo '{"decision":"deny","reason":"no grepping"}'`, dialect: "gemini" }
        ],
        PostToolUse: [{ matcher: ".*", command: `cat >> ${seen}; echo >> ${seen}`, dialect: "gemini" }],
        SessionStart: [{ matcher: "startup", command: `cat >> ${seen}; echo >> ${seen}`, dialect: "gemini" }]
      })
      const hooks = yield* HookDispatcher.HookDispatcher
      const warned = yield* hooks.dispatch(pre("fs__glob", { pattern: "*" }))
      expect(warned.decision).toBe("none")
      expect(warned.errors.map((e) => [e.reason, e.on_error])).toEqual([["NonZeroExit", "allow"]])
      const denied = yield* hooks.dispatch(pre("fs__grep", { pattern: "x" }))
      expect([denied.decision, denied.reason]).toEqual(["deny", "no grepping"])
      const response: Tool.ToolOutput = { content: [{ type: "text", text: "a.txt" }] }
      yield* hooks.dispatch(
        HookEvent.PostToolUse.make({
          tool_name: "fs__glob",
          tool_input: { pattern: "*" },
          tool_use_id: callId,
          tool_response: response
        })
      )
      yield* hooks.dispatch(HookEvent.SessionStart.make({ source: "startup" }))
      yield* hooks.dispatch(HookEvent.SessionStart.make({ source: "resume" }))
      const inputs = yield* seenLines(seen)
      expect(inputs.map((i) => i.hook_event_name)).toEqual(["AfterTool", "SessionStart"])
      expect(inputs[0]).toMatchObject({ tool_name: "glob", tool_response: { llmContent: "a.txt" } })
    }).pipe(Effect.provide(TestLayer))
  )
})

describe("codex dialect", () => {
  it.scopedLive("codex hooks see Bash with Claude-style I/O; permissionDecision deny blocks", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const seen = `${dir}/seen.jsonl`
      const guard = `input=$(cat); printf '%s\\n' "$input" >> ${seen}; case "$input" in *"git push"*) echo '{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"no pushes from the agent"}}';; esac`
      yield* register(dir, { PreToolUse: [{ matcher: "Bash", command: guard, dialect: "codex" }] })
      const hooks = yield* HookDispatcher.HookDispatcher
      const push = yield* hooks.dispatch(pre("shell__exec", { command: "git push origin main" }))
      expect([push.decision, push.reason]).toEqual(["deny", "no pushes from the agent"])
      const status = yield* hooks.dispatch(pre("shell__exec", { command: "git status" }))
      expect(status.decision).toBe("none")
      yield* hooks.dispatch(pre("fs__read_file", { path: "x" }))
      const inputs = yield* seenLines(seen)
      expect(inputs.map((i) => [i.hook_event_name, i.tool_name, i.tool_input])).toEqual([
        ["PreToolUse", "Bash", { command: "git push origin main" }],
        ["PreToolUse", "Bash", { command: "git status" }]
      ])
    }).pipe(Effect.provide(TestLayer))
  )
})

describe("matchers and config", () => {
  it("gemini matchers are unanchored regular expressions on either name; codex's are Claude's on codex names", () => {
    const gemini = Either.getOrThrow(Matcher.compile("write_file|replace", { dialect: "gemini" }))
    expect(["fs__write_file", "fs__edit", "fs__read_file", "write_file"].map(gemini.test)).toEqual([
      true,
      true,
      false,
      true
    ])
    expect(Either.getOrThrow(Matcher.compile("run_shell", { dialect: "gemini" })).test("shell__exec")).toBe(true)
    expect(Either.getOrThrow(Matcher.compile("(", { dialect: "gemini" })).test("(")).toBe(true)
    const codex = Either.getOrThrow(Matcher.compile("Bash|apply_patch", { dialect: "codex" }))
    expect(["shell__exec", "fs__apply_patch", "fs__edit"].map(codex.test)).toEqual([true, true, false])
  })

  it("the dialect is a config field; imported dialects default to on_error = allow, as their tools do", () => {
    const specs = Either.getOrThrow(
      CommandHook.fromConfig({
        PreToolUse: [
          { command: "a", dialect: "gemini" },
          { command: "b", dialect: "codex", on_error: "deny" },
          { command: "c" }
        ]
      })
    )
    expect(specs.map((s) => [s.dialect, s.onError])).toEqual([
      ["gemini", "allow"],
      ["codex", "deny"],
      ["strata", undefined]
    ])
    expect(Either.isLeft(CommandHook.fromConfig({ PreToolUse: [{ command: "a", dialect: "cursor" }] }))).toBe(true)
    expect(Dialects.theirName(Dialects.geminiTools, "fs__edit")).toBe("replace")
  })

  it("a Claude Code settings file with permissions only has no hooks (not an error)", () => {
    const settings = { permissions: { allow: ["Bash(git status:*)"] } }
    expect(Either.getOrThrow(CommandHook.fromClaudeSettings(settings))).toEqual([])
  })
})
