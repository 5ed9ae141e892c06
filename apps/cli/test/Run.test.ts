/**
 * `strata` as a person runs it, as real child processes on the built-in demo
 * model (`STRATA_DEMO=1`: @strata/demo's scripted server in-process) in a
 * fresh working directory: `run` with its exit codes and `--json`, an
 * approval left pending and answered later by `strata approvals`, the
 * non-interactive session `npm start` runs, threads, config errors.
 */
import { createRequire } from "node:module"
import * as path from "node:path"
import * as FileSystem from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { ensureBuilt } from "./build.js"
import { strataDemo } from "./strataProcess.js"

const strata = strataDemo

const workspace = Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "strata-cli-" })
  yield* fs.writeFileString(path.join(dir, "notes.md"), "# notes\n")
  return dir
}).pipe(Effect.provide(NodeContext.layer))

const jsonLines = (s: string) =>
  s
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>)

const everything = createRequire(import.meta.url).resolve("@modelcontextprotocol/server-everything/dist/index.js")

beforeAll(() => ensureBuilt(), 300_000)

describe("strata run", () => {
  it.scopedLive(
    "streams the answer and a real tool call; a pending approval exits 3 and `strata approvals approve` continues the turn",
    () =>
      Effect.gen(function* () {
        const fs = yield* FileSystem.FileSystem
        const dir = yield* workspace
        const first = yield* strata(dir, ["run", "show me around"])
        expect(first.stderr).toContain("demo model: no provider configured")
        expect(first.stdout).toContain("⏺ shell__exec(ls)")
        expect(first.stdout).toContain("exit 0, 1 line: notes.md")
        expect(first.stderr).toMatch(/approval pending approval-\S+: touch strata-demo\.txt/)
        expect(first.code).toBe(3)
        expect(yield* fs.exists(path.join(dir, "strata-demo.txt"))).toBe(false)

        const pending = JSON.parse((yield* strata(dir, ["approvals", "list", "--json"])).stdout) as Array<{
          id: string
          command: string
        }>
        expect(pending.map((a) => a.command)).toStrictEqual(["touch strata-demo.txt"])
        const approved = yield* strata(dir, ["approvals", "approve", pending[0]!.id])
        expect(approved.stdout).toContain("turn completed: Done: strata-demo.txt exists now.")
        expect(approved.code).toBe(0)
        expect(yield* fs.exists(path.join(dir, "strata-demo.txt"))).toBe(true)
        // Answering twice is an error in one line, exit 1.
        const twice = yield* strata(dir, ["approvals", "approve", pending[0]!.id])
        expect(twice.code).toBe(1)
        expect(twice.stderr.trim().split("\n")).toHaveLength(1)
        // Every tool call and approval is in the audit log.
        const audit = jsonLines(yield* fs.readFileString(path.join(dir, ".strata", "audit.jsonl")))
        expect(audit.map((e) => `${e.event}:${e.phase ?? e.decision}`)).toEqual(
          expect.arrayContaining(["tool_call:completed", "decision:ask", "approval:requested", "approval:approved"])
        )
      }).pipe(Effect.provide(NodeContext.layer)),
    90_000
  )

  it.scopedLive(
    "--json writes every event as a JSON line and a run_result; --approval never denies; --yes approves",
    () =>
      Effect.gen(function* () {
        const fs = yield* FileSystem.FileSystem
        const dir = yield* workspace
        const never = yield* strata(dir, ["run", "--json", "--approval", "never", "go"])
        const events = jsonLines(never.stdout)
        expect(never.code).toBe(0)
        expect(events.map((e) => e.event)).toEqual(
          expect.arrayContaining([
            "turn_started",
            "response_delta",
            "tool_call_start",
            "tool_call_result",
            "turn_ended"
          ])
        )
        const result = events[events.length - 1]!
        expect(result).toMatchObject({ event: "run_result", outcome: "completed", exit_code: 0 })
        expect(String(result.output)).toContain("denied")
        // The frames arrive in sequence order, each once.
        const seqs = events.filter((e) => e.event !== "run_result").map((e) => e.seq as number)
        expect(seqs).toStrictEqual([...seqs].sort((a, b) => a - b))
        expect(new Set(seqs).size).toBe(seqs.length)
        expect(yield* fs.exists(path.join(dir, "strata-demo.txt"))).toBe(false)

        const yes = yield* strata(dir, ["run", "--yes", "go"])
        expect(yes.code).toBe(0)
        expect(yes.stdout).toContain("Done: strata-demo.txt exists now.")
        expect(yield* fs.exists(path.join(dir, "strata-demo.txt"))).toBe(true)

        const threads = JSON.parse((yield* strata(dir, ["threads", "list", "--json"])).stdout) as Array<{ id: string }>
        expect(threads).toHaveLength(2)
        const shown = JSON.parse((yield* strata(dir, ["threads", "show", threads[0]!.id, "--json"])).stdout) as {
          history: Array<{ role: string }>
        }
        expect(shown.history.map((m) => m.role)).toStrictEqual([
          "user",
          "assistant",
          "tool",
          "assistant",
          "tool",
          "assistant"
        ])

        // fork at the first assistant message, rename, archive, export
        const at = (shown.history as Array<{ id: string; role: string }>).find((m) => m.role === "assistant")!.id
        const forked = JSON.parse(
          (yield* strata(dir, ["threads", "fork", threads[0]!.id, "--at", at, "--json"])).stdout
        )
        const forkShown = JSON.parse((yield* strata(dir, ["threads", "show", forked.id, "--json"])).stdout) as {
          history: Array<{ role: string }>
        }
        expect(forkShown.history.map((m) => m.role)).toStrictEqual(["user", "assistant"])
        expect((yield* strata(dir, ["threads", "rename", forked.id, "my fork"])).stdout).toContain('"my fork"')
        expect((yield* strata(dir, ["threads", "archive", forked.id])).code).toBe(0)
        const visible = JSON.parse((yield* strata(dir, ["threads", "list", "--json"])).stdout) as Array<{ id: string }>
        expect(visible.map((t) => t.id)).not.toContain(forked.id)
        const exported = yield* strata(dir, ["threads", "export", threads[0]!.id])
        expect(exported.code).toBe(0)
        expect(jsonLines(exported.stdout).length).toBeGreaterThan(5)
      }).pipe(Effect.provide(NodeContext.layer)),
    90_000
  )

  it.scopedLive(
    "without a terminal, `strata` runs one demo turn, denies the approval (no one to ask) and exits 0",
    () =>
      Effect.gen(function* () {
        const dir = yield* workspace
        const session = yield* strata(dir, [])
        expect(session.code).toBe(0)
        expect(session.stdout).toContain("demo model: no provider configured")
        expect(session.stdout).toContain("approval needed: touch strata-demo.txt")
        expect(session.stdout).toContain("The approval was denied, so the workspace is unchanged.")
      }).pipe(Effect.provide(NodeContext.layer)),
    60_000
  )

  it.scopedLive(
    "errors are one line saying what to do: a bad config names file, line and field; a missing thread",
    () =>
      Effect.gen(function* () {
        const fs = yield* FileSystem.FileSystem
        const dir = yield* workspace
        yield* fs.makeDirectory(path.join(dir, ".strata"))
        yield* fs.writeFileString(path.join(dir, ".strata", "config.toml"), 'model = "x"\nmax_turns = "many"\n')
        const bad = yield* strata(dir, ["config", "validate"])
        expect(bad.code).toBe(1)
        expect(bad.stderr.trim().split("\n")).toHaveLength(1)
        expect(bad.stderr).toMatch(/config\.toml:2.*max_turns/)
        expect(bad.stderr).toContain("strata config validate")
        yield* fs.writeFileString(path.join(dir, ".strata", "config.toml"), "max_turns = 5\n")
        const ok = yield* strata(dir, ["config", "validate", "--json"])
        expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true })
        // [server] is strata serve's: not an unknown key, and checked with its own schema
        yield* fs.writeFileString(path.join(dir, ".strata", "config.toml"), "[server]\nport = 7078\n")
        const served = yield* strata(dir, ["config", "validate", "--json"])
        const servedReport = JSON.parse(served.stdout) as { ok: boolean; warnings: Array<string> }
        expect(servedReport.ok).toBe(true)
        // (STRATA_DEMO, set for these runs, steers the process: not a config key either)
        expect(servedReport.warnings).toEqual([])
        yield* fs.writeFileString(path.join(dir, ".strata", "config.toml"), '[server]\nport = "x"\n')
        const badServer = yield* strata(dir, ["config", "validate"])
        expect(badServer.code).not.toBe(0)
        expect(badServer.stderr).toContain("server.port")
        const missing = yield* strata(dir, ["threads", "show", "thread-nope"])
        expect(missing.code).toBe(1)
        expect(missing.stderr.trim()).toBe("strata: no thread thread-nope (see strata threads list)")
        // covers: issue 16 part 6
        // the hint comes from the error's tag (TurnError ThreadNotFound, StorageError NotFound), not its text
        const noThread = yield* strata(dir, ["run", "--thread", "thread-nope", "hi"])
        expect(noThread.code).toBe(1)
        expect(noThread.stderr.trim().split("\n").at(-1)).toBe(
          "strata: Turn on thread thread-nope: no such thread (see strata threads list)"
        )
        const noApproval = yield* strata(dir, ["approvals", "approve", "approval-nope"])
        expect(noApproval.code).toBe(1)
        expect(noApproval.stderr.trim().split("\n").at(-1)).toMatch(/approval-nope.*\(see strata approvals list\)$/)
        const usage = yield* strata(dir, ["run"])
        expect(usage.code).toBe(2)
      }).pipe(Effect.provide(NodeContext.layer)),
    60_000
  )

  it.scopedLive(
    "mcp: a real stdio server from the config starts, with its progress, and restarts; plugins and status list it all",
    () =>
      Effect.gen(function* () {
        const fs = yield* FileSystem.FileSystem
        const dir = yield* workspace
        yield* fs.makeDirectory(path.join(dir, ".strata"))
        yield* fs.writeFileString(
          path.join(dir, ".strata", "config.toml"),
          `[mcp_servers.everything]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(everything)}, "stdio"]\ntrust = "trusted"\n`
        )
        const started = yield* strata(dir, ["mcp", "status"])
        expect(started.code).toBe(0)
        expect(started.stderr).toContain("everything: starting")
        expect(started.stderr).toContain("everything: ready")
        expect(started.stdout).toMatch(/everything\s+ready\s+stdio\s+\d+ tools/)
        const restarted = JSON.parse((yield* strata(dir, ["mcp", "restart", "everything", "--json"])).stdout)
        expect(restarted).toMatchObject({ server_name: "everything", status: "ready" })
        const status = JSON.parse((yield* strata(dir, ["status", "--json"])).stdout)
        expect(status).toMatchObject({
          mcp_servers: ["everything"],
          storage: { kind: "fs", dir: ".strata" },
          model: { kind: "demo" }
        })
        const plugins = JSON.parse((yield* strata(dir, ["plugins", "list", "--json"])).stdout)
        expect(plugins.plugins.map((p: { id: string }) => p.id)).toStrictEqual(["shell", "fs", "audit-log"])
      }).pipe(Effect.provide(NodeContext.layer)),
    60_000
  )
})
