/**
 * Command hooks through the built `strata`, with real hook scripts: every
 * key of a `[[hooks.<Event>]]` entry, and Claude Code's settings files
 * (`.claude/settings.json`, `.claude/settings.local.json`,
 * `~/.claude/settings.json`) working unchanged: Claude's tool names and
 * input fields, `updatedInput` mapped back, exit 2 blocks, exit 1 is a
 * warning. Hooks whose matcher matches no tool are warned about.
 */
import { chmodSync } from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import { call, jsonLines, type Project, providerToml, q, withModel, withProject } from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

const demo = { env: { STRATA_DEMO: "1" } }

const script = (p: Project, file: string, body: string) => {
  const full = p.write(file, `#!/bin/sh\n${body}\n`)
  chmodSync(full, 0o755)
  return full
}

const toolResult = (stdout: string) =>
  jsonLines(stdout).find((e) => e.event === "tool_call_result")!.result as { status: string; reason?: string }

describe.concurrent("[hooks]", { timeout: 240_000 }, () => {
  it("command, matcher, env, name, on_error, timeout, max_output_bytes, priority", async () => {
    await withProject(async (p) => {
      const log = path.join(p.dir, "order.log")
      script(
        p,
        "hooks/guard.sh",
        'input=$(cat)\ncase "$input" in *"$GUARD_WORD"*) echo "no $GUARD_WORD here" >&2; exit 2;; esac'
      )
      // covers: hooks
      // covers: hooks.*.*.command
      // covers: hooks.*.*.matcher
      // covers: hooks.*.*.env
      // covers: hooks.*.*.name
      // covers: hooks.*.*.on_error
      // covers: hooks.*.*.timeout
      // covers: hooks.*.*.max_output_bytes
      // covers: hooks.*.*.priority
      p.config(
        [
          "[[hooks.PreToolUse]]",
          'matcher = "shell__exec"',
          'command = "./hooks/guard.sh"',
          'env = { GUARD_WORD = "touch" }',
          "",
          "[[hooks.PreToolUse]]",
          'matcher = "fs__read_file"',
          `command = ${q("echo 'reads are off' >&2; exit 2")}`,
          "",
          "[[hooks.PreToolUse]]",
          'name = "flaky"',
          'on_error = "allow"',
          `command = ${q("echo 'flaky hook broke' >&2; exit 1")}`,
          "",
          "[[hooks.PreToolUse]]",
          "timeout = 0.5",
          `command = ${q("grep -q slowpoke && sleep 20; exit 0")}`,
          "",
          "[[hooks.PreToolUse]]",
          "max_output_bytes = 100",
          `command = ${q("grep -q flood && yes flood | head -c 5000; exit 0")}`,
          "",
          "[[hooks.PostToolUse]]",
          "priority = 1",
          `command = ${q(`echo low >> ${log}`)}`,
          "",
          "[[hooks.PostToolUse]]",
          "priority = 10",
          `command = ${q(`echo high >> ${log}`)}`,
          ""
        ].join("\n")
      )
      const ok = await p.strata(["run", "--yes", "--json", "run: echo ok"], demo)
      expect(ok.code, ok.stderr).toBe(0)
      expect(toolResult(ok.stdout).status).toBe("completed")
      // on_error = "allow": the failure is a warning naming the hook, the call went on
      expect(
        jsonLines(ok.stdout)
          .filter((e) => e.event === "warning")
          .map((e) => e.message)
      ).toEqual([
        expect.stringContaining("PreToolUse hook config/flaky failed (NonZeroExit): exit code 1: flaky hook broke")
      ])
      // priority: the higher runs first
      expect(p.read("order.log")).toBe("high\nlow\n")

      const touch = await p.strata(["run", "--yes", "--json", "run: touch made.txt"], demo)
      expect(toolResult(touch.stdout)).toMatchObject({
        status: "denied",
        reason: expect.stringContaining("no touch here")
      })
      expect(p.exists("made.txt")).toBe(false)

      const slow = await p.strata(["run", "--yes", "--json", "run: echo slowpoke"], demo)
      expect(toolResult(slow.stdout)).toMatchObject({ status: "denied", reason: expect.stringContaining("Timeout") })
      const flood = await p.strata(["run", "--yes", "--json", "run: echo flood"], demo)
      expect(toolResult(flood.stdout)).toMatchObject({
        status: "denied",
        reason: expect.stringContaining("OutputTooLarge")
      })
      // Without on_error, a failing PreToolUse hook denies (fail closed).
      p.config(`[[hooks.PreToolUse]]\ncommand = ${q("exit 1")}\n`)
      const closed = await p.strata(["run", "--yes", "--json", "run: echo ok"], demo)
      expect(toolResult(closed.stdout)).toMatchObject({
        status: "denied",
        reason: expect.stringContaining("NonZeroExit")
      })
    })
  })

  it("shell runs the command with another shell (a bash-only test fails under sh)", async () => {
    await withProject(async (p) => {
      const bashOnly = q('[[ -n "$BASH_VERSION" ]] && exit 0 || exit 1')
      // covers: hooks.*.*.shell
      p.config(`[[hooks.PreToolUse]]\nshell = "bash"\ncommand = ${bashOnly}\n`)
      const bash = await p.strata(["run", "--yes", "--json", "run: echo ok"], demo)
      expect(toolResult(bash.stdout).status).toBe("completed")
      p.config(`[[hooks.PreToolUse]]\ncommand = ${bashOnly}\n`)
      const sh = await p.strata(["run", "--yes", "--json", "run: echo ok"], demo)
      expect(toolResult(sh.stdout).status).toBe("denied")
    })
  })
})

describe.concurrent("Claude Code hooks run unchanged", { timeout: 240_000 }, () => {
  it("settings files are loaded; Bash / Write with file_path; updatedInput maps back; exit 2 blocks; exit 1 warns", async () => {
    await withProject(async (p) => {
      const log = path.join(p.dir, "claude.log")
      p.write(
        ".claude/settings.json",
        JSON.stringify({
          permissions: { allow: ["Bash(ls:*)"] },
          hooks: {
            PreToolUse: [
              {
                matcher: "Bash",
                hooks: [
                  {
                    type: "command",
                    command: `input=$(cat); echo "$input" >> ${log}; case "$input" in *'"rm '*) echo 'claude says no' >&2; exit 2;; esac`
                  }
                ]
              }
            ],
            SubagentStop: [{ hooks: [{ type: "command", command: "exit 0" }] }]
          }
        })
      )
      const rewrite = JSON.stringify({
        hookSpecificOutput: {
          hookEventName: "PreToolUse",
          updatedInput: { file_path: "safe/out.txt", content: "rewritten" }
        }
      })
      p.write(
        ".claude/settings.local.json",
        JSON.stringify({
          hooks: {
            PreToolUse: [
              {
                matcher: "Write|Edit|MultiEdit",
                hooks: [{ type: "command", command: `cat >> ${log}; echo >> ${log}; echo '${rewrite}'` }]
              }
            ]
          }
        })
      )
      p.writeHome(
        ".claude/settings.json",
        JSON.stringify({
          hooks: {
            PostToolUse: [
              { matcher: "Bash", hooks: [{ type: "command", command: "echo 'post hook broke' >&2; exit 1" }] }
            ]
          }
        })
      )
      const turns = () => [
        call("shell__exec", { command: "echo hi" }),
        call("fs__write_file", { path: "out.txt", content: "original" }),
        call("shell__exec", { command: "rm -f safe/out.txt" }),
        { text: "done" }
      ]
      await withModel({ turns: turns() }, async (server) => {
        // covers: claude_hooks
        p.config(providerToml(server))
        const run = await p.strata(["run", "--yes", "--json", "go"])
        expect(run.code, run.stderr).toBe(0)
        const seen = p
          .read("claude.log")
          .split("\n")
          .filter((l) => l.trim() !== "")
          .map(
            (l) => JSON.parse(l) as { tool_name: string; tool_input: Record<string, unknown>; hook_event_name: string }
          )
        expect(seen.map((e) => [e.hook_event_name, e.tool_name, e.tool_input])).toEqual([
          ["PreToolUse", "Bash", { command: "echo hi" }],
          ["PreToolUse", "Write", { file_path: "out.txt", content: "original" }],
          ["PreToolUse", "Bash", { command: "rm -f safe/out.txt" }]
        ])
        // updatedInput in Claude's fields went to the Strata tool
        expect(p.exists("out.txt")).toBe(false)
        expect(p.read("safe/out.txt")).toBe("rewritten")
        const results = jsonLines(run.stdout).filter((e) => e.event === "tool_call_result")
        expect(results.map((e) => (e.result as { status: string }).status)).toEqual([
          "completed",
          "completed",
          "denied"
        ])
        expect((results[2]!.result as { reason: string }).reason).toContain("claude says no")
        // exit 1 of a Claude hook: a warning shown, the call not blocked
        const warnings = jsonLines(run.stdout).filter((e) => e.event === "warning")
        expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining("post hook broke")])
      })
      await withModel({ turns: turns() }, async (server) => {
        p.config(`claude_hooks = []\n${providerToml(server)}`)
        const run = await p.strata(["run", "--yes", "--json", "go"])
        expect(run.code, run.stderr).toBe(0)
        expect(p.read("out.txt")).toBe("original")
      })
    })
  })

  it("a matcher that matches no tool is warned about: config validate, chat start", async () => {
    await withProject(async (p) => {
      p.write(
        ".claude/settings.json",
        JSON.stringify({
          hooks: { PreToolUse: [{ matcher: "Task", hooks: [{ type: "command", command: "exit 0" }] }] }
        })
      )
      p.config(
        '[[hooks.PreToolUse]]\nmatcher = "exec"\ncommand = "exit 0"\n\n[[hooks.PreToolUse]]\nmatcher = "shell__exec|Read"\ncommand = "exit 0"\n'
      )
      const validate = await p.strata(["config", "validate"])
      expect(validate.code, validate.stderr).toBe(0)
      expect(validate.stdout).toContain('warning: hooks.PreToolUse[0]: matcher "exec" matches no tool')
      expect(validate.stdout).toContain(`hooks from ${path.join(p.dir, ".claude/settings.json")}`)
      expect(validate.stdout).toContain(
        `${path.join(p.dir, ".claude/settings.json")}: hooks.PreToolUse[0].hooks[0]: matcher "Task" matches no tool`
      )
      expect(validate.stdout).not.toContain("shell__exec|Read")
      const chat = await p.strata(["chat"], { ...demo, stdin: "run: echo hi\n" })
      expect(chat.code, chat.stderr).toBe(0)
      expect(chat.stderr).toContain('matcher "exec" matches no tool')
    })
  })
})
