// The cross-runtime conformance harness: plain assertions, no test framework,
// so that one file runs unchanged under Node, Bun and Deno.
//
//   import { test, run } from "../../../scripts/conformance.mjs"
//   test("ids reject traversal", async () => { assert.equal(...) })
//   await run("@strata/protocol")
//
// `run` prints one line per test and a final machine-readable line
//   STRATA_CONFORMANCE {"suite":"...","runtime":"node","passed":N,"failed":N}
// that scripts/test-runtimes.mjs reads. The exit code is 1 when a test failed.

const tests = []

/** Registers a conformance test. `fn` may be async. */
export const test = (name, fn) => {
  tests.push({ name, fn })
}

/** The JavaScript runtime this file runs under. */
export const runtime = () =>
  typeof globalThis.Deno !== "undefined" ? "deno" : typeof globalThis.Bun !== "undefined" ? "bun" : "node"

/** Runs every registered test in order and reports. */
export const run = async (suite) => {
  let passed = 0
  let failed = 0
  const rt = runtime()
  for (const { name, fn } of tests) {
    const started = performance.now()
    try {
      await fn()
      passed++
      console.log(`  ok   ${name} (${(performance.now() - started).toFixed(1)} ms)`)
    } catch (error) {
      failed++
      console.log(
        `  FAIL ${name}\n       ${String(error?.stack ?? error)
          .split("\n")
          .join("\n       ")}`
      )
    }
  }
  console.log(`STRATA_CONFORMANCE ${JSON.stringify({ suite, runtime: rt, passed, failed })}`)
  if (failed > 0) {
    if (typeof process !== "undefined") process.exitCode = 1
  }
}
