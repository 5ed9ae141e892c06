// Crash recovery with a real child process killed with SIGKILL mid-job.
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { NodeContext } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { HookDispatcher } from "@strata/hooks/HookDispatcher"
import { JobBackend, JobManager } from "@strata/jobs"
import * as StateStore from "@strata/storage/StateStore"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = join(here, "..", "..", "..")
const dirs: Array<string> = []

beforeAll(() => {
  // The child runs the built packages: make sure dist is current (turbo caches).
  const build = spawnSync("npx", ["turbo", "run", "build", "--filter=@strata/jobs...", "--output-logs=errors-only"], {
    cwd: repoRoot,
    encoding: "utf8"
  })
  if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`)
}, 180_000)

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const runUntilRunning = (dir: string) =>
  new Promise<{ pid: number; ids: Record<string, string> }>((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, "fixtures", "crash-child.mjs"), dir], {
      cwd: join(here, ".."),
      stdio: ["ignore", "pipe", "pipe"]
    })
    const ids: Record<string, string> = {}
    let err = ""
    child.stderr.on("data", (d) => (err += d))
    child.stdout.on("data", (d: Buffer) => {
      for (const line of d.toString().split("\n")) {
        const m = /^RUNNING (\S+) (\S+)$/.exec(line.trim())
        if (m) ids[m[1]!] = m[2]!
      }
      if (Object.keys(ids).length === 3) {
        child.kill("SIGKILL")
      }
    })
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL" && Object.keys(ids).length === 3) resolve({ pid: child.pid!, ids })
      else reject(new Error(`child exited early (code ${code}, signal ${signal}):\n${err}`))
    })
  })

describe("crash recovery", () => {
  it.live(
    "jobs running in a SIGKILLed process are requeued, failed or paused on the next start",
    () =>
      Effect.gen(function* () {
        const dir = mkdtempSync(join(tmpdir(), "strata-jobs-crash-"))
        dirs.push(dir)
        const { pid, ids } = yield* Effect.promise(() => runUntilRunning(dir))
        const store = StateStore.layerFileSystem(dir).pipe(Layer.provide(NodeContext.layer))
        yield* Effect.scoped(
          Effect.gen(function* () {
            const jobs = yield* JobManager.make({
              handlers: [
                { kind: "requeue-me", idempotent: true, run: (ctx) => ctx.progress(100) },
                { kind: "fail-me", recovery: "fail", run: () => Effect.void },
                { kind: "pause-me", run: () => Effect.void }
              ]
            })
            yield* jobs.awaitIdle
            const requeued = yield* jobs.getJob(ids["requeue-me"]!)
            const failed = yield* jobs.getJob(ids["fail-me"]!)
            const paused = yield* jobs.getJob(ids["pause-me"]!)
            expect(requeued.status).toBe("completed")
            const phases = requeued.history.map((h) => h.phase)
            expect(phases).toContain("interrupted")
            expect(phases.indexOf("interrupted")).toBeLessThan(phases.lastIndexOf("running"))
            expect(requeued.retry.attempt).toBe(2)
            expect(failed.status).toBe("failed")
            expect(failed.history[failed.history.length - 1]).toMatchObject({
              phase: "interrupted",
              from: "running",
              to: "failed"
            })
            expect(paused.status).toBe("paused")
            expect(paused.detail).toContain(`child-${pid}`)
            // progress acknowledged before the kill survived the crash
            const beforeKill = requeued.history.filter((h) => h.phase === "progress" && h.attempt === 1)
            expect(beforeKill.length).toBeGreaterThanOrEqual(3)
            // the person resumes the paused one; it runs again and completes
            yield* jobs.resumeJob(paused.id)
            yield* jobs.awaitIdle
            expect((yield* jobs.getJob(paused.id)).status).toBe("completed")
          }).pipe(
            Effect.provide(JobBackend.layerStateStore),
            Effect.provide(store),
            Effect.provide(HookDispatcher.Default)
          )
        )
      }),
    60_000
  )
})
