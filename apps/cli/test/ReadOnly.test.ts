/**
 * The commands that only look leave the store byte-identical, and damage
 * stays with its record: the built `strata` as a child process, on the demo
 * model, against a store with a torn journal tail, a damaged thread record
 * and a damaged approval.
 */
import { createHash } from "node:crypto"
import * as NFS from "node:fs"
import * as path from "node:path"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { ensureBuilt } from "./build.js"
import { type Run, strataDemo } from "./strataProcess.js"

const strata = strataDemo

const workspace = Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "strata-readonly-" })
  yield* fs.writeFileString(path.join(dir, "notes.md"), "# notes\n")
  return dir
}).pipe(Effect.provide(NodeContext.layer))

/** Every file and directory under `dir` with the SHA-256 of each file's bytes. */
const snapshot = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const entry of NFS.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name)
    const rel = path.relative(dir, full)
    out[rel] = entry.isFile() ? createHash("sha256").update(NFS.readFileSync(full)).digest("hex") : "dir"
  }
  return out
}

const threadDir = (store: string, id: string) =>
  path.join(
    store,
    "threads",
    id.replace(/[A-Z]/g, (c) => `~${c.toLowerCase()}`)
  )

beforeAll(() => ensureBuilt(), 300_000)

// Each test runs `strata` a dozen times: minutes on a loaded machine.
describe("read-only commands", { timeout: 240_000 }, () => {
  it.scopedLive(
    "threads list/show/export, status, approvals list and jobs list/show leave every file byte-identical; damage is shown marked",
    () =>
      Effect.gen(function* () {
        const dir = yield* workspace
        const store = path.join(dir, ".strata")
        // Three threads: one whose journal gets a torn tail, one whose record
        // is damaged, one left alone; and two pending approvals, one damaged.
        for (const prompt of ["show me around", "show me around", "show me around"]) {
          expect((yield* strata(dir, ["run", prompt])).code).toBe(3)
        }
        const threads = JSON.parse((yield* strata(dir, ["threads", "list", "--json"])).stdout) as Array<{ id: string }>
        expect(threads).toHaveLength(3)
        const [torn, damaged, fine] = threads.map((t) => t.id) as [string, string, string]
        NFS.appendFileSync(path.join(threadDir(store, torn), "journal"), "SJ0123abcd01")
        NFS.writeFileSync(path.join(threadDir(store, damaged), "thread.json"), '{"revision":1,"schemaVersion":1,"kin')
        const approvals = NFS.readdirSync(path.join(store, "approvals")).filter((n) => n.endsWith(".json"))
        expect(approvals).toHaveLength(3)
        NFS.writeFileSync(path.join(store, "approvals", approvals[0]!), "not json at all")

        const before = snapshot(dir)
        const runs: Record<string, Run> = {}
        for (const args of [
          ["threads", "list"],
          ["threads", "list", "--json", "--all"],
          ["threads", "show", torn],
          ["threads", "show", fine, "--json"],
          ["threads", "export", fine],
          ["status"],
          ["status", "--json"],
          ["approvals", "list"],
          ["approvals", "list", "--json", "--all"],
          ["jobs", "list"],
          ["jobs", "list", "--json"]
        ]) {
          runs[args.join(" ")] = yield* strata(dir, args)
        }
        expect(snapshot(dir)).toStrictEqual(before)

        const list = runs["threads list"]!
        expect(list.code).toBe(0)
        expect(list.stdout).toContain(torn)
        expect(list.stdout).toContain(fine)
        expect(list.stdout).toMatch(new RegExp(`${damaged}\\s+\\[damaged\\] Corrupt`))
        const listed = JSON.parse(runs["threads list --json --all"]!.stdout) as Array<{ id: string; damaged?: true }>
        expect(listed.filter((t) => t.damaged === true).map((t) => t.id)).toStrictEqual([damaged])
        expect(runs[`threads show ${torn}`]!.code).toBe(0)
        expect(runs[`threads show ${torn}`]!.stdout).toContain("show me around")
        expect(
          runs[`threads export ${fine}`]!.stdout.split("\n")
            .filter((l) => l !== "")
            .at(-1)
        ).toMatch(/"type":"end"/)
        expect(runs.status!.stdout).toMatch(/threads\s+2 \(0 archived, 1 damaged/)
        expect(runs.status!.stdout).toMatch(/storage\s+fs \(\.strata\), durable/)
        expect(JSON.parse(runs["status --json"]!.stdout).durability.level).toBe("durable")
        expect(JSON.parse(runs["status --json"]!.stdout).threads).toStrictEqual({ total: 2, archived: 0, damaged: 1 })
        const pending = runs["approvals list"]!.stdout
        expect(pending.split("\n").filter((l) => l.includes("pending"))).toHaveLength(2)
        expect(pending).toContain("[damaged]")
        expect(runs["jobs list"]!.stdout.trim()).toBe("no jobs")
      })
  )

  it.scopedLive("a read-only command on a project with no store creates nothing", () =>
    Effect.gen(function* () {
      const dir = yield* workspace
      const before = snapshot(dir)
      for (const args of [["threads", "list"], ["status"], ["approvals", "list"], ["jobs", "list"]]) {
        expect((yield* strata(dir, args)).code).toBe(0)
      }
      expect(snapshot(dir)).toStrictEqual(before)
    })
  )

  it.scopedLive(
    "exporting a damaged thread writes nothing, to a file or to stdout; a good one replaces the file whole",
    () =>
      Effect.gen(function* () {
        const dir = yield* workspace
        const store = path.join(dir, ".strata")
        expect((yield* strata(dir, ["run", "show me around"])).code).toBe(3)
        const [thread] = JSON.parse((yield* strata(dir, ["threads", "list", "--json"])).stdout) as Array<{ id: string }>
        const journal = path.join(threadDir(store, thread!.id), "journal")
        const out = path.join(dir, "export.jsonl")
        // A good export first.
        const good = yield* strata(dir, ["threads", "export", thread!.id, "--output", out])
        expect(good.code).toBe(0)
        const exported = NFS.readFileSync(out, "utf8")
        expect(exported.trim().split("\n").at(-1)).toMatch(/"type":"end"/)
        // Damage in the middle of the journal: one flipped byte in frame 2.
        const bytes = NFS.readFileSync(journal)
        const second = 31 + Number.parseInt(bytes.subarray(13, 21).toString(), 16)
        bytes[second + 40] = bytes[second + 40]! ^ 0x01
        NFS.writeFileSync(journal, bytes)
        const toFile = yield* strata(dir, ["threads", "export", thread!.id, "--output", out])
        expect(toFile.code).toBe(1)
        expect(toFile.stderr).toMatch(/Corrupt journal of thread .* at offset \d+/)
        expect(NFS.readFileSync(out, "utf8")).toBe(exported)
        const toStdout = yield* strata(dir, ["threads", "export", thread!.id])
        expect(toStdout.code).toBe(1)
        expect(toStdout.stdout).toBe("")
        expect(NFS.readdirSync(dir).filter((n) => n.includes(".strata-export-"))).toStrictEqual([])
      })
  )

  it.scopedLive("a damaged approval does not stop another from being approved and its turn continuing", () =>
    Effect.gen(function* () {
      const dir = yield* workspace
      const store = path.join(dir, ".strata")
      expect((yield* strata(dir, ["run", "show me around"])).code).toBe(3)
      expect((yield* strata(dir, ["run", "show me around"])).code).toBe(3)
      const pending = JSON.parse((yield* strata(dir, ["approvals", "list", "--json"])).stdout) as Array<{ id: string }>
      expect(pending).toHaveLength(2)
      const file = (id: string) =>
        path.join(store, "approvals", `${id.replace(/[A-Z]/g, (c) => `~${c.toLowerCase()}`)}.json`)
      NFS.writeFileSync(file(pending[0]!.id), "{ damaged")
      const approved = yield* strata(dir, ["approvals", "approve", pending[1]!.id])
      expect(approved.stderr).toBe("")
      expect(approved.stdout).toContain("turn completed")
      expect(approved.code).toBe(0)
      expect(NFS.readFileSync(file(pending[0]!.id), "utf8")).toBe("{ damaged")
    })
  )
})
