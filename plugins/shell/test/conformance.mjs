// Cross-runtime conformance for @strata/plugin-shell: exec through
// @effect/platform's Command under Node, Bun and Deno, from dist/.
//
//   npm run build -w @strata/plugin-shell
//   node plugins/shell/test/conformance.mjs   (also bun, deno run -A)
import assert from "node:assert/strict"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Tool } from "@strata/plugin"
import { Shell } from "@strata/plugin-shell"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { run, runtime, test } from "../../../scripts/conformance.mjs"

const layer = Layer.merge(NodeContext.layer, Shell.layerOptions({ maxOutputBytes: 100 }))
const exec = (cwd, input) =>
  Effect.runPromise(Tool.invoke(Shell.Exec, input, { call_id: "call_1", cwd }).pipe(Effect.provide(layer)))

test(`exec runs, caps output and times out on ${runtime()}`, async () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-shell-conf-"))
  try {
    const ok = await exec(dir, { command: "echo hello; exit 4" })
    assert.equal(ok.exit_code, 4)
    assert.equal(ok.output, "hello\n")
    const big = await exec(dir, { command: "head -c 500 /dev/zero | tr '\\0' y" })
    assert.equal(big.truncated, true)
    assert.match(big.output, /\[output truncated: 400 more bytes not shown\]/)
    const slow = await exec(dir, { command: "sleep 20", timeout_ms: 200 })
    assert.equal(slow.timed_out, true)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

await run("@strata/plugin-shell")
