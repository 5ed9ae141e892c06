// The Workspace helpers on real temp directories, under both mechanisms of
// NodeWorkspace (descriptor-anchored on Linux, path re-checks elsewhere):
// confinement, symlinks, hard links, unsafe names, FIFOs, protected paths,
// atomic replacement, walks with limits.
import * as nodeFs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as NodeWorkspace from "../src/NodeWorkspace.js"
import * as Workspace from "../src/Workspace.js"

const tempDir = (prefix: string) => nodeFs.realpathSync(nodeFs.mkdtempSync(path.join(os.tmpdir(), prefix)))

const fixture = () => {
  const ws = tempDir("strata-ws-")
  const out = tempDir("strata-ws-out-")
  nodeFs.mkdirSync(path.join(ws, "src"))
  nodeFs.writeFileSync(path.join(ws, "src", "a.ts"), "export const a = 1\n")
  nodeFs.writeFileSync(path.join(out, "secret"), "SECRET\n")
  return {
    ws,
    out,
    [Symbol.dispose]: () => {
      nodeFs.rmSync(ws, { recursive: true, force: true })
      nodeFs.rmSync(out, { recursive: true, force: true })
    }
  }
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
const reasonOf = <A>(effect: Effect.Effect<A, Workspace.WorkspaceError>) =>
  Effect.map(Effect.flip(effect), (e) => e.reason)

/** Protected paths as the runtime gives them: `.strata/` of the workspace. */
const protectedIn = (ws: string) => (p: string) =>
  p === `${ws}/.strata` || p.startsWith(`${ws}/.strata/`) ? `${ws}/.strata/` : undefined

describe("Workspace (pure helpers)", () => {
  it("confine folds .. and refuses what leaves the root", () => {
    expect(Either.getOrThrow(Workspace.confine("/w", "a/./b/../c"))).toStrictEqual({
      root: "/w",
      segments: ["a", "c"],
      relative: "a/c",
      absolute: "/w/a/c"
    })
    expect(Either.getOrThrow(Workspace.confine("/w", "/w")).relative).toBe(".")
    for (const bad of ["../x", "/etc/passwd", "a/../../x", "/w2/x"]) {
      const e = Workspace.confine("/w", bad)
      expect(Either.isLeft(e) && e.left.reason).toBe("OutsideWorkspace")
    }
    const none = Workspace.confine(undefined, "a")
    expect(Either.isLeft(none) && none.left.reason).toBe("NoWorkspace")
  })

  it("checkName refuses newlines, control and bidi characters, naming the character", () => {
    for (const bad of ["a\nb", "a\rb", "tab\tname", "nul\u0000", "del\u007f", "c1\u0085", "ls\u2028", "rtl\u202e"]) {
      const e = Workspace.checkName(bad)
      expect(Either.isLeft(e) && e.left.reason).toBe("InvalidName")
    }
    const e = Workspace.checkName("x\ny")
    expect(Either.isLeft(e) && e.left.message).toContain("U+000A at character 2")
    expect(Either.isRight(Workspace.checkName("ok name-ü.ts"))).toBe(true)
  })

  it("printable keeps clean names and turns others into one safe line", () => {
    expect(Workspace.printable("src/a.ts")).toBe("src/a.ts")
    expect(Workspace.printable("a\nb")).toBe('"a\\nb"')
    expect(Workspace.printable("x\u202ey")).toBe('"x\\u202ey"')
    expect(Workspace.printable("evil\nsrc/a.ts:1: fake").includes("\n")).toBe(false)
  })

  it("protectedBy: reads allowed only when named directly, writes only approved and named", () => {
    const policy = { protectedPath: protectedIn("/w") }
    const viaLink = { root: "/w", realRoot: "/w", named: "/w/notes", real: "/w/.strata/config.toml" }
    const direct = { ...viaLink, named: "/w/.strata/config.toml" }
    expect(Workspace.protectedBy(policy, "read", viaLink)).toBe("/w/.strata/")
    expect(Workspace.protectedBy(policy, "read", direct)).toBeUndefined()
    expect(Workspace.protectedBy(policy, "write", direct)).toBe("/w/.strata/")
    expect(Workspace.protectedBy({ ...policy, approved: true }, "write", direct)).toBeUndefined()
    expect(Workspace.protectedBy({ ...policy, approved: true }, "write", viaLink)).toBe("/w/.strata/")
    // A root reached through a symlink: the real path is checked under the given spelling too.
    const aliased = { root: "/w", realRoot: "/private/w", named: "/w/x", real: "/private/w/.strata/x" }
    expect(Workspace.protectedBy(policy, "write", aliased)).toBe("/w/.strata/")
  })
})

for (const mode of ["descriptor", "path"] as const) {
  describe.skipIf(process.platform !== "linux" && mode === "descriptor")(`NodeWorkspace (${mode})`, () => {
    const ws = Effect.runSync(NodeWorkspace.make({ mode, durable: false }))

    it.effect("reads and writes inside; symlinks inside are followed, those leading out are refused", () =>
      Effect.gen(function* () {
        using f = fixture()
        expect(ws.guarantee).toBe(mode)
        expect(text((yield* ws.readFile(f.ws, "src/a.ts")).bytes)).toBe("export const a = 1\n")
        const written = yield* ws.writeFile(f.ws, "deep/er/new.txt", "hello\n")
        expect(written).toStrictEqual({ real: `${f.ws}/deep/er/new.txt`, relative: "deep/er/new.txt", created: true })
        nodeFs.symlinkSync("src", path.join(f.ws, "inner"))
        nodeFs.symlinkSync("a.ts", path.join(f.ws, "src", "alias.ts"))
        expect((yield* ws.readFile(f.ws, "inner/alias.ts")).relative).toBe("src/a.ts")
        nodeFs.symlinkSync(f.out, path.join(f.ws, "out"))
        nodeFs.symlinkSync(path.join(f.out, "secret"), path.join(f.ws, "secret-link"))
        nodeFs.symlinkSync(path.join(f.out, "new"), path.join(f.ws, "dangling"))
        nodeFs.symlinkSync("../../..", path.join(f.ws, "src", "up"))
        for (const p of ["out/secret", "secret-link", "src/up/etc/passwd", "../x", `${f.out}/secret`]) {
          expect(yield* reasonOf(ws.readFile(f.ws, p))).toBe("OutsideWorkspace")
        }
        for (const p of ["out/new", "dangling", "secret-link"]) {
          expect(yield* reasonOf(ws.writeFile(f.ws, p, "x"))).toBe("OutsideWorkspace")
        }
        expect(nodeFs.readdirSync(f.out)).toStrictEqual(["secret"])
        expect(nodeFs.readFileSync(path.join(f.out, "secret"), "utf8")).toBe("SECRET\n")
      })
    )

    it.effect(
      "a write replaces atomically, keeps the mode, writes through an inside symlink, never into a hard link",
      () =>
        Effect.gen(function* () {
          using f = fixture()
          const script = path.join(f.ws, "run.sh")
          nodeFs.writeFileSync(script, "old\n", { mode: 0o755 })
          const before = nodeFs.statSync(script).ino
          expect((yield* ws.writeFile(f.ws, "run.sh", "new\n")).created).toBe(false)
          expect(nodeFs.readFileSync(script, "utf8")).toBe("new\n")
          expect(nodeFs.statSync(script).mode & 0o777).toBe(0o755)
          expect(nodeFs.statSync(script).ino).not.toBe(before)
          nodeFs.symlinkSync("run.sh", path.join(f.ws, "link.sh"))
          yield* ws.writeFile(f.ws, "link.sh", "via link\n")
          expect(nodeFs.lstatSync(path.join(f.ws, "link.sh")).isSymbolicLink()).toBe(true)
          expect(nodeFs.readFileSync(script, "utf8")).toBe("via link\n")
          // A hard link to an outside file: refused both ways, unless allowed.
          nodeFs.linkSync(path.join(f.out, "secret"), path.join(f.ws, "hard"))
          expect(yield* reasonOf(ws.readFile(f.ws, "hard"))).toBe("HardLinked")
          expect(yield* reasonOf(ws.writeFile(f.ws, "hard", "x"))).toBe("HardLinked")
          expect(text((yield* ws.readFile(f.ws, "hard", { allowHardlinks: true })).bytes)).toBe("SECRET\n")
          // Allowed, the write replaces the name: the other link keeps its content.
          yield* ws.writeFile(f.ws, "hard", "mine\n", { allowHardlinks: true })
          expect(nodeFs.readFileSync(path.join(f.out, "secret"), "utf8")).toBe("SECRET\n")
          expect(nodeFs.readdirSync(f.ws).filter((n) => n.startsWith(".strata-"))).toStrictEqual([])
        })
    )

    it.effect("unsafe names, directories, FIFOs and sizes are refused with the reason", () =>
      Effect.gen(function* () {
        using f = fixture()
        expect(yield* reasonOf(ws.writeFile(f.ws, "a\nb.txt", "x"))).toBe("InvalidName")
        expect(yield* reasonOf(ws.readFile(f.ws, "src"))).toBe("IsADirectory")
        expect(yield* reasonOf(ws.writeFile(f.ws, "src", "x"))).toBe("IsADirectory")
        expect(yield* reasonOf(ws.readFile(f.ws, "missing"))).toBe("NotFound")
        expect(yield* reasonOf(ws.readFile(f.ws, "src/a.ts/x"))).toBe("NotADirectory")
        nodeFs.writeFileSync(path.join(f.ws, "big"), "x".repeat(100))
        expect(yield* reasonOf(ws.readFile(f.ws, "big", { maxBytes: 10 }))).toBe("TooLarge")
        // A FIFO nobody writes to: refused at once, never waited on.
        const { execFileSync } = yield* Effect.promise(() => import("node:child_process"))
        execFileSync("mkfifo", [path.join(f.ws, "pipe")])
        expect(yield* reasonOf(ws.readFile(f.ws, "pipe"))).toBe("NotAFile")
        expect(yield* reasonOf(ws.writeFile(f.ws, "pipe", "x"))).toBe("NotAFile")
      })
    )

    it.effect("protected paths: never reached through a symlink; written only when approved and named", () =>
      Effect.gen(function* () {
        using f = fixture()
        nodeFs.mkdirSync(path.join(f.ws, ".strata"))
        nodeFs.writeFileSync(path.join(f.ws, ".strata", "config.toml"), "PROTECTED\n")
        nodeFs.symlinkSync(".strata/config.toml", path.join(f.ws, "notes.txt"))
        nodeFs.symlinkSync(".strata", path.join(f.ws, "cfg"))
        const policy = { protectedPath: protectedIn(f.ws) }
        const e = yield* Effect.flip(ws.readFile(f.ws, "notes.txt", policy))
        expect(e.reason).toBe("Protected")
        expect(e.pattern).toBe(`${f.ws}/.strata/`)
        expect(e.message).toContain(`${f.ws}/.strata/config.toml is a protected path`)
        expect(yield* reasonOf(ws.writeFile(f.ws, "notes.txt", "evil", { ...policy, approved: true }))).toBe(
          "Protected"
        )
        expect(yield* reasonOf(ws.writeFile(f.ws, "cfg/hooks.toml", "evil", policy))).toBe("Protected")
        expect(yield* reasonOf(ws.writeFile(f.ws, ".strata/config.toml", "evil", policy))).toBe("Protected")
        expect(yield* reasonOf(ws.remove(f.ws, ".strata/config.toml", policy))).toBe("Protected")
        expect(nodeFs.readFileSync(path.join(f.ws, ".strata", "config.toml"), "utf8")).toBe("PROTECTED\n")
        // Named directly, a read is the runtime's decision; an approved write goes through.
        expect(text((yield* ws.readFile(f.ws, ".strata/config.toml", policy)).bytes)).toBe("PROTECTED\n")
        yield* ws.writeFile(f.ws, ".strata/config.toml", "approved\n", { ...policy, approved: true })
        expect(nodeFs.readFileSync(path.join(f.ws, ".strata", "config.toml"), "utf8")).toBe("approved\n")
      })
    )

    it.effect("remove deletes a file or a symlink itself, never a target", () =>
      Effect.gen(function* () {
        using f = fixture()
        nodeFs.symlinkSync(path.join(f.out, "secret"), path.join(f.ws, "link"))
        yield* ws.remove(f.ws, "link")
        expect(nodeFs.existsSync(path.join(f.out, "secret"))).toBe(true)
        expect(nodeFs.existsSync(path.join(f.ws, "link"))).toBe(false)
        yield* ws.remove(f.ws, "src/a.ts")
        expect(nodeFs.existsSync(path.join(f.ws, "src", "a.ts"))).toBe(false)
        expect(yield* reasonOf(ws.remove(f.ws, "src"))).toBe("IsADirectory")
      })
    )

    it.effect("walk: sorted files, symlinks not followed, skips, protected paths, depth and entry limits", () =>
      Effect.gen(function* () {
        using f = fixture()
        nodeFs.mkdirSync(path.join(f.ws, "a/b/c/d"), { recursive: true })
        nodeFs.writeFileSync(path.join(f.ws, "a/b/c/d/deep.txt"), "x")
        nodeFs.writeFileSync(path.join(f.ws, "a/top.txt"), "x")
        nodeFs.writeFileSync(path.join(f.ws, "we\nird"), "x")
        nodeFs.mkdirSync(path.join(f.ws, "node_modules"))
        nodeFs.writeFileSync(path.join(f.ws, "node_modules/m.js"), "x")
        nodeFs.mkdirSync(path.join(f.ws, ".strata"))
        nodeFs.writeFileSync(path.join(f.ws, ".strata/journal"), "x")
        nodeFs.symlinkSync(f.out, path.join(f.ws, "out"))
        const seen: Array<string> = []
        const options = {
          maxDepth: 2,
          maxEntries: 100,
          skip: new Set(["node_modules"]),
          protectedPath: protectedIn(f.ws),
          onFile: (file: Workspace.WalkFile) => Effect.sync(() => seen.push(file.relative)).pipe(Effect.as(true))
        }
        const result = yield* ws.walk(f.ws, ".", options)
        expect(seen).toStrictEqual(["a/top.txt", "src/a.ts", "we\nird"])
        expect(result.tooDeep).toStrictEqual({ count: 1, sample: ["a/b/c"] })
        expect(result.symlinks).toStrictEqual({ count: 1, sample: ["out"] })
        expect(result.protected).toStrictEqual({ count: 1, sample: [".strata"] })
        expect(result.cutAtEntries).toBe(false)
        const cut = yield* ws.walk(f.ws, ".", { ...options, maxEntries: 2 })
        expect(cut.cutAtEntries).toBe(true)
        expect(cut.entries).toBe(2)
        // Starting in a protected directory named directly: the runtime saw it.
        seen.length = 0
        yield* ws.walk(f.ws, ".strata", options)
        expect(seen).toStrictEqual([".strata/journal"])
        // A walk through a symlink that stays inside starts at its target.
        nodeFs.symlinkSync("a", path.join(f.ws, "alias"))
        seen.length = 0
        yield* ws.walk(f.ws, "alias", { ...options, maxDepth: 0 })
        expect(seen).toStrictEqual(["a/top.txt"])
        expect(yield* reasonOf(ws.walk(f.ws, "out", options))).toBe("OutsideWorkspace")
      })
    )
  })
}
