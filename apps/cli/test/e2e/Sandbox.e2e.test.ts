/**
 * The sandbox and the environment policy through the built `strata run` on
 * the demo model (`run: <command>` runs that command with `shell__exec`),
 * with the real bubblewrap, real processes and the real journal: every
 * escape fails inside the sandbox with the outside world unchanged, and the
 * same command succeeds with `--sandbox off` (so the test proves the
 * sandbox, not a broken command).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import * as SandboxNode from "@strata/sandbox/node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import {
  call,
  fixtures,
  jsonLines,
  lastToolResult,
  type Project,
  providerToml,
  q,
  withModel,
  withProject
} from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

const bwrap = SandboxNode.probeBwrap("/usr/bin/bwrap") === undefined
if (!bwrap && process.env.CI !== undefined) throw new Error("CI must run the real sandbox: install bubblewrap")

const SECRET = "sk-e2e-SECRET-0123456789"
const demo = { env: { STRATA_DEMO: "1", SOME_API_KEY: SECRET, DEEPSEEK_API_KEY: "sk-deepseek-e2e-987654" } }

/** Runs `command` through `strata run --json --yes` and returns the exec tool's result. */
const exec = async (
  p: Project,
  command: string,
  args: ReadonlyArray<string> = [],
  env: Record<string, string> = {}
) => {
  const run = await p.strata(["run", "--json", "--yes", ...args, `run: ${command}`], {
    env: { ...demo.env, ...env }
  })
  const result = jsonLines(run.stdout).find((l) => l.event === "tool_call_result") as
    | { result: { output?: { structured?: Record<string, unknown> }; error?: string } }
    | undefined
  const structured = result?.result.output?.structured as
    | { exit_code: number | null; output: string; sandboxed?: boolean; sandbox_denial?: string }
    | undefined
  return { run, structured, error: result?.result.error }
}

const journalText = (p: Project) => {
  const dir = path.join(p.dir, ".strata")
  const all: Array<string> = []
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name)
      if (e.isDirectory()) walk(full)
      else all.push(readFileSync(full, "latin1"))
    }
  }
  if (existsSync(dir)) walk(dir)
  return all.join("\n")
}

let outsideRoot: string
let server: net.Server
let port: number
beforeAll(async () => {
  // not under /tmp: the sandbox has a private /tmp
  outsideRoot = mkdtempSync("/var/tmp/strata-e2e-outside-")
  server = net.createServer((s) => {
    s.on("error", () => {})
    s.end("HELLO\n")
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))
  port = (server.address() as net.AddressInfo).port
})
afterAll(() => {
  server?.close()
  rmSync(outsideRoot, { recursive: true, force: true })
})

describe.concurrent("the environment policy through strata run", { timeout: 240_000 }, () => {
  it("echo $SOME_API_KEY gets nothing, and the key never lands in the journal", async () => {
    await withProject(async (p) => {
      for (const args of [[], ["--sandbox", "off"]]) {
        const r = await exec(p, 'echo "key=[$SOME_API_KEY][$DEEPSEEK_API_KEY]"', args)
        expect(r.structured?.output, r.run.stderr).toBe("key=[][]\n")
      }
      // read from the parent's environment (unsandboxed, /proc is shared): redacted, also base64 and URL-encoded
      const leak = await exec(
        p,
        'for f in /proc/[0-9]*/environ; do tr \'\\0\' \'\\n\' < $f 2>/dev/null | grep -a \'^SOME_API_KEY=\'; done | head -1 | tee /dev/stderr | base64; python3 -c \'import os,urllib.parse,sys; [print(urllib.parse.quote(l)) for l in open("/proc/%d/environ" % os.getppid(),"rb").read().decode("latin1").split("\\0") if l.startswith("SOME_API")]\' 2>/dev/null',
        ["--sandbox", "off"]
      )
      expect(leak.structured?.output).toContain("[redacted]")
      expect(leak.run.stdout).not.toContain(SECRET)
      expect(journalText(p)).not.toContain(SECRET)
      expect(journalText(p)).not.toContain(Buffer.from(`SOME_API_KEY=${SECRET}`).toString("base64").slice(4, 20))
    })
  })

  it("inherit, include, exclude and set", async () => {
    await withProject(async (p) => {
      p.config(
        [
          "[shell_environment_policy]",
          // covers: shell_environment_policy.inherit
          'inherit = "all"',
          // covers: shell_environment_policy.include
          'include = ["SOME_API_KEY"]',
          // covers: shell_environment_policy.exclude
          'exclude = ["EXTRA_*"]',
          // covers: shell_environment_policy.set
          'set = { FROM_CONFIG = "configured" }'
        ].join("\n")
      )
      const r = await exec(p, 'echo "[$SOME_API_KEY][$EXTRA_ONE][$OTHER][$FROM_CONFIG]"', [], {
        EXTRA_ONE: "x",
        OTHER: "inherited"
      })
      // included: the key passes to the command (and is still redacted on the way back)
      expect(r.structured?.output).toBe("[[redacted]][][inherited][configured]\n")
    })
  })
})

describe.skipIf(!bwrap)("the sandbox through strata run (real bwrap)", { concurrent: true, timeout: 240_000 }, () => {
  it("writes outside the workspace fail inside, succeed with --sandbox off; the denial is named", async () => {
    await withProject(async (p) => {
      const outside = mkdtempSync(path.join(outsideRoot, "w-"))
      const attempts = [
        `echo pwned > ${outside}/abs`,
        `echo pwned > ${path.relative(p.dir, outside)}/dotdot`,
        `ln -sfn ${outside} out; echo pwned > out/link`,
        `echo pwned > /proc/self/root${outside}/procroot`
      ].join("; ")
      const r = await exec(p, `${attempts}; false`)
      expect(r.structured?.sandboxed, r.run.stderr).toBe(true)
      expect(r.structured?.output.match(/Read-only file system/g)?.length, r.structured?.output).toBe(4)
      expect(r.structured?.sandbox_denial).toMatch(/read-only file system/i)
      expect(readdirSync(outside)).toEqual([])
      // covers: sandbox.mode
      p.config('[sandbox]\nmode = "off"\n')
      const off = await exec(p, attempts)
      expect(off.structured?.exit_code, off.structured?.output).toBe(0)
      expect(readdirSync(outside).sort()).toEqual(["abs", "dotdot", "link", "procroot"])
    })
  })

  it("protected paths cannot be written inside the sandbox", async () => {
    await withProject(async (p) => {
      p.write(".git/config", "[core]\n")
      mkdirSync(path.join(p.dir, ".git/hooks"), { recursive: true })
      p.config('approval_policy = "on-request"\n')
      const before = p.read(".strata/config.toml")
      const r = await exec(
        p,
        "echo 'approval_policy = \"never\"' >> .strata/config.toml; echo '[core] fsmonitor = curl' >> .git/config; echo curl > .git/hooks/pre-commit; echo done"
      )
      expect(r.structured?.output).toContain("Read-only file system")
      expect(p.read(".strata/config.toml")).toBe(before)
      expect(p.read(".git/config")).toBe("[core]\n")
      expect(p.exists(".git/hooks/pre-commit")).toBe(false)
      // the workspace itself stays writable
      expect((await exec(p, "echo ok > made.txt && cat made.txt")).structured?.output).toBe("ok\n")
    })
  })

  it("network: 127.0.0.1 services are unreachable; network = true reaches them", async () => {
    await withProject(async (p) => {
      const connect = `for t in ${port} 6379 5432; do (exec 3<>/dev/tcp/127.0.0.1/$t && echo CONNECTED-$t); done 2>&1`
      const inside = await exec(p, connect)
      expect(inside.structured?.output).not.toContain("CONNECTED")
      const off = await exec(p, connect, ["--sandbox", "off"])
      expect(off.structured?.output).toContain(`CONNECTED-${port}`)
      expect(off.structured?.output).toContain("CONNECTED-6379")
      // covers: sandbox.network
      p.config("[sandbox]\nnetwork = true\n")
      expect((await exec(p, connect)).structured?.output).toContain(`CONNECTED-${port}`)
    })
  })

  it("hide and writable_roots", async () => {
    await withProject(async (p) => {
      // a home outside /tmp (the sandbox's /tmp is private: a home under it is invisible anyway)
      const home = mkdtempSync(path.join(outsideRoot, "home-"))
      mkdirSync(path.join(home, ".ssh"))
      mkdirSync(path.join(home, "vault"))
      writeFileSync(path.join(home, ".ssh/id_ed25519"), "PRIVATE-KEY-MATERIAL")
      writeFileSync(path.join(home, "vault/token"), "VAULT-TOKEN-MATERIAL")
      const extra = mkdtempSync(path.join(outsideRoot, "root-"))
      const read = `cat ${home}/.ssh/id_ed25519 ${home}/vault/token 2>&1; echo made > ${extra}/f`
      const first = await exec(p, read, [], { HOME: home })
      expect(first.structured?.output).not.toContain("PRIVATE-KEY-MATERIAL")
      expect(first.structured?.output).toContain("VAULT-TOKEN-MATERIAL")
      expect(existsSync(`${extra}/f`)).toBe(false)
      p.config(
        [
          "[sandbox]",
          // covers: sandbox.hide
          'hide = ["~/vault"]',
          // covers: sandbox.writable_roots
          `writable_roots = [${JSON.stringify(extra)}]`
        ].join("\n")
      )
      const second = await exec(p, read, [], { HOME: home })
      expect(second.structured?.output).not.toContain("VAULT-TOKEN-MATERIAL")
      expect(readFileSync(`${extra}/f`, "utf8")).toBe("made\n")
    })
  })

  it("the approval key: its file is hidden from commands, its variable never reaches them", async () => {
    await withProject(async (p) => {
      const home = mkdtempSync(path.join(outsideRoot, "home-"))
      const state = mkdtempSync(path.join(outsideRoot, "state-"))
      for (const env of [{ HOME: home }, { HOME: home, XDG_STATE_HOME: state }]) {
        const file =
          env.XDG_STATE_HOME === undefined
            ? path.join(home, ".local/state/strata/approval.key")
            : path.join(state, "strata/approval.key")
        const read = `base64 -w0 ${file} 2>&1; echo`
        const hidden = await exec(p, read, [], env)
        // the run made the key (before the command ran)
        const key = readFileSync(file).toString("base64")
        expect(hidden.structured?.output, JSON.stringify(env)).toBeDefined()
        expect(hidden.structured?.output).not.toContain(key)
        // without the sandbox the same command reads it: the check above can fail
        const open = await exec(p, read, ["--sandbox", "off"], env)
        expect(open.structured?.output).toContain(key)
        // the compile cache beside it (written when those runs exited): neither read nor written by commands
        const cacheDir = path.join(path.dirname(file), "code-cache")
        const cache = path.join(cacheDir, readdirSync(cacheDir).find((f) => f.startsWith("run-"))!)
        const before = readFileSync(cache)
        const sample = before.subarray(before.length - 48).toString("base64")
        const touch = `tail -c 48 ${cache} | base64 -w0; echo; echo planted > ${cacheDir}/planted.v8; printf x >> ${cache}; echo done`
        const guarded = await exec(p, touch, [], env)
        expect(guarded.structured?.output, JSON.stringify(env)).toContain("done")
        expect(guarded.structured?.output).not.toContain(sample)
        expect(existsSync(`${cacheDir}/planted.v8`)).toBe(false)
        expect(readFileSync(cache).equals(before)).toBe(true)
        // the same command without the sandbox does both: the checks above can fail
        const unguarded = await exec(p, touch, ["--sandbox", "off"], env)
        expect(unguarded.structured?.output).toContain(sample)
        expect(existsSync(`${cacheDir}/planted.v8`)).toBe(true)
        expect(readFileSync(cache).equals(before)).toBe(false)
        rmSync(`${cacheDir}/planted.v8`)
      }
      const shared = "5a".repeat(32)
      const variable = await exec(p, 'echo "v=$STRATA_APPROVAL_KEY"; env', ["--sandbox", "off"], {
        HOME: home,
        STRATA_APPROVAL_KEY: shared
      })
      expect(variable.structured?.output).toContain("v=\n")
      expect(variable.structured?.output).not.toContain(shared)
    })
  })

  it("nothing a command starts outlives the call: background, setsid, double fork", async () => {
    await withProject(async (p) => {
      const marker = `${8000 + Math.floor(Math.random() * 900)}.25`
      const alive = () =>
        readdirSync("/proc").filter((pid) => {
          try {
            return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`sleep\0${marker}`)
          } catch {
            return false
          }
        })
      for (const args of [[], ["--sandbox", "off"]]) {
        const started = Date.now()
        const r = await exec(
          p,
          `sleep ${marker} & (sleep ${marker} &); setsid sleep ${marker} & (setsid bash -c 'sleep ${marker} &' &); echo spawned`,
          args
        )
        expect(r.structured?.output).toContain("spawned")
        expect(Date.now() - started).toBeLessThan(60_000)
        expect(alive(), `left running with ${args.join(" ") || "the sandbox"}`).toEqual([])
      }
    })
  })

  it("status says what runs; required = true refuses to run unsandboxed", async () => {
    await withProject(async (p) => {
      const status = await p.strata(["status"])
      expect(status.stdout).toMatch(
        /sandbox\s+bwrap \(workspace-write, network off\), processes contained by pid-namespace( \((cgroup|process-group) outside the sandbox\))?\n/
      )
      // a PATH without bwrap: the sandbox cannot start
      const noBwrap = mkdtempSync(path.join(outsideRoot, "bin-"))
      for (const tool of ["bash", "sh", "echo", "cat", "env", "node"]) {
        const found = ["/usr/bin", "/bin", "/usr/local/bin"].map((d) => path.join(d, tool)).find((f) => existsSync(f))
        if (found !== undefined)
          writeFileSync(path.join(noBwrap, tool), `#!/bin/sh\nexec ${found} "$@"\n`, { mode: 0o755 })
      }
      const env = { PATH: noBwrap }
      // covers: sandbox.required
      p.config("[sandbox]\nrequired = true\n")
      const refused = await exec(p, "echo ran > ran.txt", [], env)
      expect(refused.error ?? "").toMatch(/sandbox\.required.*bwrap is not installed/)
      expect(p.exists("ran.txt")).toBe(false)
      const plain = await p.strata(["status"], { env })
      expect(plain.stdout).toMatch(/sandbox\s+NOT sandboxed: bwrap is not installed/)
    })
  })

  it("MCP stdio servers: a scrubbed environment always; sandboxed with sandbox.mcp = true", async () => {
    await withProject(async (p) => {
      const outside = mkdtempSync(path.join(outsideRoot, "mcp-"))
      const server = (extra: string) =>
        [
          "[mcp_servers.e2e]",
          `command = ${q(process.execPath)}`,
          `args = [${q(path.join(fixtures, "mcp-stdio.mjs"))}, "--with-write"]`,
          'startup_timeout = "60s"',
          extra
        ].join("\n")
      const turns = [
        call("mcp__e2e__env", { name: "SOME_API_KEY" }),
        call("mcp__e2e__write", { path: `${outside}/from-mcp`, text: "x" }),
        { text: "done" }
      ]
      await withModel({ turns }, async (model) => {
        p.config(`${providerToml(model)}\n${server("")}`)
        const run = await p.strata(["run", "--json", "--yes", "go"], { env: { SOME_API_KEY: SECRET } })
        expect(run.code, run.stderr).toBe(0)
        expect(lastToolResult(model.requests[1]!)).toBe("<unset>")
        // not sandboxed by default: the write lands
        expect(lastToolResult(model.requests[2]!)).toBe("written")
      })
      rmSync(`${outside}/from-mcp`)
      await withModel({ turns }, async (model) => {
        // covers: sandbox.mcp
        p.config(`${providerToml(model)}\n[sandbox]\nmcp = true\n${server("")}`)
        const run = await p.strata(["run", "--json", "--yes", "go"], { env: { SOME_API_KEY: SECRET } })
        expect(run.code, run.stderr).toBe(0)
        expect(lastToolResult(model.requests[2]!)).toMatch(/write failed: .*read-only file system/i)
        expect(existsSync(`${outside}/from-mcp`)).toBe(false)
      })
      await withModel({ turns: [turns[0]!, { text: "done" }] }, async (model) => {
        // A server given the secret on purpose (its `env`) answers with it: the
        // model, the journal and the printed events still never see the value.
        p.config(`${providerToml(model)}\n${server(`env = { SOME_API_KEY = ${q(SECRET)} }`)}`)
        const run = await p.strata(["run", "--json", "--yes", "go"], { env: { SOME_API_KEY: SECRET } })
        expect(run.code, run.stderr).toBe(0)
        expect(lastToolResult(model.requests[1]!)).not.toContain(SECRET)
        expect(lastToolResult(model.requests[1]!)).not.toBe("<unset>")
        expect(run.stdout).not.toContain(SECRET)
      })
    })
  })

  it("on-failure: runs in the sandbox without asking; asks to re-run outside when the sandbox refused, with the denial shown", async () => {
    await withProject(async (p) => {
      const outside = mkdtempSync(path.join(outsideRoot, "onfail-"))
      // inside the workspace: runs sandboxed without an approval (the policy would ask about touch)
      const inside = await p.strata(["run", "--json", "--approval", "on-failure", "run: touch made.txt"], demo)
      expect(inside.code, inside.stderr).toBe(0)
      expect(p.exists("made.txt")).toBe(true)
      // outside: the sandbox refuses, the person is asked, the denial is in the reason
      const refused = await p.strata(["run", "--json", "--approval", "on-failure", `run: touch ${outside}/f`], demo)
      expect(refused.code, refused.stderr).toBe(3)
      const requested = jsonLines(refused.stdout).find((l) => l.event === "approval_requested") as
        | { approval_id: string; reason: string }
        | undefined
      expect(requested?.reason).toMatch(/sandbox refused it .*read-only file system.*without the sandbox/i)
      expect(existsSync(`${outside}/f`)).toBe(false)
      // approved: it runs again, outside the sandbox
      const approved = await p.strata(["approvals", "approve", "--json", requested!.approval_id], demo)
      expect(approved.code, approved.stderr).toBe(0)
      expect(existsSync(`${outside}/f`)).toBe(true)
      // a policy deny is never run, sandbox or not
      const denied = await p.strata(["run", "--json", "--approval", "on-failure", "--yes", "run: sudo true"], demo)
      const result = jsonLines(denied.stdout).find((l) => l.event === "tool_call_result") as
        | { result: { status: string } }
        | undefined
      expect(result?.result.status).toBe("denied")
    })
  })

  it("a successful probe is recorded: the next run starts no probe; commands can neither read nor write the record", async () => {
    await withProject(async (p) => {
      // a bwrap first on PATH that counts its starts, then runs the real one
      const bin = mkdtempSync(path.join(p.dir, "..", "bwrap-bin-"))
      const log = path.join(bin, "starts")
      writeFileSync(path.join(bin, "bwrap"), `#!/bin/sh\necho x >> '${log}'\nexec /usr/bin/bwrap "$@"\n`, {
        mode: 0o755
      })
      const env = { PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}` }
      const starts = () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").length - 1 : 0)
      const record = path.join(p.home, ".local", "state", "strata", "sandbox-probe.json")
      const first = await exec(p, "echo one", [], env)
      expect(first.structured?.sandboxed, first.run.stderr).toBe(true)
      expect(starts()).toBe(2) // the probe, then the command
      expect(existsSync(record)).toBe(true)
      const recorded = readFileSync(record, "utf8")
      const second = await exec(p, "echo two", [], env)
      expect(second.structured?.sandboxed).toBe(true)
      expect(starts()).toBe(3) // the command alone
      const tamper = await exec(p, `cat ${q(record)}; echo '{}' > ${q(record)}`, [], env)
      expect(tamper.structured?.sandboxed).toBe(true)
      expect(tamper.structured?.output).not.toContain(recorded.slice(0, 20))
      expect(readFileSync(record, "utf8")).toBe(recorded)
    })
  })
})
