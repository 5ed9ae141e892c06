// The 30-line distribution, run as a person would: `node dist/main.js "<prompt>"`
// in a fresh directory, on its embedded scripted model and on a model server
// given by MODEL_URL (a real HTTP server on 127.0.0.1).
import { execFileSync, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as ScriptedModelServer from "@strata/testkit/node/ScriptedModelServer"

const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const main = path.join(appDir, "dist", "main.js")
const tsc = path.resolve(appDir, "../../node_modules/typescript/bin/tsc")

const agent = (cwd: string, args: Array<string>, env: Record<string, string> = {}) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [main, ...args], { cwd, env: { ...process.env, ...env } })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

beforeAll(() => {
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: appDir, stdio: "inherit" })
}, 120_000)

describe("minimal-agent", () => {
  it("is at most 30 lines", () => {
    expect(
      readFileSync(path.join(appDir, "src", "main.ts"), "utf8")
        .trimEnd()
        .split("\n").length
    ).toBeLessThanOrEqual(30)
  })

  it("answers a prompt with a real fs tool call on its embedded model", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "strata-minimal-"))
    try {
      writeFileSync(path.join(dir, "hello.txt"), "hi")
      const r = await agent(dir, ["what is here?"])
      expect(r.stderr).toBe("")
      expect(r.code).toBe(0)
      expect(r.stdout.trim()).toBe("The workspace holds: hello.txt")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it("talks to the model server MODEL_URL names", async () => {
    const server = await ScriptedModelServer.start({ turns: [{ text: "Hello from the configured model." }] })
    const dir = mkdtempSync(path.join(tmpdir(), "strata-minimal-"))
    try {
      const r = await agent(dir, ["hi"], { MODEL_URL: server.baseUrl("openai-compatible"), MODEL: "tiny" })
      expect(r.code).toBe(0)
      expect(r.stdout.trim()).toBe("Hello from the configured model.")
      expect(server.requests[0]?.model).toBe("tiny")
      expect(server.requests[0]?.tools).toContain("fs__read_file")
    } finally {
      await server.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
