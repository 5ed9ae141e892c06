// Sums test counts from vitest's JSON reporter and the cross-runtime lane's
// JSON, and prints the one closing line CI reads: `N passed, N failed`.
//
//   node scripts/ci-summary.mjs --vitest FILE --runtimes FILE [--missing-is-failure]
import { existsSync, readFileSync } from "node:fs"

const args = process.argv.slice(2)
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)

let passed = 0
let failed = 0
let skipped = 0
const notes = []

const vitestFile = opt("--vitest")
if (vitestFile) {
  if (existsSync(vitestFile)) {
    const v = JSON.parse(readFileSync(vitestFile, "utf8"))
    passed += v.numPassedTests ?? 0
    failed += v.numFailedTests ?? 0
    skipped += (v.numPendingTests ?? 0) + (v.numTodoTests ?? 0)
    // A test file that failed to load has no tests in the counts: count it as a failure.
    const brokenFiles = (v.testResults ?? []).filter(
      (r) => r.status === "failed" && (r.assertionResults ?? []).length === 0
    )
    failed += brokenFiles.length
    notes.push(
      `vitest: ${v.numPassedTests} passed, ${v.numFailedTests} failed, ${brokenFiles.length} files failed to run`
    )
  } else {
    failed += 1
    notes.push(`vitest: no report at ${vitestFile} (the run did not finish)`)
  }
}

const runtimesFile = opt("--runtimes")
if (runtimesFile) {
  if (existsSync(runtimesFile)) {
    const r = JSON.parse(readFileSync(runtimesFile, "utf8"))
    passed += r.passed ?? 0
    failed += r.failed ?? 0
    notes.push(
      `cross-runtime: ${Object.entries(r.runtimes ?? {})
        .map(([rt, t]) => `${rt} ${t.passed}/${t.passed + t.failed}`)
        .join(", ")}`
    )
  } else {
    failed += 1
    notes.push(`cross-runtime: no report at ${runtimesFile} (the lane did not finish)`)
  }
}

for (const note of notes) console.log(note)
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`)
