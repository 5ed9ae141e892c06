/**
 * Rule files: TOML errors with file, line and column; wrong rules named;
 * `match` / `not_match` examples verified at load; layering of files read
 * through `FileSystem` from a real temporary directory.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { ExecPolicy } from "../src/index.js"
import { fromText, grammar, sampleRules } from "./utils.js"

const loadError = (text: string, file = "rules.toml") => Effect.flip(fromText(text, file))

describe("malformed TOML", () => {
  it.effect("is an error naming file, line and column", () =>
    Effect.gen(function* () {
      const e = yield* loadError('default = "ask"\n[[rule]]\nprefix = ["ls"\ndecision = "allow"\n', "policy.toml")
      expect(e._tag).toBe("RuleFileError")
      if (e._tag !== "RuleFileError") return
      expect(e).toMatchObject({ reason: "Syntax", file: "policy.toml", line: 4, column: 1 })
      expect(e.message).toMatch(/^policy\.toml:4:1: invalid TOML: /)
    })
  )

  it.effect("reports a bad value on its line", () =>
    Effect.gen(function* () {
      const e = yield* loadError('[[rule]]\nprefix = ["ls"]\ndecision = allow\n')
      expect(e).toMatchObject({ reason: "Syntax", line: 3 })
    })
  )

  it.effect("reports a duplicate key", () =>
    Effect.gen(function* () {
      const e = yield* loadError('default = "ask"\ndefault = "deny"\n')
      expect(e).toMatchObject({ reason: "Syntax", line: 2 })
    })
  )
})

describe("invalid rules name the rule", () => {
  it.effect("an unknown decision", () =>
    Effect.gen(function* () {
      const e = yield* loadError(
        '[[rule]]\nprefix = ["ls"]\ndecision = "allow"\n\n[[rule]]\nprefix = ["git", "push"]\n  decision = "maybe"\n'
      )
      expect(e).toMatchObject({ reason: "Invalid", rule: 'rule #2 ["git", "push"]', line: 7, column: 3 })
      expect(e.message).toBe(
        'rules.toml:7:3: rule #2 ["git", "push"]: unknown decision "maybe" (expected "allow", "ask" or "deny")'
      )
    })
  )

  it.effect("an unknown key", () =>
    Effect.gen(function* () {
      const e = yield* loadError('[[rule]]\nprefix = ["ls"]\ndecison = "allow"\n')
      expect(e).toMatchObject({ reason: "Invalid", rule: 'rule #1 ["ls"]', line: 3, column: 1 })
      expect(e.message).toContain('unknown key "decison"')
    })
  )

  it.effect("a missing decision", () =>
    Effect.gen(function* () {
      const e = yield* loadError('[[rule]]\nprefix = ["ls"]\n')
      expect(e).toMatchObject({ reason: "Invalid", rule: 'rule #1 ["ls"]', line: 1 })
      expect(e.message).toContain('missing "decision"')
    })
  )

  it.effect("a missing, empty or mistyped prefix", () =>
    Effect.gen(function* () {
      const missing = yield* loadError('[[rule]]\ndecision = "allow"\n')
      expect(missing).toMatchObject({ reason: "Invalid", rule: "rule #1" })
      expect(missing.message).toContain('missing "prefix"')
      const empty = yield* loadError('[[rule]]\nprefix = []\ndecision = "allow"\n')
      expect(empty.message).toContain("non-empty array")
      const number = yield* loadError('[[rule]]\nprefix = ["git", 3]\ndecision = "allow"\n')
      expect(number.message).toContain('prefix" element 2 must be a string')
      const blank = yield* loadError('[[rule]]\nprefix = ["git", [""]]\ndecision = "allow"\n')
      expect(blank.message).toContain("element 2")
    })
  )

  it.effect("mistyped justification and allow_redirection", () =>
    Effect.gen(function* () {
      const j = yield* loadError('[[rule]]\nprefix = ["ls"]\ndecision = "allow"\njustification = 1\n')
      expect(j).toMatchObject({ rule: 'rule #1 ["ls"]', line: 4 })
      const r = yield* loadError('[[rule]]\nprefix = ["ls"]\ndecision = "allow"\nallow_redirection = "yes"\n')
      expect(r).toMatchObject({ rule: 'rule #1 ["ls"]', line: 4 })
    })
  )

  it.effect("an unknown top-level key or default", () =>
    Effect.gen(function* () {
      const key = yield* loadError('defualt = "ask"\n')
      expect(key).toMatchObject({ reason: "Invalid", line: 1 })
      expect(key.message).toContain('unknown key "defualt"')
      const def = yield* loadError('\ndefault = "sometimes"\n')
      expect(def).toMatchObject({ reason: "Invalid", line: 2 })
      const table = yield* loadError('[rule]\nprefix = ["ls"]\n')
      expect(table.message).toContain("array of tables")
    })
  )
})

describe("rule examples", () => {
  it.effect("load when every example agrees", () =>
    Effect.gen(function* () {
      const policy = yield* fromText(
        '[[rule]]\nprefix = ["git", ["status", "log"]]\ndecision = "allow"\nmatch = ["git status", "git log -n 3", ["git", "status"], "timeout 5 git status"]\nnot_match = ["git push", "git", ["git", "stash"]]\n'
      )
      expect(policy.files.at(-1)).toMatchObject({ rules: 1 })
    })
  )

  it.effect("a failing match example is a load error naming the rule", () =>
    Effect.gen(function* () {
      const e = yield* loadError(
        '[[rule]]\nprefix = ["ls"]\ndecision = "allow"\n\n[[rule]]\nprefix = ["git", "status"]\ndecision = "allow"\nmatch = ["git status", "git push"]\n'
      )
      expect(e).toMatchObject({ reason: "ExampleFailed", rule: 'rule #2 ["git", "status"]', line: 8 })
      expect(e.message).toBe(
        'rules.toml:8: rule #2 ["git", "status"]: match example "git push" does not match the rule'
      )
    })
  )

  it.effect("a failing not_match example is a load error naming the rule", () =>
    Effect.gen(function* () {
      const e = yield* loadError(
        '[[rule]]\nprefix = ["rm", "-rf"]\ndecision = "deny"\nnot_match = [["rm", "-rf", "x"]]\n'
      )
      expect(e).toMatchObject({ reason: "ExampleFailed", rule: 'rule #1 ["rm", "-rf"]', line: 4 })
      expect(e.message).toContain('not_match example ["rm","-rf","x"] matches the rule')
    })
  )

  it.effect("examples are parsed as bash: quoting is removed before matching", () =>
    Effect.gen(function* () {
      yield* fromText(
        `[[rule]]\nprefix = ["cat", "/etc/shadow"]\ndecision = "deny"\nmatch = ["cat '/etc/shadow'", "ls && c\\\\at /etc/sh''adow"]\n`
      )
    })
  )

  it.effect("mistyped examples are an error", () =>
    Effect.gen(function* () {
      const e = yield* loadError('[[rule]]\nprefix = ["ls"]\ndecision = "allow"\nmatch = "ls"\n')
      expect(e).toMatchObject({ reason: "Invalid", rule: 'rule #1 ["ls"]', line: 4 })
    })
  )
})

describe("layers", () => {
  const write = (dir: string, name: string, text: string) =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const file = path.join(dir, name)
      yield* fs.writeFileString(file, text)
      return file
    })

  it.scoped("built-in < user < project < cli: the highest default wins, every rule applies, strictest first", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const user = yield* write(dir, "user.toml", 'default = "deny"\n[[rule]]\nprefix = ["ls"]\ndecision = "allow"\n')
      const project = yield* write(
        dir,
        "project.toml",
        '[[rule]]\nprefix = ["git"]\ndecision = "allow"\n[[rule]]\nprefix = ["ls", "-R"]\ndecision = "ask"\n'
      )
      const cli = yield* write(
        dir,
        "cli.toml",
        'default = "ask"\n[[rule]]\nprefix = ["git", "push"]\ndecision = "deny"\n'
      )
      const policy = yield* ExecPolicy.make({ user, project, files: [cli] })
      expect(policy.files.map((f) => [f.layer, f.rules])).toEqual([
        ["builtin", 0],
        ["user", 1],
        ["project", 2],
        ["cli", 1]
      ])
      expect(policy.defaultDecision).toBe("ask")
      const ls = policy.checkSync("ls")
      expect(ls.decision).toBe("allow")
      expect(ls.commands[0]!.rule).toMatchObject({ file: user, layer: "user", line: 2 })
      expect(policy.checkSync("ls -R").commands[0]!.rule).toMatchObject({ file: project, layer: "project" })
      expect(policy.checkSync("ls -R").decision).toBe("ask")
      expect(policy.checkSync("git push").decision).toBe("deny")
      expect(policy.checkSync("git status").decision).toBe("allow")
      expect(policy.checkSync("touch x").decision).toBe("ask")
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("missing user and project files are skipped; a missing --rules file is an error", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const policy = yield* ExecPolicy.make({ user: `${dir}/nope.toml`, project: `${dir}/none.toml`, grammar })
      expect(policy.files.map((f) => f.layer)).toEqual(["builtin"])
      expect(policy.checkSync("ls").decision).toBe("ask")
      const e = yield* Effect.flip(ExecPolicy.make({ files: [`${dir}/missing.toml`], grammar }))
      expect(e).toMatchObject({ _tag: "RuleFileError", reason: "NotFound", file: `${dir}/missing.toml` })
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("an unreadable rule file is an error", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const e = yield* Effect.flip(ExecPolicy.make({ files: [dir], grammar }))
      expect(e).toMatchObject({ _tag: "RuleFileError", reason: "Unreadable", file: dir })
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("a malformed file in any layer fails the load, naming it", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const project = yield* write(dir, "project.toml", "[[rule]\n")
      const e = yield* Effect.flip(ExecPolicy.make({ project, grammar }))
      expect(e).toMatchObject({ _tag: "RuleFileError", reason: "Syntax", file: project, line: 1 })
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.effect("ExecPolicy.layer reads the grammar through FileSystem", () =>
    Effect.gen(function* () {
      const d = yield* ExecPolicy.check("ls -la | wc -l")
      expect(d.decision).toBe("allow")
    }).pipe(Effect.provide(ExecPolicy.layer({ files: [sampleRules] })), Effect.provide(NodeContext.layer))
  )

  it.effect("builtin: false drops the built-in layer", () =>
    Effect.gen(function* () {
      const policy = yield* ExecPolicy.makeFromSources([], { grammar, builtin: false })
      expect(policy.files).toEqual([])
      expect(policy.defaultDecision).toBe("ask")
    })
  )
})

describe("grammar", () => {
  it.effect("bytes that are not a grammar are a ParserError", () =>
    Effect.gen(function* () {
      const e = yield* Effect.flip(ExecPolicy.makeFromSources([], { grammar: new Uint8Array([0, 97, 115, 109, 1]) }))
      expect(e._tag).toBe("ParserError")
      expect(e).toMatchObject({ reason: "GrammarInvalid" })
    })
  )
})
