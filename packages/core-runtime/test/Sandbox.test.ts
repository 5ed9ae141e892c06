// Escapes through Runtime.invokeTool, composed by RuntimeLayer with the real
// shell plugin and the real sandbox (@strata/sandbox/node: bubblewrap + cgroup /
// PID namespace containment): each must fail inside the sandbox with the world
// unchanged, and succeed with mode = "off" (the command is not broken).
import * as fs from "node:fs"
import * as path from "node:path"
import { FileSystem } from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Runtime, RuntimeConfig, RuntimeLayer } from "@strata/core-runtime"
import * as McpStdio from "@strata/mcp/stdio"
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import * as SandboxNode from "@strata/sandbox/node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

const bwrap = SandboxNode.probeBwrap("/usr/bin/bwrap") === undefined
if (!bwrap && process.env.CI !== undefined) throw new Error("CI must run the real sandbox: install bubblewrap")

const SECRET = "sk-runtime-sandbox-123456"

const runtimeIn = (cwd: string, sandbox: Record<string, unknown> = {}) => {
  const config = Schema.decodeUnknownSync(RuntimeConfig.RuntimeConfig)({
    storage: { kind: "memory" },
    plugins: ["@strata/plugin-shell"],
    policy: { builtin: false },
    sandbox
  })
  const rules = path.join(cwd, "..", "allow.toml")
  fs.writeFileSync(rules, 'default = "allow"\n[[rule]]\nprefix = ["sudo"]\ndecision = "deny"\n')
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    XDG_STATE_HOME: process.env.XDG_STATE_HOME,
    SOME_API_KEY: SECRET
  }
  return RuntimeLayer.layer(config, { cwd, cliVersion: "test", rules: [rules], env }).pipe(
    Layer.provide(
      Layer.mergeAll(
        NodeContext.layer,
        NodeWorkspace.layer({ durable: false }),
        McpStdio.layer,
        SandboxNode.layer(RuntimeLayer.sandboxOptions(config, { cwd, env }))
      )
    )
  )
}

let n = 0
const exec = (cwd: string, command: string, approval: "on-request" | "on-failure" = "on-request") =>
  Effect.flatMap(Runtime.Runtime, (rt) =>
    rt.invokeTool({ id: `call-${n++}` as never, name: "shell__exec", arguments: { command } }, approval, cwd)
  )
/** Runs a command as a person approving whatever the policy asks (an approved call still runs in the sandbox). */
const execApproved = (cwd: string, command: string) =>
  Effect.gen(function* () {
    const first = yield* exec(cwd, command)
    if (first.status !== "approval_required") return first
    const rt = yield* Runtime.Runtime
    return (yield* rt.resolveApproval(first.approval_id, "approve", { reason: "test" })).result
  })
const outputOf = (r: { ok: boolean; output?: { structured?: unknown } }) =>
  (r.output?.structured ?? {}) as { exit_code?: number; output?: string; sandbox_denial?: string }

describe.skipIf(!bwrap)("escapes through Runtime.invokeTool (real bwrap)", () => {
  it.scopedLive("writes outside, protected paths, the network, secrets and leftover processes", () =>
    Effect.gen(function* () {
      const root = yield* (yield* FileSystem).makeTempDirectoryScoped({ prefix: "strata-rt-sbx-" })
      const cwd = path.join(fs.realpathSync(root), "ws")
      fs.mkdirSync(path.join(cwd, ".strata"), { recursive: true })
      fs.mkdirSync(path.join(cwd, ".git/hooks"), { recursive: true })
      fs.writeFileSync(path.join(cwd, ".git/config"), "[core]\n")
      const outside = fs.mkdtempSync("/var/tmp/strata-rt-out-")
      const marker = `${9000 + Math.floor(Math.random() * 900)}.5`
      const attack = [
        `echo x > ${outside}/abs`,
        `ln -sfn ${outside} out; echo x > out/link`,
        `echo x > /proc/self/root${outside}/proc`,
        "(exec 3<>/dev/tcp/127.0.0.1/6379 && echo REDIS-CONNECTED)",
        'echo "key=[$SOME_API_KEY]"',
        `(sleep ${marker} &); setsid sleep ${marker} & echo spawned`,
        "true"
      ].join("; ")
      const sleepers = () =>
        fs.readdirSync("/proc").filter((pid) => {
          try {
            return /^\d+$/.test(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`sleep\0${marker}`)
          } catch {
            return false
          }
        })
      const inside = yield* execApproved(cwd, attack).pipe(Effect.provide(runtimeIn(cwd)))
      const out = outputOf(inside)
      expect(inside.status, JSON.stringify(inside)).toBe("completed")
      expect(out.output?.match(/Read-only file system/g)?.length, out.output).toBe(3)
      expect(out.output).not.toContain("REDIS-CONNECTED")
      expect(out.output).toContain("key=[]")
      expect(fs.readdirSync(outside)).toEqual([])
      // the protected paths: the policy asks about them; under on-failure they run in the
      // sandbox first, which refuses, and the person is asked to run them outside
      const guarded = yield* exec(
        cwd,
        "echo x >> .git/config; echo x > .git/hooks/post-checkout; echo x > .strata/config.toml",
        "on-failure"
      ).pipe(Effect.provide(runtimeIn(cwd)))
      expect(guarded.status, JSON.stringify(guarded)).toBe("approval_required")
      expect(guarded.status === "approval_required" && guarded.reason).toMatch(/sandbox refused it.*read-only/i)
      expect(fs.readFileSync(path.join(cwd, ".git/config"), "utf8")).toBe("[core]\n")
      expect(fs.existsSync(path.join(cwd, ".git/hooks/post-checkout"))).toBe(false)
      expect(fs.existsSync(path.join(cwd, ".strata/config.toml"))).toBe(false)
      expect(sleepers()).toEqual([])
      // the same commands with mode = "off": they work (the test proves the sandbox)
      const off = yield* execApproved(cwd, attack).pipe(Effect.provide(runtimeIn(cwd, { mode: "off" })))
      const offOut = outputOf(off)
      expect(offOut.output).toContain("REDIS-CONNECTED")
      expect(offOut.output).toContain("key=[]") // the environment policy holds either way
      expect(fs.readdirSync(outside).sort()).toEqual(["abs", "link", "proc"])
      expect(sleepers()).toEqual([]) // containment holds without the sandbox too
      fs.rmSync(outside, { recursive: true, force: true })
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scopedLive(
    "on-failure: a sandbox refusal asks to re-run outside; approving runs it unsandboxed; deny still denies",
    () =>
      Effect.gen(function* () {
        const root = yield* (yield* FileSystem).makeTempDirectoryScoped({ prefix: "strata-rt-onfail-" })
        const cwd = path.join(fs.realpathSync(root), "ws")
        fs.mkdirSync(cwd)
        const outside = fs.mkdtempSync("/var/tmp/strata-rt-onfail-")
        yield* Effect.gen(function* () {
          const rt = yield* Runtime.Runtime
          const ok = yield* exec(cwd, "echo in > inside.txt", "on-failure")
          expect(ok.status).toBe("completed")
          const asked = yield* exec(cwd, `echo out > ${outside}/f`, "on-failure")
          expect(asked.status).toBe("approval_required")
          expect(asked.status === "approval_required" && asked.reason).toMatch(/sandbox refused it.*read-only/i)
          expect(fs.existsSync(`${outside}/f`)).toBe(false)
          const approved = yield* rt.resolveApproval((asked as { approval_id: string }).approval_id, "approve", {
            reason: "test"
          })
          expect(approved.result.status).toBe("completed")
          expect(fs.readFileSync(`${outside}/f`, "utf8")).toBe("out\n")
          const denied = yield* exec(cwd, "sudo true", "on-failure")
          expect(denied.status).toBe("denied")
        }).pipe(Effect.provide(runtimeIn(cwd)))
        fs.rmSync(outside, { recursive: true, force: true })
      }).pipe(Effect.provide(NodeContext.layer))
  )
})
