/**
 * `[storage] kind = "unstorage"` through the built `strata`: a driver chosen
 * by name with its options (unstorage's fs driver under the project, its
 * redis driver on 127.0.0.1), what the store promises in `strata status`,
 * `durability = "strict"` refusing a driver that does not fsync, typed
 * errors naming the config field for an unknown driver or a missing
 * package, and one writer process at a time.
 */
import { spawnSync } from "node:child_process"
import { randomUUID } from "node:crypto"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import { providerToml, q, withModel, withProject } from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

const require = createRequire(import.meta.url)

const threadsOf = async (p: { strata: (a: ReadonlyArray<string>) => Promise<{ stdout: string }> }) =>
  JSON.parse((await p.strata(["threads", "list", "--json"])).stdout) as Array<{ id: string }>

/** Every file under `dir` with its size and modification time. */
const snapshot = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue
    const full = path.join(e.parentPath, e.name)
    const st = statSync(full)
    out[path.relative(dir, full)] = `${st.size}:${st.mtimeMs}:${readFileSync(full, "utf8")}`
  }
  return out
}

describe.concurrent("[storage] kind = unstorage", { timeout: 180_000 }, () => {
  it("driver and options: unstorage's fs driver under the project; status says what it promises; reads write nothing", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "kept by a driver", repeat: true }] }, async (server) => {
        // covers: storage.driver
        // covers: storage.options
        p.config(`${providerToml(server)}\n[storage]\nkind = "unstorage"\ndriver = "fs"\noptions = { base = "kv" }\n`)
        const run = await p.strata(["run", "hi"])
        expect(run.code, run.stderr).toBe(0)
        expect(run.stdout).toContain("kept by a driver")
        // One key per entry, a commit marker per journal, two-slot records.
        expect(p.exists("kv/format")).toBe(true)
        expect(readdirSync(path.join(p.dir, "kv", "h")).length).toBe(1)
        expect(p.exists("kv/writer")).toBe(false) // released when strata exits
        const threads = await threadsOf(p)
        expect(threads).toHaveLength(1)
        const shown = await p.strata(["threads", "show", threads[0]!.id])
        expect(shown.stdout).toContain("kept by a driver")

        const before = snapshot(path.join(p.dir, "kv"))
        const status = await p.strata(["status", "--json"])
        expect(status.code, status.stderr).toBe(0)
        const report = JSON.parse(status.stdout)
        expect(report.storage).toMatchObject({ kind: "unstorage", driver: "fs", options: { base: "kv" } })
        expect(report.durability.level).toBe("volatile")
        expect(report.capabilities).toMatchObject({
          durableAck: "process",
          atomicAppend: "commit-marker",
          writers: "one-process",
          leases: "in-process"
        })
        const text = await p.strata(["status"])
        expect(text.stdout).toContain("driver fs")
        expect(text.stdout).toContain("NOT durable")
        expect(text.stdout).toContain("one writer process at a time")
        await p.strata(["threads", "list"])
        expect(snapshot(path.join(p.dir, "kv"))).toEqual(before)
      })
    })
  })

  it("durability = strict refuses a driver that does not fsync, naming the field, before writing anything", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "never" }] }, async (server) => {
        p.config(
          `${providerToml(server)}\n[storage]\nkind = "unstorage"\ndriver = "fs-lite"\noptions = { base = "kv" }\ndurability = "strict"\n`
        )
        const run = await p.strata(["run", "hi"])
        expect(run.code).toBe(1)
        expect(run.stderr).toContain('storage.durability = "strict"')
        expect(run.stderr).toContain("fsync")
        expect(p.exists("kv")).toBe(false)
      })
    })
  })

  it("an unknown driver and a driver whose package is missing are typed errors naming storage.driver", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "never" }] }, async (server) => {
        p.config(`${providerToml(server)}\n[storage]\nkind = "unstorage"\ndriver = "reddis"\n`)
        const unknown = await p.strata(["run", "hi"])
        expect(unknown.code).toBe(1)
        expect(unknown.stderr).toContain('storage.driver: unstorage driver "reddis" cannot be used')
        expect(unknown.stderr).toContain("deno-kv")
        p.config(`${providerToml(server)}\n[storage]\nkind = "unstorage"\ndriver = "deno-kv-node"\n`)
        const missing = await p.strata(["run", "hi"])
        expect(missing.code).toBe(1)
        expect(missing.stderr).toContain('"@deno/kv"')
        expect(missing.stderr).toContain("npm install @deno/kv")
        p.config(
          `${providerToml(server)}\n[storage]\nkind = "unstorage"\ndriver = "db0"\noptions = { connector = 7 }\n`
        )
        const badOptions = await p.strata(["run", "hi"])
        expect(badOptions.code).toBe(1)
        expect(badOptions.stderr).toContain("storage.options.connector")
      })
    })
  })

  it("a driver from a project file (./driver.mjs): its default export makes the driver", async () => {
    const fsDriver = require.resolve("unstorage/drivers/fs")
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "through my driver" }] }, async (server) => {
        p.write(
          "driver.mjs",
          `import fs from ${q(`file://${fsDriver.replace(/\.cjs$/, ".mjs")}`)}\nexport default (o) => ({ ...fs(o), name: "mine" })\n`
        )
        p.config(
          `${providerToml(server)}\n[storage]\nkind = "unstorage"\ndriver = "./driver.mjs"\noptions = { base = "mine" }\n`
        )
        const run = await p.strata(["run", "hi"])
        expect(run.code, run.stderr).toBe(0)
        expect(p.exists("mine/format")).toBe(true)
        expect(await threadsOf(p)).toHaveLength(1)
      })
    })
  })

  it("one writer process: a live writer is named and refused; a dead one's record is taken over", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "ok", repeat: true }] }, async (server) => {
        p.config(`${providerToml(server)}\n[storage]\nkind = "unstorage"\ndriver = "fs"\noptions = { base = "kv" }\n`)
        // This test process is alive: a writer record naming it keeps strata out.
        const holder = { pid: process.pid, token: "other", driver: "fs", expiresAt: Date.now() + 120_000 }
        p.write("kv/writer", JSON.stringify(holder))
        const refused = await p.strata(["run", "hi"])
        expect(refused.code).toBe(1)
        expect(refused.stderr).toContain(`process ${process.pid}`)
        expect(refused.stderr).toContain("one process writes at a time")
        // Readers are not refused.
        expect((await p.strata(["threads", "list"])).code).toBe(0)
        // A record left by a process that is gone (its pid no longer exists) is taken over at once.
        const gone = spawnSync("true").pid
        p.write("kv/writer", JSON.stringify({ ...holder, pid: gone }))
        const run = await p.strata(["run", "hi"])
        expect(run.code, run.stderr).toBe(0)
        expect(await threadsOf(p)).toHaveLength(1)
      })
    })
  })

  it("unstorage's redis driver by name, options passed through", async () => {
    const Redis = require("ioredis") as typeof import("ioredis").default
    const redis = new Redis("redis://127.0.0.1:6379", { lazyConnect: true })
    const base = `strata-e2e-unstorage-${randomUUID()}`
    try {
      await redis.connect()
      await withProject(async (p) => {
        await withModel({ turns: [{ text: "in redis through unstorage" }] }, async (server) => {
          p.config(
            `${providerToml(server)}\n[storage]\nkind = "unstorage"\ndriver = "redis"\noptions = { url = "redis://127.0.0.1:6379", base = ${q(base)} }\n`
          )
          const run = await p.strata(["run", "hi"])
          expect(run.code, run.stderr).toBe(0)
          const keys = await redis.keys(`${base}:*`)
          expect(keys.some((k) => k.startsWith(`${base}:h:`))).toBe(true)
          expect(keys.some((k) => k.startsWith(`${base}:j:`))).toBe(true)
          expect(await threadsOf(p)).toHaveLength(1)
        })
      })
    } finally {
      const keys = await redis.keys(`${base}*`).catch(() => [])
      if (keys.length > 0) await redis.del(...keys)
      redis.disconnect()
    }
  })
})
