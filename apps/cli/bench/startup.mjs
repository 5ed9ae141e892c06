// Cold start of `strata --version` and `strata status` against `node -e 0`
// (the baseline, in the same run), on Node, and `strata status` on Bun and
// Deno against their own empty script. Uses hyperfine when it is installed
// (Debian package), else times child processes itself (median of N runs).
//
//   npm run build -w @strata/cli && npm run bench -w @strata/cli
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const root = new URL("../../../", import.meta.url).pathname
// STRATA_BENCH_BIN: another build of the launcher, to compare (e.g. a copy of the previous one)
const bin = process.env.STRATA_BENCH_BIN ?? join(root, "apps/cli/bin/strata.js")
const bun = join(root, "node_modules/.bin/bun")
const deno = join(root, "node_modules/.bin/deno")
const runs = Number(process.env.RUNS ?? 15)
const cwd = mkdtempSync(join(tmpdir(), "strata-bench-"))
const env = { ...process.env, HOME: cwd, STRATA_DEMO: "1", NO_COLOR: "1" }

const cases = [
  ["node -e 0", [process.execPath, "-e", "0"]],
  ["strata --version", [process.execPath, bin, "--version"]],
  ["strata status", [process.execPath, bin, "status"]],
  ["bun -e 0", [bun, "-e", "0"]],
  ["bun strata status", [bun, bin, "status"]],
  ["deno eval 0", [deno, "eval", "0"]],
  ["deno strata status", [deno, "run", "-A", bin, "status"]]
]

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const time = ([, argv]) => {
  spawnSync(argv[0], argv.slice(1), { cwd, env }) // warm-up (disk cache)
  const samples = []
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint()
    const r = spawnSync(argv[0], argv.slice(1), { cwd, env })
    samples.push(Number(process.hrtime.bigint() - started) / 1e6)
    if (r.status !== 0) throw new Error(`${argv.join(" ")} exited ${r.status}: ${r.stderr}`)
  }
  return median(samples)
}

const hyperfine = spawnSync("hyperfine", ["--version"]).status === 0
const results = new Map()
if (hyperfine) {
  const out = join(cwd, "hyperfine.json")
  const r = spawnSync(
    "hyperfine",
    ["-N", "--warmup", "2", "--runs", String(runs), "--export-json", out, ...cases.map(([, argv]) => argv.join(" "))],
    { cwd, env, stdio: ["ignore", "ignore", "inherit"] }
  )
  if (r.status !== 0) throw new Error("hyperfine failed")
  const { results: rows } = JSON.parse(await (await import("node:fs/promises")).readFile(out, "utf8"))
  for (const [i, [name]] of cases.entries()) results.set(name, rows[i].median * 1000)
} else {
  for (const c of cases) results.set(c[0], time(c))
}

const ratio = (a, b) => (results.get(a) / results.get(b)).toFixed(2)
console.log(`cold start (${hyperfine ? "hyperfine" : "child processes"}, median of ${runs} runs)`)
for (const [name, ms] of results) console.log(`  ${name.padEnd(22)} ${ms.toFixed(1).padStart(8)} ms`)
console.log(`  strata --version / node -e 0      ${ratio("strata --version", "node -e 0")}x  (target <= 1.3x)`)
console.log(`  strata status / node -e 0         ${ratio("strata status", "node -e 0")}x  (target <= 3x)`)
console.log(`  bun strata status / bun -e 0      ${ratio("bun strata status", "bun -e 0")}x`)
console.log(`  deno strata status / deno eval 0  ${ratio("deno strata status", "deno eval 0")}x`)
rmSync(cwd, { recursive: true, force: true })
