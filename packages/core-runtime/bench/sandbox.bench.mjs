// The added latency of a sandboxed shell call over an unsandboxed one (issue 24:
// target ≤ 10 ms at p50), measured with the real shell tool (@strata/plugin-shell's
// Shell.run), the real bubblewrap and the real containment, interleaved so that the
// machine's load hits every variant alike. Baseline: what a user would run instead,
// `bash -c true` spawned from Node.
// Run: npm run build && npm run bench:sandbox -w @strata/core-runtime   (CALLS=200 by default)
import { spawn } from "node:child_process"
import { mkdtempSync, realpathSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeContext } from "@effect/platform-node"
import { Shell } from "@strata/plugin-shell"
import { Sandbox } from "@strata/sandbox"
import * as SandboxNode from "@strata/sandbox/node"
import * as Effect from "effect/Effect"

const CALLS = Number(process.env.CALLS ?? 200)
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return { p50: pct(s, 50), p99: pct(s, 99) }
}
const ms = (x) => `${x.toFixed(2)} ms`

const workspace = realpathSync(mkdtempSync(join(tmpdir(), "strata-bench-sbx-")))
const env = { PATH: process.env.PATH, HOME: process.env.HOME ?? "/root" }
const make = (mode, containment) =>
  Effect.runPromise(
    SandboxNode.make({
      workspace,
      config: { ...Sandbox.defaultConfig, mode },
      env,
      ...(containment === undefined ? {} : { containment })
    })
  )
const limits = { timeout: "60 seconds", maxOutputBytes: 30_000, shell: "/bin/bash" }
const viaTool = (sandbox) => () =>
  Effect.runPromise(
    Shell.run("true", workspace, limits, sandbox === undefined ? {} : { sandbox }).pipe(
      Effect.provide(NodeContext.layer)
    )
  )
const plainSpawn = () =>
  new Promise((resolve, reject) => {
    const child = spawn("/bin/bash", ["--noprofile", "--norc", "-c", "true"], { cwd: workspace, stdio: "ignore" })
    child.on("error", reject)
    child.on("exit", resolve)
  })

const variants = [
  ["bash -c true, spawned from Node (baseline)", plainSpawn],
  ["shell tool, no sandbox service (before)", viaTool(undefined)],
  ["shell tool, mode off (env policy + cgroup)", viaTool(await make("off"))],
  ["shell tool, bwrap workspace-write + cgroup", viaTool(await make("workspace-write"))],
  ["shell tool, bwrap workspace-write, pid namespace only", viaTool(await make("workspace-write", "pid-namespace"))],
  ["shell tool, mode off, process-group tracking", viaTool(await make("off", "process-group"))]
]
const status = (await make("workspace-write")).status
console.log(`sandbox: ${Sandbox.describe(status)}; ${CALLS} calls per variant, interleaved`)
const times = variants.map(() => [])
for (let i = 0; i < 10; i++) for (const [, run] of variants) await run() // warm-up
for (let i = 0; i < CALLS; i++) {
  for (let v = 0; v < variants.length; v++) {
    const t = performance.now()
    await variants[v][1]()
    times[v].push(performance.now() - t)
  }
}
const base = stats(times[1])
for (let v = 0; v < variants.length; v++) {
  const s = stats(times[v])
  console.log(
    `${variants[v][0].padEnd(56)} p50 ${ms(s.p50).padStart(9)}  p99 ${ms(s.p99).padStart(9)}` +
      (v > 1 ? `   added over the unsandboxed tool: p50 ${ms(s.p50 - base.p50)}, p99 ${ms(s.p99 - base.p99)}` : "")
  )
}
rmSync(workspace, { recursive: true, force: true })
