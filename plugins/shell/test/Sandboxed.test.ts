// The exec tool through the call's sandbox (the real @strata/sandbox/node:
// bubblewrap and cgroup v2 / PID namespace containment), with real processes.
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Tool } from "@strata/plugin"
import type { Ids } from "@strata/protocol"
import { Sandbox } from "@strata/sandbox"
import * as SandboxNode from "@strata/sandbox/node"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { Shell } from "../src/index.js"

const callId = "call_1" as Ids.ToolCallId
const layer = Layer.merge(NodeContext.layer, Shell.layerOptions({ maxOutputBytes: 4000 }))
const bwrap = SandboxNode.probeBwrap("/usr/bin/bwrap") === undefined

const workspace = () => fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "strata-shell-sbx-")))
const sleepers = (marker: string) =>
  fs.readdirSync("/proc").filter((pid) => {
    try {
      return /^\d+$/.test(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker)
    } catch {
      return false
    }
  })

const exec = (
  cwd: string,
  sandbox: Sandbox.Service,
  command: string,
  unsandboxed = false,
  timeout_ms?: number | undefined
) =>
  Tool.invoke(Shell.Exec, timeout_ms === undefined ? { command } : { command, timeout_ms }, {
    call_id: callId,
    cwd,
    sandbox,
    unsandboxed
  }).pipe(
    Effect.map((o) => o as Shell.ExecResult),
    Effect.provide(layer)
  )

/** The sandbox of a workspace in `mode`, with PATH only. */
const sandboxIn = (workspace: string, mode: Sandbox.SandboxMode) =>
  SandboxNode.make({ workspace, config: { ...Sandbox.defaultConfig, mode }, env: { PATH: process.env.PATH } })

/** The processes whose command line holds `sleep <marker>`, once they are gone (or after a second). */
const sleepersLeft = (marker: string) =>
  Effect.gen(function* () {
    for (let i = 0; i < 50 && sleepers(`sleep\0${marker}`).length > 0; i++) yield* Effect.sleep("20 millis")
    return sleepers(`sleep\0${marker}`)
  })

const modes = bwrap ? (["off", "workspace-write"] as const) : (["off"] as const)

/** In a fresh workspace, for each mode: its sandbox and a `sleep` marker of its own, ending in `.${tag}`. */
const inEachMode = <E, R>(
  tag: number,
  f: (call: {
    dir: string
    mode: Sandbox.SandboxMode
    sandbox: Sandbox.Service
    marker: string
  }) => Effect.Effect<void, E, R>
) =>
  Effect.gen(function* () {
    const dir = workspace()
    for (const mode of modes) {
      const sandbox = yield* sandboxIn(dir, mode)
      yield* f({ dir, mode, sandbox, marker: `${7000 + Math.floor(Math.random() * 900)}.${tag}` })
    }
  })

describe("exec with the call's sandbox", () => {
  it.live("the environment is scrubbed: a secret of the parent is not there", () =>
    Effect.gen(function* () {
      const dir = workspace()
      const sandbox = yield* SandboxNode.make({
        workspace: dir,
        config: { ...Sandbox.defaultConfig, mode: "off" },
        env: { PATH: process.env.PATH, SOME_API_KEY: "sk-shell-test-123456", EDITOR: "vi" }
      })
      const r = yield* exec(dir, sandbox, 'echo "[$SOME_API_KEY][$EDITOR][$BASH_ENV]"; env | grep -c . ')
      expect(r.output).toContain("[][][]")
      expect(r.output).not.toContain("sk-shell-test")
    })
  )

  it.live("(sleep 300 &) and setsid do not outlive the call, and the call does not wait for them", () =>
    inEachMode(5, ({ dir, mode, sandbox, marker }) =>
      Effect.gen(function* () {
        const started = Date.now()
        const r = yield* exec(dir, sandbox, `(sleep ${marker} &); setsid sleep ${marker} & echo spawned`)
        expect(r.output).toContain("spawned")
        expect(r.exit_code).toBe(0)
        // the call returned without waiting for the sleepers' pipes (they hold stdout)
        expect(Date.now() - started).toBeLessThan(30_000)
        expect(yield* sleepersLeft(marker), `${mode}: ${sandbox.status.containment}`).toEqual([])
      })
    )
  )

  it.live.skipIf(!bwrap)("a write outside is refused with the denial named; unsandboxed it works", () =>
    Effect.gen(function* () {
      const dir = workspace()
      // not under /tmp: the sandbox has a private /tmp, where the write would "succeed" out of sight
      const outside = fs.realpathSync(fs.mkdtempSync("/var/tmp/strata-shell-out-"))
      const sandbox = yield* SandboxNode.make({
        workspace: dir,
        config: Sandbox.defaultConfig,
        env: { PATH: process.env.PATH }
      })
      const r = yield* exec(dir, sandbox, `echo x > ${outside}/f`)
      expect(r.sandboxed).toBe(true)
      expect(r.exit_code).not.toBe(0)
      expect(r.sandbox_denial).toMatch(/read-only file system/i)
      expect(fs.existsSync(`${outside}/f`)).toBe(false)
      const again = yield* exec(dir, sandbox, `echo x > ${outside}/f`, true)
      expect(again.sandboxed).toBe(false)
      expect(again.exit_code).toBe(0)
      expect(fs.existsSync(`${outside}/f`)).toBe(true)
    })
  )

  it.live("run by the sandbox: stdout and stderr merged, the exit code, stdin empty, output capped", () =>
    Effect.gen(function* () {
      const dir = workspace()
      for (const mode of modes) {
        const sandbox = yield* sandboxIn(dir, mode)
        expect(sandbox.run).toBeDefined()
        const r = yield* exec(dir, sandbox, 'echo out; echo err >&2; read -r line; echo "[$line]"; exit 3')
        expect(r.exit_code, mode).toBe(3)
        expect(r.output).toContain("out\n")
        expect(r.output).toContain("err\n")
        expect(r.output).toContain("[]")
        expect(r.timed_out).toBe(false)
        expect(r.sandboxed).toBe(mode !== "off" && sandbox.status.mechanism === "bwrap")
        const big = yield* exec(dir, sandbox, "head -c 5000 /dev/zero | tr '\\0' x; echo tail >&2")
        expect(big.truncated).toBe(true)
        expect(big.output.startsWith("x".repeat(4000))).toBe(true)
        expect(big.output).toMatch(/\[output truncated: 100\d more bytes not shown\]$/)
      }
    })
  )

  it.live("run by the sandbox: a timeout kills the command and what it started", () =>
    inEachMode(7, ({ dir, mode, sandbox, marker }) =>
      Effect.gen(function* () {
        const r = yield* exec(dir, sandbox, `(sleep ${marker} &); echo started; sleep ${marker}`, false, 300)
        expect(r.timed_out, mode).toBe(true)
        expect(r.exit_code).toBeNull()
        expect(r.output).toContain("started")
        expect(r.output).toContain("[timed out after")
        expect(yield* sleepersLeft(marker), `${mode}: ${sandbox.status.containment}`).toEqual([])
      })
    )
  )

  it.live("run by the sandbox: an interrupted call ends the command and what it started", () =>
    inEachMode(8, ({ dir, mode, sandbox, marker }) =>
      Effect.gen(function* () {
        const fiber = yield* Effect.fork(exec(dir, sandbox, `(sleep ${marker} &); sleep ${marker}`))
        for (let i = 0; i < 100 && sleepers(`sleep\0${marker}`).length < 2; i++) yield* Effect.sleep("20 millis")
        expect(sleepers(`sleep\0${marker}`).length, mode).toBe(2)
        yield* Fiber.interrupt(fiber)
        expect(yield* sleepersLeft(marker), `${mode}: ${sandbox.status.containment}`).toEqual([])
      })
    )
  )
})
