import { FileSystem } from "@effect/platform/FileSystem"
import { Path } from "@effect/platform/Path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Config } from "@strata/core-runtime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

const TestSchema = Schema.Struct({
  model: Schema.optional(Schema.String),
  max_turns: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 100))),
  providers: Schema.optional(
    Schema.Record({
      key: Schema.String,
      value: Schema.Struct({
        kind: Schema.Literal("openai-compatible", "anthropic"),
        base_url: Schema.String,
        api_key_env: Schema.optional(Schema.String)
      })
    })
  ),
  mcp_servers: Schema.optional(
    Schema.Record({
      key: Schema.String,
      value: Schema.Struct({ command: Schema.String, args: Schema.optional(Schema.Array(Schema.String)) })
    })
  ),
  rule: Schema.optional(
    Schema.Array(
      Schema.Struct({ prefix: Schema.Array(Schema.String), decision: Schema.Literal("allow", "ask", "deny") })
    )
  )
})

const writeTree = (files: Record<string, string>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem
    const path = yield* Path
    const dir = yield* fs.makeTempDirectoryScoped()
    for (const [name, text] of Object.entries(files)) {
      yield* fs.makeDirectory(path.dirname(path.join(dir, name)), { recursive: true })
      yield* fs.writeFileString(path.join(dir, name), text)
    }
    return dir
  })

describe("Config", () => {
  it.scoped("layers defaults < user < project < env < cli, keeping each value's origin", () =>
    Effect.gen(function* () {
      const dir = yield* writeTree({
        "home/.strata/config.toml":
          'model = "user-model"\nmax_turns = 5\n\n[providers.local]\nkind = "openai-compatible"\nbase_url = "http://user"\n',
        "work/.strata/config.toml":
          '# project\nmodel = "project-model"\n\n[providers.local]\nbase_url = "http://project"\n'
      })
      const sources = yield* Config.standardSources({
        cwd: `${dir}/work`,
        home: `${dir}/home`,
        env: { STRATA_MAX_TURNS: "7", STRATA_PROVIDERS__LOCAL__API_KEY_ENV: "LOCAL_KEY", UNRELATED: "x" },
        cli: { model: "cli-model" },
        defaults: { max_turns: 1 }
      })
      const loaded = yield* Config.load(TestSchema, sources)
      expect(loaded.value).toStrictEqual({
        model: "cli-model",
        max_turns: 7,
        providers: { local: { kind: "openai-compatible", base_url: "http://project", api_key_env: "LOCAL_KEY" } }
      })
      expect(loaded.origins.get("model")).toStrictEqual({ source: "cli" })
      expect(loaded.origins.get("max_turns")).toStrictEqual({ source: "env", variable: "STRATA_MAX_TURNS" })
      expect(loaded.origins.get("providers.local.kind")).toStrictEqual({
        source: `${dir}/home/.strata/config.toml`,
        line: 5
      })
      expect(loaded.origins.get("providers.local.base_url")).toStrictEqual({
        source: `${dir}/work/.strata/config.toml`,
        line: 5
      })
      const shown = Config.show(loaded)
      expect(shown).toContain('providers.local.base_url = "http://project"  # ' + `${dir}/work/.strata/config.toml:5`)
      expect(shown).toContain("max_turns = 7  # env STRATA_MAX_TURNS")
      expect(loaded.warnings).toStrictEqual([])
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("malformed TOML names file, line and column", () =>
    Effect.gen(function* () {
      const dir = yield* writeTree({ "c.toml": 'model = "x"\nmax_turns = [1,\n' })
      const error = yield* Effect.flip(
        Config.load(TestSchema, [{ _tag: "File", path: `${dir}/c.toml`, optional: false }])
      )
      expect(error).toMatchObject({ _tag: "ConfigError", reason: "InvalidToml", file: `${dir}/c.toml`, line: 3 })
      expect(error.message).toMatch(new RegExp(`^${dir}/c.toml:3:\\d+: invalid TOML`))
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.effect("a bad value names file, line and field path", () =>
    Effect.gen(function* () {
      const text = '[mcp_servers.fs]\ncommand = "npx"\n\n[mcp_servers.mem]\ncommand = 42\n'
      const error = yield* Effect.flip(Config.load(TestSchema, [{ _tag: "Text", name: "project.toml", text }]))
      expect(error).toMatchObject({
        reason: "InvalidValue",
        file: "project.toml",
        line: 5,
        path: "mcp_servers.mem.command"
      })
      expect(error.message).toContain("project.toml:5 (mcp_servers.mem.command): Expected string, actual 42")
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.effect("a `__proto__` key in any table is refused with file and line; no prototype changes", () =>
    Effect.gen(function* () {
      for (const [text, line, path] of [
        ['[__proto__]\npolluted = "yes"\n', 1, "__proto__"],
        [
          'model = "m"\n[mcp_servers.fs]\ncommand = "npx"\n[mcp_servers.fs.__proto__]\npolluted = 1\n',
          4,
          "mcp_servers.fs.__proto__"
        ],
        ["[[hooks.PreToolUse]]\n__proto__ = { polluted = 1 }\n", 2, "hooks.PreToolUse[0].__proto__"]
      ] as const) {
        const error = yield* Effect.flip(Config.load(TestSchema, [{ _tag: "Text", name: "evil.toml", text }]))
        expect(error).toMatchObject({ reason: "InvalidValue", file: "evil.toml", line, path })
        expect(error.message).toContain('the key "__proto__" is not allowed')
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.effect("array-of-tables entries are located by index", () =>
    Effect.gen(function* () {
      const text = '[[rule]]\nprefix = ["ls"]\ndecision = "allow"\n\n[[rule]]\nprefix = ["rm"]\ndecision = "maybe"\n'
      const error = yield* Effect.flip(Config.load(TestSchema, [{ _tag: "Text", name: "rules.toml", text }]))
      expect(error).toMatchObject({ line: 7, path: "rule[1].decision" })
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.effect("a missing required field points at its table", () =>
    Effect.gen(function* () {
      const text = 'model = "m"\n\n[providers.x]\nkind = "anthropic"\n'
      const error = yield* Effect.flip(Config.load(TestSchema, [{ _tag: "Text", name: "p.toml", text }]))
      expect(error).toMatchObject({ path: "providers.x.base_url", line: 3 })
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.effect("unknown keys are warnings naming the key and where it is", () =>
    Effect.gen(function* () {
      const text = 'model = "m"\nmodle = "typo"\n\n[mcp_servers.fs]\ncommand = "npx"\ncwdd = "/x"\n'
      const loaded = yield* Config.load(TestSchema, [{ _tag: "Text", name: "p.toml", text }])
      expect(loaded.value).toStrictEqual({ model: "m", mcp_servers: { fs: { command: "npx" } } })
      expect(loaded.warnings.map((w) => w.message)).toStrictEqual([
        'unknown key "modle" in p.toml:2',
        'unknown key "mcp_servers.fs.cwdd" in p.toml:6'
      ])
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.effect("a bad environment value names the variable", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Config.load(TestSchema, [{ _tag: "Env", env: { STRATA_MAX_TURNS: "999" } }]))
      expect(error).toMatchObject({ reason: "InvalidEnv", file: "env STRATA_MAX_TURNS", path: "max_turns" })
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("a missing optional file is skipped; a missing required file is an error naming it", () =>
    Effect.gen(function* () {
      const loaded = yield* Config.load(TestSchema, [
        { _tag: "File", path: "/nonexistent/strata.toml", optional: true }
      ])
      expect(loaded.value).toStrictEqual({})
      const error = yield* Effect.flip(
        Config.load(TestSchema, [{ _tag: "File", path: "/nonexistent/strata.toml", optional: false }])
      )
      expect(error).toMatchObject({ reason: "Unreadable", file: "/nonexistent/strata.toml" })
    }).pipe(Effect.provide(NodeContext.layer))
  )
})
