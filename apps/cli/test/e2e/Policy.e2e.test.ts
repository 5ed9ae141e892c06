/**
 * The exec policy and the approval mode, through the built `strata` on the
 * demo model (its prompt `run: <command>` makes it run that command with
 * `shell__exec`): `strata policy check` and `strata run` build the policy
 * with the same function from the same layers; a deny `policy check`
 * confirms never runs, even with `--yes`; `approval_policy` from config takes
 * effect, flag > env > project > user > default.
 */
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import { jsonLines, type Project, repoRoot, withProject } from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

const demo = { env: { STRATA_DEMO: "1" } }

const check = async (p: Project, command: string) => {
  const run = await p.strata(["policy", "check", "--json", "--", command])
  expect(run.code, run.stderr).toBe(0)
  return JSON.parse(run.stdout) as {
    decision: string
    layers: Array<{ name: string; file?: string; loaded: boolean }>
    commands: Array<{ rule?: { file: string } }>
  }
}

const distribution = path.join(repoRoot, "apps/cli/policy/strata.toml")

describe.concurrent("one policy for policy check and run", { timeout: 180_000 }, () => {
  it("user and project policy files: what policy check decides is what run does, --yes included", async () => {
    await withProject(async (p) => {
      p.writeHome(
        ".config/strata/policy.toml",
        '[[rule]]\nprefix = ["touch"]\ndecision = "deny"\njustification = "no new files"\n'
      )
      p.writeHome(".strata/policy.toml", '[[rule]]\nprefix = ["mkdir"]\ndecision = "deny"\n')
      p.write(".strata/policy.toml", '[[rule]]\nprefix = ["cp"]\ndecision = "allow"\n')
      const touch = await check(p, "touch made.txt")
      expect(touch.decision).toBe("deny")
      expect(touch.commands[0]!.rule!.file).toBe(path.join(p.home, ".config/strata/policy.toml"))
      expect(touch.layers.map((l) => [l.name, l.file, l.loaded])).toEqual([
        ["built-in", undefined, true],
        ["distribution", distribution, true],
        ["user", path.join(p.home, ".config/strata/policy.toml"), true],
        ["user", path.join(p.home, ".strata/policy.toml"), true],
        ["project", path.join(p.dir, ".strata/policy.toml"), true],
        ["approved", path.join(p.dir, ".strata/approved.toml"), false]
      ])
      const text = await p.strata(["policy", "check", "--", "touch made.txt"])
      expect(text.stdout).toContain(`layers: built-in (defaults), distribution ${distribution}, user`)
      expect((await check(p, "mkdir made")).decision).toBe("deny")
      expect((await check(p, "cp a b")).decision).toBe("allow")

      const denied = await p.strata(["run", "--yes", "--json", "run: touch made.txt"], demo)
      expect(denied.code, denied.stderr).toBe(0)
      expect(p.exists("made.txt")).toBe(false)
      const result = jsonLines(denied.stdout).find((e) => e.event === "tool_call_result")!.result as { status: string }
      expect(result.status).toBe("denied")
      expect((await p.strata(["run", "--yes", "run: mkdir made"], demo)).code).toBe(0)
      expect(p.exists("made")).toBe(false)
      // The project allows cp: it runs without asking.
      p.write("a", "x")
      const copied = await p.strata(["run", "run: cp a b"], demo)
      expect(copied.code, copied.stderr).toBe(0)
      expect(p.exists("b")).toBe(true)
    })
  })

  it("the distribution's rules apply to policy check as they do to run (sudo is denied)", async () => {
    await withProject(async (p) => {
      const sudo = await check(p, "sudo rm -rf /tmp/x")
      expect(sudo.decision).toBe("deny")
      expect(sudo.commands[0]!.rule!.file).toBe(distribution)
      const run = await p.strata(["run", "--yes", "--json", "run: sudo true"], demo)
      const result = jsonLines(run.stdout).find((e) => e.event === "tool_call_result")!.result as { status: string }
      expect(result.status).toBe("denied")
    })
  })

  it("[policy] rules and builtin take effect in both", async () => {
    await withProject(async (p) => {
      p.write("rules/team.toml", '[[rule]]\nprefix = ["rm"]\ndecision = "deny"\njustification = "team rule"\n')
      p.write("keep.txt", "x")
      // covers: policy.rules
      p.config('[policy]\nrules = ["rules/team.toml"]\n')
      const rm = await check(p, "rm keep.txt")
      expect(rm.decision).toBe("deny")
      expect(rm.layers.at(-1)).toMatchObject({
        name: "config",
        file: path.join(p.dir, "rules/team.toml"),
        loaded: true
      })
      expect((await p.strata(["run", "--yes", "run: rm keep.txt"], demo)).code).toBe(0)
      expect(p.exists("keep.txt")).toBe(true)

      // covers: policy.builtin
      // Without the built-in layers, `ls` (allowed by the distribution's rules) asks.
      expect((await check(p, "ls")).decision).toBe("allow")
      p.config('[policy]\nbuiltin = false\nrules = ["rules/team.toml"]\n')
      const ls = await check(p, "ls")
      expect(ls.decision).toBe("ask")
      expect(ls.layers.map((l) => l.name)).not.toContain("distribution")
      const asked = await p.strata(["run", "run: ls"], demo)
      expect(asked.code).toBe(3)
      expect(asked.stderr).toMatch(/approval pending approval-\S+: ls/)
    })
  })
})

describe.concurrent("approval_policy", { timeout: 180_000 }, () => {
  it("takes effect from config, with flag > env > project > user > default", async () => {
    await withProject(async (p) => {
      const touch = async (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
        const run = await p.strata(["run", ...args, "run: touch made.txt"], { env: { STRATA_DEMO: "1", ...env } })
        return run.code
      }
      // default: on-request asks (exit 3)
      expect(await touch([])).toBe(3)
      // covers: approval_policy
      p.writeHome(".strata/config.toml", 'approval_policy = "never"\n')
      expect(await touch([])).toBe(0) // user: never, the ask becomes a denial
      p.config('approval_policy = "on-request"\n')
      expect(await touch([])).toBe(3) // project over user
      expect(await touch([], { STRATA_APPROVAL_POLICY: "never" })).toBe(0) // env over project
      expect(await touch(["--approval", "on-request"], { STRATA_APPROVAL_POLICY: "never" })).toBe(3) // flag over env
      expect(p.exists("made.txt")).toBe(false)
      const shown = await p.strata(["config", "show"], { env: { STRATA_APPROVAL_POLICY: "never" } })
      expect(shown.stdout).toContain('approval_policy = "never"  # env STRATA_APPROVAL_POLICY')
    })
  })

  it("policy check applies the approval mode run would use: the config's, unless --approval", async () => {
    await withProject(async (p) => {
      expect((await check(p, "touch made.txt")).decision).toBe("ask")
      p.config('approval_policy = "never"\n')
      // the ask becomes a denial, as in run
      expect((await check(p, "touch made.txt")).decision).toBe("deny")
      const flag = await p.strata(["policy", "check", "--json", "--approval", "on-request", "--", "touch made.txt"])
      expect(JSON.parse(flag.stdout).decision).toBe("ask")
      const run = await p.strata(["run", "run: touch made.txt"], demo)
      expect(run.code).toBe(0)
      expect(p.exists("made.txt")).toBe(false)
    })
  })
})
