// Cross-runtime conformance for @strata/sandbox: the environment policy,
// redaction and the Node implementation's containment under Node, Bun and Deno,
// from the built package (dist/).
//
//   npm run build -w @strata/sandbox
//   node packages/sandbox/test/conformance.mjs
//   ./node_modules/.bin/bun packages/sandbox/test/conformance.mjs
//   ./node_modules/.bin/deno run -A packages/sandbox/test/conformance.mjs
import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { mkdtempSync, realpathSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { EnvPolicy, Redact, Sandbox } from "@strata/sandbox"
import * as SandboxNode from "@strata/sandbox/node"
import * as Effect from "effect/Effect"
import { run, runtime, test } from "../../../scripts/conformance.mjs"

test(`environment policy on ${runtime()}`, () => {
  const env = EnvPolicy.apply({ PATH: "/bin", OPENAI_API_KEY: "sk-1234567", EDITOR: "vi" }, EnvPolicy.defaults)
  assert.deepEqual(env, { PATH: "/bin" })
})

test("redaction of base64 and URL forms", () => {
  const redact = Redact.make(["sk-live-secret/+1"])
  assert.equal(redact(btoa("x=sk-live-secret/+1")).includes("[redacted]"), true)
  assert.equal(redact(encodeURIComponent("sk-live-secret/+1")), "[redacted]")
})

test("the node implementation prepares a contained, scrubbed process", async () => {
  const workspace = realpathSync(mkdtempSync(join(tmpdir(), "strata-sbx-conf-")))
  const service = await Effect.runPromise(
    SandboxNode.make({
      workspace,
      config: { ...Sandbox.defaultConfig, mode: "off" },
      env: { PATH: "/usr/bin:/bin", SECRET_TOKEN: "hidden-value" }
    })
  )
  const prepared = await Effect.runPromise(
    service.prepare({ command: "/bin/sh", args: ["-c", 'echo "[$SECRET_TOKEN]"'], cwd: workspace })
  )
  const out = execFileSync(prepared.command, [...prepared.args], { cwd: prepared.cwd, env: prepared.env }).toString()
  await Effect.runPromise(prepared.release)
  assert.equal(out.trim(), "[]")
})

await run("@strata/sandbox")
