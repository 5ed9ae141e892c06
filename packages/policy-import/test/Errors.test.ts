/**
 * Malformed input in each format fails with an `ImportError` naming the
 * file, the line and the field; nothing is returned to write.
 */
import * as Either from "effect/Either"
import { describe, expect, it } from "vitest"
import { Importer } from "../src/index.js"

const fails = (format: Importer.Format, path: string, text: string) => {
  const r = Importer.importFiles(format, [{ path, text }])
  if (Either.isRight(r)) throw new Error(`expected ${path} to fail`)
  return r.left
}

describe("codex", () => {
  it("Starlark syntax errors name line and column", () => {
    const e = fails(
      "codex",
      "default.rules",
      'prefix_rule(pattern = ["git"],\n  decision = "allow"\n  justification = "x")\n'
    )
    expect(e).toMatchObject({ reason: "Syntax", file: "default.rules", line: 3, column: 3 })
    expect(e.message).toMatch(/^default\.rules:3:3: expected "," or "\)"/)
    expect(fails("codex", "a.rules", 'prefix_rule(pattern = ["git]')).toMatchObject({ reason: "Syntax", line: 1 })
  })

  it("bad decisions, patterns and arguments name the field", () => {
    expect(fails("codex", "a.rules", '\n\nprefix_rule(pattern = ["git"], decision = "maybe")').message).toBe(
      'a.rules:3:32: prefix_rule.decision: unknown decision "maybe" (expected allow, prompt or forbidden)'
    )
    expect(fails("codex", "a.rules", "prefix_rule(pattern = [])")).toMatchObject({
      field: "prefix_rule.pattern",
      line: 1
    })
    expect(fails("codex", "a.rules", 'prefix_rule(pattern = ["a", ""])')).toMatchObject({
      field: "prefix_rule.pattern"
    })
    expect(fails("codex", "a.rules", 'prefix_rule(pattern = ["a"], colour = "red")')).toMatchObject({
      field: "prefix_rule.colour"
    })
    expect(fails("codex", "a.rules", 'prefix_rule(["a"])').detail).toContain("keyword arguments only")
  })

  it("a rule's own examples are checked, as codex checks them", () => {
    expect(
      fails("codex", "a.rules", 'prefix_rule(\n  pattern = ["git", "push"],\n  match = ["git pull"],\n)').message
    ).toBe(
      'a.rules:3:3: prefix_rule.match: example "git pull" does not match the pattern (codex rejects this file too)'
    )
    expect(fails("codex", "a.rules", 'prefix_rule(pattern = ["git"], not_match = [["git", "x"]])')).toMatchObject({
      field: "prefix_rule.not_match"
    })
  })

  it("code is parsed, never evaluated: variables and operators are errors, other statements are reported", () => {
    expect(fails("codex", "a.rules", 'GIT = "git"\nprefix_rule(pattern = [GIT])').detail).toContain(
      "variables are not evaluated"
    )
    expect(fails("codex", "a.rules", 'prefix_rule(pattern = ["a" + "b"])').detail).toContain('operator "+"')
    const r = Importer.importFiles("codex", [
      { path: "a.rules", text: 'load("x.star", "y")\nprefix_rule(pattern = ["ls"])\n' }
    ])
    expect(Either.isRight(r) && r.right.report.find((e) => e.origin.line === 1)).toMatchObject({ status: "refused" })
  })

  it("config.toml: invalid TOML and unknown approval policies", () => {
    expect(fails("codex", "config.toml", 'model = "x"\napproval_policy = \n')).toMatchObject({
      reason: "Syntax",
      line: 2
    })
    expect(fails("codex", "config.toml", 'approval_policy = "sometimes"\n')).toMatchObject({
      field: "approval_policy",
      line: 1
    })
  })
})

describe("gemini-cli", () => {
  it("rules are checked as gemini-cli checks them, with the [[rule]] line", () => {
    const head = '[[rule]]\ntoolName = "run_shell_command"\ndecision = "allow"\npriority = 1\n\n'
    expect(
      fails("gemini", "p.toml", `${head}[[rule]]\ntoolName = "x"\ndecision = "maybe"\npriority = 1\n`)
    ).toMatchObject({
      line: 6,
      field: "rule[1].decision"
    })
    expect(fails("gemini", "p.toml", '[[rule]]\ntoolName = "x"\ndecision = "deny"\npriority = 1000\n')).toMatchObject({
      field: "rule[0].priority"
    })
    expect(
      fails(
        "gemini",
        "p.toml",
        '[[rule]]\ntoolName = "read_file"\ncommandPrefix = "ls"\ndecision = "deny"\npriority = 1\n'
      )
    ).toMatchObject({
      field: "rule[0].commandPrefix"
    })
    expect(
      fails(
        "gemini",
        "p.toml",
        '[[rule]]\ntoolName = "run_shell_command"\ncommandRegex = "(("\ndecision = "deny"\npriority = 1\n'
      ).detail
    ).toContain("invalid regular expression")
    expect(fails("gemini", "p.toml", "[[rule]\n")).toMatchObject({ reason: "Syntax", line: 1 })
  })

  it("settings.json: invalid JSON names line and column", () => {
    const e = fails("gemini", "settings.json", '{\n  "tools": {\n    "allowed": ["ls",]\n  }\n}\n')
    expect(e).toMatchObject({ reason: "Syntax", line: 3 })
    expect(fails("gemini", "settings.json", '{"tools": {"exclude": "rm"}}')).toMatchObject({ field: "tools.exclude" })
    expect(
      fails("gemini", "settings.json", '{"hooks": {"BeforeTool": [{"hooks": [{"type": "command"}]}]}}')
    ).toMatchObject({
      field: "hooks.BeforeTool[0].hooks[0].command"
    })
  })
})

describe("Claude Code", () => {
  it("settings.json: JSON errors, non-string rules, unknown modes", () => {
    expect(
      fails("claude", "settings.json", '{\n  "permissions": {\n    "allow": [\n      "Bash(ls)"\n      "Read"\n')
    ).toMatchObject({
      reason: "Syntax",
      line: 5
    })
    expect(fails("claude", "s.json", '{\n"permissions": {\n"deny": [\n42\n]}}')).toMatchObject({
      field: "permissions.deny[0]",
      line: 3
    })
    expect(fails("claude", "s.json", '{"permissions": {"defaultMode": "yolo"}}')).toMatchObject({
      field: "permissions.defaultMode"
    })
    expect(
      fails(
        "claude",
        "s.json",
        '{"hooks": {"PreToolUse": [{"hooks": [{"type": "command", "timeout": -1, "command": "x"}]}]}}'
      )
    ).toMatchObject({
      field: "hooks.PreToolUse[0].hooks[0].timeout"
    })
  })
})

describe("hostile sizes", () => {
  it("deep nesting is a located error, not a crash", () => {
    const deep = `prefix_rule(pattern = ${"[".repeat(100_000)}"a"${"]".repeat(100_000)})`
    expect(fails("codex", "deep.rules", deep).detail).toContain("nesting deeper than 64 levels")
    const json = `{"permissions": {"allow": ${"[".repeat(200_000)}${"]".repeat(200_000)}}}`
    expect(fails("claude", "deep.json", json)).toMatchObject({ file: "deep.json" })
  })
})
