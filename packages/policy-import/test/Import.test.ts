/**
 * Round trips on real-world-shaped files of each format: import, write
 * Strata's rule file, load it with the real exec-policy engine (which runs
 * every rule's match / not_match examples), and decide the commands the
 * source tool's documentation decides.
 */
import type { ExecPolicy } from "@strata/exec-policy"
import { beforeAll, describe, expect, it } from "vitest"
import { Emit, type Model } from "../src/index.js"
import { decide, fixture, imported, strataPolicy } from "./utils.js"

const entry = (imp: Model.Imported, source: string) => {
  const found = imp.report.filter((e) => e.source.includes(source))
  if (found.length === 0) throw new Error(`no report entry for ${source}`)
  return found[0]!
}

describe("codex", () => {
  const imp = imported("codex", [
    fixture("codex/default.rules"),
    fixture("codex/config.toml"),
    fixture("codex/hooks.json")
  ])
  let policy: ExecPolicy.Service
  beforeAll(async () => {
    policy = await strataPolicy(imp)
  })

  it("decides as codex's strictest-wins prefix rules do", () => {
    expect(decide(policy, "git status")).toBe("allow")
    expect(decide(policy, "git log -n 3")).toBe("allow")
    expect(decide(policy, "/usr/bin/git diff HEAD")).toBe("allow") // host_executable
    expect(decide(policy, "/usr/local/bin/git status")).toBe("ask") // not a listed path
    expect(decide(policy, "git push origin main")).toBe("ask")
    expect(decide(policy, "rm -rf build")).toBe("deny")
    expect(decide(policy, "rm -fr build")).toBe("deny")
    expect(decide(policy, "npm run lint")).toBe("allow")
    expect(decide(policy, "gh pr view 7888")).toBe("ask")
    expect(decide(policy, "git status && rm -rf /")).toBe("deny")
    expect(decide(policy, "python3 x.py")).toBe("ask") // default
  })

  it("keeps the rules' own examples and source lines", () => {
    const toml = Emit.policyToml(imp)
    expect(toml).toContain('match = ["git status", ["git", "log", "-n", "3"], "git diff HEAD~1"]')
    expect(toml).toContain('not_match = ["gh pr --repo openai/codex view 7888"]')
    expect(toml).toContain("# codex/default.rules:18 prefix_rule:")
    expect(toml).toContain('default = "ask"')
  })

  it("reports config.toml and hooks", () => {
    expect(imp.settings).toEqual({ approval_policy: "on-request" })
    expect(entry(imp, "shell_environment_policy")).toMatchObject({ status: "refused", enforced: false })
    expect(entry(imp, "sandbox_mode")).toMatchObject({ status: "approximated", origin: { line: 4 } })
    expect(imp.hooks.map((h) => [h.event, h.dialect, h.matcher])).toEqual([
      ["PreToolUse", "codex", "Bash"],
      ["SessionStart", "codex", "startup|resume"],
      ["PostToolUse", "codex", "Bash"]
    ])
    expect(entry(imp, "SubagentStop")).toMatchObject({
      status: "refused",
      origin: { file: "codex/hooks.json", line: 9 }
    })
  })
})

describe("gemini-cli", () => {
  it("policy files: priorities mapped onto strictest-wins, with the order changes reported", async () => {
    const imp = imported("gemini", [fixture("gemini/policy.toml")])
    const policy = await strataPolicy(imp)
    // gemini-cli: "git status" allow (100) beats "git" ask_user (50); Strata: the ask wins, and the report says so.
    expect(decide(policy, "git status")).toBe("ask")
    expect(imp.report.some((e) => e.detail.startsWith("order changes a decision") && e.origin.line === 2)).toBe(true)
    expect(decide(policy, "rm -rf /tmp/x")).toBe("deny")
    expect(decide(policy, "curl https://x.test/install.sh | sh")).toBe("deny")
    expect(decide(policy, "curl https://x.test")).toBe("deny") // the regex widened to its literal first word
    expect(decide(policy, "npm test > out.txt")).toBe("allow") // allowRedirection
    expect(decide(policy, "docker ps")).toBe("ask") // yolo-only allow not imported
    expect(decide(policy, "make build")).toBe("ask") // regex allow not imported
    expect(imp.toolRules.map((r) => `${r.decision} ${r.tool}`)).toEqual([
      "ask fs__write_file",
      "ask fs__edit",
      "ask fs__apply_patch",
      "deny mcp__github__search"
    ])
  })

  it("settings: a narrowed shell allowlist denies the rest, as gemini-cli's narrowing rule does", async () => {
    const imp = imported("gemini", [fixture("gemini/settings.json")])
    const policy = await strataPolicy(imp)
    expect(imp.default).toBe("deny")
    expect(decide(policy, "ls -la")).toBe("allow")
    expect(decide(policy, "cat README.md")).toBe("allow")
    expect(decide(policy, "curl x")).toBe("deny")
    expect(decide(policy, "git status")).toBe("deny")
    expect(imp.hooks.map((h) => [h.event, h.matcher, h.timeoutSeconds])).toEqual([
      ["PreToolUse", "run_shell_command|write_file", 30],
      ["PostToolUse", "read_file", undefined],
      ["BeforeModel", undefined, undefined],
      ["SessionStart", "startup", undefined]
    ])
    expect(entry(imp, "redact.sh")).toMatchObject({
      status: "converted",
      detail: expect.stringContaining("BeforeModel")
    })
  })
})

describe("Claude Code", () => {
  const imp = imported("claude", [fixture("claude/settings.json")])
  let policy: ExecPolicy.Service
  beforeAll(async () => {
    policy = await strataPolicy(imp)
  })

  it("Bash rules become prefix rules; deny > ask > allow as in Claude Code", () => {
    expect(decide(policy, "git status")).toBe("allow")
    expect(decide(policy, "git status --short")).toBe("allow")
    expect(decide(policy, "git statusx")).toBe("ask")
    expect(decide(policy, "npm run test -- --watch")).toBe("allow")
    expect(decide(policy, "npm run lint")).toBe("ask") // exact allow: not expressible, asks
    expect(decide(policy, "npm run build")).toBe("allow")
    expect(decide(policy, "git push origin main")).toBe("ask")
    expect(decide(policy, "git push --force origin")).toBe("deny")
    expect(decide(policy, "rm -rf node_modules")).toBe("deny")
    expect(decide(policy, "ls -la && curl evil.example")).toBe("deny")
  })

  it("file, web and MCP restrictions become tool rules; their allows are not imported", () => {
    const rules = imp.toolRules.map((r) =>
      `${r.decision} ${r.tool} ${r.paths?.join(",") ?? r.domains?.join(",") ?? ""}`.trim()
    )
    expect(rules).toContain("deny fs__read_file ./.env")
    expect(rules).toContain("deny fs__grep ./secrets/**")
    expect(rules).toContain("ask fs__edit ./package.json")
    expect(rules).toContain("deny *web_fetch* evil.example")
    expect(rules).toContain("deny mcp__filesystem__*")
    expect(rules.some((r) => r.startsWith("allow"))).toBe(false)
    expect(entry(imp, "Read(./src/**)")).toMatchObject({ status: "refused", enforced: true })
    expect(entry(imp, '"acceptEdits"')).toMatchObject({ status: "refused" })
  })

  it("reports every entry with its line", () => {
    expect(entry(imp, "Bash(npm run lint)")).toMatchObject({
      status: "refused",
      origin: { line: 8, field: "permissions.allow[3]" }
    })
    expect(entry(imp, "Bash(git push --force)")).toMatchObject({ status: "approximated", origin: { line: 23 } })
    const text = Emit.reportText(imp)
    expect(text).toContain("claude/settings.json:10 permissions.allow[5]: approximated Bash(npm run build*)")
  })
})
