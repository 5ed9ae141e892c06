// Benchmark of the approved.toml watch of RuntimePolicy.layer (built output):
// one `check` of a session's policy with the look at `.strata/approved.toml`
// before every check (approvedPollMs 0, the default), every 100 ms, and the
// decision alone (checkSync, no look), on the same commands; plus one stat.
// Run: npm run build && node bench/approved.bench.mjs (in packages/core-runtime)
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeContext } from "@effect/platform-node"
import * as RuntimePolicy from "@strata/core-runtime/RuntimePolicy"
import { ExecPolicy } from "@strata/exec-policy"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const N = Number(process.env.CHECKS ?? 5000)
const commands = ["ls -la", "git status", "touch made.txt", "npm test -- --run", "rm -rf build && mkdir build"]
const dir = mkdtempSync(join(tmpdir(), "strata-approved-bench-"))
mkdirSync(join(dir, ".strata"))
const file = join(dir, ".strata", "approved.toml")
writeFileSync(file, '[[rule]]\nprefix = ["touch","made.txt"]\nexact = true\ndecision = "allow"\n')

const session = (approvedPollMs) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const context = yield* Layer.build(
        RuntimePolicy.layer({ rules: [], builtin: true }, { cwd: dir, env: { HOME: dir }, approvedPollMs })
      )
      const policy = Context.get(context, ExecPolicy.ExecPolicy)
      yield* policy.ready
      return policy
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

const perCheck = async (label, run) => {
  for (let i = 0; i < 200; i++) await run(commands[i % commands.length])
  const start = performance.now()
  for (let i = 0; i < N; i++) await run(commands[i % commands.length])
  const us = ((performance.now() - start) * 1000) / N
  console.log(`${label.padEnd(46)} ${us.toFixed(1)} µs/check`)
  return us
}

const every = await session(0)
const throttled = await session(100)
// two rounds, the first to warm up: the figures are the second's
let sync, watched, polled
for (const round of [1, 2]) {
  if (round === 2) console.log("--")
  sync = await perCheck("checkSync (no look at the file)", async (c) => every.checkSync(c))
  polled = await perCheck("check, stat at most every 100 ms", (c) => Effect.runPromise(throttled.check(c)))
  watched = await perCheck("check, stat before every check (default)", (c) => Effect.runPromise(every.check(c)))
}
const statStart = performance.now()
for (let i = 0; i < N; i++) statSync(file)
const statUs = ((performance.now() - statStart) * 1000) / N
console.log(`${"node:fs statSync alone".padEnd(46)} ${statUs.toFixed(1)} µs`)
console.log(
  `cost of the look: ${(watched - polled).toFixed(1)} µs/check (${(((watched - polled) / polled) * 100).toFixed(0)}% of a check)`
)
void sync
rmSync(dir, { recursive: true, force: true })
