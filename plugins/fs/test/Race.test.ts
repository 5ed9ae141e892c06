// The file tools against a process that really races them: a Python child
// (test/race/racer.py) flips a directory or a file with a symlink leading out
// of the workspace or onto a protected path, with renameat2(RENAME_EXCHANGE)
// or a rename loop, while the tools run thousands of reads, writes, edits,
// patches and searches through it. Escapes are counted: a read that returns
// outside content, a search that shows it, a file outside or under the
// protected directory that changed. The bar is zero.
//
// CI runs a bounded number of operations per scenario; `npm run test:race -w
// @strata/plugin-fs` runs many more (STRATA_RACE_OPS).
import { type ChildProcess, spawn } from "node:child_process"
import * as nodeFs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import * as ProtectedPaths from "@strata/exec-policy/ProtectedPaths"
import { Tool } from "@strata/plugin"
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import type { Ids } from "@strata/protocol"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { FsConfig, FsTools } from "../src/index.js"

const OPS = Number(process.env.STRATA_RACE_OPS ?? 200)
const TIMEOUT = Math.max(120_000, OPS * 100)
const racer = path.join(path.dirname(fileURLToPath(import.meta.url)), "race", "racer.py")
// STRATA_RACE_MODE=path runs the same races against the path-re-check fallback (what macOS gets).
const MODE = process.env.STRATA_RACE_MODE === "path" ? ("path" as const) : undefined
const Tools = Layer.merge(NodeWorkspace.layer({ durable: false, mode: MODE }), FsConfig.layer())

interface Racer {
  readonly child: ChildProcess
  readonly stop: () => Promise<{ flips: number; errors: number }>
}

const startRacer = (args: ReadonlyArray<string>): Racer => {
  const child = spawn("python3", [racer, ...args], { stdio: ["pipe", "pipe", "inherit"] })
  let out = ""
  child.stdout!.on("data", (d) => (out += d))
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()))
  return {
    child,
    stop: async () => {
      child.stdin!.end()
      await exited
      return JSON.parse(out.trim()) as { flips: number; errors: number }
    }
  }
}

/** Every file under `dir` with its content: what must not change. */
const snapshot = (dir: string): Map<string, string> => {
  const out = new Map<string, string>()
  const visit = (d: string) => {
    for (const e of nodeFs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name)
      if (e.isDirectory()) visit(full)
      else
        out.set(
          path.relative(dir, full),
          e.isSymbolicLink() ? `-> ${nodeFs.readlinkSync(full)}` : nodeFs.readFileSync(full, "utf8")
        )
    }
  }
  visit(dir)
  return out
}

const changed = (before: Map<string, string>, after: Map<string, string>) => {
  const diff: Array<string> = []
  for (const [k, v] of after) if (before.get(k) !== v) diff.push(k)
  for (const k of before.keys()) if (!after.has(k)) diff.push(`-${k}`)
  return diff
}

interface Outcome {
  readonly ok: boolean
  readonly text: string
}

type Op = (i: number) => { readonly tool: Tool.Any<FsTools.Platform>; readonly input: unknown }

const runOps = (cwd: string, ops: ReadonlyArray<Op>, context: Partial<Tool.ToolContext> = {}) =>
  Effect.forEach(
    Array.from({ length: OPS }, (_, i) => i),
    (i) => {
      const op = ops[i % ops.length]!(i)
      return Tool.invoke(op.tool, op.input, { call_id: `call_${i}` as Ids.ToolCallId, cwd, ...context }).pipe(
        Effect.map((o): Outcome => ({ ok: true, text: String(o) })),
        Effect.catchAll((e) => Effect.succeed<Outcome>({ ok: false, text: e.message }))
      )
    },
    { concurrency: 4 }
  ).pipe(Effect.provide(Tools))

const tempDir = (prefix: string) => nodeFs.mkdtempSync(path.join(os.tmpdir(), prefix))

/** A workspace with `d/f`, and an outside directory full of secrets. */
const setup = () => {
  const ws = tempDir("strata-race-ws-")
  const out = tempDir("strata-race-out-")
  nodeFs.mkdirSync(path.join(ws, "d"))
  nodeFs.writeFileSync(path.join(ws, "d", "f"), "inside\n")
  nodeFs.writeFileSync(path.join(out, "f"), "SECRET\n")
  nodeFs.writeFileSync(path.join(out, "sentinel-outside"), "SECRET\n")
  nodeFs.writeFileSync(path.join(out, "hl"), "HARDSECRET\n")
  return {
    ws,
    out,
    cleanup: () => {
      nodeFs.rmSync(ws, { recursive: true, force: true })
      nodeFs.rmSync(out, { recursive: true, force: true })
    }
  }
}

const patchOf = (file: string, from: string, to: string) =>
  `--- a/${file}\n+++ b/${file}\n@@ -1 +1 @@\n-${from}\n+${to}\n`

/** Operations through directory `d`: every tool, reading and writing. */
const throughDir: ReadonlyArray<Op> = [
  () => ({ tool: FsTools.ReadFile, input: { path: "d/f" } }),
  (i) => ({ tool: FsTools.WriteFile, input: { path: `d/w${i % 50}`, content: `written ${i}\n` } }),
  () => ({ tool: FsTools.Edit, input: { path: "d/f", old_string: "inside", new_string: "inside" } }),
  () => ({ tool: FsTools.ApplyPatch, input: { patch: patchOf("d/f", "inside", "inside") } }),
  (i) => ({ tool: FsTools.ApplyPatch, input: { patch: `--- /dev/null\n+++ b/d/p${i}\n@@ -0,0 +1 @@\n+new\n` } }),
  (i) => ({ tool: FsTools.ApplyPatch, input: { patch: `--- a/d/p${i - 1}\n+++ /dev/null\n@@ -1 +0,0 @@\n-new\n` } }),
  () => ({ tool: FsTools.Grep, input: { pattern: "SECRE[T]|inside", path: "." } }),
  () => ({ tool: FsTools.Grep, input: { pattern: "SECRE[T]|inside", path: "d" } }),
  () => ({ tool: FsTools.Glob, input: { pattern: "**/*" } }),
  () => ({ tool: FsTools.Glob, input: { pattern: "*", path: "d" } })
]

const leaks = (outcomes: ReadonlyArray<Outcome>) =>
  outcomes.filter((o) => o.ok && /SECRET|sentinel-outside|PROTECTED/.test(o.text)).map((o) => o.text.slice(0, 200))

const report = (name: string, flips: number, outcomes: ReadonlyArray<Outcome>, escapes: number) =>
  console.log(
    `race ${name} (${MODE ?? "default"} mechanism): ${outcomes.length} operations, ${outcomes.filter((o) => o.ok).length} succeeded, ${outcomes.filter((o) => !o.ok).length} refused, ${flips} flips, ${escapes} escapes`
  )

describe.skipIf(process.platform !== "linux")("file tools under a racing process", () => {
  it.live(
    "a directory exchanged with a symlink to outside (renameat2 RENAME_EXCHANGE): zero escapes",
    () =>
      Effect.gen(function* () {
        const { ws, out, cleanup } = setup()
        try {
          nodeFs.symlinkSync(out, path.join(ws, "l"))
          const before = snapshot(out)
          const r = startRacer(["exchange", path.join(ws, "d"), path.join(ws, "l")])
          const outcomes = yield* runOps(ws, throughDir)
          const { flips } = yield* Effect.promise(() => r.stop())
          const leaked = leaks(outcomes)
          const touched = changed(before, snapshot(out))
          report("exchange dir/symlink", flips, outcomes, leaked.length + touched.length)
          expect(leaked).toStrictEqual([])
          expect(touched).toStrictEqual([])
          // It really raced: the racer flipped, some calls met the symlink and were refused, others ran.
          expect(flips).toBeGreaterThan(0)
          expect(outcomes.some((o) => !o.ok && /outside the workspace|moved|changed/.test(o.text))).toBe(true)
          expect(outcomes.some((o) => o.ok && o.text.includes("inside"))).toBe(true)
        } finally {
          cleanup()
        }
      }),
    TIMEOUT
  )

  it.live(
    "a directory replaced by a symlink in a rename loop: zero escapes",
    () =>
      Effect.gen(function* () {
        const { ws, out, cleanup } = setup()
        try {
          const before = snapshot(out)
          const r = startRacer(["swap", path.join(ws, "d"), out])
          const outcomes = yield* runOps(ws, throughDir)
          const { flips } = yield* Effect.promise(() => r.stop())
          const leaked = leaks(outcomes)
          const touched = changed(before, snapshot(out))
          report("rename loop", flips, outcomes, leaked.length + touched.length)
          expect(leaked).toStrictEqual([])
          expect(touched).toStrictEqual([])
          expect(flips).toBeGreaterThan(0)
          expect(outcomes.some((o) => o.ok)).toBe(true)
        } finally {
          cleanup()
        }
      }),
    TIMEOUT
  )

  it.live(
    "a file exchanged with a symlink out, and with a hard link to an outside file: zero escapes",
    () =>
      Effect.gen(function* () {
        const { ws, out, cleanup } = setup()
        try {
          const d = path.join(ws, "d")
          nodeFs.symlinkSync(path.join(out, "f"), path.join(d, "g"))
          nodeFs.linkSync(path.join(out, "hl"), path.join(d, "h"))
          nodeFs.writeFileSync(path.join(d, "k"), "inside\n")
          const before = snapshot(out)
          const r1 = startRacer(["exchange", path.join(d, "f"), path.join(d, "g")])
          const r2 = startRacer(["exchange", path.join(d, "h"), path.join(d, "k")])
          const ops: ReadonlyArray<Op> = [
            () => ({ tool: FsTools.ReadFile, input: { path: "d/f" } }),
            () => ({ tool: FsTools.ReadFile, input: { path: "d/k" } }),
            (i) => ({ tool: FsTools.WriteFile, input: { path: "d/f", content: `inside ${i}\n` } }),
            (i) => ({ tool: FsTools.WriteFile, input: { path: "d/k", content: `inside ${i}\n` } }),
            () => ({ tool: FsTools.Edit, input: { path: "d/k", old_string: "inside", new_string: "inside" } }),
            () => ({ tool: FsTools.Grep, input: { pattern: "SECRE[T]|inside", path: "d" } })
          ]
          // It really raced: some calls met an exchange and were refused (a hard link, a symlink out, or a
          // file that moved during the call); more rounds while none did (rarer on a loaded machine)
          const refused = (o: Outcome) => !o.ok && /hard links|outside the workspace|moved/.test(o.text)
          const outcomes: Array<Outcome> = []
          for (let round = 0; round < 5 && !outcomes.some(refused); round++) outcomes.push(...(yield* runOps(ws, ops)))
          const flips = (yield* Effect.promise(() => r1.stop())).flips + (yield* Effect.promise(() => r2.stop())).flips
          const leaked = leaks(outcomes)
          const touched = changed(before, snapshot(out))
          report("file symlink/hard link", flips, outcomes, leaked.length + touched.length)
          expect(leaked).toStrictEqual([])
          expect(touched).toStrictEqual([])
          expect(flips).toBeGreaterThan(0)
          expect(outcomes.some(refused)).toBe(true)
          expect(outcomes.some((o) => o.ok)).toBe(true)
        } finally {
          cleanup()
        }
      }),
    TIMEOUT
  )

  it.live(
    "a directory exchanged with a symlink to .strata/: no protected file read or changed without approval",
    () =>
      Effect.gen(function* () {
        const { ws, cleanup } = setup()
        try {
          const strata = path.join(ws, ".strata")
          nodeFs.mkdirSync(strata)
          nodeFs.writeFileSync(path.join(strata, "config.toml"), "PROTECTED\n")
          nodeFs.mkdirSync(path.join(ws, "e"))
          nodeFs.writeFileSync(path.join(ws, "e", "config.toml"), "normal\n")
          nodeFs.symlinkSync(strata, path.join(ws, "e2"))
          const paths = ProtectedPaths.defaults({ workspace: ws })
          const before = snapshot(strata)
          const r = startRacer(["exchange", path.join(ws, "e"), path.join(ws, "e2")])
          const ops: ReadonlyArray<Op> = [
            () => ({ tool: FsTools.ReadFile, input: { path: "e/config.toml" } }),
            (i) => ({ tool: FsTools.WriteFile, input: { path: "e/config.toml", content: `normal ${i}\n` } }),
            (i) => ({ tool: FsTools.WriteFile, input: { path: `e/new${i % 20}.toml`, content: "x\n" } }),
            () => ({
              tool: FsTools.Edit,
              input: { path: "e/config.toml", old_string: "normal", new_string: "normal" }
            }),
            () => ({ tool: FsTools.Grep, input: { pattern: "PROTECTE[D]|normal", path: "." } }),
            () => ({ tool: FsTools.Grep, input: { pattern: "PROTECTE[D]|normal", path: "e" } })
          ]
          const outcomes = yield* runOps(ws, ops, { protectedPath: (p) => ProtectedPaths.match(paths, p) })
          const { flips } = yield* Effect.promise(() => r.stop())
          const leaked = leaks(outcomes)
          const touched = changed(before, snapshot(strata))
          report("protected", flips, outcomes, leaked.length + touched.length)
          expect(leaked).toStrictEqual([])
          expect(touched).toStrictEqual([])
          expect(flips).toBeGreaterThan(0)
          expect(outcomes.some((o) => !o.ok && /protected path/.test(o.text))).toBe(true)
          expect(outcomes.some((o) => o.ok)).toBe(true)
        } finally {
          cleanup()
        }
      }),
    TIMEOUT
  )
})
