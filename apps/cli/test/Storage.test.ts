/**
 * Storage settings and limits through the built `strata`: durability on a
 * real Redis (said once on stderr, shown by `status`, refused by
 * `durability = "strict"`), free-text limits, and jobs of a kind this
 * process does not run.
 */
import * as NFS from "node:fs"
import * as path from "node:path"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as StateStore from "@strata/storage/StateStore"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Redis } from "ioredis"
import { ensureBuilt } from "./build.js"
import { strataDemo } from "./strataProcess.js"

const strata = strataDemo

const workspace = (config?: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "strata-storage-" })
    yield* fs.writeFileString(path.join(dir, "notes.md"), "# notes\n")
    if (config !== undefined) {
      yield* fs.makeDirectory(path.join(dir, ".strata"), { recursive: true })
      yield* fs.writeFileString(path.join(dir, ".strata", "config.toml"), config)
    }
    return dir
  }).pipe(Effect.provide(NodeContext.layer))

const url = "redis://127.0.0.1:6379"
const prefix = `strata-cli-test-${crypto.randomUUID()}`
const redis = new Redis(url, { lazyConnect: true })

beforeAll(() => ensureBuilt(), 300_000)
afterAll(async () => {
  let cursor = "0"
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
    if (keys.length > 0) await redis.del(...keys)
    cursor = next
  } while (cursor !== "0")
  await redis.quit()
})

describe("storage settings", { timeout: 240_000 }, () => {
  it.scopedLive(
    "a Redis that does not fsync every write: warned once on stderr, shown by status, refused when strict",
    () =>
      Effect.gen(function* () {
        const [, aof] = (yield* Effect.promise(() => redis.config("GET", "appendonly"))) as [string, string]
        const [, fsync] = (yield* Effect.promise(() => redis.config("GET", "appendfsync"))) as [string, string]
        const durable = aof === "yes" && fsync === "always"
        const relaxed = yield* workspace(`[storage]\nkind = "redis"\nurl = "${url}"\nprefix = "${prefix}-relaxed"\n`)
        const status = yield* strata(relaxed, ["status"])
        expect(status.code).toBe(0)
        const json = yield* strata(relaxed, ["status", "--json"])
        const report = JSON.parse(json.stdout) as { durability: { level: string; detail: string } }
        const run = yield* strata(relaxed, ["run", "show me around"])
        expect(run.code).toBe(3)
        if (durable) {
          expect(report.durability.level).toBe("durable")
          expect(status.stdout).toMatch(/storage\s+redis, durable/)
        } else {
          expect(report.durability.level).toBe("volatile")
          expect(status.stdout).toMatch(/storage\s+redis, NOT durable: .*appendfsync always/)
          // Once per process, on stderr only (stdout stays JSON).
          for (const r of [status, json, run]) {
            expect(r.stderr.match(/@strata\/storage: warning: .*does not fsync every write/g)).toHaveLength(1)
            expect(r.stdout).not.toContain("@strata/storage: warning")
          }
          expect(report.durability.detail).toContain("appendfsync always")
        }

        // covers: storage.durability
        const strict = yield* workspace(
          `[storage]\nkind = "redis"\nurl = "${url}"\nprefix = "${prefix}-strict"\ndurability = "strict"\n`
        )
        const refused = yield* strata(strict, ["run", "show me around"])
        if (durable) {
          expect(refused.code).toBe(3)
        } else {
          expect(refused.code).toBe(1)
          expect(refused.stderr).toContain('durability = "strict" refuses this store')
          expect(refused.stderr).toContain("appendfsync always")
          expect(yield* Effect.promise(() => redis.exists(`${prefix}-strict:format`))).toBe(0)
        }
        // The memory store is never durable: strict refuses it too.
        const memory = yield* workspace(`[storage]\nkind = "memory"\ndurability = "strict"\n`)
        const noMemory = yield* strata(memory, ["run", "show me around"])
        expect(noMemory.code).toBe(1)
        expect(noMemory.stderr).toContain("the memory store keeps nothing once the process ends")
        // A durable store passes strict.
        const files = yield* workspace(`[storage]\nkind = "fs"\ndurability = "strict"\n`)
        expect((yield* strata(files, ["run", "show me around"])).code).toBe(3)
      })
  )

  it.scopedLive("free text over its limit is refused with the field named; nothing stored changes", () =>
    Effect.gen(function* () {
      const dir = yield* workspace()
      expect((yield* strata(dir, ["run", "show me around"])).code).toBe(3)
      const [thread] = JSON.parse((yield* strata(dir, ["threads", "list", "--json"])).stdout) as Array<{ id: string }>
      const long = yield* strata(dir, ["threads", "rename", thread!.id, "n".repeat(100_000)])
      expect(long.code).toBe(1)
      expect(long.stderr).toMatch(/name is 100000 characters, over the limit of 256/)
      const ok = yield* strata(dir, ["threads", "rename", thread!.id, "a fine name"])
      expect(ok.code).toBe(0)
      const listed = (yield* strata(dir, ["threads", "list"])).stdout
      expect(listed).toContain("a fine name")
    })
  )

  it.scopedLive(
    "a job of a kind no handler here runs: `jobs resume` says so and leaves it paused; `jobs show` prints progress",
    () =>
      Effect.gen(function* () {
        const dir = yield* workspace()
        const store = path.join(dir, ".strata")
        const id = "job-reindex-1"
        yield* Effect.scoped(
          Effect.gen(function* () {
            const s = yield* StateStore.makeFileSystem(store)
            yield* s.putJob({
              id: id as never,
              name: "reindex",
              status: "paused",
              progress: 40,
              detail: null,
              retry: { attempt: 1, max_attempts: 3, backoff_base_ms: 500, next_backoff_ms: 0, next_retry_at: null },
              history: [
                { at: 1, phase: "created", from: null, to: "queued", progress: 0, detail: null, attempt: 0 },
                { at: 2, phase: "running", from: "queued", to: "running", progress: 0, detail: null, attempt: 1 },
                {
                  at: 3,
                  phase: "progress",
                  from: "running",
                  to: "running",
                  progress: 40,
                  detail: "walking",
                  attempt: 1
                },
                { at: 4, phase: "paused", from: "running", to: "paused", progress: 40, detail: null, attempt: 1 }
              ],
              created_at: 1,
              updated_at: 4,
              revision: 0
            })
          })
        ).pipe(Effect.provide(NodeContext.layer))
        const resumed = yield* strata(dir, ["jobs", "resume", id])
        expect(resumed.code).toBe(1)
        expect(resumed.stderr).toContain('is of kind "reindex", which no handler in this process runs; it stays paused')
        const show = yield* strata(dir, ["jobs", "show", id])
        expect(show.code).toBe(0)
        expect(show.stdout).not.toContain("null")
        expect(show.stdout).toMatch(/progress\s+running\s+40%\s+attempt 1\s+walking/)
        expect(show.stdout).toMatch(/paused\s+running -> paused\s+40%/)
        const after = yield* Effect.scoped(
          Effect.flatMap(StateStore.makeFileSystem(store, { readOnly: true }), (s) => s.getJob(id))
        ).pipe(Effect.provide(NodeContext.layer))
        expect(Option.getOrThrow(after).status).toBe("paused")
        expect(NFS.existsSync(path.join(store, "jobs", "journal"))).toBe(true)
      })
  )
})
