// Cross-runtime conformance for @strata/plugin-fs: the same tools, the same
// confinement, under Node, Bun and Deno, from the built package (dist/).
//
//   npm run build -w @strata/plugin-fs
//   node plugins/fs/test/conformance.mjs   (also bun, deno run -A)
import assert from "node:assert/strict"
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Tool } from "@strata/plugin"
import { FsTools } from "@strata/plugin-fs"
import * as Effect from "effect/Effect"
import { run, runtime, test } from "../../../scripts/conformance.mjs"

const call = (tool, cwd, input) =>
  Effect.runPromise(Tool.invoke(tool, input, { call_id: "call_1", cwd }).pipe(Effect.provide(NodeContext.layer)))
const failure = (tool, cwd, input) =>
  Effect.runPromise(
    Effect.flip(Tool.invoke(tool, input, { call_id: "call_1", cwd })).pipe(Effect.provide(NodeContext.layer))
  ).then((e) => e.message)

test(`edit, apply_patch, glob, grep on ${runtime()}`, async () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-fs-conf-"))
  try {
    writeFileSync(join(dir, "a.txt"), "one\ntwo\n")
    await call(FsTools.Edit, dir, { path: "a.txt", old_string: "two", new_string: "2" })
    assert.equal(readFileSync(join(dir, "a.txt"), "utf8"), "one\n2\n")
    await call(FsTools.ApplyPatch, dir, { patch: "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n-one\n+1\n 2\n" })
    assert.equal(readFileSync(join(dir, "a.txt"), "utf8"), "1\n2\n")
    assert.equal(await call(FsTools.Glob, dir, { pattern: "*.txt" }), "a.txt")
    assert.equal(await call(FsTools.Grep, dir, { pattern: "^2$" }), "a.txt:2: 2")
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test(`paths are confined to the workspace on ${runtime()}`, async () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-fs-conf-"))
  const outside = mkdtempSync(join(tmpdir(), "strata-fs-out-"))
  try {
    writeFileSync(join(outside, "secret"), "x")
    symlinkSync(outside, join(dir, "link"))
    for (const path of ["../secret", join(outside, "secret"), "link/secret"]) {
      assert.match(await failure(FsTools.ReadFile, dir, { path }), /outside the workspace/)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
    rmSync(outside, { recursive: true, force: true })
  }
})

await run("@strata/plugin-fs")
