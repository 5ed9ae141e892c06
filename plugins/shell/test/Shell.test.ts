// The exec tool against real processes in real temp directories.
import { readFileSync } from "node:fs"
import { FileSystem } from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Plugin, Tool } from "@strata/plugin"
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import type { Ids } from "@strata/protocol"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import shellPlugin, { Shell } from "../src/index.js"
import nodeAlias from "../src/node.js"

const callId = "call_1" as Ids.ToolCallId
const layer = Layer.merge(NodeContext.layer, Shell.layerOptions({ maxOutputBytes: 1000 }))
const exec = (cwd: string, input: unknown) =>
  Tool.invoke(Shell.Exec, input, { call_id: callId, cwd }).pipe(Effect.map((o) => o as Shell.ExecResult))

const tempDir = Effect.flatMap(FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "strata-shell-" }))

describe("exec", () => {
  it.scopedLive("runs a command in the workspace and returns its exit code and merged output", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const fs = yield* FileSystem
      yield* fs.writeFileString(`${dir}/hello.txt`, "hi")
      const result = yield* exec(dir, { command: "ls; echo oops >&2; exit 3" })
      expect(result.exit_code).toBe(3)
      expect(result.output).toContain("hello.txt")
      expect(result.output).toContain("oops")
      expect(result.timed_out).toBe(false)
    }).pipe(Effect.provide(layer))
  )

  it.scopedLive("runs bash, the dialect the policy parses, without start-up files ($BASH_ENV, $ENV)", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const fs = yield* FileSystem
      yield* fs.writeFileString(`${dir}/startup.sh`, `touch ${dir}/startup-ran\n`)
      const saved = { BASH_ENV: process.env.BASH_ENV, ENV: process.env.ENV }
      process.env.BASH_ENV = `${dir}/startup.sh`
      process.env.ENV = `${dir}/startup.sh`
      const result = yield* exec(dir, {
        command: "echo \"$BASH_VERSION\"; printf '%s|' $'a\\tb'; echo x &> both.txt"
      }).pipe(
        Effect.ensuring(
          Effect.sync(() => {
            for (const [k, v] of Object.entries(saved)) {
              if (v === undefined) delete process.env[k]
              else process.env[k] = v
            }
          })
        )
      )
      expect(result.exit_code).toBe(0)
      expect(result.output).toMatch(/^\d+\.\d+/)
      // $'…' is ANSI-C quoting in bash (dash prints "$a\tb")
      expect(result.output).toContain("a\tb|")
      // &> redirects both streams in bash (dash runs `echo x &` then `> both.txt`)
      expect((yield* fs.readFileString(`${dir}/both.txt`)).trim()).toBe("x")
      expect(yield* fs.exists(`${dir}/startup-ran`)).toBe(false)
    }).pipe(Effect.provide(layer))
  )

  it.scopedLive("a configured shell that does not exist is a clear error, never a fallback to another shell", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const error = yield* Effect.flip(
        Tool.invoke(Shell.Exec, { command: "echo hi" }, { call_id: callId, cwd: dir }).pipe(
          Effect.provide(Layer.merge(NodeContext.layer, Shell.layerOptions({ shell: "/nonexistent/bash" })))
        )
      )
      expect(error.message).toContain("bash is required")
      expect(error.message).toContain("/nonexistent/bash")
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scopedLive("caps the output with a marker saying how much was dropped", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const result = yield* exec(dir, { command: "head -c 5000 /dev/zero | tr '\\0' x" })
      expect(result.truncated).toBe(true)
      expect(result.output.startsWith("x".repeat(1000))).toBe(true)
      expect(result.output).toContain("[output truncated: 4000 more bytes not shown]")
    }).pipe(Effect.provide(layer))
  )

  it.scopedLive("a timeout kills the whole process group, background children included", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const fs = yield* FileSystem
      const result = yield* exec(dir, {
        command: "(sleep 30; touch late.txt) & echo $! > child.pid; sleep 30",
        timeout_ms: 300
      })
      expect(result.timed_out).toBe(true)
      expect(result.exit_code).toBeNull()
      const pid = Number((yield* fs.readFileString(`${dir}/child.pid`)).trim())
      // The background subshell belonged to the killed group: it dies (gone, or a zombie
      // waiting to be reaped) instead of living on for 30 s.
      const dead = () => {
        try {
          return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z") ?? true
        } catch {
          return true
        }
      }
      for (let i = 0; i < 100 && !dead(); i++) yield* Effect.sleep("50 millis")
      const alive = !dead()
      expect(alive).toBe(false)
    }).pipe(Effect.provide(layer))
  )

  it.scopedLive("workdir is confined to the workspace: .., absolute paths and escaping symlinks are refused", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const outside = yield* tempDir
      const fs = yield* FileSystem
      yield* fs.makeDirectory(`${dir}/sub`)
      yield* fs.symlink(outside, `${dir}/escape`)
      const inSub = yield* exec(dir, { command: "pwd", workdir: "sub" })
      expect(inSub.output.trim().endsWith("/sub")).toBe(true)
      // a name that starts with ".." is a directory inside the workspace, not a way out
      yield* fs.makeDirectory(`${dir}/..dots`)
      const inDots = yield* exec(dir, { command: "pwd", workdir: "..dots" })
      expect(inDots.output.trim().endsWith("/..dots")).toBe(true)
      for (const workdir of ["..", outside, "escape"]) {
        const error = yield* Effect.flip(exec(dir, { command: "pwd", workdir }))
        expect(error.message).toContain("outside the workspace")
      }
    }).pipe(Effect.provide(layer))
  )

  it("marks the tool as running shell commands, so the runtime applies the exec policy", () => {
    expect(Shell.Exec.shellCommand?.({ command: "touch x" })).toBe("touch x")
    expect(shellPlugin.tools?.map((t) => t.name)).toStrictEqual(["exec"])
  })

  it.scopedLive(
    "the package's default export runs on the host's platform; the deprecated /node entry is the same plugin",
    () =>
      Effect.gen(function* () {
        expect(nodeAlias).toBe(shellPlugin)
        const dir = yield* tempDir
        // the host (here the test) provides the platform and the Workspace: the plugin brings none
        const built = yield* Plugin.build(yield* Plugin.validate(shellPlugin, "@strata/plugin-shell"))
        const result = yield* built.tools[0]!.invoke(
          { command: "echo from-host > out.txt; cat out.txt" },
          {
            call_id: callId,
            cwd: dir
          }
        )
        expect(result).toMatchObject({ exit_code: 0, output: "from-host\n" })
      }).pipe(Effect.provide([NodeContext.layer, NodeWorkspace.layer({ durable: false })]))
  )
})
