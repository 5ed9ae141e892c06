// The cross-runtime lane: runs every workspace's test/conformance.mjs on the
// built output under Node, Bun and Deno, and reports per runtime.
//
//   node scripts/test-runtimes.mjs [--json FILE] [--runtime node|bun|deno ...]
//
// Each conformance file ends with a line `STRATA_CONFORMANCE {...}` (see
// scripts/conformance.mjs); a run that crashes or prints no such line counts
// as one failed test.
import { spawn } from "node:child_process"
import { existsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { repoRoot, workspaces } from "./workspaces.mjs"

const args = process.argv.slice(2)
const jsonOut = args.includes("--json") ? args[args.indexOf("--json") + 1] : undefined
const only = args.flatMap((a, i) => (args[i - 1] === "--runtime" ? [a] : []))

const bin = (name) => join(repoRoot, "node_modules", ".bin", name)
const runtimes = [
  { name: "node", cmd: process.execPath, args: [] },
  { name: "bun", cmd: bin("bun"), args: [] },
  { name: "deno", cmd: bin("deno"), args: ["run", "-A", "--unstable-kv"] }
].filter((r) => only.length === 0 || only.includes(r.name))

const TIMEOUT_MS = 10 * 60 * 1000

const runOne = (runtime, file, cwd) =>
  new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(runtime.cmd, [...runtime.args, file], {
      cwd,
      env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    child.stdout.on("data", (d) => (out += d))
    child.stderr.on("data", (d) => (out += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS)
    child.on("error", (error) => (out += `\nspawn failed: ${error.message}`))
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      const line = out.split("\n").find((l) => l.startsWith("STRATA_CONFORMANCE "))
      let result = { passed: 0, failed: 1, crashed: true }
      if (line) {
        try {
          const parsed = JSON.parse(line.slice("STRATA_CONFORMANCE ".length))
          result = { passed: parsed.passed, failed: parsed.failed, crashed: false }
        } catch {}
      }
      if (!result.crashed && (code !== 0 || signal) && result.failed === 0)
        result = { ...result, failed: 1, crashed: true }
      resolve({ ...result, code, signal, out, ms: Date.now() - started })
    })
  })

const suites = workspaces().filter((w) => existsSync(join(w.dir, "test", "conformance.mjs")))
const report = { runtimes: {}, suites: [] }
let failedAny = false
for (const runtime of runtimes) {
  const totals = { passed: 0, failed: 0 }
  for (const suite of suites) {
    const r = await runOne(runtime, join("test", "conformance.mjs"), suite.dir)
    totals.passed += r.passed
    totals.failed += r.failed
    report.suites.push({ runtime: runtime.name, suite: suite.pkg.name, passed: r.passed, failed: r.failed, ms: r.ms })
    const mark = r.failed === 0 ? "ok  " : "FAIL"
    console.log(`[${runtime.name}] ${mark} ${suite.pkg.name}: ${r.passed} passed, ${r.failed} failed (${r.ms} ms)`)
    if (r.failed > 0) {
      failedAny = true
      console.log(
        r.out
          .split("\n")
          .slice(-40)
          .map((l) => `    ${l}`)
          .join("\n")
      )
    }
  }
  report.runtimes[runtime.name] = totals
  console.log(`[${runtime.name}] total: ${totals.passed} passed, ${totals.failed} failed`)
}
const passed = Object.values(report.runtimes).reduce((n, t) => n + t.passed, 0)
const failed = Object.values(report.runtimes).reduce((n, t) => n + t.failed, 0)
report.passed = passed
report.failed = failed
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(report, null, 2))
console.log(`cross-runtime: ${passed} passed, ${failed} failed (${suites.length} suites x ${runtimes.length} runtimes)`)
process.exitCode = failedAny ? 1 : 0
