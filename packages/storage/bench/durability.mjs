// The durability table of the README: the crash harness (test/crash) run
// against the file-system store and against a store built directly on the
// plain unstorage fs driver (writeFile, no temp file, no fsync).
//
//   node bench/durability.mjs [rounds=20]
import * as NFS from "node:fs"
import * as NOS from "node:os"
import * as NPath from "node:path"
import { ensureBuilt } from "../test/crash/build.mjs"
import { crashRounds } from "../test/crash/harness.mjs"

ensureBuilt()
const rounds = Number(process.argv[2] ?? 20)
const rows = []
for (const kind of ["fs", "unstorage-fs"]) {
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
  }
}

const label = { fs: "`layerFileSystem` (Strata)", "unstorage-fs": "`layerUnstorage` on unstorage's fs driver" }
console.log("")
console.log(
  "| store | rounds | killed mid-run | acknowledged events | lost | duplicated | out of place | torn journal records | rounds after which the thread could not be read | rounds after which the latest checkpoint could not be read |"
)
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for (const r of rows) {
  console.log(
    `| ${label[r.kind]} | ${r.rounds} | ${r.killedMidRun} | ${r.acked} | ${r.lost} | ${r.duplicated} | ${r.misplaced} | ${r.kind === "fs" ? "0 (a torn tail is skipped by readers, truncated by the next append)" : r.tornRecords} | ${r.unreadableRounds} | ${r.tornCheckpoints} |`
  )
}
