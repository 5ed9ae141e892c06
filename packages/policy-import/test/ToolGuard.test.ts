/**
 * Tool rules are enforced by one PreToolUse command hook: the hook's command
 * runs here as a real process (`sh -c`, as Strata runs it) on PreToolUse
 * events in Strata's fields, in a real directory with a symlink.
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { parse } from "smol-toml"
import { afterAll, describe, expect, it } from "vitest"
import { Emit } from "../src/index.js"
import { fixture, imported } from "./utils.js"

const dir = mkdtempSync(path.join(tmpdir(), "strata-guard-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
mkdirSync(path.join(dir, "secrets"))
mkdirSync(path.join(dir, "src"))
writeFileSync(path.join(dir, ".env"), "TOKEN=x")
writeFileSync(path.join(dir, "secrets/key"), "k")
symlinkSync(path.join(dir, ".env"), path.join(dir, "src/innocent.txt"))

const imp = imported("claude", [fixture("claude/settings.json")])
const hook = (parse(Emit.toolGuardToml(imp)) as { hooks: { PreToolUse: Array<Record<string, string>> } }).hooks
  .PreToolUse[0]!

const decide = (tool_name: string, tool_input: Record<string, unknown>): string | undefined => {
  const out = execFileSync("sh", ["-c", hook.command!], {
    cwd: dir,
    input: JSON.stringify({ hook_event_name: "PreToolUse", tool_name, tool_input, tool_use_id: "c", cwd: dir })
  }).toString()
  return out === ""
    ? undefined
    : (JSON.parse(out) as { hookSpecificOutput: { permissionDecision: string } }).hookSpecificOutput.permissionDecision
}

describe("the tool guard hook", () => {
  it("is a fail-closed Strata-dialect hook on the restricted tools", () => {
    expect(hook.on_error).toBe("deny")
    expect(hook.matcher!.split("|")).toEqual(
      expect.arrayContaining(["fs__read_file", "fs__grep", "fs__edit", "mcp__filesystem__*", "*web_fetch*"])
    )
  })

  it("denies and asks as the imported Claude rules say, on real paths", () => {
    expect(decide("fs__read_file", { path: ".env" })).toBe("deny")
    expect(decide("fs__read_file", { path: "./src/../.env" })).toBe("deny")
    expect(decide("fs__read_file", { path: `${dir}/secrets/key` })).toBe("deny")
    expect(decide("fs__read_file", { path: "src/innocent.txt" })).toBe("deny") // a symlink to .env
    expect(decide("fs__read_file", { path: "src/a.ts" })).toBeUndefined()
    expect(decide("fs__edit", { path: "package.json", old_string: "a", new_string: "b" })).toBe("ask")
    expect(decide("fs__write_file", { path: "README.md", content: "x" })).toBeUndefined()
    expect(decide("fs__grep", { pattern: "TOKEN", path: "." })).toBe("ask") // the search root holds restricted files
    expect(decide("fs__grep", { pattern: "TOKEN", path: "secrets" })).toBe("deny")
    expect(decide("fs__grep", { pattern: "TOKEN", path: "src" })).toBeUndefined()
    expect(decide("mcp__filesystem__read", { path: "x" })).toBe("deny")
    expect(decide("mcp__github__get_issue", { n: 1 })).toBeUndefined()
    expect(decide("web_fetch", { url: "https://api.evil.example/x" })).toBe("deny")
    expect(decide("web_fetch", { url: "https://docs.anthropic.com" })).toBeUndefined()
  })

  it("tools.core: every tool but the listed ones is denied", () => {
    const g = imported("gemini", [
      { path: "settings.json", text: '{"tools": {"core": ["read_file", "run_shell_command(git)"]}}' }
    ])
    const h = (parse(Emit.toolGuardToml(g)) as { hooks: { PreToolUse: Array<Record<string, string>> } }).hooks
      .PreToolUse[0]!
    const run = (tool_name: string) =>
      execFileSync("sh", ["-c", h.command!], {
        cwd: dir,
        input: JSON.stringify({ tool_name, tool_input: {}, cwd: dir })
      }).toString()
    expect(h.matcher).toBeUndefined()
    expect(run("fs__write_file")).toContain('"deny"')
    expect(run("fs__read_file")).toBe("")
    expect(run("shell__exec")).toBe("")
  })
})
