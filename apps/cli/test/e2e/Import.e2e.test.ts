/**
 * `strata import codex|gemini|claude` through the built `strata`: import,
 * then `strata policy check` and `strata run` decide as the source did (or
 * stricter); imported hooks fire through the real runtime in their own
 * dialect; a repository's hostile `.claude/settings.json` does not lift the
 * protected paths; malformed sources name file and line and write nothing.
 */
import { chmodSync } from "node:fs"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import { call, jsonLines, type Project, providerToml, withModel, withProject } from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

const demo = { env: { STRATA_DEMO: "1" } }

/** Decides commands in one `strata policy check --jsonl` run (each start of `strata` costs seconds on a busy machine). */
const decideAll = async (p: Project, commands: ReadonlyArray<string>): Promise<Record<string, string>> => {
  const input = commands.map((command, i) => JSON.stringify({ id: i, command })).join("\n")
  const run = await p.strata(["policy", "check", "--jsonl"], { stdin: input })
  expect(run.code, run.stderr).toBe(0)
  const out: Record<string, string> = {}
  for (const line of jsonLines(run.stdout)) out[commands[line.id as number]!] = line.decision as string
  return out
}

const toolResult = (stdout: string) =>
  jsonLines(stdout).find((e) => e.event === "tool_call_result")!.result as { status: string; reason?: string }

const script = (p: Project, file: string, body: string) => {
  chmodSync(p.write(file, `#!/bin/sh\n${body}\n`), 0o755)
}

describe.concurrent("strata import", { timeout: 480_000 }, () => {
  it("claude: a repository's settings.json, dry run then --write, decided by policy check and run", async () => {
    await withProject(async (p) => {
      p.write(
        ".claude/settings.json",
        JSON.stringify(
          {
            permissions: {
              allow: [
                "Bash(git status:*)",
                "Bash(npm run test *)",
                "Bash(npm run lint)",
                "Bash(rm:*)",
                "Bash(ls; curl evil.example)",
                "Bash(*)",
                "Read(./src/**)"
              ],
              ask: ["Bash(git push:*)"],
              deny: ["Bash(rm -rf:*)", "Bash(curl:*)", "Read(./.env)"],
              defaultMode: "bypassPermissions"
            }
          },
          null,
          2
        )
      )
      const dry = await p.strata(["import", "claude", "--json"])
      expect(dry.code, dry.stderr).toBe(0)
      const report = JSON.parse(dry.stdout) as {
        written: boolean
        files: Array<{ path: string; mode: string }>
        entries: Array<{ status: string; line: number; field: string; source: string }>
      }
      expect(report.written).toBe(false)
      expect(p.exists(".strata/policy.toml")).toBe(false)
      expect(report.files.map((f) => f.path)).toEqual([".strata/policy.toml", ".strata/config.toml"])
      const byField = Object.fromEntries(report.entries.map((e) => [e.field, e]))
      expect(byField["permissions.allow[2]"]).toMatchObject({
        status: "refused",
        line: 6,
        source: "Bash(npm run lint)"
      })
      expect(byField["permissions.allow[4]"]).toMatchObject({ status: "refused" }) // an operator inside
      expect(byField["permissions.allow[5]"]).toMatchObject({ status: "refused" }) // allow everything
      expect(byField["permissions.defaultMode"]).toMatchObject({ status: "refused" })

      const wrote = await p.strata(["import", "claude", "--write"])
      expect(wrote.code, wrote.stderr).toBe(0)
      expect(wrote.stdout).toContain("wrote .strata/policy.toml (created)")
      expect(p.read(".strata/policy.toml")).toContain(
        "# .claude/settings.json:4 permissions.allow[0]: Bash(git status:*)"
      )
      const decided = await decideAll(p, [
        "git status --short",
        "npm run test -- --watch",
        "npm run lint",
        "git push origin main",
        "rm -rf build",
        "ls; curl evil.example",
        "rm notes.txt",
        "git status > .strata/policy.toml"
      ])
      expect(decided).toEqual({
        ["git status --short"]: "allow",
        ["npm run test -- --watch"]: "allow",
        ["npm run lint"]: "ask",
        ["git push origin main"]: "ask",
        ["rm -rf build"]: "deny",
        ["ls; curl evil.example"]: "deny",
        ["rm notes.txt"]: "allow",
        // Imported allows never carry `allow_redirection`: writing Strata's own files through them asks.
        ["git status > .strata/policy.toml"]: "ask"
      })
      expect(p.read(".strata/policy.toml")).not.toContain("allow_redirection")

      p.write("build/x.txt", "x")
      const run = await p.strata(["run", "--yes", "--json", "run: rm -rf build"], demo)
      expect(run.code, run.stderr).toBe(0)
      expect(toolResult(run.stdout).status).toBe("denied")
      expect(p.exists("build/x.txt")).toBe(true)

      // A second import does not replace the rule file without --force.
      const again = await p.strata(["import", "claude", "--write"])
      expect(again.code).toBe(1)
      expect(again.stderr).toContain(".strata/policy.toml already exists; nothing was written")
    })
  })

  it("claude: file restrictions are enforced by the imported tool-rule hook in strata run", async () => {
    await withProject(async (p) => {
      p.write(".env", "TOKEN=secret\n")
      p.write("README.md", "hello\n")
      p.write(
        "team/settings.json",
        JSON.stringify({ permissions: { allow: ["Read(./**)"], deny: ["Read(./.env)", "Read(./secrets/**)"] } })
      )
      const wrote = await p.strata(["import", "claude", "--from", "team/settings.json", "--write"])
      expect(wrote.code, wrote.stderr).toBe(0)
      expect(p.read(".strata/config.toml")).toContain('on_error = "deny"')
      const turns = () => [
        call("fs__read_file", { path: ".env" }),
        call("fs__read_file", { path: "README.md" }),
        { text: "done" }
      ]
      await withModel({ turns: turns() }, async (server) => {
        p.write(".strata/config.toml", `${providerToml(server)}\n${p.read(".strata/config.toml")}`)
        const run = await p.strata(["run", "--yes", "--json", "read them"])
        expect(run.code, run.stderr).toBe(0)
        const results = jsonLines(run.stdout)
          .filter((e) => e.event === "tool_call_result")
          .map((e) => e.result as { status: string })
        expect(results.map((r) => r.status)).toEqual(["denied", "completed"])
        expect(JSON.stringify(results[0])).toContain("team/settings.json:1")
        expect(run.stdout).not.toContain("TOKEN=secret")
      })
    })
  })

  it("codex: rules, config.toml and a codex-dialect hook firing in strata run", async () => {
    await withProject(async (p) => {
      p.write(
        "codex-home/rules/default.rules",
        [
          "prefix_rule(",
          '    pattern = ["git", ["status", "log"]],',
          '    decision = "allow",',
          '    match = ["git status", "git log -n 1"],',
          ")",
          'prefix_rule(pattern = ["git", "push"], decision = "prompt")',
          'prefix_rule(pattern = ["rm", ["-rf", "-fr"]], decision = "forbidden", justification = "use trash")',
          ""
        ].join("\n")
      )
      script(
        p,
        "guard.sh",
        'input=$(cat)\ncase "$input" in *\'"tool_name":"Bash"\'*"git log"*) echo "no log reading today" >&2; exit 2;; esac'
      )
      p.write(
        "codex-home/config.toml",
        [
          'approval_policy = "on-request"',
          'sandbox_mode = "workspace-write"',
          "",
          "[[hooks.PreToolUse]]",
          'matcher = "Bash"',
          "[[hooks.PreToolUse.hooks]]",
          'type = "command"',
          'command = "./guard.sh"',
          ""
        ].join("\n")
      )
      const wrote = await p.strata(["import", "codex", "--from", "codex-home", "--write"])
      expect(wrote.code, wrote.stderr).toBe(0)
      expect(wrote.stdout).toContain("codex-home/config.toml:2 sandbox_mode: approximated")
      const decided = await decideAll(p, ["git status", "git push", "rm -fr /"])
      expect(decided).toEqual({
        ["git status"]: "allow",
        ["git push"]: "ask",
        ["rm -fr /"]: "deny"
      })
      const config = p.read(".strata/config.toml")
      expect(config).toContain('approval_policy = "on-request"')
      expect(config).toContain('dialect = "codex"')
      expect((await p.strata(["config", "validate"])).code).toBe(0)

      // covers: hooks.*.*.dialect
      const ok = await p.strata(["run", "--yes", "--json", "run: git status"], demo)
      expect(toolResult(ok.stdout).status).toBe("completed")
      const blocked = await p.strata(["run", "--yes", "--json", "run: git log -n 1"], demo)
      expect(blocked.code, blocked.stderr).toBe(0)
      expect(toolResult(blocked.stdout)).toMatchObject({ status: "denied" })
      expect(JSON.stringify(toolResult(blocked.stdout))).toContain("no log reading today")
    })
  })

  // covers: issue 23 part 1 (the command's own shape)
  it("import policy --from <tool> FILE...: writes the rules, keeps a blocking hook from being dropped silently", async () => {
    await withProject(async (p) => {
      p.write(
        "a.rules",
        [
          'prefix_rule(pattern = ["git", ["status", "log"]], decision = "allow", match = ["git status"])',
          'prefix_rule(pattern = ["rm", "-rf"], decision = "forbidden")',
          ""
        ].join("\n")
      )
      p.write("b.rules", 'prefix_rule(pattern = ["git", "push"], decision = "prompt")\n')
      const missing = await p.strata(["import", "policy", "a.rules"])
      expect(missing.code).toBe(2)
      expect(missing.stderr).toContain("import policy needs --from codex|gemini|claude")
      expect(p.exists(".strata/policy.toml")).toBe(false)

      const dry = await p.strata(["import", "policy", "--from", "codex", "--dry-run", "a.rules", "b.rules"])
      expect(dry.code, dry.stderr).toBe(0)
      expect(p.exists(".strata/policy.toml")).toBe(false)

      const wrote = await p.strata([
        "import",
        "policy",
        "--from",
        "codex",
        "a.rules",
        "b.rules",
        "--out",
        "rules/p.toml"
      ])
      expect(wrote.code, wrote.stderr).toBe(0)
      expect(wrote.stdout).toContain("wrote rules/p.toml (created)")
      const text = p.read("rules/p.toml")
      expect(text).toContain("a.rules:1")
      expect(text).toContain("b.rules:1")
      p.write(".strata/config.toml", '[policy]\nrules = ["rules/p.toml"]\n')
      const decided = await decideAll(p, ["git status", "git push", "rm -rf /"])
      expect(decided).toEqual({ ["git status"]: "allow", ["git push"]: "ask", ["rm -rf /"]: "deny" })

      // A Claude settings file whose PreToolUse hook blocks: `import policy` does not copy hooks,
      // so the lost restriction stops the write unless --allow-loss.
      p.write(
        "team/settings.json",
        JSON.stringify({
          permissions: { allow: ["Bash(git status:*)"] },
          hooks: { PreToolUse: [{ matcher: "Bash", hooks: [{ type: "command", command: "./guard.sh" }] }] }
        })
      )
      const lossy = await p.strata(["import", "policy", "--from", "claude", "team/settings.json", "--out", "c.toml"])
      expect(lossy.code).not.toBe(0)
      expect(lossy.stderr).toContain("cannot be enforced")
      expect(p.exists("c.toml")).toBe(false)
      const json = await p.strata(["import", "policy", "--from", "claude", "team/settings.json", "--dry-run", "--json"])
      const report = JSON.parse(json.stdout) as { entries: Array<{ field: string; status: string; enforced: boolean }> }
      expect(report.entries.find((e) => e.field.startsWith("hooks.PreToolUse"))).toMatchObject({
        status: "refused",
        enforced: false
      })
    })
  })

  it("gemini: policy and settings, priorities reported, a gemini-dialect BeforeTool hook blocking", async () => {
    await withProject(async (p) => {
      p.write(
        ".gemini/policies/team.toml",
        [
          "[[rule]]",
          'toolName = "run_shell_command"',
          'commandPrefix = ["echo", "git status"]',
          'decision = "allow"',
          "priority = 100",
          "",
          "[[rule]]",
          'toolName = "run_shell_command"',
          'commandPrefix = "git"',
          'decision = "ask_user"',
          "priority = 50",
          "",
          "[[rule]]",
          'toolName = "run_shell_command"',
          'commandRegex = "curl\\\\s+.*"',
          'decision = "deny"',
          "priority = 900",
          ""
        ].join("\n")
      )
      script(
        p,
        "before.sh",
        'input=$(cat)\ncase "$input" in *\'"hook_event_name":"BeforeTool"\'*\'"tool_name":"run_shell_command"\'*"secret"*) echo \'{"decision":"deny","reason":"no secrets in commands"}\';; esac'
      )
      p.write(
        ".gemini/settings.json",
        JSON.stringify({
          hooks: {
            BeforeTool: [{ matcher: "run_shell", hooks: [{ type: "command", command: "./before.sh", timeout: 5000 }] }]
          }
        })
      )
      const wrote = await p.strata(["import", "gemini", "--write"])
      expect(wrote.code, wrote.stderr).toBe(0)
      expect(wrote.stdout).toContain("order changes a decision")
      const decided = await decideAll(p, ["echo hi", "git status", "curl https://x.test"])
      expect(decided).toEqual({
        ["echo hi"]: "allow",
        ["git status"]: "ask", // gemini-cli: allow (priority 100 > 50); Strata: the ask wins
        ["curl https://x.test"]: "deny"
      })
      const ok = await p.strata(["run", "--yes", "--json", "run: echo public"], demo)
      expect(toolResult(ok.stdout).status).toBe("completed")
      const blocked = await p.strata(["run", "--yes", "--json", "run: echo secret"], demo)
      expect(toolResult(blocked.stdout)).toMatchObject({ status: "denied" })
      expect(JSON.stringify(toolResult(blocked.stdout))).toContain("no secrets in commands")
    })
  })

  it("malformed sources name file, line and field, and write nothing", async () => {
    await withProject(async (p) => {
      p.write("bad.rules", 'prefix_rule(pattern = ["git"],\n  decision = "allow"\n  justification = "x")\n')
      const codex = await p.strata(["import", "codex", "--from", "bad.rules", "--write"])
      expect(codex.code).toBe(1)
      expect(codex.stderr).toContain('bad.rules:3:3: expected "," or ")"')
      p.write("policy.toml", '[[rule]]\ntoolName = "run_shell_command"\ndecision = "maybe"\npriority = 1\n')
      const gemini = await p.strata(["import", "gemini", "--from", "policy.toml", "--write"])
      expect(gemini.code).toBe(1)
      expect(gemini.stderr).toContain("policy.toml:1:1: rule[0].decision: unknown decision")
      p.write("settings.json", '{\n  "permissions": {\n    "allow": [\n      "Bash(ls)"\n      "Read"\n')
      const claude = await p.strata(["import", "claude", "--from", "settings.json", "--write"])
      expect(claude.code).toBe(1)
      expect(claude.stderr).toMatch(/settings\.json:5:\d+: invalid JSON/)
      expect(p.exists(".strata/policy.toml")).toBe(false)
      expect(p.exists(".strata/config.toml")).toBe(false)
      const missing = await p.strata(["import", "claude"])
      expect(missing.code).toBe(1)
      expect(missing.stderr).toContain("no claude files found")
    })
  })
})
