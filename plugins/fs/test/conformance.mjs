// Cross-runtime conformance for @strata/plugin-fs: the same tools, the same
// confinement and race safety, under Node, Bun and Deno, from the built
// package (dist/).
//
//   npm run build -w @strata/plugin-fs
//   node plugins/fs/test/conformance.mjs   (also bun, deno run -A)
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Tool } from "@strata/plugin"
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import { FsConfig, FsTools } from "@strata/plugin-fs"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { run, runtime, test } from "../../../scripts/conformance.mjs"

const layer = Layer.merge(NodeWorkspace.layer({ durable: false }), FsConfig.layer())
const call = (tool, cwd, input, context = {}) =>
  Effect.runPromise(Tool.invoke(tool, input, { call_id: "call_1", cwd, ...context }).pipe(Effect.provide(layer)))
const failure = (tool, cwd, input, context = {}) =>
  Effect.runPromise(
    Effect.flip(Tool.invoke(tool, input, { call_id: "call_1", cwd, ...context })).pipe(Effect.provide(layer))
  ).then((e) => e.message)
const temp = (prefix) => mkdtempSync(join(tmpdir(), prefix))

test(`edit, apply_patch, glob, grep on ${runtime()}`, async () => {
  const dir = temp("strata-fs-conf-")
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

test(`paths are confined to the workspace, symlinks out refused, on ${runtime()}`, async () => {
  const dir = temp("strata-fs-conf-")
  const outside = temp("strata-fs-out-")
  try {
    writeFileSync(join(outside, "secret"), "x")
    symlinkSync(outside, join(dir, "link"))
    for (const path of ["../secret", join(outside, "secret"), "link/secret"]) {
      assert.match(await failure(FsTools.ReadFile, dir, { path }), /outside the workspace/)
    }
    assert.match(await failure(FsTools.WriteFile, dir, { path: "link/new", content: "x" }), /outside the workspace/)
    assert.deepEqual(readdirSync(outside), ["secret"])
  } finally {
    rmSync(dir, { recursive: true, force: true })
    rmSync(outside, { recursive: true, force: true })
  }
})

test(`hard links, control characters and protected paths are refused on ${runtime()}`, async () => {
  const dir = temp("strata-fs-conf-")
  try {
    writeFileSync(join(dir, "a.txt"), "x\n")
    linkSync(join(dir, "a.txt"), join(dir, "b.txt"))
    assert.match(await failure(FsTools.WriteFile, dir, { path: "b.txt", content: "y" }), /has 2 hard links/)
    assert.match(await failure(FsTools.ReadFile, dir, { path: "b.txt" }), /has 2 hard links/)
    assert.match(await failure(FsTools.WriteFile, dir, { path: "x\ny", content: "" }), /newlines or control/)
    writeFileSync(join(dir, "we\nird.txt"), "hello\n")
    assert.equal((await call(FsTools.Grep, dir, { pattern: "hello" })).split("\n")[0], '"we\\nird.txt":1: hello')
    mkdirSync(join(dir, ".strata"))
    writeFileSync(join(dir, ".strata", "config.toml"), "PROTECTED\n")
    symlinkSync(".strata/config.toml", join(dir, "cfg"))
    const protectedPath = (p) => (p.startsWith(`${dir}/.strata`) ? `${dir}/.strata/` : undefined)
    const refused = await failure(
      FsTools.WriteFile,
      dir,
      { path: "cfg", content: "evil" },
      { protectedPath, approved: true }
    )
    assert.match(refused, /is a protected path/)
    assert.equal(readFileSync(join(dir, ".strata", "config.toml"), "utf8"), "PROTECTED\n")
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test(`grep is linear-time and refuses what RE2 cannot express on ${runtime()}`, async () => {
  const dir = temp("strata-fs-conf-")
  try {
    writeFileSync(join(dir, "evil.txt"), `${"a".repeat(100_000)}!\n`)
    assert.equal(await call(FsTools.Grep, dir, { pattern: "^(a+)+$" }), "no match for ^(a+)+$")
    assert.match(await failure(FsTools.Grep, dir, { pattern: "(a)\\1" }), /backreference \\1 is not supported/)
    assert.match(await failure(FsTools.Grep, dir, { pattern: "a(?=b)" }), /lookahead/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test(`a racing process flipping a directory with a symlink out: zero escapes on ${runtime()}`, async () => {
  if (process.platform !== "linux") return
  const dir = temp("strata-fs-conf-race-")
  const outside = temp("strata-fs-out-")
  const racer = spawn(
    "python3",
    [new URL("./race/racer.py", import.meta.url).pathname, "exchange", join(dir, "d"), join(dir, "l")],
    {
      stdio: ["pipe", "pipe", "inherit"]
    }
  )
  try {
    mkdirSync(join(dir, "d"))
    writeFileSync(join(dir, "d", "f"), "inside\n")
    writeFileSync(join(outside, "f"), "SECRET\n")
    symlinkSync(outside, join(dir, "l"))
    let refused = 0
    for (let i = 0; i < 150; i++) {
      const op =
        i % 3 === 0
          ? [FsTools.ReadFile, { path: "d/f" }]
          : i % 3 === 1
            ? [FsTools.WriteFile, { path: `d/w${i}`, content: "x" }]
            : [FsTools.Grep, { pattern: "SECRE[T]", path: "." }]
      const out = await call(op[0], dir, op[1]).catch((e) => {
        refused++
        return e.message
      })
      assert.doesNotMatch(String(out), /SECRET/)
    }
    assert.deepEqual(readdirSync(outside), ["f"])
    assert.equal(readFileSync(join(outside, "f"), "utf8"), "SECRET\n")
    assert.ok(refused > 0, "the racer never got in the way")
  } finally {
    racer.stdin.end()
    await new Promise((resolve) => racer.on("exit", resolve))
    rmSync(dir, { recursive: true, force: true })
    rmSync(outside, { recursive: true, force: true })
  }
})

await run("@strata/plugin-fs")
