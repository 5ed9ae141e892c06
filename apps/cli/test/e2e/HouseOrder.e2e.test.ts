/**
 * Issue 17 through the built `strata`. Part 1: public operations are spans
 * (`Effect.fn("Service.op")`), seen in `--profile-startup`. Part 4: the model-call counter answers
 * to `max_model_calls` (an alias of `max_turns`, declared once on the config
 * schema) in `config show`, `config validate` and a real run; and thread ids
 * typed on the command line are decoded at the edge, so a malformed one is
 * refused naming the argument before any storage is touched.
 */
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import { call, jsonLines, providerToml, withModel, withProject } from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

describe.concurrent("house order (issue 17)", { timeout: 180_000 }, () => {
  // covers: issue 17 part 4
  it("max_model_calls is another name for max_turns: shown with the alias's line, validated, and it stops the run", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [call("shell__exec", { command: "ls" }, { repeat: true })] }, async (server) => {
        // covers: max_turns
        p.config(["max_model_calls = 3", providerToml(server)].join("\n"))
        const line = p.read(".strata/config.toml").split("\n").indexOf("max_model_calls = 3") + 1
        const shown = await p.strata(["config", "show"])
        expect(shown.code, shown.stderr).toBe(0)
        expect(shown.stdout).toContain(`max_turns = 3  # ${p.dir}/.strata/config.toml:${line}`)
        expect(shown.stdout).not.toContain("unknown key")
        const validated = await p.strata(["config", "validate"])
        expect(validated.stdout).toBe("config ok\n")
        const run = await p.strata(["run", "--json", "list"])
        expect(run.code, run.stderr).toBe(4)
        expect(server.requests).toHaveLength(3)
        expect(jsonLines(run.stdout).find((e) => e.event === "run_result")).toMatchObject({ outcome: "max_turns" })
      })
    })
  })

  // covers: issue 17 part 4
  it("setting both names is refused naming the file, line and alias; a bad value under the alias names it too", async () => {
    await withProject(async (p) => {
      p.config("max_turns = 5\nmax_model_calls = 6\n")
      const both = await p.strata(["config", "validate"])
      expect(both.code).toBe(1)
      expect(both.stderr).toMatch(/config\.toml:2.*max_model_calls.*max_turns/)
      p.config("max_model_calls = 0\n")
      const bad = await p.strata(["config", "validate"])
      expect(bad.code).toBe(1)
      expect(bad.stderr).toMatch(/config\.toml:1.*max_turns/)
      p.config("")
      const env = await p.strata(["config", "show"], { env: { STRATA_MAX_MODEL_CALLS: "9" } })
      expect(env.code, env.stderr).toBe(0)
      expect(env.stdout).toContain("max_turns = 9  # env STRATA_MAX_MODEL_CALLS")
    })
  })

  // covers: issue 17 part 4
  it("a thread id from the command line is decoded at the edge: a malformed one is a usage error naming it", async () => {
    await withProject(async (p) => {
      for (const args of [
        ["threads", "show", "../etc"],
        ["threads", "rename", "a/b", "x"],
        ["run", "--thread", "..", "hi"]
      ]) {
        const run = await p.strata(args)
        expect(run.code, `${args.join(" ")}: ${run.stdout}${run.stderr}`).not.toBe(0)
        expect(`${run.stdout}${run.stderr}`).toMatch(/ThreadId/)
      }
      // a well-formed id that names no thread still reads as before
      const missing = await p.strata(["threads", "show", "thread-nope"])
      expect(missing.code).toBe(1)
      expect(missing.stderr.trim()).toBe("strata: no thread thread-nope (see strata threads list)")
    })
  })

  // covers: issue 17 part 1
  it("public operations are spans: a run's profile shows the turn runner's operation around the turn, and the config load", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "traced", repeat: true }] }, async (server) => {
        p.config(providerToml(server))
        const run = await p.strata(["run", "--profile-startup", "--json", "hi"])
        expect(run.code, run.stderr).toBe(0)
        const profile = run.stderr.slice(run.stderr.indexOf("startup profile"))
        // "  <start>  <duration>  <phase>" per span
        const span = (name: string) => {
          const m = new RegExp(`^\\s*([\\d.]+)\\s+([\\d.]+)\\s+${name.replace(".", "\\.")}$`, "m").exec(profile)
          expect(m, `${name} in\n${profile}`).not.toBeNull()
          return { start: Number(m![1]), end: Number(m![1]) + Number(m![2]) }
        }
        const prompt = span("TurnRunner.handlePrompt")
        const turn = span("Runtime.turn")
        expect(prompt.start).toBeLessThanOrEqual(turn.start)
        expect(prompt.end).toBeGreaterThanOrEqual(turn.end)
        span("Config.load")
        span("ModelRegistry.resolve")
      })
    })
  })
})
