/**
 * `strata policy check`, run as a real child process: single commands (text
 * and `--json`), the `--jsonl` batch against the contract's cases, bad lines,
 * rule errors, layering, `--version`.
 */
import { existsSync, readFileSync } from "node:fs"
import * as path from "node:path"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { version } from "../src/version.js"
import { appDir, ensureBuilt, repoRoot } from "./build.js"
import { runner } from "./strataProcess.js"

const fixtures = path.join(repoRoot, "packages/exec-policy/test/fixtures")
const shared = path.resolve(repoRoot, "../shared/policy")
const folders = [fixtures, ...(existsSync(path.join(shared, "cases.jsonl")) ? [shared] : [])]

const plain = runner({})

/** Runs `strata` with an empty HOME and a fresh working directory, so no user or project rules apply. */
const strata = (args: ReadonlyArray<string>, stdin = "", home?: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const dir = yield* (yield* FileSystem.FileSystem).makeTempDirectoryScoped()
      return yield* plain(dir, args, {}, { stdin, home })
    })
  ).pipe(Effect.provide(NodeContext.layer))

const lines = (s: string) =>
  s
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>)

beforeAll(() => ensureBuilt(), 180_000)

describe("strata policy check --jsonl", () => {
  for (const dir of folders) {
    it.live(`agrees with every expected value of ${path.relative(repoRoot, dir)}/cases.jsonl`, () =>
      Effect.gen(function* () {
        const input = readFileSync(path.join(dir, "cases.jsonl"), "utf8")
        const cases = lines(input)
        const run = yield* strata(
          ["policy", "check", "--rules", path.join(dir, "sample-rules.toml"), "--isolated", "--jsonl"],
          input
        )
        expect(run.stderr).toBe("")
        expect(run.code).toBe(0)
        const out = lines(run.stdout)
        expect(out.map((o) => o["id"])).toEqual(cases.map((c) => c["id"]))
        expect(out.map((o) => o["decision"])).toEqual(cases.map((c) => c["expected"]))
      })
    )
  }

  it.live("agrees with the package's own cases, in order", () =>
    Effect.gen(function* () {
      const input = readFileSync(path.join(fixtures, "strata-cases.jsonl"), "utf8")
      const cases = lines(input)
      const run = yield* strata(
        ["policy", "check", "--rules", path.join(fixtures, "strata-rules.toml"), "--isolated", "--jsonl"],
        input
      )
      expect(run.code).toBe(0)
      const out = lines(run.stdout)
      expect(out).toHaveLength(cases.length)
      expect(out.map((o) => [o["id"], o["decision"]])).toEqual(cases.map((c) => [c["id"], c["expected"]]))
    })
  )

  it.live("answers a bad line with an error line and goes on", () =>
    Effect.gen(function* () {
      const input = [
        '{"id": "a", "command": "ls"}',
        "not json",
        '{"id": 2, "cmd": "ls"}',
        "",
        "[1, 2]",
        '{"id": "b", "command": "rm -rf /"}',
        '{"command": "ls"}'
      ].join("\n")
      const run = yield* strata(
        ["policy", "check", "--rules", path.join(fixtures, "sample-rules.toml"), "--isolated", "--jsonl"],
        input
      )
      expect(run.code).toBe(0)
      const out = lines(run.stdout)
      expect(out.map((o) => [o["id"], o["decision"] ?? "error"])).toEqual([
        ["a", "allow"],
        [null, "error"],
        [2, "error"],
        [null, "error"],
        ["b", "deny"],
        [null, "allow"]
      ])
      expect(String(out[1]!["error"])).toContain("invalid JSON")
      expect(out[2]!["error"]).toBe('missing "command" string')
      expect(out[4]).toMatchObject({ commands: [{ argv: ["rm", "-rf", "/"], rule: { line: 23 } }] })
    })
  )

  it.live("streams a large batch in order", () =>
    Effect.gen(function* () {
      const commands = Array.from({ length: 3_000 }, (_, i) =>
        i % 3 === 0 ? "ls -la" : i % 3 === 1 ? `git status && rm -rf b${i}` : `echo $(touch f${i})`
      )
      const input = commands.map((command, i) => JSON.stringify({ id: i, command })).join("\n")
      const run = yield* strata(
        ["policy", "check", "--rules", path.join(fixtures, "sample-rules.toml"), "--isolated", "--jsonl"],
        input
      )
      const out = lines(run.stdout)
      expect(out.map((o) => o["id"])).toEqual(commands.map((_, i) => i))
      expect(out.map((o) => o["decision"])).toEqual(commands.map((_, i) => ["allow", "deny", "ask"][i % 3]))
    })
  )
})

describe("strata policy check -- <command>", () => {
  it.live("prints the decision and its explanation", () =>
    Effect.gen(function* () {
      const rules = path.join(fixtures, "sample-rules.toml")
      const run = yield* strata(["policy", "check", "--rules", rules, "--", "git status && rm -rf build"])
      expect(run.code).toBe(0)
      expect(run.stdout).toContain("deny: git status && rm -rf build")
      expect(run.stdout).toContain(`${rules}:23`)
      expect(run.stdout).toContain("never delete trees")
    })
  )

  it.live("joins the words after -- and prints JSON with --json", () =>
    Effect.gen(function* () {
      const run = yield* strata([
        "policy",
        "check",
        "--rules",
        path.join(fixtures, "sample-rules.toml"),
        "--json",
        "--",
        "echo",
        "hi",
        ">",
        "notes.txt"
      ])
      const d = JSON.parse(run.stdout) as { decision: string; command: string; reasons: Array<{ code: string }> }
      expect(d.command).toBe("echo hi > notes.txt")
      expect(d.decision).toBe("ask")
      expect(d.reasons.map((r) => r.code)).toEqual(["output-redirection"])
    })
  )

  it.live("applies --approval", () =>
    Effect.gen(function* () {
      const rules = path.join(fixtures, "sample-rules.toml")
      const run = yield* strata(["policy", "check", "--rules", rules, "--approval", "never", "--json", "--", "touch x"])
      expect(JSON.parse(run.stdout)).toMatchObject({ decision: "deny", policy_decision: "ask", approval: "never" })
    })
  )

  it.live("layers the user's rule file under --rules, unless --isolated", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const home = yield* fs.makeTempDirectoryScoped()
      yield* fs.makeDirectory(path.join(home, ".config", "strata"), { recursive: true })
      yield* fs.writeFileString(
        path.join(home, ".config", "strata", "policy.toml"),
        '[[rule]]\nprefix = ["touch"]\ndecision = "deny"\n'
      )
      const rules = path.join(fixtures, "sample-rules.toml")
      const layered = yield* strata(["policy", "check", "--rules", rules, "--json", "--", "touch x"], "", home)
      expect(JSON.parse(layered.stdout)).toMatchObject({ decision: "deny" })
      const isolated = yield* strata(
        ["policy", "check", "--isolated", "--rules", rules, "--json", "--", "touch x"],
        "",
        home
      )
      expect(JSON.parse(isolated.stdout)).toMatchObject({ decision: "ask" })
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("reports a malformed rule file with file, line and column, exit code 1", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const file = path.join(dir, "bad.toml")
      yield* fs.writeFileString(file, '[[rule]]\nprefix = ["ls"]\ndecision = "perhaps"\n')
      const run = yield* strata(["policy", "check", "--rules", file, "--", "ls"])
      expect(run.code).toBe(1)
      expect(run.stdout).toBe("")
      expect(run.stderr).toContain(`${file}:3:1: rule #1 ["ls"]: unknown decision "perhaps"`)
      const missing = yield* strata(["policy", "check", "--rules", path.join(dir, "none.toml"), "--", "ls"])
      expect(missing.code).toBe(1)
      expect(missing.stderr).toContain("no such rule file")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("refuses a call with nothing to check, or with bad options", () =>
    Effect.gen(function* () {
      const nothing = yield* strata(["policy", "check"])
      expect(nothing.code).toBe(1)
      expect(nothing.stderr).toContain("nothing to check")
      const badMode = yield* strata(["policy", "check", "--approval", "sometimes", "--", "ls"])
      expect(badMode.code).toBe(2)
    })
  )
})

describe("strata --version", () => {
  it.live("prints the package version", () =>
    Effect.gen(function* () {
      const pkg = JSON.parse(readFileSync(path.join(appDir, "package.json"), "utf8")) as { version: string }
      expect(version).toBe(pkg.version)
      const run = yield* strata(["--version"])
      expect(run.stdout.trim()).toBe(pkg.version)
      expect(run.code).toBe(0)
    })
  )
})
