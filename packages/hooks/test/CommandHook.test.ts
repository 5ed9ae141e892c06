import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { type Common, Ids } from "@strata/protocol"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { ClaudeCode, CommandHook, Hook, HookDispatcher, HookEvent, HookOutput } from "../src/index.js"

const TestLayer = Layer.mergeAll(HookDispatcher.HookDispatcher.Default, NodeContext.layer)

const callId = Ids.unsafeMake("ToolCallId", "call-7")

const preToolUse = (command: string, tool_name = "exec") =>
  HookEvent.PreToolUse.make({
    tool_name,
    tool_input: { command },
    tool_use_id: callId,
    session_id: "session-42",
    thread_id: Ids.unsafeMake("ThreadId", "thread-42")
  })

const fixtures = Effect.map(Path.Path, (path) => path.fromFileUrl(new URL("./fixtures", import.meta.url))).pipe(
  Effect.flatten,
  Effect.orDie
)

/** Registers the `[hooks]` table of a config, with the fixtures as working directory. */
const registerConfig = (table: unknown, options: CommandHook.RunOptions = {}) =>
  Effect.gen(function* () {
    const specs = yield* CommandHook.fromConfig(table)
    return yield* CommandHook.register(specs, { cwd: yield* fixtures, ...options })
  })

type ProcState = "alive" | "gone" | "our-zombie" | "orphan-zombie"

/** The state of a process, from /proc (Linux). */
const processState = (pid: number) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const stat = yield* Effect.option(fs.readFileString(`/proc/${pid}/stat`))
    if (Option.isNone(stat)) return "gone" as ProcState
    const fields = stat.value.slice(stat.value.lastIndexOf(")") + 2).split(" ")
    if (fields[0] !== "Z") return "alive" as ProcState
    return (Number(fields[1]) === process.pid ? "our-zombie" : "orphan-zombie") as ProcState
  })

/** Waits (bounded) until the process is no longer running, and returns its final state. */
const settled = (pid: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < 100; i++) {
      const state = yield* processState(pid)
      if (state !== "alive") return state
      yield* Effect.sleep("20 millis")
    }
    return yield* processState(pid)
  })

const readPid = (file: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    for (let i = 0; i < 250; i++) {
      const text = yield* Effect.orElseSucceed(fs.readFileString(file), () => "")
      if (text.trim() !== "") return Number(text.trim())
      yield* Effect.sleep("20 millis")
    }
    return yield* Effect.dieMessage(`no pid in ${file}`)
  })

/**
 * Every process of the hook must be gone. The leader (`sh -c`, our direct
 * child) must be reaped: no zombie of ours. Its descendants must not be
 * running; when their parent died first they are re-parented to PID 1, and a
 * PID 1 that does not reap (as in some containers) leaves them as orphan
 * zombies: that is PID 1's job, not ours.
 */
const expectKilled = (pidFile: string, options: { readonly leader?: boolean } = {}) =>
  Effect.gen(function* () {
    const script = yield* readPid(pidFile)
    const child = yield* readPid(`${pidFile}.child`)
    if (options.leader !== false) {
      const leader = yield* readPid(`${pidFile}.leader`)
      expect(yield* settled(leader)).toBe("gone")
    }
    expect(["gone", "orphan-zombie"]).toContain(yield* settled(script))
    expect(["gone", "orphan-zombie"]).toContain(yield* settled(child))
  })

describe("CommandHook config", () => {
  it("reads the TOML-shaped [hooks] table with defaults", () => {
    const specs = Either.getOrThrow(
      CommandHook.fromConfig({
        PreToolUse: [
          { command: "./guard.sh", matcher: "exec|write_file", timeout: 5, on_error: "allow", priority: 3 },
          { command: "./other.sh" }
        ],
        SessionStart: [{ command: "./context.sh", name: "ctx" }]
      })
    )
    expect(specs).toHaveLength(3)
    expect(specs[0]).toMatchObject({
      event: "PreToolUse",
      command: "./guard.sh",
      name: "hooks.PreToolUse[0]",
      matcher: "exec|write_file",
      dialect: "strata",
      timeoutMs: 5000,
      onError: "allow",
      priority: 3,
      shell: "sh",
      maxOutputBytes: CommandHook.DEFAULT_MAX_OUTPUT_BYTES
    })
    expect(specs[1]).toMatchObject({ timeoutMs: 10_000, onError: undefined, priority: 0 })
    expect(specs[2]).toMatchObject({ event: "SessionStart", name: "ctx" })
  })

  it("rejects bad entries with errors naming the entry", () => {
    const error = (table: unknown) =>
      Either.getLeft(CommandHook.fromConfig(table, { source: "strata.toml" })).pipe(Option.getOrThrow)
    const empty = error({ PreToolUse: [{ command: "" }] })
    expect(empty.reason).toBe("InvalidConfig")
    expect(empty.path).toBe("hooks.PreToolUse[0].command")
    expect(empty.message).toContain("strata.toml")
    expect(error({ PreToolUse: [{ command: "x", timeout: -1 }] }).path).toBe("hooks.PreToolUse[0].timeout")
    expect(error({ PreToolUse: [{ command: "x", on_error: "maybe" }] }).path).toBe("hooks.PreToolUse[0].on_error")
    const unknown = error({ PreToolUze: [{ command: "x" }] })
    expect(unknown.reason).toBe("UnknownEvent")
    expect(unknown.path).toBe("hooks.PreToolUze")
    expect(unknown.message).toContain("PreToolUze")
  })

  it("reads Claude Code's hooks.json format", () => {
    const specs = Either.getOrThrow(
      CommandHook.fromClaudeSettings({
        permissions: { allow: [] },
        hooks: {
          PreToolUse: [
            { matcher: "Bash", hooks: [{ type: "command", command: "guard.sh", timeout: 3 }] },
            {
              matcher: "Edit|Write",
              hooks: [
                { type: "command", command: "fmt.sh" },
                { type: "command", command: "lint.sh" }
              ]
            }
          ],
          Stop: [{ hooks: [{ type: "command", command: "check.sh" }] }]
        }
      })
    )
    expect(specs.map((s) => [s.event, s.matcher, s.command, s.timeoutMs, s.dialect, s.name])).toEqual([
      ["PreToolUse", "Bash", "guard.sh", 3000, "claude", "hooks.PreToolUse[0].hooks[0]"],
      ["PreToolUse", "Edit|Write", "fmt.sh", 10_000, "claude", "hooks.PreToolUse[1].hooks[0]"],
      ["PreToolUse", "Edit|Write", "lint.sh", 10_000, "claude", "hooks.PreToolUse[1].hooks[1]"],
      ["Stop", undefined, "check.sh", 10_000, "claude", "hooks.Stop[0].hooks[0]"]
    ])
  })

  it("rejects unsupported hook types and unknown events, unless told to skip them", () => {
    const prompt = Either.getLeft(
      CommandHook.fromClaudeSettings({
        hooks: {
          PreToolUse: [
            {
              hooks: [
                { type: "command", command: "a" },
                { type: "prompt", prompt: "?" }
              ]
            }
          ]
        }
      })
    ).pipe(Option.getOrThrow)
    expect(prompt.reason).toBe("UnsupportedHookType")
    expect(prompt.path).toBe("hooks.PreToolUse[0].hooks[1].type")
    const settings = { hooks: { SubagentStop: [{ hooks: [{ type: "command", command: "a" }] }] } }
    expect(Either.getLeft(CommandHook.fromClaudeSettings(settings)).pipe(Option.getOrThrow).reason).toBe("UnknownEvent")
    expect(Either.getOrThrow(CommandHook.fromClaudeSettings(settings, { ignoreUnknownEvents: true }))).toEqual([])
    const shape = Either.getLeft(CommandHook.fromClaudeSettings({ hooks: { Stop: [{ hooks: [{ command: "a" }] }] } }))
    expect(Option.getOrThrow(shape).path).toBe("hooks.Stop[0].hooks[0].type")
  })

  it.scoped("loads a hooks.json file, naming the file in errors", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      yield* fs.writeFileString(
        `${dir}/hooks.json`,
        JSON.stringify({ hooks: { PreToolUse: [{ matcher: "Bash", hooks: [{ type: "command", command: "x" }] }] } })
      )
      yield* fs.writeFileString(`${dir}/broken.json`, "{ not json")
      expect(yield* CommandHook.loadClaudeSettings(`${dir}/hooks.json`)).toHaveLength(1)
      const broken = yield* Effect.flip(CommandHook.loadClaudeSettings(`${dir}/broken.json`))
      expect(broken.reason).toBe("InvalidConfig")
      expect(broken.message).toContain("broken.json")
      const missing = yield* Effect.flip(CommandHook.loadClaudeSettings(`${dir}/missing.json`))
      expect(missing.reason).toBe("ReadFailed")
    }).pipe(Effect.provide(NodeContext.layer))
  )
})

describe("command hooks (real processes)", () => {
  it.scopedLive("a bash hook blocks with exit code 2 (stderr is the reason) and injects context with JSON", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      yield* registerConfig({ PreToolUse: [{ command: "./guard.sh", matcher: "exec" }] })
      const blocked = yield* hooks.dispatch(preToolUse("rm -rf /"))
      expect(blocked.decision).toBe("deny")
      expect(blocked.reason).toBe("rm -rf is not allowed here")
      expect(blocked.decidedBy).toBe("config/hooks.PreToolUse[0]")
      const pushed = yield* hooks.dispatch(preToolUse("git push origin main"))
      expect(pushed.decision).toBe("none")
      expect(pushed.additionalContext).toEqual(["pushes go to the fork, not upstream"])
      const plain = yield* hooks.dispatch(preToolUse("ls"))
      expect(plain).toMatchObject({ decision: "none", additionalContext: [], errors: [], hooks: 1 })
      // the matcher keeps it off other tools
      expect((yield* hooks.dispatch(preToolUse("rm -rf /", "read_file"))).hooks).toBe(0)
    }).pipe(Effect.provide(TestLayer))
  )

  it.scopedLive("a Python hook rewrites the input (re-validated), allows, asks, stops, blocks the legacy way", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      yield* registerConfig({ PreToolUse: [{ command: "./rewrite.py" }] })
      const Input = Schema.Struct({ command: Schema.String })
      const validateInput = (input: Common.JsonValue) => Effect.as(Schema.decodeUnknown(Input)(input), input)

      const deploy = yield* hooks.dispatch(preToolUse("deploy prod"), { validateInput })
      expect(deploy.decision).toBe("allow")
      expect(deploy.reason).toBe("deploys run as dry runs")
      expect(deploy.event.tool_input).toEqual({ command: "deploy prod --dry-run" })
      expect(deploy.updatedInput).toEqual({ command: "deploy prod --dry-run" })
      expect(deploy.additionalContext).toEqual(["deploy was rewritten to a dry run"])

      const bad = yield* hooks.dispatch(preToolUse("bad-rewrite"), { validateInput })
      expect(bad.decision).toBe("deny")
      expect(bad.errors[0]).toMatchObject({ reason: "InvalidUpdatedInput", kind: "command" })
      expect(bad.event.tool_input).toEqual({ command: "bad-rewrite" })

      const stop = yield* hooks.dispatch(preToolUse("stop"))
      expect(stop.continue).toBe(false)
      expect(stop.stopReason).toBe("the hook stopped the turn")
      expect((yield* hooks.dispatch(preToolUse("ask"))).decision).toBe("ask")
      const legacy = yield* hooks.dispatch(preToolUse("legacy-block"))
      expect(legacy).toMatchObject({ decision: "deny", reason: "blocked the old way" })

      const crashed = yield* hooks.dispatch(preToolUse("raise"))
      expect(crashed.decision).toBe("deny")
      expect(crashed.errors[0]!.reason).toBe("NonZeroExit")
      expect(crashed.errors[0]!.message).toMatch(/^exit code 1: Traceback/)
    }).pipe(Effect.provide(TestLayer))
  )

  it.scopedLive("a command hook receives Claude Code's input fields, environment and working directory", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const record = `${dir}/record.jsonl`
      const hooks = yield* HookDispatcher.HookDispatcher
      const cwd = yield* fixtures
      yield* registerConfig(
        { PreToolUse: [{ command: "./record.py" }], SessionEnd: [{ command: "./record.py" }] },
        { env: { RECORD_FILE: record } }
      )
      yield* hooks.dispatch(preToolUse("ls -la"))
      yield* hooks.dispatch(HookEvent.SessionEnd.make({ reason: "other" }))
      const [pre, end] = (yield* fs.readFileString(record))
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line))
      expect(pre.event).toEqual({
        hook_event_name: "PreToolUse",
        session_id: "session-42",
        thread_id: "thread-42",
        cwd,
        permission_mode: "default",
        tool_name: "exec",
        tool_input: { command: "ls -la" },
        tool_use_id: "call-7"
      })
      expect(pre.env).toMatchObject({
        CLAUDE_PROJECT_DIR: cwd,
        STRATA_PROJECT_DIR: cwd,
        STRATA_HOOK_EVENT: "PreToolUse",
        STRATA_HOOK_ID: "hooks.PreToolUse[0]"
      })
      expect(pre.cwd).toBe(cwd)
      expect(end.event).toMatchObject({ hook_event_name: "SessionEnd", session_id: "", reason: "other" })
    }).pipe(Effect.provide(TestLayer))
  )

  it.scopedLive("plain stdout is context on UserPromptSubmit and SessionStart, and ignored elsewhere", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      yield* registerConfig({
        UserPromptSubmit: [{ command: "./context.sh" }],
        SessionStart: [{ command: "./context.sh" }],
        PostToolUse: [{ command: "./context.sh" }]
      })
      const prompt = yield* hooks.dispatch(HookEvent.UserPromptSubmit.make({ prompt: "ship it" }))
      expect(prompt.additionalContext).toEqual(["Today is release day: keep changes small."])
      const start = yield* hooks.dispatch(HookEvent.SessionStart.make({ source: "startup" }))
      expect(start.additionalContext).toEqual(["Today is release day: keep changes small."])
      const post = yield* hooks.dispatch(
        HookEvent.PostToolUse.make({
          tool_name: "exec",
          tool_input: {},
          tool_use_id: callId,
          tool_response: { content: [] }
        })
      )
      expect(post).toMatchObject({ additionalContext: [], errors: [] })
    }).pipe(Effect.provide(TestLayer))
  )

  it.scopedLive("in-process and command hooks chain on one event: rewrite, then the command sees it", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const record = `${dir}/record.jsonl`
      const hooks = yield* HookDispatcher.HookDispatcher
      yield* hooks.register(
        Hook.define({
          event: "PreToolUse",
          priority: 10,
          run: (e) =>
            Effect.succeed({
              ...HookOutput.updateInput({ command: `${(e.tool_input as { command: string }).command} && echo done` }),
              ...HookOutput.addContext("in-process context")
            })
        })
      )
      yield* registerConfig(
        { PreToolUse: [{ command: "./record.py" }, { command: "./guard.sh" }] },
        { env: { RECORD_FILE: record } }
      )
      const result = yield* hooks.dispatch(preToolUse("git push"))
      const seen = JSON.parse((yield* fs.readFileString(record)).trim())
      expect(seen.event.tool_input).toEqual({ command: "git push && echo done" })
      expect(result.additionalContext).toEqual(["in-process context", "pushes go to the fork, not upstream"])
      expect(result.event.tool_input).toEqual({ command: "git push && echo done" })
    }).pipe(Effect.provide(TestLayer))
  )

  it.scopedLive("a hook that hangs times out, its process group is killed, and on_error decides", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const hooks = yield* HookDispatcher.HookDispatcher
      yield* registerConfig(
        {
          PreToolUse: [{ command: "./hang.sh", timeout: 0.5 }],
          PostToolUse: [{ command: "./hang.sh", timeout: 0.5, env: { PID_FILE: `${dir}/post.pid` } }]
        },
        { env: { PID_FILE: `${dir}/pre.pid` } }
      )
      const pre = yield* hooks.dispatch(preToolUse("ls"))
      expect(pre.decision).toBe("deny")
      expect(pre.errors[0]).toMatchObject({ reason: "Timeout", kind: "command", on_error: "deny" })
      yield* expectKilled(`${dir}/pre.pid`)
      const post = yield* hooks.dispatch(
        HookEvent.PostToolUse.make({
          tool_name: "exec",
          tool_input: {},
          tool_use_id: callId,
          tool_response: { content: [] }
        })
      )
      expect(post.decision).toBe("none")
      expect(post.errors[0]).toMatchObject({ reason: "Timeout", on_error: "allow" })
      yield* expectKilled(`${dir}/post.pid`)
    }).pipe(Effect.provide(TestLayer))
  )

  it.scopedLive("a hook that ignores SIGTERM is killed with SIGKILL", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const hooks = yield* HookDispatcher.HookDispatcher
      yield* registerConfig(
        { PreToolUse: [{ command: "./hang.sh", timeout: 0.3 }] },
        { env: { PID_FILE: `${dir}/trap.pid`, TRAP: "1" } }
      )
      const result = yield* hooks.dispatch(preToolUse("ls"))
      expect(result.errors[0]!.reason).toBe("Timeout")
      yield* expectKilled(`${dir}/trap.pid`)
    }).pipe(Effect.provide(TestLayer))
  )

  it.scopedLive("closing the scope (interrupting the dispatch) kills the running hook", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const hooks = yield* HookDispatcher.HookDispatcher
      yield* registerConfig({ PreToolUse: [{ command: "./hang.sh" }] }, { env: { PID_FILE: `${dir}/int.pid` } })
      const fiber = yield* Effect.fork(hooks.dispatch(preToolUse("ls")))
      yield* readPid(`${dir}/int.pid.child`)
      yield* Fiber.interrupt(fiber)
      yield* expectKilled(`${dir}/int.pid`)
    }).pipe(Effect.provide(TestLayer))
  )

  it.scopedLive("crash, garbage and flood are hook errors; the runtime keeps going", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      const cases: Array<[string, string, string | RegExp]> = [
        ["kill -SEGV $$", "Crashed", /SIGSEGV/],
        ["exit 3", "NonZeroExit", "exit code 3"],
        ["echo '{not json'", "InvalidOutput", "not valid JSON"],
        ["printf 'ok\\000\\001\\002'", "InvalidOutput", "binary"],
        ["printf '\\377\\376'", "InvalidOutput", "UTF-8"],
        [`echo '{"continue": "yes"}'`, "InvalidOutput", "continue"],
        [`echo '{"hookSpecificOutput": {"permissionDecision": "maybe"}}'`, "InvalidOutput", "permissionDecision"],
        ["yes flood", "OutputTooLarge", "stdout exceeded 65536 bytes"],
        ["yes flood >&2", "OutputTooLarge", "stderr exceeded 65536 bytes"],
        ["cat /dev/zero", "OutputTooLarge", "stdout"]
      ]
      for (const [command, reason, message] of cases) {
        const scope = `case: ${command}`
        const result = yield* Effect.scoped(
          Effect.gen(function* () {
            yield* registerConfig({
              PreToolUse: [{ command, max_output_bytes: 65_536, on_error: "allow", name: "x" }]
            })
            return yield* hooks.dispatch(preToolUse("ls"))
          })
        )
        expect(result.errors, scope).toHaveLength(1)
        expect(result.errors[0]!.reason, scope).toBe(reason)
        expect(result.errors[0]!.message, scope).toMatch(message)
        expect(result.decision, scope).toBe("none")
      }
      // and the dispatcher still works
      yield* registerConfig({ PreToolUse: [{ command: "./guard.sh" }] })
      expect((yield* hooks.dispatch(preToolUse("rm -rf ~"))).decision).toBe("deny")
    }).pipe(Effect.provide(TestLayer))
  )

  it.scopedLive("a flooding hook is killed", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const hooks = yield* HookDispatcher.HookDispatcher
      yield* registerConfig(
        { PreToolUse: [{ command: 'echo $$ > "$PID_FILE"; (sleep 300; true) & echo $! > "$PID_FILE.child"; yes' }] },
        { env: { PID_FILE: `${dir}/flood.pid` } }
      )
      const result = yield* hooks.dispatch(preToolUse("ls"))
      expect(result.errors[0]!.reason).toBe("OutputTooLarge")
      // the command is run by `sh -c` itself, so the pid it records is the leader's
      expect(yield* settled(yield* readPid(`${dir}/flood.pid`))).toBe("gone")
      yield* expectKilled(`${dir}/flood.pid`, { leader: false })
    }).pipe(Effect.provide(TestLayer))
  )

  it.scopedLive("a hook that cannot start, or never reads a large stdin, does not hurt the runtime", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* registerConfig({ PreToolUse: [{ command: "true", shell: "/nonexistent/shell" }] })
          const result = yield* hooks.dispatch(preToolUse("ls"))
          expect(result.errors[0]!.reason).toBe("SpawnFailed")
          expect(result.decision).toBe("deny")
        })
      )
      yield* registerConfig({ PreToolUse: [{ command: "exit 0" }, { command: "./guard.sh" }] })
      const big = "x".repeat(2_000_000)
      const result = yield* hooks.dispatch(preToolUse(`${big} rm -rf`))
      expect(result.errors).toEqual([])
      expect(result.decision).toBe("deny")
    }).pipe(Effect.provide(TestLayer))
  )

  it.scopedLive("Claude Code's hooks.json works unchanged, with $CLAUDE_PROJECT_DIR and regex matchers", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const cwd = yield* fixtures
      yield* fs.writeFileString(
        `${dir}/hooks.json`,
        JSON.stringify({
          hooks: {
            PreToolUse: [
              {
                matcher: "Bash|exec",
                hooks: [{ type: "command", command: '"$CLAUDE_PROJECT_DIR"/guard.sh', timeout: 5 }]
              },
              { matcher: "mcp__.*__write.*", hooks: [{ type: "command", command: "echo nope >&2; exit 2" }] }
            ]
          }
        })
      )
      const hooks = yield* HookDispatcher.HookDispatcher
      const specs = yield* CommandHook.loadClaudeSettings(`${dir}/hooks.json`)
      const infos = yield* CommandHook.register(specs, { cwd, owner: "claude" })
      expect(infos.map((i) => [i.id, i.kind, i.matcher])).toEqual([
        ["claude/hooks.PreToolUse[0].hooks[0]", "command", "Bash|exec"],
        ["claude/hooks.PreToolUse[1].hooks[0]", "command", "mcp__.*__write.*"]
      ])
      expect((yield* hooks.dispatch(preToolUse("rm -rf /", "Bash"))).reason).toBe("rm -rf is not allowed here")
      expect((yield* hooks.dispatch(preToolUse("rm -rf /", "BashOutput"))).decision).toBe("none")
      expect((yield* hooks.dispatch(preToolUse("x", "mcp__fs__write_file"))).reason).toBe("nope")
      expect((yield* hooks.dispatch(preToolUse("x", "mcp__fs__read_file"))).decision).toBe("none")
    }).pipe(Effect.provide(TestLayer))
  )

  it.scopedLive("hook errors are published on the observer stream as HookError", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      const queue = yield* hooks.subscribe
      const seen = yield* Deferred.make<void>()
      yield* registerConfig({ Stop: [{ command: "exit 9" }] })
      yield* hooks.dispatch(HookEvent.Stop.make({ stop_hook_active: false }))
      const first = yield* queue.take
      expect(first).toMatchObject({ _tag: "HookError", reason: "NonZeroExit", kind: "command", on_error: "allow" })
      yield* Deferred.succeed(seen, undefined)
    }).pipe(Effect.provide(TestLayer))
  )

  it.scopedLive(
    "Claude-format hooks see Claude's tool names and fields; exit 1 does not block; updatedInput maps back",
    () =>
      Effect.gen(function* () {
        const fs = yield* FileSystem.FileSystem
        const dir = yield* fs.makeTempDirectoryScoped()
        const seen = `${dir}/seen.jsonl`
        // Records what it read; rewrites the file path in Claude's field name.
        const rewrite = `cat >> ${seen}; echo >> ${seen}; echo '{"hookSpecificOutput":{"hookEventName":"PreToolUse","updatedInput":{"file_path":"safe.txt","content":"x"}}}'`
        yield* fs.writeFileString(
          `${dir}/settings.json`,
          JSON.stringify({
            hooks: {
              PreToolUse: [
                {
                  matcher: "Bash",
                  hooks: [{ type: "command", command: `cat >> ${seen}; echo >> ${seen}; echo broken >&2; exit 1` }]
                },
                { matcher: "Write", hooks: [{ type: "command", command: rewrite }] }
              ]
            }
          })
        )
        const hooks = yield* HookDispatcher.HookDispatcher
        yield* CommandHook.register(yield* CommandHook.loadClaudeSettings(`${dir}/settings.json`), { cwd: dir })
        const bash = yield* hooks.dispatch(preToolUse("ls -la", "shell__exec"))
        expect(bash.decision).toBe("none")
        expect(bash.errors.map((e) => [e.reason, e.on_error, e.message])).toEqual([
          ["NonZeroExit", "allow", "exit code 1: broken"]
        ])
        const write = yield* hooks.dispatch(
          HookEvent.PreToolUse.make({
            tool_name: "fs__write_file",
            tool_input: { path: "a.txt", content: "x" },
            tool_use_id: callId
          })
        )
        expect(write.updatedInput).toEqual({ path: "safe.txt", content: "x" })
        const inputs = (yield* fs.readFileString(seen))
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as { tool_name: string; tool_input: unknown })
        expect(inputs.map((i) => [i.tool_name, i.tool_input])).toEqual([
          ["Bash", { command: "ls -la" }],
          ["Write", { file_path: "a.txt", content: "x" }]
        ])
      }).pipe(Effect.provide(TestLayer))
  )

  it("ClaudeCode maps every tool both ways; MultiEdit is a patch", () => {
    const cases: Array<[string, Common.JsonValue, string, Common.JsonValue]> = [
      ["shell__exec", { command: "ls", timeout_ms: 5 }, "Bash", { command: "ls", timeout: 5 }],
      ["fs__read_file", { path: "a", offset: 2 }, "Read", { file_path: "a", offset: 2 }],
      ["fs__write_file", { path: "a", content: "c" }, "Write", { file_path: "a", content: "c" }],
      [
        "fs__edit",
        { path: "a", old_string: "o", new_string: "n" },
        "Edit",
        { file_path: "a", old_string: "o", new_string: "n" }
      ],
      ["fs__glob", { pattern: "*.ts", path: "src" }, "Glob", { pattern: "*.ts", path: "src" }],
      ["fs__grep", { pattern: "x", ignore_case: true }, "Grep", { pattern: "x", "-i": true }],
      ["plugin__tool", { a: 1 }, "plugin__tool", { a: 1 }]
    ]
    for (const [strata, input, claude, claudeInput] of cases) {
      expect(ClaudeCode.claudeName(strata)).toBe(claude)
      expect(ClaudeCode.strataName(claude)).toBe(strata)
      expect(ClaudeCode.toClaudeInput(strata, input)).toEqual(claudeInput)
      expect(ClaudeCode.fromClaudeInput(strata, claudeInput)).toEqual(input)
    }
    const patch = "--- a/src/x.ts\n+++ b/src/x.ts\n@@ -1,2 +1,2 @@\n keep\n-old\n+new\n"
    const multi = ClaudeCode.toClaudeInput("fs__apply_patch", { patch }) as Record<string, unknown>
    expect(ClaudeCode.claudeName("fs__apply_patch")).toBe("MultiEdit")
    expect(multi).toMatchObject({
      file_path: "src/x.ts",
      edits: [{ old_string: "keep\nold", new_string: "keep\nnew" }]
    })
    expect(ClaudeCode.fromClaudeInput("fs__apply_patch", multi as Common.JsonValue)).toEqual({ patch })
    expect(
      ClaudeCode.fromClaudeInput("fs__apply_patch", {
        file_path: "b.txt",
        edits: [{ old_string: "a", new_string: "b" }]
      })
    ).toEqual({ patch: "--- a/b.txt\n+++ b/b.txt\n@@ -1,1 +1,1 @@\n-a\n+b\n" })
  })

  it("unmatched names the hooks on tool events whose matcher matches no tool", () => {
    const specs = Either.getOrThrow(
      CommandHook.fromConfig({
        PreToolUse: [{ matcher: "exec", command: "a" }, { matcher: "shell__exec", command: "b" }, { command: "c" }],
        PostToolUse: [{ matcher: "mcp__*", command: "d" }],
        SessionStart: [{ matcher: "nothing", command: "e" }]
      })
    )
    const claude = Either.getOrThrow(
      CommandHook.fromClaudeSettings({
        hooks: {
          PreToolUse: [
            { matcher: "Bash", hooks: [{ type: "command", command: "f" }] },
            { matcher: "Task", hooks: [{ type: "command", command: "g" }] }
          ]
        }
      })
    )
    expect(
      CommandHook.unmatched([...specs, ...claude], ["shell__exec", "fs__read_file"]).map((u) => u.message)
    ).toEqual([
      'hooks.PreToolUse[0]: matcher "exec" matches no tool (tools: shell__exec, fs__read_file)',
      'hooks.PreToolUse[1].hooks[0]: matcher "Task" matches no tool (tools: shell__exec, fs__read_file)'
    ])
  })
})
