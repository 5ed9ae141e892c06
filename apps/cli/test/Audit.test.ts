/**
 * `strata audit verify` on the audit log that real `strata run`s wrote (the
 * built-in demo model runs real shell tools): intact after a restart, then
 * broken by hand at a known line.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { ensureBuilt } from "./build.js"
import { strata } from "./strataProcess.js"

beforeAll(() => ensureBuilt(), 300_000)

describe("strata audit verify", () => {
  it.live(
    "an intact log verifies after several runs (restarts); an edited, cut or reordered one fails naming the line",
    () =>
      Effect.gen(function* () {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "strata-audit-e2e-"))
        try {
          fs.writeFileSync(path.join(dir, "notes.md"), "# notes\n")
          const demo = { STRATA_DEMO: "1" }
          const first = yield* strata(dir, ["run", "--approval", "never", "go"], demo)
          expect(first.code).toBe(0)
          const log = path.join(dir, ".strata", "audit.jsonl")
          const afterFirst = fs.readFileSync(log, "utf8").trimEnd().split("\n")
          expect(afterFirst.length).toBeGreaterThan(3)
          // A second process goes on with the same chain.
          expect((yield* strata(dir, ["run", "--approval", "never", "go"], demo)).code).toBe(0)
          const lines = fs.readFileSync(log, "utf8").trimEnd().split("\n")
          expect(lines.length).toBeGreaterThan(afterFirst.length)
          expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toStrictEqual(lines.map((_, i) => i + 1))

          const ok = yield* strata(dir, ["audit", "verify"])
          expect(ok.code).toBe(0)
          expect(ok.stdout).toContain(`audit log ok: ${lines.length} lines`)
          const okJson = JSON.parse((yield* strata(dir, ["audit", "verify", "--json"])).stdout) as Record<
            string,
            unknown
          >
          expect(okJson).toMatchObject({ ok: true, lines: lines.length, anchored: true, file: log })

          const original = fs.readFileSync(log, "utf8")
          const write = (ls: ReadonlyArray<string>) => fs.writeFileSync(log, `${ls.join("\n")}\n`)
          // The model's command rewritten in line 3: line 4 no longer chains to it.
          write(lines.map((l, i) => (i === 2 ? l.replace(/"tool_name":"[^"]*"/, '"tool_name":"fs__read_file"') : l)))
          const edited = yield* strata(dir, ["audit", "verify"])
          expect(edited.code).toBe(1)
          expect(edited.stdout).toContain("audit log broken at line 4 (Prev)")
          const editedJson = JSON.parse((yield* strata(dir, ["audit", "verify", "--json"])).stdout) as Record<
            string,
            unknown
          >
          expect(editedJson).toMatchObject({ ok: false, line: 4, reason: "Prev" })
          expect(editedJson.expected).not.toBe(editedJson.found)
          // A line deleted.
          write(lines.filter((_, i) => i !== 1))
          expect((yield* strata(dir, ["audit", "verify"])).stdout).toContain("broken at line 2 (Seq)")
          // Two lines swapped.
          write([lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)])
          expect((yield* strata(dir, ["audit", "verify"])).code).toBe(1)
          // The tail cut off (whole lines): the head file still knows the last line.
          write(lines.slice(0, -2))
          const cut = yield* strata(dir, ["audit", "verify"])
          expect(cut.code).toBe(1)
          expect(cut.stdout).toContain(`broken at line ${lines.length - 1} (Truncated)`)
          // Restored: ok again; --file names another log.
          fs.writeFileSync(log, original)
          expect((yield* strata(dir, ["audit", "verify"])).code).toBe(0)
          fs.copyFileSync(log, path.join(dir, "copy.jsonl"))
          const copy = yield* strata(dir, ["audit", "verify", "--file", "copy.jsonl"])
          expect(copy.code).toBe(0)
          expect(copy.stdout).toContain("no head file")
          const missing = yield* strata(dir, ["audit", "verify", "--file", "nope.jsonl"])
          expect(missing.code).toBe(1)
          expect(missing.stderr).toContain("no audit log at")
        } finally {
          fs.rmSync(dir, { recursive: true, force: true })
        }
      }),
    180_000
  )
})
