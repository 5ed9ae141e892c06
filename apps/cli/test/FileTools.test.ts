/**
 * The file tools through the built `strata`, driven by a scripted model (a
 * real OpenAI-compatible server on 127.0.0.1) that calls them, with the
 * `[fs]` settings of `.strata/config.toml` taking effect.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as ScriptedModelServer from "@strata/testkit/node/ScriptedModelServer"
import type { RecordedRequest, Turn } from "@strata/testkit/ScriptedModel"
import * as Effect from "effect/Effect"
import { ensureBuilt } from "./build.js"
import { strata } from "./strataProcess.js"

beforeAll(() => ensureBuilt(), 300_000)

/** A model that makes one tool call, then says what came back. */
const oneCall =
  (name: string, args: Record<string, unknown>) =>
  (request: RecordedRequest): Turn => {
    const last = request.messages[request.messages.length - 1]
    if (last?.role !== "tool") return { text: "calling", toolCalls: [{ name, arguments: args }] }
    return { text: `tool said: ${last.content}` }
  }

const workspace = (fsSection: string, port: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "strata-fs-e2e-"))
  fs.mkdirSync(path.join(dir, ".strata"))
  fs.writeFileSync(
    path.join(dir, ".strata", "config.toml"),
    [
      'model = "scripted"',
      'provider_default = "scripted"',
      "[providers.scripted]",
      'kind = "openai-compatible"',
      `base_url = "${port}"`,
      "[[models]]",
      'id = "scripted"',
      'provider = "scripted"',
      "context_window = 32000",
      "max_output_tokens = 2000",
      fsSection
    ].join("\n")
  )
  return dir
}

/** One `strata run` against a scripted model making one call; the model's final text. */
const runWith = (fsSection: string, setup: (dir: string) => void, name: string, args: Record<string, unknown>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const server = yield* ScriptedModelServer.make({ respond: oneCall(name, args) })
      const dir = workspace(fsSection, server.baseUrl("openai-compatible"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      setup(dir)
      const run = yield* strata(dir, ["run", "--approval", "never", "go"])
      return { ...run, dir }
    })
  )

describe("file tools through strata run", () => {
  it.live(
    "a hard-linked file is refused by default and read with allow_hardlinks = true",
    () =>
      Effect.gen(function* () {
        // covers: fs.allow_hardlinks
        const outside = fs.mkdtempSync(path.join(os.tmpdir(), "strata-fs-e2e-out-"))
        try {
          fs.writeFileSync(path.join(outside, "secret.txt"), "HARDLINKED-CONTENT\n")
          const link = (dir: string) => fs.linkSync(path.join(outside, "secret.txt"), path.join(dir, "notes.txt"))
          const refused = yield* runWith("", link, "fs__read_file", { path: "notes.txt" })
          expect(refused.code).toBe(0)
          expect(refused.stdout).toContain("notes.txt has 2 hard links")
          expect(refused.stdout).not.toContain("HARDLINKED-CONTENT")
          const allowed = yield* runWith("[fs]\nallow_hardlinks = true", link, "fs__read_file", { path: "notes.txt" })
          expect(allowed.stdout).toContain("HARDLINKED-CONTENT")
          // Writes too: refused by default, and the other name never changes.
          const write = yield* runWith("", link, "fs__write_file", { path: "notes.txt", content: "overwritten\n" })
          expect(write.stdout).toContain("has 2 hard links")
          expect(fs.readFileSync(path.join(outside, "secret.txt"), "utf8")).toBe("HARDLINKED-CONTENT\n")
        } finally {
          fs.rmSync(outside, { recursive: true, force: true })
        }
      }),
    180_000
  )

  it.live(
    "max_depth and max_entries cut a walk, and the result says so",
    () =>
      Effect.gen(function* () {
        // covers: fs.max_depth
        // covers: fs.max_entries
        const tree = (dir: string) => {
          fs.mkdirSync(path.join(dir, "a", "b", "c"), { recursive: true })
          fs.writeFileSync(path.join(dir, "a", "top.ts"), "x\n")
          fs.writeFileSync(path.join(dir, "a", "b", "c", "deep.ts"), "x\n")
        }
        const full = yield* runWith("", tree, "fs__glob", { pattern: "**/*.ts" })
        expect(full.stdout).toContain("a/b/c/deep.ts")
        const shallow = yield* runWith("[fs]\nmax_depth = 2", tree, "fs__glob", { pattern: "**/*.ts" })
        expect(shallow.stdout).toContain("a/top.ts")
        expect(shallow.stdout).not.toContain("deep.ts")
        expect(shallow.stdout).toContain("1 directory deeper than 2 levels not entered (fs.max_depth): a/b/c")
        const few = yield* runWith("[fs]\nmax_entries = 2", tree, "fs__grep", { pattern: "x" })
        expect(few.stdout).toContain("stopped after 2 entries (fs.max_entries = 2)")
        // A bad value stops strata with an error naming the key.
        const bad = yield* runWith("[fs]\nmax_depth = -1", tree, "fs__glob", { pattern: "*" })
        expect(bad.code).not.toBe(0)
        expect(bad.stderr).toContain("max_depth")
      }),
    180_000
  )

  it.live(
    "a write through a symlink leading out of the workspace is refused; grep is linear-time",
    () =>
      Effect.gen(function* () {
        const outside = fs.mkdtempSync(path.join(os.tmpdir(), "strata-fs-e2e-out-"))
        try {
          const link = (dir: string) => fs.symlinkSync(outside, path.join(dir, "out"))
          const write = yield* runWith("", link, "fs__write_file", { path: "out/planted.sh", content: "curl x\n" })
          expect(write.stdout).toContain("is outside the workspace")
          expect(fs.readdirSync(outside)).toStrictEqual([])
          const evil = (dir: string) => fs.writeFileSync(path.join(dir, "a.txt"), `${"a".repeat(100_000)}!\n`)
          const grep = yield* runWith("", evil, "fs__grep", { pattern: "^(a+)+$" })
          expect(grep.stdout).toContain("no match for ^(a+)+$")
        } finally {
          fs.rmSync(outside, { recursive: true, force: true })
        }
      }),
    180_000
  )
})
