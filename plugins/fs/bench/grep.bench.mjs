// grep bench: the fs plugin's `grep` tool (descriptor-anchored walk + RE2 in
// pure JS) against what a user would otherwise run, in the same process on
// the same tree: a plain recursive scan with a JavaScript RegExp
// (readdir/readFile, no race checks, backtracking engine), and ripgrep when
// it is installed. Prints each time and the ratio to the plain scan.
//
//   npm run build -w @strata/plugin-fs && npm run bench -w @strata/plugin-fs
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Tool } from "@strata/plugin"
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import { FsConfig, FsTools } from "@strata/plugin-fs"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const FILES = Number(process.env.BENCH_FILES ?? 1500)
const LINES = 200
const RUNS = 5

const root = mkdtempSync(join(tmpdir(), "strata-grep-bench-"))
const words = ["const", "value", "someFunction", "argument", "return", "export", "import", "TODO", "await", "yield"]
let seed = 42
const rand = (n) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed % n
}
for (let f = 0; f < FILES; f++) {
  const dir = join(root, `pkg${f % 30}`, `mod${f % 7}`)
  mkdirSync(dir, { recursive: true })
  const lines = []
  for (let l = 0; l < LINES; l++) {
    lines.push(
      Array.from({ length: 8 }, () => words[rand(words.length)]).join(" ") +
        (rand(1000) === 7 && rand(20) === 3 ? " needle(42)" : "")
    )
  }
  writeFileSync(join(dir, `file${f}.ts`), `${lines.join("\n")}\n`)
}
const bytes = FILES * LINES * 60

const layer = Layer.merge(NodeWorkspace.layer({ durable: false }), FsConfig.layer())
const tool = (pattern) =>
  Effect.runPromise(
    Tool.invoke(FsTools.Grep, { pattern }, { call_id: "bench", cwd: root }).pipe(Effect.provide(layer))
  ).then(
    (out) =>
      String(out)
        .split("\n")
        .filter((l) => /^pkg/.test(l)).length
  )

const plain = async (pattern) => {
  const re = new RegExp(pattern)
  let hits = 0
  const visit = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, e.name)
      if (e.isDirectory()) visit(full)
      else if (e.isFile()) {
        const lines = readFileSync(full, "utf8").split("\n")
        for (const line of lines) if (re.test(line)) hits++
      }
    }
  }
  visit(root)
  return hits
}

let rg
try {
  execFileSync("rg", ["--version"], { stdio: "ignore" })
  rg = async (pattern) => {
    try {
      return execFileSync("rg", ["--no-heading", "-n", "-j1", pattern, root], { maxBuffer: 1 << 28 })
        .toString()
        .split("\n")
        .filter(Boolean).length
    } catch (e) {
      if (e.status === 1) return 0
      throw e
    }
  }
} catch {}

const time = async (f) => {
  const samples = []
  let result
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now()
    result = await f()
    samples.push(performance.now() - t)
  }
  samples.sort((a, b) => a - b)
  return { ms: samples[Math.floor(RUNS / 2)], result }
}

console.log(
  `grep bench: ${FILES} files, ${(bytes / 1e6).toFixed(1)} MB, median of ${RUNS} runs, ${typeof Deno !== "undefined" ? "deno" : typeof Bun !== "undefined" ? "bun" : "node"}`
)
for (const pattern of ["needle\\(\\d+\\)", "some[A-Z]\\w+ argument TODO$", "^export .* TODO$"]) {
  const base = await time(() => plain(pattern))
  const ours = await time(() => tool(pattern))
  const cap = Math.min(base.result, 500)
  if (ours.result !== cap)
    throw new Error(`grep found ${ours.result} lines, the plain scan ${base.result} (shown: ${cap})`)
  const line = [
    `  /${pattern}/`,
    `plain RegExp scan ${base.ms.toFixed(0)} ms`,
    `fs grep ${ours.ms.toFixed(0)} ms (x${(ours.ms / base.ms).toFixed(2)})`
  ]
  if (rg) {
    const r = await time(() => rg(pattern))
    line.push(`ripgrep -j1 ${r.ms.toFixed(0)} ms (x${(r.ms / base.ms).toFixed(2)})`)
  }
  console.log(`${line.join(" | ")}  [${base.result} matching lines]`)
}
// The pattern a backtracking engine cannot survive, on one 30-character line.
writeFileSync(join(root, "evil.txt"), `${"a".repeat(30)}!\n`)
const evil = await time(() => tool("^(a+)+$"))
console.log(
  `  /^(a+)+$/ on a tree with a 30-character line of a's: fs grep ${evil.ms.toFixed(0)} ms; the plain RegExp scan is not run (exponential: minutes at 30 characters)`
)
rmSync(root, { recursive: true, force: true })
