/**
 * The start-up profile through the built `strata`: `--profile-startup` and
 * `STRATA_PROFILE_STARTUP=1` print where the time went, on stderr, without
 * touching the `--json` stdout; the built-in plugins load from the bundle and
 * MCP is not loaded when no server is configured; the bash grammar of the
 * exec policy loads when the model's reply names a shell tool (before the
 * first shell command is judged), not at start, and a rule
 * example that fails is still a typed error naming file and rule, before
 * any command is decided (and from `config validate` / `policy check`).
 */
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import { jsonLines, type Project, providerToml, withModel, withProject } from "./harness.js"

const demo = { env: { STRATA_DEMO: "1" } }
/** A project rule whose `match` example does not match it (rule #2, the example on line 8). */
const failingExample =
  '[[rule]]\nprefix = ["ls"]\ndecision = "allow"\n\n[[rule]]\nprefix = ["cat"]\ndecision = "allow"\nmatch = ["head x"]\n'

beforeAll(() => ensureBuilt(), 300_000)

describe.concurrent("start-up profile", { timeout: 180_000 }, () => {
  it("--profile-startup: every phase of a text turn on stderr, stdout still only JSON lines", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "profiled answer", repeat: true }] }, async (server) => {
        p.config(providerToml(server))
        const run = await p.strata(["run", "--profile-startup", "--json", "hi"])
        expect(run.code).toBe(0)
        const events = jsonLines(run.stdout)
        expect(events.at(-1)).toMatchObject({ event: "run_result", outcome: "completed", output: "profiled answer" })
        const profile = run.stderr.slice(run.stderr.indexOf("startup profile"))
        for (const phase of [
          "modules loaded",
          "Distribution.setup",
          "RuntimePolicy.make",
          "PluginLoader.import @strata/plugin-shell",
          "Plugin.build fs",
          "Runtime.turn",
          "Runtime.modelCall"
        ]) {
          expect(profile).toContain(phase)
        }
        const first = Number(/first request to the model at ([\d.]+) ms/.exec(profile)?.[1])
        const ended = Number(/ended at ([\d.]+) ms/.exec(profile)?.[1])
        expect(first).toBeGreaterThan(0)
        expect(ended).toBeGreaterThan(first)
        expect(profile).toMatch(/peak RSS [\d.]+ MiB/)
        // no MCP server configured: the MCP manager never opened a connection
        expect(profile).not.toContain("McpManager.startAll")
        // without the flag, no profile
        const plain = await p.strata(["run", "--json", "hi"])
        expect(plain.code).toBe(0)
        expect(plain.stderr).not.toContain("startup profile")
      })
    })
  })

  it("STRATA_PROFILE_STARTUP=1 asks for it too, on any command", async () => {
    await withProject(async (p) => {
      const run = await p.strata(["threads", "list"], { env: { STRATA_PROFILE_STARTUP: "1" } })
      expect(run.code).toBe(0)
      expect(run.stderr).toContain("startup profile")
      expect(run.stderr).toContain("modules loaded")
    })
  })

  // covers: issue 19 (start-up of status)
  it("status --profile-startup: its phases on stderr, one listing of the store, the same report on stdout", async () => {
    await withProject(async (p) => {
      // one thread (the demo stops at its first approval: exit code 3)
      expect((await p.strata(["run", "--json", "hi"], demo)).code).toBe(3)
      const plain = await p.strata(["status"], demo)
      const profiled = await p.strata(["status", "--profile-startup"], demo)
      expect(profiled.code, profiled.stderr).toBe(0)
      expect(profiled.stdout).toBe(plain.stdout)
      expect(plain.stdout).toMatch(/threads\s+1 \(0 archived\)/)
      expect(plain.stderr).not.toContain("startup profile")
      const profile = profiled.stderr.slice(profiled.stderr.indexOf("startup profile"))
      for (const phase of ["modules loaded", "Status.config", "Status.model", "Status.sandbox", "Status.store"]) {
        expect(profile).toContain(phase)
      }
      // the threads and the damaged records come from one listing
      expect(profile.match(/StateStore\.listThreads/g)).toHaveLength(1)
      expect(profile).not.toContain("StateStore.listDamaged")
      expect(profile).toMatch(/ended at [\d.]+ ms/)
      const json = await p.strata(["status", "--json", "--profile-startup"], demo)
      expect(json.code).toBe(0)
      expect(JSON.parse(json.stdout)).toMatchObject({ threads: { total: 1, archived: 0, damaged: 0 } })
      expect(json.stderr).toContain("Status.store")
    })
  })

  // covers: issue 19 part 1
  it("the bash grammar loads when the reply names a shell tool, before the call is judged: not for a text turn, once for the demo's tool calls", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "no tools", repeat: true }] }, async (server) => {
        p.config(providerToml(server))
        const text = await p.strata(["run", "--profile-startup", "--json", "hi"])
        expect(text.code, text.stderr).toBe(0)
        expect(text.stderr).toContain("RuntimePolicy.make")
        expect(text.stderr).not.toContain("ExecPolicy.ready")
      })
    })
    await withProject(async (p) => {
      const tools = await p.strata(["run", "--profile-startup", "--json", "--yes", "show me the demo"], demo)
      expect(tools.code, tools.stderr).toBe(0)
      expect(p.exists("strata-demo.txt")).toBe(true)
      expect(tools.stderr).toMatch(/\n\s+[\d.]+\s+[\d.]+\s+ExecPolicy\.ready\n/)
      expect(tools.stderr.match(/ExecPolicy\.ready/g)).toHaveLength(1)
      // it starts while the reply naming the shell tool is written, before the first call is judged
      const startOf = (span: string) =>
        Number(new RegExp(`\\n\\s+([\\d.]+)\\s+[\\d.]+\\s+${span.replace(".", "\\.")}\\b`).exec(tools.stderr)?.[1])
      expect(startOf("ExecPolicy.ready")).toBeLessThan(startOf("Runtime.invokeTool"))
      expect(startOf("ExecPolicy.ready")).toBeGreaterThan(startOf("Runtime.modelCall"))
    })
  })

  // covers: issue 19 part 1
  it("Node's built-in modules a turn does not use are not loaded: no https, tls, crypto, child_process or readline for a text turn on http:", async () => {
    // Node's own list of the built-in modules it loaded, written when the process exits
    const loadedBuiltins = async (p: Project, args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
      const list = `${p.dir}/.builtins.txt`
      const preload = p.write(
        ".builtins.cjs",
        `process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join("\\n")))\n`
      )
      const run = await p.strata(args, { env: { ...env, NODE_OPTIONS: `--require ${preload}` } })
      expect(run.code, run.stderr).toBe(0)
      return new Set(
        p
          .read(".builtins.txt")
          .split("\n")
          .filter((m) => m.startsWith("NativeModule "))
          .map((m) => m.slice("NativeModule ".length))
      )
    }
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "plain", repeat: true }] }, async (server) => {
        p.config(providerToml(server))
        const text = await loadedBuiltins(p, ["run", "--json", "hi"])
        expect(text.has("http")).toBe(true)
        for (const unused of ["https", "tls", "crypto", "child_process", "dgram", "readline"]) {
          expect(text.has(unused), unused).toBe(false)
        }
      })
    })
    await withProject(async (p) => {
      // the demo's tool calls run commands: child_process loads when the first one runs
      const tools = await loadedBuiltins(p, ["run", "--json", "--yes", "show me the demo"], demo.env)
      expect(p.exists("strata-demo.txt")).toBe(true)
      expect(tools.has("child_process")).toBe(true)
      expect(tools.has("readline")).toBe(false)
      // the grammar runtime's import("module") is a require: Node's ES module loader does not start for it
      expect(tools.has("internal/modules/esm/module_job")).toBe(false)
      expect(tools.has("internal/modules/esm/translators")).toBe(false)
    })
  })

  it("a rule example that fails: a typed error naming file and rule before the first command is decided; config validate and policy check report it", async () => {
    await withProject(async (p) => {
      const file = p.write(".strata/policy.toml", failingExample)
      const where = `${file}:8: rule #2 ["cat"]: match example "head x" does not match the rule`
      // the first shell command: the turn fails with the rule file's error, nothing runs
      const run = await p.strata(["run", "--json", "--yes", "run: touch made.txt"], demo)
      expect(run.code).toBe(1)
      expect(p.exists("made.txt")).toBe(false)
      const result = jsonLines(run.stdout).at(-1)
      expect(result).toMatchObject({
        event: "run_result",
        outcome: "failed",
        error: { type: "RuleFileError", reason: "ExampleFailed", message: where }
      })
      expect(jsonLines(run.stdout).some((e) => e.event === "tool_call_result")).toBe(false)
      const plain = await p.strata(["run", "--yes", "run: touch made.txt"], demo)
      expect(plain.code).toBe(1)
      expect(plain.stderr).toContain(`strata: ${where} (fix the rule file`)
      // without running anything
      const validate = await p.strata(["config", "validate"])
      expect(validate.code).toBe(1)
      expect(validate.stderr).toContain(where)
      const check = await p.strata(["policy", "check", "--", "ls"])
      expect(check.code).toBe(1)
      expect(check.stderr).toContain(where)
      // fixed: every one of them works again
      p.write(".strata/policy.toml", failingExample.replace("head x", "cat x"))
      expect((await p.strata(["config", "validate"])).code).toBe(0)
      const fixed = await p.strata(["run", "--json", "--yes", "run: touch made.txt"], demo)
      expect(fixed.code, fixed.stderr).toBe(0)
      expect(p.exists("made.txt")).toBe(true)
    })
  })
})
