/**
 * Node's compile cache of the launcher's bundles through the built `strata`
 * (bin/compileCache.js): the first run writes V8's code cache into the
 * per-user protected state directory, the next runs use it; a corrupted or
 * foreign cache file is refused by V8 and written again; a cache directory or
 * file that is a symbolic link, group-writable or another user's is neither
 * used nor written; STRATA_NO_COMPILE_CACHE=1 writes nothing. With
 * STRATA_PROFILE_STARTUP=1 the launcher says on stderr what the cache did
 * (`code cache: used | written | rejected, written | not used (why) | off`).
 */
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { appDir, ensureBuilt } from "../build.js"
import { jsonLines, type Project, q, redisUrl, withProject } from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

const profiled = { STRATA_DEMO: "1", STRATA_PROFILE_STARTUP: "1" }

/** The demo turn (`ls`, then `touch` approved by --yes): it must complete whatever the cache did. */
const turn = async (p: Project, env: Record<string, string> = {}) => {
  const run = await p.strata(["run", "--json", "--yes", "show me the demo"], { env: { ...profiled, ...env } })
  expect(run.code, run.stderr).toBe(0)
  expect(jsonLines(run.stdout).at(-1)).toMatchObject({ event: "run_result", outcome: "completed" })
  expect(p.exists("strata-demo.txt")).toBe(true)
  return run
}

/** What the cache of bundle `name` did, from the `code cache: ...` line of the profile. */
const outcome = (stderr: string, name: string) =>
  new RegExp(`^code cache: (.*)\\(${name}[,:]`, "m").exec(stderr)?.[1]?.trim() ?? `(no line for ${name}) ${stderr}`

/** The cache directory under a state directory, and the bundle's cache file in it (exactly one). */
const cacheDir = (home: string) => path.join(home, ".local", "state", "strata", "code-cache")
const cacheFile = (dir: string, name: string) => {
  const files = readdirSync(dir).filter((f) => f.startsWith(`${name}-`))
  expect(files).toHaveLength(1)
  return path.join(dir, files[0]!)
}

/** The SHA-256 the build wrote on the first line of a bundle's script. */
const bundleSha = (name: string) =>
  /^\/\/strata-script sha256:([0-9a-f]{64})\n/.exec(
    readFileSync(path.join(appDir, "dist", "bundle", `${name}.script.cjs`), "utf8")
  )?.[1]

describe.concurrent("the compile cache", { timeout: 240_000 }, () => {
  it("the first run writes it (0600 in a 0700 directory, named by the bundle's hash), the next runs use it", async () => {
    await withProject(async (p) => {
      const dir = cacheDir(p.home)
      const first = await turn(p)
      expect(outcome(first.stderr, "run")).toBe("written")
      const file = cacheFile(dir, "run")
      expect(path.basename(file)).toMatch(new RegExp(`^run-${bundleSha("run")!.slice(0, 32)}-v\\d+\\.\\d+\\.\\d+-`))
      expect(statSync(file).mode & 0o777).toBe(0o600)
      expect(statSync(dir).mode & 0o777).toBe(0o700)
      expect(statSync(path.dirname(dir)).mode & 0o777).toBe(0o700)
      // nothing else left there (no temporary file)
      expect(readdirSync(dir)).toStrictEqual([path.basename(file)])
      const bytes = readFileSync(file)
      const second = await turn(p)
      expect(outcome(second.stderr, "run")).toBe("used")
      // used, not written again
      expect(readFileSync(file).equals(bytes)).toBe(true)
      expect(second.stdout.split("\n").length).toBe(first.stdout.split("\n").length)

      // `strata status` (its own bundle, the fast path) and the whole command line likewise
      for (const [args, name] of [
        [["status"], "status"],
        [["policy", "check", "--", "ls", "-la"], "strata"]
      ] as const) {
        const a = await p.strata(args, { env: profiled })
        const b = await p.strata(args, { env: profiled })
        expect(a.code, a.stderr).toBe(0)
        expect(b.code, b.stderr).toBe(0)
        expect(outcome(a.stderr, name)).toBe("written")
        expect(outcome(b.stderr, name)).toBe("used")
        expect(b.stdout).toBe(a.stdout)
      }
      expect(
        readdirSync(dir)
          .map((f) => f.split("-")[0])
          .sort()
      ).toStrictEqual(["run", "status", "strata"])
    })
  })

  it("the bundle's dynamic imports work from the cache: the Redis store's ioredis, loaded at run time; no warning", async () => {
    await withProject(async (p) => {
      p.config(
        `[storage]\nkind = "redis"\nurl = ${q(redisUrl)}\nprefix = ${q(`strata-cc-${process.pid}-${Date.now()}:`)}\n`
      )
      for (const expected of ["written", "used"]) {
        for (const [args, name] of [
          [["run", "--json", "--yes", "show me the demo"], "run"],
          [["threads", "list", "--json"], "strata"]
        ] as const) {
          const run = await p.strata(args, { env: profiled })
          expect(run.code, run.stderr).toBe(0)
          expect(outcome(run.stderr, name)).toBe(expected)
          expect(run.stderr).not.toMatch(/Warning|dynamic import/)
        }
      }
      const threads = await p.strata(["threads", "list", "--json"], { env: profiled })
      expect(threads.stdout).toContain("show me the demo")
    })
  })

  it("XDG_STATE_HOME: the cache is in $XDG_STATE_HOME/strata/code-cache, nothing under HOME", async () => {
    await withProject(async (p) => {
      const state = mkdtempSync(path.join(tmpdir(), "strata-state-"))
      const run = await p.strata(["status"], { env: { ...profiled, XDG_STATE_HOME: state } })
      expect(run.code, run.stderr).toBe(0)
      expect(outcome(run.stderr, "status")).toBe("written")
      cacheFile(path.join(state, "strata", "code-cache"), "status")
      expect(existsSync(cacheDir(p.home))).toBe(false)
    })
  })

  it("a corrupted or foreign cache file is refused by V8: the command works and the cache is written again", async () => {
    await withProject(async (p) => {
      const dir = cacheDir(p.home)
      expect(outcome((await turn(p)).stderr, "run")).toBe("written")
      const file = cacheFile(dir, "run")
      const good = readFileSync(file)
      // corrupted: random bytes of the same length
      const garbage = Buffer.from(good.map(() => Math.floor(Math.random() * 256)))
      writeFileSync(file, garbage)
      expect(outcome((await turn(p)).stderr, "run")).toBe("rejected, written")
      expect(readFileSync(file).equals(garbage)).toBe(false)
      expect(outcome((await turn(p)).stderr, "run")).toBe("used")
      // foreign: the code cache of another bundle (status) under this bundle's name
      const status = await p.strata(["status"], { env: profiled })
      expect(outcome(status.stderr, "status")).toBe("written")
      const foreign = readFileSync(cacheFile(dir, "status"))
      writeFileSync(file, foreign)
      expect(outcome((await turn(p)).stderr, "run")).toBe("rejected, written")
      expect(readFileSync(file).equals(foreign)).toBe(false)
      expect(outcome((await turn(p)).stderr, "run")).toBe("used")
    })
  })

  it("a symlinked, group-writable or foreign-owned cache directory or file is neither used nor written", async () => {
    await withProject(async (p) => {
      const dir = cacheDir(p.home)
      expect(outcome((await turn(p)).stderr, "run")).toBe("written")
      const file = cacheFile(dir, "run")
      const name = path.basename(file)
      const good = readFileSync(file)

      // the directory is a symbolic link (to a directory holding a valid cache)
      const elsewhere = mkdtempSync(path.join(tmpdir(), "strata-elsewhere-"))
      chmodSync(elsewhere, 0o700)
      renameSync(dir, path.join(elsewhere, "code-cache"))
      symlinkSync(path.join(elsewhere, "code-cache"), dir)
      const viaLink = await turn(p)
      expect(outcome(viaLink.stderr, "run")).toMatch(/^not used \(.*code-cache is a symbolic link\)$/)
      expect(readdirSync(path.join(elsewhere, "code-cache"))).toStrictEqual([name])
      expect(lstatSync(dir).isSymbolicLink()).toBe(true)
      unlinkSync(dir)
      renameSync(path.join(elsewhere, "code-cache"), dir)
      expect(outcome((await turn(p)).stderr, "run")).toBe("used")

      // the file is a symbolic link to a valid cache
      const copy = path.join(elsewhere, name)
      copyFileSync(file, copy)
      chmodSync(copy, 0o600)
      unlinkSync(file)
      symlinkSync(copy, file)
      expect(outcome((await turn(p)).stderr, "run")).toMatch(/^not used \(.*: a symbolic link\)$/)
      expect(lstatSync(file).isSymbolicLink()).toBe(true)
      unlinkSync(file)

      // a group-writable directory: not read, not written
      chmodSync(dir, 0o770)
      expect(outcome((await turn(p)).stderr, "run")).toMatch(/^not used \(.*code-cache is writable by group or others/)
      expect(readdirSync(dir)).toStrictEqual([])
      chmodSync(dir, 0o700)
      // nor the state directory above it
      chmodSync(path.dirname(dir), 0o777)
      expect(outcome((await turn(p)).stderr, "run")).toMatch(/^not used \(.*strata is writable by group or others/)
      expect(readdirSync(dir)).toStrictEqual([])
      chmodSync(path.dirname(dir), 0o700)

      // a group-writable file: not used, left as it is
      writeFileSync(file, good, { mode: 0o600 })
      chmodSync(file, 0o660)
      expect(outcome((await turn(p)).stderr, "run")).toMatch(/^not used \(.* is writable by group or others/)
      expect(statSync(file).mode & 0o777).toBe(0o660)
      chmodSync(file, 0o600)
      expect(outcome((await turn(p)).stderr, "run")).toBe("used")

      // another user's file (the test needs root to give it away)
      if (process.getuid?.() === 0) {
        chownSync(file, 65534, 65534)
        expect(outcome((await turn(p)).stderr, "run")).toMatch(/^not used \(.* is owned by uid 65534\)$/)
        expect(statSync(file).uid).toBe(65534)
      }
    })
  })

  it("STRATA_NO_COMPILE_CACHE=1: nothing is written, the commands work", async () => {
    await withProject(async (p) => {
      const off = { STRATA_NO_COMPILE_CACHE: "1" }
      const run = await turn(p, off)
      expect(run.stderr).toMatch(/^code cache: off \(STRATA_NO_COMPILE_CACHE\)$/m)
      const status = await p.strata(["status"], { env: { ...profiled, ...off } })
      expect(status.code, status.stderr).toBe(0)
      expect(status.stderr).toMatch(/^code cache: off/m)
      expect(existsSync(cacheDir(p.home))).toBe(false)
      // and without the variable the same home gets one
      expect(outcome((await turn(p)).stderr, "run")).toBe("written")
      cacheFile(cacheDir(p.home), "run")
    })
  })
})
