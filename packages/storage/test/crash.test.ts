import * as NFS from "node:fs"
import * as NOS from "node:os"
import * as NPath from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { ensureBuilt } from "./crash/build.mjs"
import { crashRounds, readBack, runChild, verify } from "./crash/harness.mjs"

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

  it("two processes append to one thread at once: every acknowledged event once, gap-free; one killed mid-run", async () => {
    const dir = tempDir()
    // Two writers on one journal, one of them killed after a while: the
    // survivor's later appends repair (truncate) whatever the dead one tore.
    const [a, b] = await Promise.all([
      runChild({ kind: "fs", dir, threadId: "shared", round: 1, count: 300, mode: "seq" }),
      runChild({ kind: "fs", dir, threadId: "shared", round: 2, count: 300, mode: "concurrent", killAfterLines: 120 })
    ])
    assert.strictEqual(a.code, 0, a.stderr)
    assert.isTrue(b.killed)
    const back = await readBack("fs", dir, "shared")
    assert.isUndefined(back.error)
    const frames = back.frames!
    const v = verify([...a.acks, ...b.acks], frames)
    assert.deepStrictEqual(v, { lost: 0, duplicated: 0, misplaced: 0, gaps: 0 })
    assert.isAtLeast(frames.length, a.acks.length + b.acks.length)
    // The survivor's events are all there and in its own order.
    const mine = frames
      .filter((f: { delta: string }) => f.delta.startsWith("r1-"))
      .map((f: { delta: string }) => f.delta)
    assert.deepStrictEqual(
      mine,
      Array.from({ length: 300 }, (_, i) => `r1-${i}`)
    )
  }, 120_000)
})

describe("crash tolerance of Strata on unstorage's fs driver", () => {
  it("survives 8 SIGKILLs at random points: every acknowledged event exactly once, the thread and checkpoint readable", async () => {
    // A bounded slice for CI; `node bench/durability.mjs 30 unstorage-fs` runs 30 rounds of 1,000.
    const { totals, details } = await crashRounds({
      kind: "unstorage-fs",
      dir: tempDir(),
      rounds: 8,
      count: 200,
      modes: (round) => (round % 4 === 3 ? "concurrent" : "seq")
    })
    const summary = JSON.stringify(totals)
    assert.isAtLeast(totals.killedMidRun, 6, summary)
    assert.strictEqual(totals.childErrors, 0, summary)
    for (const d of details) {
      assert.isUndefined(d.error, `round ${String(d.round)} could not be read back`)
      for (const k of ["lost", "duplicated", "misplaced", "gaps"]) {
        assert.strictEqual(d[k], 0, `round ${String(d.round)}: ${k} (${JSON.stringify(d)})`)
      }
      assert.isUndefined(d.checkpointError, `round ${String(d.round)}`)
    }
    assert.strictEqual(totals.unreadable, 0, summary)
    assert.strictEqual(totals.tornCheckpoints, 0, summary)
  }, 240_000)

  it("a second writer process is refused while the first one lives, naming it", async () => {
    const dir = tempDir()
    const [a, b] = await Promise.all([
      runChild({ kind: "unstorage-fs", dir, threadId: "shared", round: 1, count: 300, mode: "seq" }),
      new Promise((resolve) => setTimeout(resolve, 400)).then(() =>
        runChild({ kind: "unstorage-fs", dir, threadId: "shared", round: 2, count: 10, mode: "seq" })
      )
    ])
    // Whichever opened the store first writes; the other is refused (or, had
    // the first finished already, writes after it). Never both at once.
    const refused = [a, b].filter((r) => r.code !== 0)
    assert.isAtMost(refused.length, 1, `${a.stderr}\n${b.stderr}`)
    for (const r of refused) {
      assert.strictEqual(r.acks.length, 0)
      assert.include(r.stderr, "is this store's writer")
    }
    const back = await readBack("unstorage-fs", dir, "shared")
    assert.isUndefined(back.error)
    assert.deepStrictEqual(verify([...a.acks, ...b.acks], back.frames!), {
      lost: 0,
      duplicated: 0,
      misplaced: 0,
      gaps: 0
    })
  }, 120_000)
})
