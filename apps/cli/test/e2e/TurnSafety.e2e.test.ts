/**
 * Every tool call is answered exactly once, whatever interrupts the turn:
 * the built `strata` killed with SIGKILL at random points (then resumed
 * against a strict model server that rejects, as the real APIs do, a
 * history with an unanswered or misplaced tool result), Ctrl-C during an
 * approved call, a new prompt while an approval is pending, a corrupt
 * checkpoint, an approval record edited on disk, and two processes racing
 * on one thread on the file system, Redis and PostgreSQL.
 *
 * `STRATA_CHAOS_ROUNDS` sets the SIGKILL rounds (CI: a bounded slice; the
 * long run is `npm run test:chaos -w @strata/cli`).
 */
import { createHash } from "node:crypto"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import type { RecordedRequest, Turn } from "@strata/testkit/ScriptedModel"
import { describe, expect, it } from "vitest"
import {
  jsonLines,
  type Project,
  postgresUrl,
  providerToml,
  q,
  redisUrl,
  runStrata,
  withModel,
  withPostgresSchema,
  withProject,
  withRedisPrefix
} from "./harness.js"

const rounds = Number(process.env.STRATA_CHAOS_ROUNDS ?? 3)

const rules = `
[[rule]]
prefix = [["echo", "sleep", "true"]]
decision = "allow"
`

// The model as a function of the conversation, so that a killed run and its
// resume see the same behaviour: after the prompt "work" it calls tools for
// three rounds (one, then two in parallel, then one), then answers; any
// other prompt is answered with text.
const respond = (request: RecordedRequest): Turn => {
  const lastUser = request.messages.map((m) => m.role).lastIndexOf("user")
  const prompt = request.messages[lastUser]?.content ?? ""
  const rounds = request.messages.slice(lastUser).filter((m) => m.role === "assistant").length
  const mark = (n: number) => `echo ${request.index}-${n} >> runs.log`
  if (!prompt.includes("work")) return { text: `answered: ${prompt}` }
  switch (rounds) {
    case 0:
      return {
        text: "Working.",
        delayMs: 30,
        chunkSize: 3,
        toolCalls: [{ name: "shell__exec", arguments: { command: `${mark(0)}; sleep 0.3` } }]
      }
    case 1:
      return {
        toolCalls: [
          // not allowed by a rule: asked, approved by --yes, run by the approval path
          { name: "shell__exec", arguments: { command: `printf '%s\\n' ${request.index}-1 >> runs.log; sleep 0.2` } },
          { name: "shell__exec", arguments: { command: `${mark(2)}` } }
        ]
      }
    case 2:
      return {
        text: "Almost.",
        delayMs: 40,
        toolCalls: [{ name: "shell__exec", arguments: { command: `${mark(3)}; sleep 0.2` } }]
      }
    default:
      return { text: "Done working.", delayMs: 20, chunkSize: 4 }
  }
}

const threadsOf = async (p: Project): Promise<Array<{ id: string; status: string }>> => {
  const list = await p.strata(["threads", "list", "--json"])
  expect(list.code, list.stderr).toBe(0)
  return JSON.parse(list.stdout) as never
}

/** Every tool call in `messages` answered exactly once, in place (the strict server's check, on the record). */
const pairingProblems = (messages: RecordedRequest["messages"]) => {
  const problems: Array<string> = []
  let open = new Set<string>()
  for (const m of messages) {
    if (m.role === "tool") {
      if (!open.delete(m.tool_call_id ?? "")) problems.push(`stray result ${m.tool_call_id}`)
    } else if (m.role === "user" || m.role === "assistant") {
      for (const id of open) problems.push(`unanswered ${id}`)
      open = new Set((m.tool_calls ?? []).map((c) => c.id ?? ""))
    }
  }
  return problems
}

const config = (server: Parameters<typeof providerToml>[0], storage = '[storage]\nkind = "fs"\ndir = "state"\n') =>
  `${providerToml(server)}\n${storage}`

describe("turn safety: every tool call answered exactly once", { timeout: 600_000 }, () => {
  const chaos = (store: string, storage: () => string) => async () => {
    await withProject(async (p) => {
      p.write(".strata/policy.toml", rules)
      await withModel({ respond, strict: true }, async (server) => {
        p.config(config(server, storage()))
        const phases: Array<string> = []
        for (let round = 0; round < rounds; round++) {
          // a fresh thread each round, killed somewhere between start and end
          // once the turn has started (its first frame is out), somewhere in its ~2 s
          const killAfter = Math.floor(Math.random() * 2200)
          const killed = await p.strata(["run", "--json", "--yes", `work round ${round}`], {
            signalWhen: { text: '"thread_id"', signal: "SIGKILL", delayMs: killAfter }
          })
          const threads = await threadsOf(p)
          const thread = threads[0]
          if (thread === undefined) {
            phases.push(`before any thread (${killed.signal ?? killed.code})`)
            continue
          }
          // resume: the next prompt on that thread must be accepted by the strict server
          const before = server.requests.length
          // on Redis and PostgreSQL a dead holder's lease is taken over once it expires (30 s)
          let resumed = await p.strata(["run", "--json", "--thread", thread.id, `next after round ${round}`])
          for (let wait = 0; wait < 20 && resumed.code === 1 && resumed.stdout.includes('"ThreadBusy"'); wait++) {
            await new Promise((r) => setTimeout(r, 2500))
            resumed = await p.strata(["run", "--json", "--thread", thread.id, `next after round ${round}`])
          }
          expect(
            resumed.code,
            `round ${round} (killed after ${killAfter} ms, ${killed.signal}): ${resumed.stderr}`
          ).toBe(0)
          const request = server.requests[server.requests.length - 1]!
          expect(server.requests.length).toBeGreaterThan(before)
          expect(pairingProblems(request.messages)).toStrictEqual([])
          const results = jsonLines(resumed.stdout).filter((l) => l.event === "run_result")
          expect(results).toHaveLength(1)
          expect(results[0]).toMatchObject({ outcome: "completed", output: `answered: next after round ${round}` })
          const status = (await threadsOf(p)).find((t) => t.id === thread.id)?.status
          expect(status).not.toBe("running")
          const seen = killed.stdout.split("\n").filter((l) => l.startsWith("{"))
          const last = seen.length === 0 ? "nothing" : (JSON.parse(seen[seen.length - 1]!).event as string)
          phases.push(killed.signal === "SIGKILL" ? `killed after ${last}` : `finished (${killed.code})`)
        }
        expect(server.problems).toStrictEqual([])
        // no call ran twice: every marker once
        const log = p.exists("runs.log")
          ? p
              .read("runs.log")
              .split("\n")
              .filter((l) => l !== "")
          : []
        expect(new Set(log).size).toBe(log.length)
        console.log(`chaos (${store}): ${rounds} rounds: ${phases.join("; ")}; ${log.length} tool runs, 0 twice`)
      })
    })
  }

  // CI runs the file-system store; `npm run test:chaos` all three, longer.
  const stores = (process.env.STRATA_CHAOS_STORES ?? "fs").split(",")
  it.runIf(stores.includes("fs"))(
    `SIGKILL at random points over ${rounds} rounds (fs), then resume: the thread is valid, no call ran twice`,
    chaos("fs", () => '[storage]\nkind = "fs"\ndir = "state"\n')
  )
  it.runIf(stores.includes("redis"))(`SIGKILL at random points over ${rounds} rounds (Redis)`, async () => {
    await withRedisPrefix("strata-chaos", (prefix) =>
      chaos("redis", () => `[storage]\nkind = "redis"\nurl = ${q(redisUrl)}\nprefix = ${q(prefix)}\n`)()
    )
  })
  it.runIf(stores.includes("postgres"))(`SIGKILL at random points over ${rounds} rounds (PostgreSQL)`, async () => {
    await withPostgresSchema("strata_chaos", (schema) =>
      chaos("postgres", () => `[storage]\nkind = "postgres"\nurl = ${q(postgresUrl)}\nschema = ${q(schema)}\n`)()
    )
  })

  it("a new prompt while an approval is pending: the call is answered as not approved, before the prompt", async () => {
    await withProject(async (p) => {
      await withModel(
        {
          strict: true,
          turns: [
            { toolCalls: [{ name: "shell__exec", arguments: { command: "touch approved.txt" } }] },
            { text: "ok, something else" }
          ]
        },
        async (server) => {
          p.config(config(server))
          const first = await p.strata(["run", "--json", "make a file"])
          expect(first.code, first.stderr).toBe(3)
          const threadId = jsonLines(first.stdout).find((l) => l.event === "run_result")!.thread_id as string
          const requested = jsonLines(first.stdout).find((l) => l.event === "approval_requested")!
          const second = await p.strata(["run", "--json", "--thread", threadId, "something else"])
          expect(second.code, second.stderr).toBe(0)
          const tool = server.requests[1]!.messages.find((m) => m.role === "tool")!
          expect(tool.content).toMatch(/not approved: the user sent a new prompt instead/)
          // answering it later runs nothing
          const late = await p.strata(["approvals", "approve", requested.approval_id as string])
          expect(late.code).toBe(1)
          expect(late.stderr).toMatch(/denied|Conflict|resolved/i)
          expect(p.exists("approved.txt")).toBe(false)
        }
      )
    })
  })

  it("an approval record edited on disk is refused, naming the record; the edited command never runs", async () => {
    await withProject(async (p) => {
      await withModel(
        { strict: true, turns: [{ toolCalls: [{ name: "shell__exec", arguments: { command: "touch notes.txt" } }] }] },
        async (server) => {
          p.config(config(server))
          const run = await p.strata(["run", "--json", "take notes"])
          expect(run.code, run.stderr).toBe(3)
          const approvalId = jsonLines(run.stdout).find((l) => l.event === "approval_requested")!.approval_id as string
          const dir = path.join(p.dir, "state", "approvals")
          const file = path.join(dir, readdirSync(dir).find((f) => f.endsWith(".json"))!)
          const text = readFileSync(file, "utf8")
          expect(text).toContain("touch notes.txt")
          // the attacker edits the arguments, keeping the displayed command
          writeFileSync(file, text.replace(/("arguments":\{"command":")touch notes\.txt/, "$1touch pwned.txt"))
          expect(readFileSync(file, "utf8")).toContain("touch pwned.txt")
          const approve = await p.strata(["approvals", "approve", approvalId])
          expect(approve.code).toBe(1)
          expect(approve.stderr).toContain(approvalId)
          expect(approve.stderr).toMatch(/was not run|changed|Corrupt|damaged/i)
          expect(p.exists("pwned.txt")).toBe(false)
          expect(p.exists("notes.txt")).toBe(false)
        }
      )
    })
  })

  // The unkeyed attack: whoever can write the store edits the call AND recomputes its SHA-256.
  it("an approval record edited on disk with a recomputed unkeyed digest is refused; the edited command never runs; an untouched one runs", async () => {
    await withProject(async (p) => {
      const respond = (request: RecordedRequest): Turn => {
        const last = request.messages[request.messages.length - 1]
        if (last?.role !== "user") return { text: "done" }
        const file = last.content.includes("notes") ? "notes.txt" : "kept.txt"
        return { toolCalls: [{ name: "shell__exec", arguments: { command: `touch ${file}` } }] }
      }
      await withModel({ respond, strict: true }, async (server) => {
        p.config(config(server))
        const asked = async (prompt: string) => {
          const run = await p.strata(["run", "--json", prompt])
          expect(run.code, run.stderr).toBe(3)
          return jsonLines(run.stdout).find((l) => l.event === "approval_requested")!.approval_id as string
        }
        const edited = await asked("take notes")
        const untouched = await asked("keep it")
        // the key: outside the workspace, in the (test's) home, 32 bytes, mode 0600
        const keyFile = path.join(p.home, ".local", "state", "strata", "approval.key")
        expect(statSync(keyFile).mode & 0o777).toBe(0o600)
        expect(statSync(keyFile).size).toBe(32)
        const dir = path.join(p.dir, "state", "approvals")
        const file = path.join(dir, readdirSync(dir).find((f) => f.includes(edited))!)
        // the stored document: { revision, schemaVersion, kind, record }
        const doc = JSON.parse(readFileSync(file, "utf8")) as Record<string, any>
        const record = doc.record as Record<string, any>
        expect(record.metadata.digest).toMatch(/^hmac-sha256:[0-9a-f]{64}$/)
        // the person is shown the edited command, and the digest is recomputed as the unkeyed scheme did
        const call = { ...record.call, arguments: { command: "touch pwned.txt" } }
        const canonical = (v: unknown): string =>
          v === null || typeof v !== "object"
            ? JSON.stringify(v)
            : Array.isArray(v)
              ? `[${v.map(canonical).join(",")}]`
              : `{${Object.keys(v)
                  .filter((k) => (v as any)[k] !== undefined)
                  .sort()
                  .map((k) => `${JSON.stringify(k)}:${canonical((v as any)[k])}`)
                  .join(",")}}`
        const facts = {
          v: 1,
          tool: call.name,
          call_id: call.id,
          arguments: call.arguments,
          thread_id: record.thread_id,
          command: "touch pwned.txt",
          cwd: record.cwd,
          reason: record.reason,
          approval_mode: record.metadata.approval_mode
        }
        const digest = `sha256:${createHash("sha256").update(canonical(facts)).digest("hex")}`
        writeFileSync(
          file,
          JSON.stringify({
            ...doc,
            record: { ...record, call, command: "touch pwned.txt", metadata: { ...record.metadata, digest } }
          })
        )
        const listed = await p.strata(["approvals", "list", "--json"])
        expect(listed.stdout).toContain("touch pwned.txt")
        const approve = await p.strata(["approvals", "approve", edited])
        expect(approve.code).toBe(1)
        expect(approve.stderr).toContain(edited)
        expect(approve.stderr).toMatch(/predates keyed approval digests/)
        expect(p.exists("pwned.txt")).toBe(false)
        expect(p.exists("notes.txt")).toBe(false)
        // the untouched one still runs, in another process, under the same per-user key
        const ok = await p.strata(["approvals", "approve", untouched])
        expect(ok.code, ok.stderr).toBe(0)
        expect(p.exists("kept.txt")).toBe(true)
        expect(p.exists("pwned.txt")).toBe(false)
        // denying the edited one stays allowed
        const deny = await p.strata(["approvals", "deny", edited])
        expect(deny.code, deny.stderr).toBe(0)
      })
    })
  })

  it("STRATA_APPROVAL_KEY: an approval asked on one machine is run by another with the same key, refused under another key", async () => {
    await withProject(async (p) => {
      const respond = (request: RecordedRequest): Turn => {
        const last = request.messages[request.messages.length - 1]
        if (last?.role !== "user") return { text: "done" }
        return { toolCalls: [{ name: "shell__exec", arguments: { command: "touch shared.txt" } }] }
      }
      await withModel({ respond, strict: true }, async (server) => {
        p.config(config(server))
        const shared = { STRATA_APPROVAL_KEY: "3c".repeat(32) }
        const run = await p.strata(["run", "--json", "make it"], { env: shared })
        expect(run.code, run.stderr).toBe(3)
        const approvalId = jsonLines(run.stdout).find((l) => l.event === "approval_requested")!.approval_id as string
        // a secret of the process, not a config key: not shown, not warned about
        expect(run.stderr).not.toMatch(/approval_key/i)
        const shown = await p.strata(["config", "show"], { env: shared })
        expect(shown.code, shown.stderr).toBe(0)
        expect(`${shown.stdout}${shown.stderr}`).not.toContain(shared.STRATA_APPROVAL_KEY)
        expect(`${shown.stdout}${shown.stderr}`).not.toMatch(/approval_key/i)
        // no key file was needed or made (the directory holds the compile cache)
        expect(existsSync(path.join(p.home, ".local", "state", "strata", "approval.key"))).toBe(false)
        // "another machine": another home (its own per-user key), no shared key: refused
        const elsewhere = mkdtempSync(path.join(tmpdir(), "strata-e2e-home-"))
        try {
          const other = await runStrata(p.dir, elsewhere, ["approvals", "approve", approvalId])
          expect(other.code).toBe(1)
          expect(other.stderr).toContain(approvalId)
          expect(p.exists("shared.txt")).toBe(false)
          const approve = await runStrata(p.dir, elsewhere, ["approvals", "approve", approvalId], { env: shared })
          expect(approve.code, approve.stderr).toBe(0)
          expect(p.exists("shared.txt")).toBe(true)
        } finally {
          rmSync(elsewhere, { recursive: true, force: true })
        }
        // a key that is not hex of 32 bytes stops the process with a clear error
        const bad = await p.strata(["run", "make it again"], { env: { STRATA_APPROVAL_KEY: "short" } })
        expect(bad.code).toBe(1)
        expect(bad.stderr).toMatch(/STRATA_APPROVAL_KEY/)
      })
    })
  })

  it("a corrupt checkpoint: a clear error before anything runs; the thread is not left running", async () => {
    await withProject(async (p) => {
      await withModel(
        {
          strict: true,
          turns: [
            { text: "first" },
            { toolCalls: [{ name: "shell__exec", arguments: { command: "echo x > ran.txt" } }] }
          ]
        },
        async (server) => {
          p.config(config(server))
          const first = await p.strata(["run", "--json", "first"])
          expect(first.code, first.stderr).toBe(0)
          const threadId = jsonLines(first.stdout).find((l) => l.event === "run_result")!.thread_id as string
          const threadDir = path.join(p.dir, "state", "threads")
          const name = readdirSync(threadDir)[0]!
          const checkpoints = path.join(threadDir, name, "checkpoints")
          for (const f of readdirSync(checkpoints)) writeFileSync(path.join(checkpoints, f), "{ not json")
          const second = await p.strata(["run", "--thread", threadId, "second"])
          expect(second.code).toBe(1)
          expect(second.stderr).toMatch(/checkpoint/)
          expect(second.stderr).toContain(threadId)
          expect(p.exists("ran.txt")).toBe(false)
          expect(server.requests).toHaveLength(1)
          const status = (await threadsOf(p)).find((t) => t.id === threadId)?.status
          expect(status).not.toBe("running")
        }
      )
    })
  })

  // covers: issue 16 part 5
  it("a damaged journal under a pending approval: approving it is a clear error; nothing is decided or run", async () => {
    await withProject(async (p) => {
      await withModel(
        {
          strict: true,
          turns: [{ toolCalls: [{ name: "shell__exec", arguments: { command: "touch approved.txt" } }] }]
        },
        async (server) => {
          p.config(config(server))
          const run = await p.strata(["run", "--json", "make the file"])
          expect(run.code, run.stderr).toBe(3)
          const threadId = jsonLines(run.stdout).find((l) => l.event === "run_result")!.thread_id as string
          const approvalId = jsonLines(run.stdout).find((l) => l.event === "approval_requested")!.approval_id as string
          const threadDir = path.join(p.dir, "state", "threads")
          const journal = path.join(threadDir, readdirSync(threadDir)[0]!, "journal")
          const damaged = Buffer.from(readFileSync(journal))
          const at = Math.floor(damaged.length / 2)
          damaged[at] = damaged[at]! ^ 0x01
          writeFileSync(journal, damaged)
          const approve = await p.strata(["approvals", "approve", approvalId])
          expect(approve.code).toBe(1)
          const errors = approve.stderr.split("\n").filter((l) => l.startsWith("strata: "))
          expect(errors).toHaveLength(1)
          expect(errors[0]).toContain(threadId)
          expect(p.exists("approved.txt")).toBe(false)
          expect(readFileSync(journal).equals(damaged)).toBe(true)
          expect(server.requests).toHaveLength(1)
          const pending = await p.strata(["approvals", "list", "--json"])
          expect(pending.stdout).toContain(approvalId)
        }
      )
    })
  })

  it("Ctrl-C while an approved call runs: the call is answered, the thread goes on", async () => {
    await withProject(async (p) => {
      p.write(".strata/policy.toml", rules)
      await withModel(
        {
          strict: true,
          turns: [
            { toolCalls: [{ name: "shell__exec", arguments: { command: "touch slow.txt; sleep 30" } }] },
            { text: "after" }
          ]
        },
        async (server) => {
          p.config(config(server))
          const run = await p.strata(["run", "--json", "--yes", "slow"], {
            signalWhen: { text: '"event":"tool_call_start"', signal: "SIGINT" }
          })
          expect(run.code).toBe(130)
          const threadId = jsonLines(run.stdout).find((l) => l.event === "run_result")!.thread_id as string
          const next = await p.strata(["run", "--json", "--thread", threadId, "go on"])
          expect(next.code, next.stderr).toBe(0)
          const tool = server.requests[1]!.messages.find((m) => m.role === "tool")!
          expect(tool.content).toMatch(/interrupted/)
          expect(pairingProblems(server.requests[1]!.messages)).toStrictEqual([])
        }
      )
    })
  })

  const race = (storage: () => string) => async () => {
    await withProject(async (p) => {
      let release!: () => void
      const held = new Promise<void>((r) => (release = r))
      await withModel(
        {
          strict: true,
          turns: [{ text: "setup" }, { text: "winner", waitFor: () => held }, { text: "late", repeat: true }]
        },
        async (server) => {
          p.config(config(server, storage()))
          const setup = await p.strata(["run", "--json", "setup"])
          expect(setup.code, setup.stderr).toBe(0)
          const threadId = jsonLines(setup.stdout).find((l) => l.event === "run_result")!.thread_id as string
          const a = p.strata(["run", "--json", "--thread", threadId, "first runner"])
          // the first runner holds the thread (its model call is waiting) when the second starts
          const deadline = Date.now() + 60_000
          while (server.requests.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
          const b = await p.strata(["run", "--json", "--thread", threadId, "second runner"])
          release()
          const first = await a
          expect(first.code, first.stderr).toBe(0)
          expect(b.code).toBe(1)
          const result = jsonLines(b.stdout).find((l) => l.event === "run_result")!
          expect(result.error).toMatchObject({ type: "ThreadBusy" })
          expect(b.stdout).not.toContain('"event":"turn_started"')
          // the journal holds one turn after setup: the second wrote nothing
          const replay = await p.strata(["run", "--json", "--thread", threadId, "after the race"])
          expect(replay.code, replay.stderr).toBe(0)
          const users = server.requests
            .at(-1)!
            .messages.filter((m) => m.role === "user")
            .map((m) => m.content)
          expect(users).toStrictEqual(["setup", "first runner", "after the race"])
        }
      )
    })
  }

  it(
    "two processes on one thread (fs): one runs, the other gets ThreadBusy and writes nothing",
    race(() => '[storage]\nkind = "fs"\ndir = "state"\n')
  )

  it("two processes on one thread (Redis): ThreadBusy", async () => {
    await withRedisPrefix("strata-race", (prefix) =>
      race(() => `[storage]\nkind = "redis"\nurl = ${q(redisUrl)}\nprefix = ${q(prefix)}\n`)()
    )
  })

  it("two processes on one thread (PostgreSQL): ThreadBusy", async () => {
    await withPostgresSchema("strata_race", (schema) =>
      race(() => `[storage]\nkind = "postgres"\nurl = ${q(postgresUrl)}\nschema = ${q(schema)}\n`)()
    )
  })
})
