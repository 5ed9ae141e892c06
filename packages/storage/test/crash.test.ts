import { spawn } from "node:child_process"
import * as NFS from "node:fs"
import * as NOS from "node:os"
import * as NPath from "node:path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as StateStore from "../src/StateStore.js"
import { ensureBuilt } from "./crash/build.mjs"
import { childScript, crashRounds } from "./crash/harness.mjs"

// Real child processes killed with SIGKILL. The children run the BUILT
// package (dist/), so dist is rebuilt first when src/ is newer.

const dirs: Array<string> = []
const tempDir = () => {
  const dir = NFS.mkdtempSync(NPath.join(NOS.tmpdir(), "strata-crash-"))
  dirs.push(dir)
  return dir
}

beforeAll(() => ensureBuilt(), 180_000)
afterAll(() => {
  for (const d of dirs) NFS.rmSync(d, { recursive: true, force: true })
})

describe("crash safety of the file-system store", () => {
  it("survives 24 SIGKILLs at random points: every acknowledged event exactly once, in order, nothing corrupt", async () => {
    // Two independent chains of 12 rounds run side by side (the test is
    // bound by fsync latency); within a chain the journal grows across
    // rounds, so every reopen must repair the previous crash.
    const chains = await Promise.all(
      [0, 1].map(() =>
        crashRounds({
          kind: "fs",
          dir: tempDir(),
          rounds: 12,
          count: 1000,
          // Every fourth round uses four concurrent writers (group commit).
          modes: (round) => (round % 4 === 3 ? "concurrent" : "seq")
        })
      )
    )
    const sum = (k: keyof (typeof chains)[number]["totals"]) => chains.reduce((n, c) => n + (c.totals[k] as number), 0)
    const summary = JSON.stringify(chains.map((c) => c.totals))
    assert.isAtLeast(sum("killedMidRun"), 20, summary)
    assert.isAbove(sum("acked"), 0, summary)
    assert.strictEqual(sum("childErrors"), 0, summary)
    for (const { details } of chains) {
      for (const d of details) {
        assert.isUndefined(d.error, `round ${String(d.round)} could not be read back`)
        for (const k of ["lost", "duplicated", "misplaced", "gaps"]) {
          assert.strictEqual(d[k], 0, `round ${String(d.round)}: ${k} (${JSON.stringify(d)})`)
        }
        assert.isUndefined(d.checkpointError, `round ${String(d.round)}`)
      }
    }
    assert.strictEqual(sum("unreadable"), 0, summary)
    assert.strictEqual(sum("outOfOrder"), 0, summary)
    assert.strictEqual(sum("tornCheckpoints"), 0, summary)
    assert.strictEqual(sum("staleCheckpoints"), 0, summary)
  }, 240_000)

  it("a second process on the same directory fails fast, naming the holder; after its death the lock is taken over", async () => {
    const dir = tempDir()
    const holder = spawn(process.execPath, [childScript, "fs", dir, "lock-thread", "100000000", "seq", "0"], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.setEncoding("utf8")
        holder.stdout.on("data", (d: string) => {
          if (d.includes("ack")) resolve()
        })
        holder.once("exit", () => reject(new Error("holder exited before its first append")))
      })
      // "Fast": this returns while the holder still runs (it never stops by
      // itself), so the second opener did not wait for the lock.
      const open = Effect.scoped(StateStore.makeFileSystem(dir)).pipe(Effect.provide(NodeContext.layer))
      const err = await Effect.runPromise(Effect.flip(open))
      assert.strictEqual(err._tag === "StorageError" && err.reason, "Locked")
      assert.include(err.message, `process ${holder.pid}`)
      assert.isNull(holder.exitCode, "the holder is still running")
    } finally {
      holder.kill("SIGKILL")
    }
    await new Promise((resolve) => holder.once("close", resolve))
    const seq = await Effect.runPromise(
      Effect.scoped(Effect.flatMap(StateStore.makeFileSystem(dir), (store) => store.lastSeq("lock-thread"))).pipe(
        Effect.provide(NodeContext.layer)
      )
    )
    assert.isAbove(seq, 0)
  }, 60_000)
})
