// The file tools on real temp directories: confinement, edits, patches, search.
import { FileSystem } from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as ProtectedPaths from "@strata/exec-policy/ProtectedPaths"
import { Plugin, Tool } from "@strata/plugin"
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import * as Workspace from "@strata/plugin/Workspace"
import type { Ids } from "@strata/protocol"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import fsPlugin, { FsConfig, FsTools, make } from "../src/index.js"
import nodeAlias from "../src/node.js"

const Tools = Layer.merge(NodeWorkspace.layer({ durable: false }), FsConfig.layer())
const call = (tool: Tool.Any<FsTools.Platform>, cwd: string, input: unknown) =>
  Tool.invoke(tool, input, { call_id: "call_1" as Ids.ToolCallId, cwd }).pipe(
    Effect.map((o) => o as string),
    Effect.provide(Tools)
  )
const failure = (tool: Tool.Any<FsTools.Platform>, cwd: string, input: unknown) =>
  Effect.map(Effect.flip(call(tool, cwd, input)), (e) => e.message)

const workspace = Effect.gen(function* () {
  const fs = yield* FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "strata-fs-" })
  yield* fs.makeDirectory(`${dir}/src`)
  yield* fs.writeFileString(`${dir}/src/a.ts`, "export const a = 1\nexport const b = 2\nexport const b2 = 2\n")
  yield* fs.writeFileString(`${dir}/README.md`, "# Title\nhello world\n")
  return dir
})

describe("fs tools", () => {
  it.scoped("read_file numbers lines and pages with offset/limit", () =>
    Effect.gen(function* () {
      const dir = yield* workspace
      expect(yield* call(FsTools.ReadFile, dir, { path: "src/a.ts" })).toBe(
        "     1\texport const a = 1\n     2\texport const b = 2\n     3\texport const b2 = 2"
      )
      expect(yield* call(FsTools.ReadFile, dir, { path: "src/a.ts", offset: 2, limit: 1 })).toBe(
        "     2\texport const b = 2\n[1 more lines]"
      )
      expect(yield* failure(FsTools.ReadFile, dir, { path: "nope.txt" })).toContain("nope.txt: no such file")
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("every path is confined: .., absolute paths outside and escaping symlinks are refused", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem
      const dir = yield* workspace
      const outside = yield* fs.makeTempDirectoryScoped({ prefix: "strata-fs-outside-" })
      yield* fs.writeFileString(`${outside}/secret.txt`, "secret")
      yield* fs.symlink(outside, `${dir}/link`)
      yield* fs.symlink(`${outside}/new.txt`, `${dir}/dangling`)
      for (const path of ["../x.txt", `${outside}/secret.txt`, "link/secret.txt", "src/../../x"]) {
        expect(yield* failure(FsTools.ReadFile, dir, { path })).toContain("is outside the workspace")
      }
      expect(yield* failure(FsTools.WriteFile, dir, { path: "link/new.txt", content: "x" })).toContain(
        "is outside the workspace"
      )
      expect(yield* failure(FsTools.WriteFile, dir, { path: "dangling", content: "x" })).toContain(
        "is outside the workspace"
      )
      expect(yield* fs.exists(`${outside}/new.txt`)).toBe(false)
      // An absolute path inside the workspace is fine.
      expect(yield* call(FsTools.ReadFile, dir, { path: `${dir}/README.md` })).toContain("hello world")
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("write_file creates parents; edit replaces exactly once or says why not", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem
      const dir = yield* workspace
      expect(yield* call(FsTools.WriteFile, dir, { path: "deep/new/file.txt", content: "one\n" })).toBe(
        "wrote deep/new/file.txt (4 bytes)"
      )
      expect(yield* fs.readFileString(`${dir}/deep/new/file.txt`)).toBe("one\n")
      expect(yield* failure(FsTools.Edit, dir, { path: "src/a.ts", old_string: "const c", new_string: "x" })).toContain(
        "old_string was not found"
      )
      expect(yield* failure(FsTools.Edit, dir, { path: "src/a.ts", old_string: "= 2", new_string: "= 3" })).toContain(
        "appears 2 times"
      )
      yield* call(FsTools.Edit, dir, { path: "src/a.ts", old_string: "b = 2", new_string: "b = $& 3" })
      expect(yield* fs.readFileString(`${dir}/src/a.ts`)).toBe(
        "export const a = 1\nexport const b = $& 3\nexport const b2 = 2\n"
      )
      expect(
        yield* call(FsTools.Edit, dir, { path: "src/a.ts", old_string: "export", new_string: "let", replace_all: true })
      ).toBe("edited src/a.ts (3 replacements)")
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("apply_patch applies a multi-file unified diff, creates and deletes files, and refuses a stale one", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem
      const dir = yield* workspace
      const patch = [
        "--- a/src/a.ts",
        "+++ b/src/a.ts",
        "@@ -1,2 +1,3 @@",
        " export const a = 1",
        "-export const b = 2",
        "+export const b = 20",
        "+export const c = 3",
        "--- /dev/null",
        "+++ b/docs/new.md",
        "@@ -0,0 +1,2 @@",
        "+# New",
        "+text",
        "--- a/README.md",
        "+++ /dev/null",
        ""
      ].join("\n")
      expect(FsTools.patchAccess(patch)).toStrictEqual([
        { path: "src/a.ts", access: "read" },
        { path: "src/a.ts", access: "write" },
        { path: "docs/new.md", access: "write" },
        { path: "README.md", access: "write" }
      ])
      expect(yield* call(FsTools.ApplyPatch, dir, { patch })).toBe(
        "patched src/a.ts\ncreated docs/new.md\ndeleted README.md"
      )
      expect(yield* fs.readFileString(`${dir}/src/a.ts`)).toBe(
        "export const a = 1\nexport const b = 20\nexport const c = 3\nexport const b2 = 2\n"
      )
      expect(yield* fs.readFileString(`${dir}/docs/new.md`)).toBe("# New\ntext\n")
      expect(yield* fs.exists(`${dir}/README.md`)).toBe(false)
      // Applying it again: the old lines are gone.
      const stale = patch.split("--- /dev/null")[0]!
      expect(yield* failure(FsTools.ApplyPatch, dir, { patch: stale })).toContain("hunk 1 (@@ -1) does not apply")
      expect(yield* failure(FsTools.ApplyPatch, dir, { patch: "not a diff" })).toContain("invalid patch: no file")
      expect(
        yield* failure(FsTools.ApplyPatch, dir, { patch: "--- a/../x\n+++ b/../x\n@@ -1 +1 @@\n-a\n+b\n" })
      ).toContain("is outside the workspace")
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("glob and grep search the workspace", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem
      const dir = yield* workspace
      yield* fs.makeDirectory(`${dir}/node_modules/x`, { recursive: true })
      yield* fs.writeFileString(`${dir}/node_modules/x/a.ts`, "export const a = 1\n")
      expect(yield* call(FsTools.Glob, dir, { pattern: "**/*.ts" })).toBe("src/a.ts")
      expect(yield* call(FsTools.Glob, dir, { pattern: "*.{md,txt}" })).toBe("README.md")
      expect(yield* call(FsTools.Glob, dir, { pattern: "*.ts", path: "src" })).toBe("src/a.ts")
      expect(yield* call(FsTools.Grep, dir, { pattern: "const b\\d?" })).toBe(
        "src/a.ts:2: export const b = 2\nsrc/a.ts:3: export const b2 = 2"
      )
      expect(yield* call(FsTools.Grep, dir, { pattern: "HELLO", ignore_case: true, glob: "*.md" })).toBe(
        "README.md:2: hello world"
      )
      expect(yield* failure(FsTools.Grep, dir, { pattern: "(" })).toContain('invalid pattern "("')
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it("every tool declares the files it reads and writes", () => {
    const access = <I>(tool: { fileAccess?: ((input: I) => ReadonlyArray<unknown>) | undefined }, input: I) =>
      tool.fileAccess!(input)
    expect(access(FsTools.ReadFile, { path: "a" })).toStrictEqual([{ path: "a", access: "read" }])
    expect(access(FsTools.WriteFile, { path: "a", content: "" })).toStrictEqual([{ path: "a", access: "write" }])
    expect(access(FsTools.Edit, { path: "a", old_string: "x", new_string: "y" })).toStrictEqual([
      { path: "a", access: "read" },
      { path: "a", access: "write" }
    ])
    expect(access(FsTools.Glob, { pattern: "*" })).toStrictEqual([{ path: ".", access: "read" }])
    expect(access(FsTools.Grep, { pattern: "x", path: "src" })).toStrictEqual([{ path: "src", access: "read" }])
    // A move writes both paths; a patch that does not parse touches nothing.
    expect(
      access(FsTools.ApplyPatch, { patch: "--- a/old.txt\n+++ b/.strata/config.toml\n@@ -1 +1 @@\n-a\n+b\n" })
    ).toStrictEqual([
      { path: "old.txt", access: "write" },
      { path: ".strata/config.toml", access: "write" }
    ])
    expect(access(FsTools.ApplyPatch, { patch: "nonsense" })).toStrictEqual([])
  })

  it.scoped("apply_patch moves a file, refuses to create one that exists, patches a file twice in order", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem
      const dir = yield* workspace
      const move = "--- a/README.md\n+++ b/docs/README.md\n@@ -1,2 +1,2 @@\n-# Title\n+# Moved\n hello world\n"
      expect(yield* call(FsTools.ApplyPatch, dir, { patch: move })).toBe("moved README.md -> docs/README.md")
      expect(yield* fs.exists(`${dir}/README.md`)).toBe(false)
      expect(yield* fs.readFileString(`${dir}/docs/README.md`)).toBe("# Moved\nhello world\n")
      expect(
        yield* failure(FsTools.ApplyPatch, dir, { patch: "--- /dev/null\n+++ b/src/a.ts\n@@ -0,0 +1 @@\n+x\n" })
      ).toContain("src/a.ts already exists")
      const twice = [
        "--- a/src/a.ts\n+++ b/src/a.ts\n@@ -1 +1 @@\n-export const a = 1\n+export const a = 10\n",
        "--- a/src/a.ts\n+++ b/src/a.ts\n@@ -1 +1 @@\n-export const a = 10\n+export const a = 100\n"
      ].join("")
      yield* call(FsTools.ApplyPatch, dir, { patch: twice })
      expect((yield* fs.readFileString(`${dir}/src/a.ts`)).split("\n")[0]).toBe("export const a = 100")
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("grep runs in linear time: a catastrophic pattern on a long line returns at once", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem
      const dir = yield* workspace
      // A backtracking RegExp needs ~1.7^n steps for this line: it would never return.
      yield* fs.writeFileString(`${dir}/evil.txt`, `${"a".repeat(50_000)}!\n`)
      expect(yield* call(FsTools.Grep, dir, { pattern: "^(a+)+$", path: "evil.txt" })).toBe("no match for ^(a+)+$")
      expect(yield* call(FsTools.Grep, dir, { pattern: "(a|aa)*!$", path: "evil.txt" })).toMatch(
        /^evil\.txt:1: a{300}…$/
      )
      expect(yield* call(FsTools.Glob, dir, { pattern: `${"*a".repeat(40)}*b` })).toBe(
        `no files match ${"*a".repeat(40)}*b`
      )
      for (const [pattern, said] of [
        ["(a)\\1", "backreference \\1 is not supported"],
        ["(?<n>a)\\k<n>", "named backreference"],
        ["a(?=b)", "lookahead (?=…) is not supported"],
        ["a(?!b)", "lookahead (?!…)"],
        ["(", "missing closing )"]
      ] as const) {
        expect(yield* failure(FsTools.Grep, dir, { pattern })).toContain(said)
      }
      // Captureless lookbehind is linear too, and supported.
      expect(yield* call(FsTools.Grep, dir, { pattern: "(?<=const )b2", path: "src" })).toBe(
        "src/a.ts:3: export const b2 = 2"
      )
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("names with newlines or control characters: refused as input, escaped in output", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem
      const dir = yield* workspace
      yield* fs.writeFileString(`${dir}/evil\nREADME.md:9: fake.md`, "hello\n")
      expect(yield* failure(FsTools.WriteFile, dir, { path: "x\ny.txt", content: "" })).toContain(
        "names with newlines or control characters are refused"
      )
      expect(yield* failure(FsTools.ReadFile, dir, { path: "a\u001b[31m" })).toContain("U+001B")
      const listed = yield* call(FsTools.Glob, dir, { pattern: "*.md" })
      expect(listed.split("\n")).toStrictEqual(["README.md", '"evil\\nREADME.md:9: fake.md"'])
      const found = yield* call(FsTools.Grep, dir, { pattern: "hello" })
      expect(found.split("\n")).toStrictEqual(["README.md:2: hello world", '"evil\\nREADME.md:9: fake.md":1: hello'])
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("walk limits: a cut result says so and names the setting", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem
      const dir = yield* workspace
      yield* fs.makeDirectory(`${dir}/x/y/z`, { recursive: true })
      yield* fs.writeFileString(`${dir}/x/y/z/deep.ts`, "export const deep = 1\n")
      const limited = (max: Partial<FsConfig.Options>, tool: Tool.Any<FsTools.Platform>, input: unknown) =>
        Tool.invoke(tool, input, { call_id: "call_1" as Ids.ToolCallId, cwd: dir }).pipe(
          Effect.map((o) => o as string),
          Effect.provide(Layer.merge(NodeWorkspace.layer({ durable: false }), FsConfig.layer(max)))
        )
      const shallow = yield* limited({ maxDepth: 2 }, FsTools.Glob, { pattern: "**/*.ts" })
      expect(shallow).toBe("src/a.ts\n[walk cut: 1 directory deeper than 2 levels not entered (fs.max_depth): x/y/z]")
      const few = yield* limited({ maxEntries: 2 }, FsTools.Grep, { pattern: "export" })
      expect(few).toContain("[walk cut: stopped after 2 entries (fs.max_entries = 2); results are incomplete")
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("the runtime's protected paths: a write through a symlink is refused naming the path and rule", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem
      const dir = yield* workspace
      yield* fs.makeDirectory(`${dir}/.strata`)
      yield* fs.writeFileString(`${dir}/.strata/config.toml`, 'default = "ask"\n')
      yield* fs.symlink(".strata/config.toml", `${dir}/settings.toml`)
      const paths = ProtectedPaths.defaults({ workspace: dir })
      const context = {
        call_id: "call_1" as Ids.ToolCallId,
        cwd: dir,
        protectedPath: (p: string) => ProtectedPaths.match(paths, p)
      }
      const run = (tool: Tool.Any<FsTools.Platform>, input: unknown, approved?: boolean) =>
        Effect.flip(Tool.invoke(tool, input, { ...context, approved }).pipe(Effect.provide(Tools)))
      const viaLink = yield* run(FsTools.WriteFile, { path: "settings.toml", content: 'default = "allow"\n' }, true)
      expect(viaLink.message).toContain(`${dir}/.strata/config.toml is a protected path (${dir}/.strata/)`)
      const direct = yield* run(FsTools.Edit, { path: ".strata/config.toml", old_string: "ask", new_string: "allow" })
      expect(direct.message).toContain("a person must approve changing it")
      expect(yield* fs.readFileString(`${dir}/.strata/config.toml`)).toBe('default = "ask"\n')
      expect((yield* run(FsTools.ReadFile, { path: "settings.toml" })).message).toContain("through a symlink")
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it("the plugin exposes the six tools", () => {
    expect(fsPlugin.tools?.map((t) => t.name)).toStrictEqual([
      "read_file",
      "write_file",
      "edit",
      "apply_patch",
      "glob",
      "grep"
    ])
  })

  it.scoped(
    "the package's default export runs on the host's Workspace; the deprecated /node entry is the same plugin",
    () =>
      Effect.gen(function* () {
        expect(nodeAlias).toBe(fsPlugin)
        const dir = yield* workspace
        const fs = yield* FileSystem
        // the host (here the test) provides the platform and the Workspace: the plugin brings none
        const built = yield* Plugin.build(yield* Plugin.validate(fsPlugin, "@strata/plugin-fs"))
        const tool = (name: string) => built.tools.find((t) => t.localName === name)!
        const context = { call_id: "call_9" as Ids.ToolCallId, cwd: dir }
        yield* tool("write_file").invoke({ path: "notes/n.txt", content: "from host\n" }, context)
        expect(yield* fs.readFileString(`${dir}/notes/n.txt`)).toBe("from host\n")
        // the host's race-safe port: a symlink leading out is refused, nothing outside written
        const outside = yield* fs.makeTempDirectoryScoped({ prefix: "strata-fs-out-" })
        yield* fs.symlink(outside, `${dir}/out`)
        const refused = yield* Effect.flip(tool("write_file").invoke({ path: "out/x.txt", content: "x" }, context))
        expect(refused.message).toContain("outside the workspace")
        expect(yield* fs.readDirectory(outside)).toEqual([])
      }).pipe(Effect.provide(Layer.merge(NodeContext.layer, NodeWorkspace.layer({ durable: false }))))
  )

  it.scoped("make(workspace): a Workspace of the plugin's own shadows the host's", () =>
    Effect.gen(function* () {
      const dir = yield* workspace
      const fs = yield* FileSystem
      const own = Layer.effect(
        Workspace.Workspace,
        Effect.map(NodeWorkspace.make({ durable: false }), (ws) =>
          Workspace.Workspace.of({
            ...ws,
            writeFile: (root, path, text, o) => ws.writeFile(root, path, `own:${text}`, o)
          })
        )
      )
      const context = { call_id: "call_10" as Ids.ToolCallId, cwd: dir }
      const withOwn = yield* Plugin.build(yield* Plugin.validate(make(own, { maxDepth: 4 }), "own"))
      yield* withOwn.tools.find((t) => t.localName === "write_file")!.invoke({ path: "a.txt", content: "a" }, context)
      expect(yield* fs.readFileString(`${dir}/a.txt`)).toBe("own:a")
      const withHost = yield* Plugin.build(yield* Plugin.validate(make({ maxDepth: 4 }), "host"))
      yield* withHost.tools.find((t) => t.localName === "write_file")!.invoke({ path: "b.txt", content: "b" }, context)
      expect(yield* fs.readFileString(`${dir}/b.txt`)).toBe("b")
    }).pipe(Effect.provide(Layer.merge(NodeContext.layer, NodeWorkspace.layer({ durable: false }))))
  )
})
