// Runs the client scenarios of @modelcontextprotocol/conformance against Strata's client
// (bin/strata-mcp-conformance.mjs). The harness needs Node >= 22 or Bun, so it runs under the
// Bun from the `bun` npm package; the adapter runs under Bun too, on the package sources
// (`--conditions=@strata/source`), so no build is needed.
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "@effect/vitest"

const require = createRequire(import.meta.url)
const bun = fileURLToPath(new URL("../../../node_modules/.bin/bun", import.meta.url))
const cli = require.resolve("@modelcontextprotocol/conformance/dist/index.js")
const adapter = fileURLToPath(new URL("../bin/strata-mcp-conformance.mjs", import.meta.url))
const out = mkdtempSync(join(tmpdir(), "strata-mcp-conformance-"))

afterAll(() => rmSync(out, { recursive: true, force: true }))

const runScenario = (scenario: string) =>
  new Promise<{ code: number; output: string }>((resolve) => {
    execFile(
      bun,
      [cli, "client", "--command", `${bun} --conditions=@strata/source ${adapter}`, "--scenario", scenario, "-o", out],
      { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === "number" ? error.code : 1,
          output: `${stdout}${stderr}`
        })
    )
  })

describe.concurrent("MCP conformance client scenarios", () => {
  for (const scenario of ["initialize", "tools_call", "elicitation-sep1034-client-defaults", "sse-retry"]) {
    it(scenario, async () => {
      const { code, output } = await runScenario(scenario)
      const counts = output.match(/Passed: (\d+)\/(\d+), (\d+) failed, (\d+) warnings/)
      console.log(`conformance ${scenario}: ${counts?.[0] ?? "no result"} (exit ${code})`)
      expect(output, output).toMatch(/OVERALL: PASSED/)
      expect(counts?.[3]).toBe("0")
      expect(code).toBe(0)
    }, 60_000)
  }
})
