// RuntimePolicy: the layers of a session's exec policy, read from real files in a temp
// project and home, and Config.effective: every effective value with its origin.
import { FileSystem } from "@effect/platform/FileSystem"
import { Path } from "@effect/platform/Path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Config, RuntimeConfig } from "@strata/core-runtime"
import * as RuntimePolicy from "@strata/core-runtime/RuntimePolicy"
import * as ExecPolicy from "@strata/exec-policy/ExecPolicy"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

describe("RuntimePolicy", () => {
  it.scoped("layers: built-in < distribution < user (XDG, ~/.strata) < project < config < command line", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem
      const path = yield* Path
      const root = yield* fs.makeTempDirectoryScoped({ prefix: "strata-policy-" })
      const home = path.join(root, "home")
      const cwd = path.join(root, "project")
      const write = (file: string, text: string) =>
        Effect.zipRight(fs.makeDirectory(path.dirname(file), { recursive: true }), fs.writeFileString(file, text))
      yield* write(path.join(home, ".config/strata/policy.toml"), '[[rule]]\nprefix = ["touch"]\ndecision = "deny"\n')
      yield* write(path.join(cwd, ".strata/policy.toml"), '[[rule]]\nprefix = ["cp"]\ndecision = "allow"\n')
      yield* write(path.join(cwd, "team.toml"), '[[rule]]\nprefix = ["rm"]\ndecision = "deny"\n')
      yield* write(path.join(root, "dist.toml"), '[[rule]]\nprefix = ["ls"]\ndecision = "allow"\n')
      yield* write(path.join(home, "mine.toml"), '[[rule]]\nprefix = ["cat"]\ndecision = "allow"\n')
      const options = { cwd, env: { HOME: home, XDG_CONFIG_HOME: "" }, distribution: [path.join(root, "dist.toml")] }
      const made = yield* RuntimePolicy.make({ rules: ["team.toml", "~/mine.toml"], builtin: true }, options)
      expect(made.layers.map((l) => [l.name, l.file?.replace(root, "<root>"), l.loaded])).toEqual([
        ["built-in", undefined, true],
        ["distribution", "<root>/dist.toml", true],
        ["user", "<root>/home/.config/strata/policy.toml", true],
        ["user", "<root>/home/.strata/policy.toml", false],
        ["project", "<root>/project/.strata/policy.toml", true],
        ["config", "<root>/project/team.toml", true],
        ["config", "<root>/home/mine.toml", true]
      ])
      const decide = (command: string) => made.policy.checkSync(command).decision
      expect([
        decide("ls"),
        decide("touch x"),
        decide("cp a b"),
        decide("rm x"),
        decide("cat x"),
        decide("mv a b")
      ]).toEqual(["allow", "deny", "allow", "deny", "allow", "ask"])
      const bare = yield* RuntimePolicy.make({ rules: [], builtin: false }, { ...options, isolated: true })
      expect(bare.layers).toEqual([])
      expect(bare.policy.checkSync("touch x").decision).toBe("ask")
      const missing = yield* Effect.flip(RuntimePolicy.make({ rules: ["nope.toml"], builtin: true }, options))
      expect(missing.message).toContain("nope.toml")
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped(
    "approved.toml changed by another session is in force at the next check; a file that no longer loads keeps the last good policy",
    () =>
      Effect.gen(function* () {
        const fs = yield* FileSystem
        const path = yield* Path
        const cwd = yield* fs.makeTempDirectoryScoped({ prefix: "strata-approved-" })
        const file = path.join(cwd, ".strata/approved.toml")
        const options = { cwd, env: { HOME: path.join(cwd, "home") } }
        // two sessions on one project, each its own layer (as two processes would build them)
        const session = () =>
          Effect.gen(function* () {
            const context = yield* Layer.build(RuntimePolicy.layer({ rules: [], builtin: true }, options))
            return {
              policy: Context.get(context, ExecPolicy.ExecPolicy),
              approved: Context.get(context, RuntimePolicy.ApprovedRules)
            }
          })
        const a = yield* session()
        const b = yield* session()
        const decide = (command: string) => Effect.map(b.policy.check(command), (d) => d.decision)
        expect(yield* decide("touch made.txt")).toBe("ask")
        expect(yield* a.approved.approveAlways("touch made.txt")).toHaveLength(1)
        expect(yield* decide("touch made.txt")).toBe("allow")
        expect(b.policy.checkSync("touch made.txt").decision).toBe("allow")
        // a deny rule written by hand is taken up too
        yield* fs.writeFileString(
          file,
          `${yield* fs.readFileString(file)}[[rule]]\nprefix = ["rm"]\ndecision = "deny"\n`
        )
        expect(yield* decide("rm x")).toBe("deny")
        // half a rule: b keeps the policy that loaded (the deny rule included) and says why, once
        const good = yield* fs.readFileString(file)
        yield* fs.writeFileString(file, `${good}[[rule]]\nprefix = ["cp"\n`)
        expect(yield* decide("rm x")).toBe("deny")
        expect(yield* decide("touch made.txt")).toBe("allow")
        expect(b.approved.reloadError?._tag).toBe("RuleFileError")
        expect(b.approved.reloadError?.message).toContain("approved.toml")
        expect(yield* b.approved.refresh).toBe(false)
        // written in full: in force again, the error gone
        yield* fs.writeFileString(file, `${good}[[rule]]\nprefix = ["cp"]\ndecision = "allow"\n`)
        expect(yield* decide("cp a b")).toBe("allow")
        expect(yield* decide("rm x")).toBe("deny")
        expect(b.approved.reloadError).toBeUndefined()
        // removed: its rules are gone
        yield* fs.remove(file)
        expect(yield* decide("cp a b")).toBe("ask")
      }).pipe(Effect.provide(NodeContext.layer))
  )

  // covers: issue 19 part 1
  it.scoped(
    "deferred (a session's policy): the same decisions; a failing example is an error of ready, not of make",
    () =>
      Effect.gen(function* () {
        const fs = yield* FileSystem
        const path = yield* Path
        const cwd = yield* fs.makeTempDirectoryScoped({ prefix: "strata-policy-" })
        const file = path.join(cwd, ".strata/policy.toml")
        yield* fs.makeDirectory(path.dirname(file), { recursive: true })
        yield* fs.writeFileString(file, '[[rule]]\nprefix = ["cp"]\ndecision = "allow"\nmatch = ["cp a b"]\n')
        const options = { cwd, env: { HOME: path.join(cwd, "home") }, deferred: true }
        const made = yield* RuntimePolicy.make({ rules: [], builtin: true }, options)
        expect(made.layers.find((l) => l.name === "project")?.loaded).toBe(true)
        expect((yield* made.policy.check("cp a b")).decision).toBe("allow")
        expect((yield* made.policy.check("mv a b")).decision).toBe("ask")
        yield* fs.writeFileString(file, '[[rule]]\nprefix = ["cp"]\ndecision = "allow"\nmatch = ["mv a b"]\n')
        const failing = yield* RuntimePolicy.make({ rules: [], builtin: true }, options)
        const error = yield* Effect.flip(failing.policy.ready)
        expect(error).toMatchObject({ _tag: "RuleFileError", reason: "ExampleFailed", file, line: 4 })
        // the eager form (strata policy check) fails at once with the same error
        const eager = yield* Effect.flip(
          RuntimePolicy.make({ rules: [], builtin: true }, { ...options, deferred: false })
        )
        expect(eager.message).toBe(error.message)
      }).pipe(Effect.provide(NodeContext.layer))
  )
})

describe("Config.effective", () => {
  it.effect("every effective value with its origin, defaults included", () =>
    Effect.gen(function* () {
      const loaded = yield* Config.load(RuntimeConfig.RuntimeConfig, [
        { _tag: "Text", name: "project.toml", text: "max_turns = 7\n[jobs]\nconcurrency = 2\n" },
        { _tag: "Env", env: { STRATA_MODEL: "m" } }
      ])
      const entries = new Map(Config.effective(RuntimeConfig.RuntimeConfig, loaded).map((e) => [e.key, e]))
      expect(Config.originText(entries.get("max_turns")!.origin)).toBe("project.toml:1")
      expect(Config.originText(entries.get("jobs.concurrency")!.origin)).toBe("project.toml:3")
      expect(Config.originText(entries.get("model")!.origin)).toBe("env STRATA_MODEL")
      expect(entries.get("approval_policy")).toMatchObject({ value: "on-request", origin: { source: "defaults" } })
      expect(Config.showEffective(RuntimeConfig.RuntimeConfig, loaded)).toContain('storage.kind = "fs"  # default')
    }).pipe(Effect.provide(NodeContext.layer))
  )

  // covers: issue 17 part 4
  it.effect("an alias the schema declares (max_model_calls) sets its key, and its origin names the alias's line", () =>
    Effect.gen(function* () {
      const loaded = yield* Config.load(RuntimeConfig.RuntimeConfig, [
        { _tag: "Text", name: "user.toml", text: "max_turns = 4\n" },
        { _tag: "Text", name: "project.toml", text: 'model = "m"\nmax_model_calls = 7\n' }
      ])
      expect(loaded.value.max_turns).toBe(7)
      expect(loaded.warnings).toEqual([])
      const entries = new Map(Config.effective(RuntimeConfig.RuntimeConfig, loaded).map((e) => [e.key, e]))
      expect(Config.originText(entries.get("max_turns")!.origin)).toBe("project.toml:2")
      const fromEnv = yield* Config.load(RuntimeConfig.RuntimeConfig, [
        { _tag: "Env", env: { STRATA_MAX_MODEL_CALLS: "3" } }
      ])
      expect(fromEnv.value.max_turns).toBe(3)
      const both = yield* Effect.flip(
        Config.load(RuntimeConfig.RuntimeConfig, [
          { _tag: "Text", name: "both.toml", text: "max_turns = 4\nmax_model_calls = 7\n" }
        ])
      )
      expect(both).toMatchObject({ file: "both.toml", line: 2, path: "max_model_calls" })
      const invalid = yield* Effect.flip(
        Config.load(RuntimeConfig.RuntimeConfig, [{ _tag: "Text", name: "bad.toml", text: "max_model_calls = -1\n" }])
      )
      expect(invalid).toMatchObject({ file: "bad.toml", line: 1, path: "max_turns" })
    }).pipe(Effect.provide(NodeContext.layer))
  )
})
