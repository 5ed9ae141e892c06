/**
 * The built-in demo model comes from `@strata/demo`: the built `strata`
 * (its bundles and its unbundled entry) runs a demo turn with every
 * resolution of `@strata/testkit` made to fail (test/noTestkit.mjs), so the
 * CLI does not load the testkit at run time.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { appDir, ensureBuilt } from "./build.js"
import { strataDemo } from "./strataProcess.js"

const noTestkit = `--import=${pathToFileURL(path.join(appDir, "test", "noTestkit.mjs")).href}`

beforeAll(() => ensureBuilt(), 300_000)

describe("the demo model without @strata/testkit", () => {
  it("the guard works: importing the testkit under it fails", () => {
    const attempt = () =>
      execFileSync(process.execPath, [noTestkit, "-e", 'await import("@strata/testkit/node/ScriptedModelServer")'], {
        cwd: appDir,
        stdio: "pipe",
        input: ""
      })
    expect(attempt).toThrow(/@strata\/testkit loaded at run time/)
  })

  it.scopedLive(
    "`strata run` (the run bundle) and `strata` without a terminal (the full bundle) answer on the demo model",
    () =>
      Effect.gen(function* () {
        const fs = yield* FileSystem.FileSystem
        const dir = yield* fs.makeTempDirectoryScoped({ prefix: "strata-demo-pkg-" })
        const env = { NODE_OPTIONS: noTestkit }
        const run = yield* strataDemo(dir, ["run", "run: echo from-the-demo-package"], env)
        expect(run.stderr).toContain("demo model: no provider configured")
        expect(run.stdout).toContain("⏺ shell__exec(echo from-the-demo-package)")
        expect(run.stdout).toContain("Ran `echo from-the-demo-package`.")
        expect(run.code).toBe(0)
        const session = yield* strataDemo(dir, [], env)
        expect(session.stdout).toContain("⏺ shell__exec(ls)")
        expect(session.stdout).toContain("That was the whole demo.")
        expect(session.code).toBe(0)
      }).pipe(Effect.provide(NodeContext.layer)),
    90_000
  )

  it("the unbundled entry (dist/main.js) runs the demo turn too", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "strata-demo-pkg-"))
    try {
      const out = execFileSync(
        process.execPath,
        [noTestkit, path.join(appDir, "dist", "main.js"), "run", "run: echo unbundled-demo"],
        {
          cwd: dir,
          encoding: "utf8",
          input: "",
          stdio: ["pipe", "pipe", "pipe"],
          env: { ...process.env, STRATA_DEMO: "1", HOME: dir, XDG_CONFIG_HOME: "", NO_COLOR: "1" }
        }
      )
      expect(out).toContain("Ran `echo unbundled-demo`.")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
