// The file tools on real temp directories: confinement, edits, patches, search.
import { FileSystem } from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Tool } from "@strata/plugin"
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import type { Ids } from "@strata/protocol"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { FsConfig, FsTools } from "../src/index.js"
import fsPlugin from "../src/node.js"

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
})
