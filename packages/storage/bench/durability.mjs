// The durability table of the README: the crash harness (test/crash) run
// against the file-system store, Strata on unstorage's fs and redis drivers
// (commit markers, two-slot records), and the plain drivers as a baseline
// (one setItem per event, no commit marker).
//
//   node bench/durability.mjs [rounds=20] [kind ...]
import * as NFS from "node:fs"
import * as NOS from "node:os"
import * as NPath from "node:path"
import { ensureBuilt } from "../test/crash/build.mjs"
import { crashRounds } from "../test/crash/harness.mjs"
import { redisBase } from "../test/crash/plain.mjs"

ensureBuilt()
const rounds = Number(process.argv[2] ?? 20)
const kinds = process.argv.slice(3)
const rows = []
for (const kind of kinds.length > 0 ? kinds : ["fs", "unstorage-fs", "plain-fs", "unstorage-redis", "plain-redis"]) {
  const dir = NFS.mkdtempSync(NPath.join(NOS.tmpdir(), `strata-durability-${kind}-`))
  try {
    const { totals, details } = await crashRounds({
      kind,
      dir,
      rounds,
      modes: (round) => (round % 4 === 3 ? "concurrent" : "seq"),
      log: (r) =>
        process.stdout.write(
          `  ${kind} round ${r.round} (${r.mode}): killed=${r.killed} acked=${r.acked}${r.error ? ` UNREADABLE: ${r.error}` : ""}${r.checkpointError ? ` CHECKPOINT: ${r.checkpointError}` : ""}\n`
        )
    })
    const unreadableRounds = details.filter((d) => d.error !== undefined).length
    rows.push({ ...totals, unreadableRounds })
  } finally {
    NFS.rmSync(dir, { recursive: true, force: true })
    if (kind.endsWith("-redis")) {
      const { Redis } = await import("ioredis")
      const redis = new Redis("redis://127.0.0.1:6379")
      const keys = await redis.keys(`${redisBase(dir)}*`)
      if (keys.length > 0) await redis.del(...keys)
      await redis.quit()
    }
  }
}

const label = {
  fs: "`layerFileSystem` (Strata)",
  "unstorage-fs": 'Strata on unstorage\'s fs driver (`driver = "fs"`)',
  "plain-fs": "plain unstorage fs driver (one `setItem` per event)",
  "unstorage-redis": 'Strata on unstorage\'s redis driver (`driver = "redis"`)',
  "plain-redis": "plain unstorage redis driver (one `setItem` per event)"
}
console.log("")
console.log(
  "| store | rounds | killed mid-run | acknowledged events | lost | duplicated | out of place | torn journal records | rounds after which the thread could not be read | rounds after which the latest checkpoint could not be read |"
)
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for (const r of rows) {
  console.log(
    `| ${label[r.kind]} | ${r.rounds} | ${r.killedMidRun} | ${r.acked} | ${r.lost} | ${r.duplicated} | ${r.misplaced} | ${r.kind === "fs" ? "0 (a torn tail is skipped by readers, truncated by the next append)" : r.kind === "unstorage-fs" ? `${r.tornRecords} (beyond the committed head: ignored, removed by the next writer)` : r.kind.endsWith("-redis") ? "n/a (a SET is not torn)" : r.tornRecords} | ${r.unreadableRounds} | ${r.tornCheckpoints} |`
  )
}
