/**
 * The approval key through the built `strata`: processes of one user racing
 * to make the per-user key file end with one key, which every one of them
 * signed with (each one's approval runs when approved by another process);
 * an unsafe key file stops the process with a clear error naming it.
 */
import { chmodSync, readdirSync, statSync } from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { withProject } from "./harness.js"

const demo = { env: { STRATA_DEMO: "1" } }

describe("the approval key", { timeout: 180_000 }, () => {
  it("processes racing to make the key file end with one key that all of them signed with", async () => {
    await withProject(async (p) => {
      const keyDir = path.join(p.home, ".local", "state", "strata")
      const runs = await Promise.all([0, 1, 2, 3].map((i) => p.strata(["run", `run: touch made-${i}.txt`], demo)))
      const ids = runs.map((run) => {
        expect(run.code, run.stderr).toBe(3)
        return /approval pending (approval-\S+):/.exec(run.stderr)![1]!
      })
      // one key file, nothing left beside it but the compile cache's directory and (where bubblewrap
      // starts) the record of its probe, private
      const probeRecord = readdirSync(keyDir).includes("sandbox-probe.json")
      expect(readdirSync(keyDir).sort()).toStrictEqual([
        "approval.key",
        "code-cache",
        ...(probeRecord ? ["sandbox-probe.json"] : [])
      ])
      if (probeRecord) expect(statSync(path.join(keyDir, "sandbox-probe.json")).mode & 0o777).toBe(0o600)
      expect(readdirSync(path.join(keyDir, "code-cache")).every((f) => f.endsWith(".v8"))).toBe(true)
      expect(statSync(path.join(keyDir, "approval.key")).mode & 0o777).toBe(0o600)
      expect(statSync(keyDir).mode & 0o777).toBe(0o700)
      // every approval runs when another process approves it: all were signed with that one key
      for (const [i, id] of ids.entries()) {
        const approve = await p.strata(["approvals", "approve", id], demo)
        expect(approve.code, approve.stderr).toBe(0)
        expect(p.exists(`made-${i}.txt`)).toBe(true)
      }
    })
  })

  it("a command that names the key file is asked about, even under a rule that allows it (protected path)", async () => {
    await withProject(async (p) => {
      p.write(".strata/policy.toml", '[[rule]]\nprefix = ["cat"]\ndecision = "allow"\n')
      const file = path.join(p.home, ".local", "state", "strata", "approval.key")
      const other = await p.strata(["policy", "check", "--", "cat", "notes.txt"])
      expect(other.stdout).toMatch(/^allow: cat notes.txt/)
      const check = await p.strata(["policy", "check", "--", "cat", file])
      expect(check.stdout).toMatch(/^ask: cat /)
      expect(check.stdout).toContain(`names the protected path ${path.dirname(file)}/`)
      // the compile cache beside it: code the next strata runs
      const cache = path.join(path.dirname(file), "code-cache", "run.v8")
      for (const command of [
        ["cat", cache],
        ["cp", "notes.txt", cache]
      ]) {
        const asked = await p.strata(["policy", "check", "--", ...command])
        expect(asked.stdout).toMatch(new RegExp(`^ask: ${command[0]} `))
        expect(asked.stdout).toContain(`names the protected path ${path.dirname(file)}/`)
      }
    })
  })

  it("a key file others can read stops the process, naming the file; nothing runs", async () => {
    await withProject(async (p) => {
      const first = await p.strata(["run", "run: touch made.txt"], demo)
      expect(first.code, first.stderr).toBe(3)
      const id = /approval pending (approval-\S+):/.exec(first.stderr)![1]!
      const file = path.join(p.home, ".local", "state", "strata", "approval.key")
      chmodSync(file, 0o644)
      const approve = await p.strata(["approvals", "approve", id], demo)
      expect(approve.code).toBe(1)
      expect(approve.stderr).toContain(file)
      expect(approve.stderr).toMatch(/readable or writable by group or others/)
      expect(p.exists("made.txt")).toBe(false)
    })
  })
})
