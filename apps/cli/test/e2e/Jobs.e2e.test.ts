/**
 * Background jobs through the built `strata`: a plugin's job kind
 * (`defineJob`) is run by the session's job manager, at most
 * `[jobs] concurrency` at once; its tool starts them and waits for them.
 */
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import {
  call,
  eventually,
  fixtures,
  lastToolResult,
  lineCount,
  linkWorkspace,
  providerToml,
  withModel,
  withProject
} from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

describe.concurrent("[jobs]", { timeout: 180_000 }, () => {
  for (const concurrency of [1, 2]) {
    it(`concurrency = ${concurrency}: at most ${concurrency} of a plugin's jobs run at once`, async () => {
      await withProject(async (p) => {
        linkWorkspace(p, ["@strata/plugin", "effect"])
        p.write("batch.mjs", readFileSync(path.join(fixtures, "batch-plugin.mjs"), "utf8"))
        await withModel({ turns: [call("batch__run_batch", { count: 4 }), { text: "batched" }] }, async (server) => {
          // covers: jobs.concurrency
          p.config(`plugins = ["./batch.mjs"]\n${providerToml(server)}\n[jobs]\nconcurrency = ${concurrency}\n`)
          const running = p.strata(["run", "batch"])
          // As many start as the limit allows, then they are let go.
          const starts = () =>
            p.exists("jobs.log")
              ? p
                  .read("jobs.log")
                  .split("\n")
                  .filter((l) => l.startsWith("start")).length
              : 0
          await eventually(() => starts() >= concurrency, `${concurrency} jobs started`, 120_000)
          p.write("release", "")
          const run = await running
          expect(run.code, run.stderr).toBe(0)
          expect(JSON.parse(lastToolResult(server.requests[1]!))).toEqual({
            peak: concurrency,
            statuses: ["completed", "completed", "completed", "completed"]
          })
          expect(lineCount(path.join(p.dir, "jobs.log"))).toBe(8)
          const jobs = JSON.parse((await p.strata(["jobs", "list", "--json"])).stdout) as Array<{
            name: string
            status: string
          }>
          expect(jobs.map((j) => [j.name, j.status])).toEqual(Array(4).fill(["batch__wait", "completed"]))
        })
      })
    })
  }
})
