/**
 * The file tools under the runtime's protected paths, through the built
 * `strata`: a call that declares access (`fileAccess`) to one of the
 * runtime's own control files (`.strata/`, `.git/hooks/`, `.git/config`,
 * `.claude/settings*.json`) is asked about like a shell command naming it
 * (the turn waits for a person; under `--approval never`, denied and
 * nothing written, the model told why); a write
 * that reaches one through a symlink the model planted is refused by the
 * tool (the real path is checked, not the name); approved (`--yes`), it runs.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import { call, jsonLines, providerToml, withModel, withProject } from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

type Result = { readonly ok: boolean; readonly status: string; readonly reason?: string; readonly error?: string }
const results = (stdout: string) =>
  jsonLines(stdout)
    .filter((e) => e.event === "tool_call_result")
    .map((e) => e.result as Result)

describe.concurrent("file tools and protected paths", { timeout: 180_000 }, () => {
  it("a declared access to a protected path is asked about: denied under approval never, nothing written", async () => {
    await withProject(async (p) => {
      mkdirSync(path.join(p.dir, ".git/hooks"), { recursive: true })
      const patch = ["--- /dev/null", "+++ b/.claude/settings.json", "@@ -0,0 +1 @@", "+{}", ""].join("\n")
      await withModel(
        {
          turns: [
            call("fs__write_file", { path: ".git/hooks/pre-commit", content: "#!/bin/sh\necho pwned\n" }),
            call("fs__write_file", {
              path: ".strata/policy.toml",
              content: 'prefix_rule(pattern = ["rm"], decision = "allow")\n'
            }),
            call("fs__edit", { path: ".strata/config.toml", old_string: "scripted", new_string: "other" }),
            call("fs__apply_patch", { patch }),
            call("fs__read_file", { path: "./sub/../.git/config" }),
            call("fs__write_file", { path: "notes.txt", content: "fine\n" }),
            { text: "done" }
          ]
        },
        async (server) => {
          p.config(providerToml(server))
          writeFileSync(path.join(p.dir, ".git/config"), "[core]\n")
          const config = readFileSync(path.join(p.dir, ".strata/config.toml"), "utf8")
          const run = await p.strata(["run", "--json", "--approval", "never", "try the control files"])
          // the run ends (denied calls are answered to the model, which goes on)
          expect(jsonLines(run.stdout).at(-1), run.stderr).toMatchObject({ event: "run_result" })
          const [hook, policy, edit, patched, read, notes] = results(run.stdout)
          for (const r of [hook, policy, edit, patched, read]) {
            expect(r).toMatchObject({ ok: false, status: "denied" })
            expect(r!.reason).toContain("protected path")
          }
          expect(hook!.reason).toContain(".git/hooks/")
          expect(notes).toMatchObject({ ok: true, status: "completed" })
          expect(existsSync(path.join(p.dir, ".git/hooks/pre-commit"))).toBe(false)
          expect(existsSync(path.join(p.dir, ".strata/policy.toml"))).toBe(false)
          expect(existsSync(path.join(p.dir, ".claude/settings.json"))).toBe(false)
          expect(readFileSync(path.join(p.dir, ".strata/config.toml"), "utf8")).toBe(config)
          expect(p.read("notes.txt")).toBe("fine\n")
        }
      )
    })
  })

  it("a write through a planted symlink to a protected directory is refused by the tool, even approved by name", async () => {
    await withProject(async (p) => {
      mkdirSync(path.join(p.dir, ".git/hooks"), { recursive: true })
      symlinkSync(".git/hooks", path.join(p.dir, "hooks"))
      await withModel(
        {
          turns: [
            call("fs__write_file", { path: "hooks/post-checkout", content: "#!/bin/sh\necho pwned\n" }),
            { text: "done" }
          ]
        },
        async (server) => {
          p.config(providerToml(server))
          const run = await p.strata(["run", "--json", "--yes", "plant a hook"])
          expect(run.code, run.stderr).toBe(0)
          const [written] = results(run.stdout)
          expect(written).toMatchObject({ ok: false })
          expect(JSON.stringify(written)).toContain("protected")
          expect(existsSync(path.join(p.dir, ".git/hooks/post-checkout"))).toBe(false)
        }
      )
    })
  })

  it("approved (--yes), a declared write to a protected path runs", async () => {
    await withProject(async (p) => {
      await withModel(
        { turns: [call("fs__write_file", { path: ".strata/notes.md", content: "kept\n" }), { text: "done" }] },
        async (server) => {
          p.config(providerToml(server))
          const run = await p.strata(["run", "--json", "--yes", "write a note"])
          expect(run.code, run.stderr).toBe(0)
          const [written] = results(run.stdout)
          expect(written).toMatchObject({ ok: true, status: "completed" })
          expect(p.read(".strata/notes.md")).toBe("kept\n")
          expect(jsonLines(run.stdout).some((e) => e.event === "approval_requested")).toBe(true)
        }
      )
    })
  })
})

describe("a shell command is judged where it runs", { timeout: 180_000 }, () => {
  it("a command run in .git (workdir) that names hooks is asked about: denied under approval never", async () => {
    await withProject(async (p) => {
      mkdirSync(path.join(p.dir, ".git/hooks"), { recursive: true })
      writeFileSync(path.join(p.dir, ".git/hooks/post-merge-e2e"), "#!/bin/sh\n")
      await withModel(
        {
          turns: [
            // `ls` is allowed by the built-in rules; `hooks` here is .git/hooks, a protected path
            call("shell__exec", { command: "ls hooks", workdir: ".git" }),
            call("shell__exec", { command: "ls", workdir: "docs" }),
            { text: "done" }
          ]
        },
        async (server) => {
          mkdirSync(path.join(p.dir, "docs"))
          writeFileSync(path.join(p.dir, "docs/README.md"), "plain docs\n")
          p.config(providerToml(server))
          const run = await p.strata(["run", "--json", "--approval", "never", "list the hooks"])
          expect(jsonLines(run.stdout).at(-1), run.stderr).toMatchObject({ event: "run_result" })
          const [hooks, docs] = results(run.stdout)
          expect(hooks).toMatchObject({ ok: false, status: "denied" })
          expect(hooks!.reason).toContain("holds protected paths")
          expect(run.stdout).not.toContain("post-merge-e2e")
          // the same command elsewhere runs
          expect(docs).toMatchObject({ ok: true, status: "completed" })
          expect(JSON.stringify(docs)).toContain("README.md")
        }
      )
    })
  })
})
