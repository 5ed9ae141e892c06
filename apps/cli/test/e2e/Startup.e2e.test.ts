/**
 * The start-up profile through the built `strata`: `--profile-startup` and
 * `STRATA_PROFILE_STARTUP=1` print where the time went, on stderr, without
 * touching the `--json` stdout; the built-in plugins load from the bundle and
 * MCP is not loaded when no server is configured.
 */
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import { jsonLines, providerToml, withModel, withProject } from "./harness.js"

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
          "PluginLoader.import @strata/plugin-shell/node",
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
})
