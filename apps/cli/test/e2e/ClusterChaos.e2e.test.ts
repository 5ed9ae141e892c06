/**
 * The CI slice of the turns chaos run (test/chaos/turns.mjs, `npm run chaos
 * -w @strata/cli` for the full one): the built `strata serve --cluster` and
 * three `strata worker` processes, a handful of turns on a few threads and
 * some jobs, and
 * a killer that sends SIGKILL to a worker soon after they start, or freezes
 * one past its lock and leases (bounded by MAX_KILLS). The run checks every invariant itself and exits 1 naming any
 * violation; here its summary must show the kills happened and no problem.
 */
import { spawn } from "node:child_process"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { appDir, ensureBuilt } from "../build.js"

beforeAll(() => ensureBuilt(), 300_000)

const chaos = (env: Record<string, string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [path.join(appDir, "test", "chaos", "turns.mjs")], {
      cwd: appDir,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => {
      stdout += d
    })
    child.stderr.on("data", (d) => {
      stderr += d
    })
    child.on("exit", (code) => resolve({ code, stdout, stderr }))
  })

describe.concurrent("turns chaos slice", { timeout: 120_000 }, () => {
  for (const store of ["redis", "postgres"]) {
    it(`${store}: 12 turns on 3 threads and 60 jobs, 3 workers, SIGKILL or SIGSTOP mid-run: every thread consistent, every job as its policy allows, nothing run twice, every SSE frame once`, async () => {
      const run = await chaos({
        STORE: store,
        TURNS: "12",
        JOBS: "60",
        THREADS: "3",
        WORKERS: "3",
        FIRST_KILL_MS: "1500",
        KILL_MIN_MS: "1500",
        KILL_MAX_MS: "2500",
        MAX_KILLS: "2",
        // half the strikes freeze a worker past its lock and leases (SIGSTOP, then SIGCONT)
        FREEZE_SHARE: "0.5",
        TIMEOUT_MS: "100000"
      })
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0)
      const summary = JSON.parse(run.stdout.trim().split("\n").at(-1)!)
      expect(summary).toMatchObject({ store, turns: 12, jobs: 60, problems: 0 })
      expect(summary.jobs_completed + summary.jobs_cancelled_after_a_crash_paused_them).toBe(60)
      expect(summary.sigkill + summary.sigstop_freezes).toBeGreaterThanOrEqual(1)
      expect(summary.completed + summary.closed_by_a_crash + summary.ended_before_the_crash).toBe(12)
      expect(summary.sse_frames).toBe(summary.frames)
    })
  }
})
