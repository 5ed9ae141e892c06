/**
 * The Node implementation with the real bubblewrap and real processes: each
 * escape is tried inside the sandbox (and must fail, with the outside world
 * unchanged) and with `mode = "off"` (where it must succeed, so the test
 * proves the sandbox and not a broken command).
 */
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as SandboxNode from "../src/node.js"
import * as Sandbox from "../src/Sandbox.js"
import { bash, processesWith, runPrepared, tempDir } from "./helpers.js"

const available = SandboxNode.probeBwrap("/usr/bin/bwrap") === undefined
if (!available && process.env.CI !== undefined) throw new Error("CI must run the real sandbox: install bubblewrap")

let root: string
let workspace: string
let outside: string
let home: string
let server: net.Server
let port: number

beforeAll(async () => {
  root = tempDir("strata-sbx-")
  workspace = path.join(root, "ws")
  outside = path.join(root, "outside")
  home = path.join(root, "home")
  for (const d of [workspace, outside, home, `${home}/.ssh`, `${workspace}/.strata`, `${workspace}/.git/hooks`])
    fs.mkdirSync(d, { recursive: true })
  fs.writeFileSync(`${home}/.ssh/id_ed25519`, "PRIVATE-KEY-MATERIAL")
  fs.writeFileSync(`${home}/.netrc`, "machine x password NETRC-SECRET")
  fs.writeFileSync(`${workspace}/.strata/config.toml`, 'approval_policy = "on-request"\n')
  fs.writeFileSync(`${workspace}/.git/config`, "[core]\n")
  fs.symlinkSync(outside, `${workspace}/link-out`)
  server = net.createServer((s) => {
    s.on("error", () => {})
    s.end("HELLO\n")
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))
  port = (server.address() as net.AddressInfo).port
})
afterAll(() => {
  server?.close()
  fs.rmSync(root, { recursive: true, force: true })
})

const make = (mode: Sandbox.SandboxMode, extra: Partial<SandboxNode.Options> = {}) =>
  SandboxNode.make({
    workspace,
    home,
    config: { ...Sandbox.defaultConfig, mode },
    env: { PATH: process.env.PATH, HOME: home, SOME_API_KEY: "sk-test-0123456789" },
    protectedPaths: [`${workspace}/.strata/`, `${workspace}/.git/config`, `${workspace}/.git/hooks/`],
    ...extra
  })

const attempt = (service: Sandbox.Service, command: string) =>
  Effect.flatMap(service.prepare({ ...bash(command), cwd: workspace }), runPrepared)

const escapes: ReadonlyArray<{ name: string; command: () => string; changed: () => boolean }> = [
  {
    name: "absolute path outside",
    command: () => `echo pwned > ${outside}/abs`,
    changed: () => fs.existsSync(`${outside}/abs`)
  },
  {
    name: "dot-dot",
    command: () => "echo pwned > ../outside/dotdot",
    changed: () => fs.existsSync(`${outside}/dotdot`)
  },
  {
    name: "symlink inside pointing out",
    command: () => "echo pwned > link-out/viasymlink",
    changed: () => fs.existsSync(`${outside}/viasymlink`)
  },
  {
    name: "new symlink made inside",
    command: () => `ln -s ${outside} mine && echo pwned > mine/newlink`,
    changed: () => fs.existsSync(`${outside}/newlink`)
  },
  {
    name: "/proc/self/root",
    command: () => `echo pwned > /proc/self/root${outside}/procroot`,
    changed: () => fs.existsSync(`${outside}/procroot`)
  },
  {
    name: "protected .strata/config.toml",
    command: () => "echo 'approval_policy = \"never\"' >> .strata/config.toml",
    changed: () => fs.readFileSync(`${workspace}/.strata/config.toml`, "utf8").includes("never")
  },
  {
    name: "protected .git/config",
    command: () => "git config --file .git/config core.fsmonitor 'curl x' || echo x >> .git/config",
    changed: () => fs.readFileSync(`${workspace}/.git/config`, "utf8") !== "[core]\n"
  },
  {
    name: "protected .git/hooks",
    command: () => "echo 'curl x' > .git/hooks/pre-commit",
    changed: () => fs.existsSync(`${workspace}/.git/hooks/pre-commit`)
  },
  {
    name: "remount the root read-write",
    command: () => `mount -o remount,rw / && echo pwned > ${outside}/remount`,
    changed: () => fs.existsSync(`${outside}/remount`)
  }
]

describe.skipIf(!available)("bubblewrap sandbox (real bwrap)", () => {
  for (const attack of escapes) {
    it.live(`blocks: ${attack.name}; the same command works with mode off`, () =>
      Effect.gen(function* () {
        const sandboxed = yield* make("workspace-write")
        expect(sandboxed.status.mechanism).toBe("bwrap")
        const inside = yield* attempt(sandboxed, attack.command())
        expect(attack.changed(), inside.output).toBe(false)
        expect(inside.code).not.toBe(0)
        // the same command unsandboxed changes the world (remount aside: root may do it; skip that one)
        if (attack.name.startsWith("remount")) return
        const off = yield* make("off")
        const outsideRun = yield* attempt(off, attack.command())
        expect(attack.changed(), outsideRun.output).toBe(true)
        fs.rmSync(`${outside}`, { recursive: true, force: true })
        fs.mkdirSync(outside)
        fs.writeFileSync(`${workspace}/.strata/config.toml`, 'approval_policy = "on-request"\n')
        fs.writeFileSync(`${workspace}/.git/config`, "[core]\n")
        fs.rmSync(`${workspace}/.git/hooks/pre-commit`, { force: true })
        fs.rmSync(`${workspace}/mine`, { force: true })
      })
    )
  }

  it.live("the workspace is writable, /tmp is private", () =>
    Effect.gen(function* () {
      const sandbox = yield* make("workspace-write")
      const r = yield* attempt(sandbox, "echo ok > made.txt && echo tmp > /tmp/strata-private-probe && cat made.txt")
      expect(r.output.trim()).toBe("ok")
      expect(fs.readFileSync(`${workspace}/made.txt`, "utf8")).toBe("ok\n")
      expect(fs.existsSync("/tmp/strata-private-probe")).toBe(false)
    })
  )

  it.live("read-only: the workspace cannot be written either", () =>
    Effect.gen(function* () {
      const sandbox = yield* make("read-only")
      const r = yield* attempt(sandbox, "cat .git/config && echo x > ro.txt")
      expect(r.output).toContain("[core]")
      expect(fs.existsSync(`${workspace}/ro.txt`)).toBe(false)
      expect(sandbox.denial(r.output)).toMatch(/read-only file system/i)
    })
  )

  it.live("hidden credential files read empty; visible with mode off", () =>
    Effect.gen(function* () {
      const cmd = `cat ${home}/.ssh/id_ed25519 ${home}/.netrc; ls -A ${home}/.ssh`
      const inside = yield* attempt(yield* make("workspace-write"), cmd)
      expect(inside.output).not.toContain("PRIVATE-KEY-MATERIAL")
      expect(inside.output).not.toContain("NETRC-SECRET")
      const off = yield* attempt(yield* make("off"), cmd)
      expect(off.output).toContain("PRIVATE-KEY-MATERIAL")
      expect(off.output).toContain("NETRC-SECRET")
    })
  )

  it.live(
    "no network: 127.0.0.1 services (a TCP server, Redis, PostgreSQL) are unreachable; reachable with mode off or network = true",
    () =>
      Effect.gen(function* () {
        const cmd = (p: number) => `exec 3<>/dev/tcp/127.0.0.1/${p} && echo CONNECTED-${p}`
        for (const p of [port, 6379, 5432]) {
          const inside = yield* attempt(yield* make("workspace-write"), cmd(p))
          expect(inside.output).not.toContain(`CONNECTED-${p}`)
        }
        const off = yield* attempt(yield* make("off"), cmd(port))
        expect(off.output).toContain(`CONNECTED-${port}`)
        const withNet = yield* SandboxNode.make({
          workspace,
          home,
          config: { ...Sandbox.defaultConfig, network: true },
          env: { PATH: process.env.PATH }
        })
        expect(withNet.status.network).toBe(true)
        expect((yield* attempt(withNet, cmd(port))).output).toContain(`CONNECTED-${port}`)
      })
  )

  it.live("the environment is scrubbed: no secret, only the policy's variables", () =>
    Effect.gen(function* () {
      const sandbox = yield* make("workspace-write")
      const r = yield* attempt(sandbox, 'echo "key=[$SOME_API_KEY]"; env | cut -d= -f1 | sort | tr "\\n" " "')
      expect(r.output).toContain("key=[]")
      expect(r.output).not.toContain("sk-test-0123456789")
      expect(sandbox.redact("leak sk-test-0123456789")).toBe("leak [redacted]")
    })
  )

  it.live("signals cannot reach the parent: the PID namespace hides it", () =>
    Effect.gen(function* () {
      const r = yield* attempt(yield* make("workspace-write"), `kill -0 ${process.pid} && echo SEEN-PARENT; echo $$`)
      expect(r.output).not.toContain("SEEN-PARENT")
    })
  )

  it.live("required = true refuses to run when the sandbox cannot start", () =>
    Effect.gen(function* () {
      const broken = yield* SandboxNode.make({
        workspace,
        bwrap: "/nonexistent/bwrap",
        config: { ...Sandbox.defaultConfig, required: true },
        env: {}
      })
      expect(broken.status.mechanism).toBe("none")
      expect(broken.status.reason).toMatch(/bwrap is not installed/)
      const error = yield* Effect.flip(broken.prepare({ ...bash("true"), cwd: workspace }))
      expect(error.reason).toBe("Required")
      expect(Sandbox.describe(broken.status)).toMatch(/NOT sandboxed: bwrap is not installed.*refuse/)
    })
  )
})

describe("containment: nothing outlives the call", () => {
  const mechanisms: ReadonlyArray<{ containment: Sandbox.Containment; mode: Sandbox.SandboxMode }> = [
    { containment: "cgroup", mode: "off" },
    { containment: "pid-namespace", mode: "off" },
    { containment: "process-group", mode: "off" },
    ...(available
      ? [
          { containment: "pid-namespace" as const, mode: "workspace-write" as const },
          // the default where cgroups work: sandboxed commands are contained by their PID namespace
          { containment: "cgroup" as const, mode: "workspace-write" as const }
        ]
      : [])
  ]
  for (const { containment, mode } of mechanisms) {
    it.live(`${containment} (sandbox ${mode}): background, subshell, setsid and double fork all end`, () =>
      Effect.gen(function* () {
        const service = yield* make(mode, { containment })
        if (service.status.containment !== containment) return // not available on this machine
        const marker = 3000 + Math.floor(Math.random() * 900)
        const r = yield* attempt(
          service,
          `sleep ${marker}.1 & (sleep ${marker}.2 &); setsid sleep ${marker}.3 & (setsid bash -c 'sleep ${marker}.4 &' &); nohup sleep ${marker}.5 >/dev/null 2>&1 & sleep 0.2; echo started`
        )
        expect(r.output).toContain("started")
        // without containment these would all still run: the test would see them
        for (let i = 0; i < 50 && processesWith(`sleep ${marker}.`).length > 0; i++) yield* Effect.sleep(20)
        expect(processesWith(`sleep ${marker}.`)).toEqual([])
      })
    )
  }

  it.live("without containment the same command leaves processes (the test can see an escape)", () =>
    Effect.gen(function* () {
      const marker = 4000 + Math.floor(Math.random() * 900)
      const service = Sandbox.makeUnsandboxed({ workspace, env: { PATH: process.env.PATH } })
      yield* attempt(service, `setsid sleep ${marker}.9 >/dev/null 2>&1 & echo started`)
      const left = processesWith(`sleep ${marker}.9`)
      expect(left.length).toBe(1)
      for (const pid of left) process.kill(pid, "SIGKILL")
    })
  )

  it.live("a restarted process reaps the cgroups a killed one left", () =>
    Effect.gen(function* () {
      const service = yield* make("off", { containment: "cgroup" })
      if (service.status.containment !== "cgroup") return
      // a child Node process starts a contained sleeper and is SIGKILLed before it can release
      const marker = 5000 + Math.floor(Math.random() * 900)
      const script = `
        const { spawn } = require("node:child_process")
        const fs = require("node:fs"), path = require("node:path")
        const own = fs.readFileSync("/proc/self/cgroup","utf8").split("\\n").find(l=>l.startsWith("0::")).slice(3)
        const mount = fs.readFileSync("/proc/self/mounts","utf8").split("\\n").map(l=>l.split(" ")).find(p=>p[2]==="cgroup2")[1]
        const dir = path.join(mount, own, "strata." + process.pid, "call-x")
        fs.mkdirSync(dir, { recursive: true })
        spawn("/bin/sh", ["-c", 'echo $$ > "$0/cgroup.procs" && exec setsid sleep ${marker}.7', dir], { stdio: "ignore", detached: true }).unref()
        setTimeout(() => process.kill(process.pid, "SIGKILL"), 300)
      `
      yield* Effect.promise(
        () =>
          new Promise<void>((resolve) => {
            const child = require("node:child_process").spawn(process.execPath, ["-e", script], { stdio: "ignore" })
            child.on("exit", () => resolve())
          })
      )
      expect(processesWith(`sleep ${marker}.7`).length).toBe(1)
      yield* make("off", { containment: "cgroup" }) // a new start reaps
      for (let i = 0; i < 50 && processesWith(`sleep ${marker}.7`).length > 0; i++) yield* Effect.sleep(20)
      expect(processesWith(`sleep ${marker}.7`)).toEqual([])
    })
  )

  it.live("a restarted process reaps what a killed one left under process-group tracking", () =>
    Effect.gen(function* () {
      const stateDir = tempDir("strata-sbx-state-")
      const marker = 6000 + Math.floor(Math.random() * 900)
      const tag = "999999.deadowner.0"
      fs.mkdirSync(path.join(stateDir, "sandbox-calls"), { recursive: true })
      fs.writeFileSync(path.join(stateDir, "sandbox-calls", `999999.${tag}`), "")
      require("node:child_process")
        .spawn("/bin/sh", ["-c", `exec setsid sleep ${marker}.8`], {
          stdio: "ignore",
          detached: true,
          env: { PATH: process.env.PATH, STRATA_SANDBOX_TAG: tag }
        })
        .unref()
      yield* Effect.sleep(100)
      expect(processesWith(`sleep ${marker}.8`).length).toBe(1)
      yield* make("off", { containment: "process-group", stateDir })
      for (let i = 0; i < 50 && processesWith(`sleep ${marker}.8`).length > 0; i++) yield* Effect.sleep(20)
      expect(processesWith(`sleep ${marker}.8`)).toEqual([])
      expect(fs.readdirSync(path.join(stateDir, "sandbox-calls"))).toEqual([])
    })
  )
})

describe.skipIf(!available)("when bubblewrap is probed", () => {
  /** A `bwrap` that records each start in `log`, then runs the real one. */
  const recordingBwrap = () => {
    const dir = tempDir("strata-sbx-probe-")
    const log = path.join(dir, "starts")
    const bwrap = path.join(dir, "bwrap")
    fs.writeFileSync(bwrap, `#!/bin/sh\necho x >> '${log}'\nexec /usr/bin/bwrap "$@"\n`, { mode: 0o755 })
    return { bwrap, starts: () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n").length - 1 : 0) }
  }

  it.effect("not when the service is built: on the first read of its status, once", () =>
    Effect.gen(function* () {
      const { bwrap, starts } = recordingBwrap()
      const service = yield* make("workspace-write", { bwrap })
      expect(starts()).toBe(0)
      expect(service.status.mechanism).toBe("bwrap")
      const afterStatus = starts()
      expect(afterStatus).toBeGreaterThan(0)
      expect(service.status.mode).toBe("workspace-write")
      expect(starts()).toBe(afterStatus)
    })
  )

  it.effect("on the first command prepared, which then runs sandboxed", () =>
    Effect.gen(function* () {
      const { bwrap, starts } = recordingBwrap()
      const service = yield* make("workspace-write", { bwrap })
      expect(starts()).toBe(0)
      const result = yield* attempt(service, `echo pwned > ${outside}/lazy`)
      expect(starts()).toBeGreaterThan(0)
      expect(result.code).not.toBe(0)
      expect(fs.existsSync(`${outside}/lazy`)).toBe(false)
    })
  )

  it.effect("a recorded probe: the next service does not probe; only success is recorded", () =>
    Effect.gen(function* () {
      const { bwrap, starts } = recordingBwrap()
      const record = path.join(tempDir("strata-sbx-record-"), "state", "sandbox-probe.json")
      const first = yield* make("workspace-write", { bwrap, probeRecord: record })
      expect(first.status.mechanism).toBe("bwrap")
      expect(starts()).toBe(1)
      expect(fs.existsSync(record)).toBe(true)
      const second = yield* make("workspace-write", { bwrap, probeRecord: record })
      expect(second.status.mechanism).toBe("bwrap")
      expect(starts()).toBe(1)
      // a record that does not match this machine and binary exactly is not trusted
      fs.writeFileSync(record, fs.readFileSync(record, "utf8").replace('"v":1', '"v":0'))
      expect((yield* make("workspace-write", { bwrap, probeRecord: record })).status.mechanism).toBe("bwrap")
      expect(starts()).toBe(2)
      // a failed probe is never recorded
      const dir = tempDir("strata-sbx-broken-")
      const broken = path.join(dir, "bwrap")
      fs.writeFileSync(broken, "#!/bin/sh\necho 'bwrap: no user namespaces' >&2\nexit 1\n", { mode: 0o755 })
      const other = path.join(dir, "sandbox-probe.json")
      const refused = yield* make("workspace-write", { bwrap: broken, probeRecord: other })
      expect(refused.status.mechanism).toBe("none")
      expect(fs.existsSync(other)).toBe(false)
    })
  )

  it.live("a stale record fails closed: the command does not run, the record goes, the next command probes", () =>
    Effect.gen(function* () {
      const dir = tempDir("strata-sbx-stale-")
      const bwrap = path.join(dir, "bwrap")
      // the same size, inode and time before and after: only the behaviour changes
      const works = '#!/bin/sh\nexec /usr/bin/bwrap "$@"\n'
      const fails = "#!/bin/sh\necho 'bwrap: setting up uid map: denied' >&2; exit 1\n"
      const pad = (text: string, size: number) => `${text}${"#".repeat(size - text.length - 1)}\n`
      const size = Math.max(works.length, fails.length) + 8
      fs.writeFileSync(bwrap, pad(works, size), { mode: 0o755 })
      const mtime = new Date(1_700_000_000_000)
      fs.utimesSync(bwrap, mtime, mtime)
      const record = path.join(dir, "sandbox-probe.json")
      expect((yield* make("workspace-write", { bwrap, probeRecord: record })).status.mechanism).toBe("bwrap")
      expect(fs.existsSync(record)).toBe(true)
      fs.writeFileSync(bwrap, pad(fails, size))
      fs.utimesSync(bwrap, mtime, mtime)
      const service = yield* make("workspace-write", { bwrap, probeRecord: record })
      expect(service.status.mechanism).toBe("bwrap")
      const run = service.run
      if (run === undefined) throw new Error("the Node sandbox runs processes")
      const options = { timeoutMs: 10_000, maxOutputBytes: 10_000, drainMs: 500 }
      const failed = yield* run({ ...bash(`echo pwned > ${outside}/stale`), cwd: workspace }, options)
      expect(failed.sandboxed).toBe(true)
      expect(failed.exitCode).toBe(1)
      expect(fs.existsSync(`${outside}/stale`)).toBe(false)
      expect(fs.existsSync(record)).toBe(false)
      // probed again: bubblewrap does not start, the status says so
      expect(service.status.mechanism).toBe("none")
      expect(service.status.reason).toMatch(/bwrap cannot start here/)
    })
  )

  it("SandboxNode.probe reports what make would run, without blocking", async () => {
    const { bwrap, starts } = recordingBwrap()
    const pending = SandboxNode.probe({
      workspace,
      home,
      bwrap,
      config: { ...Sandbox.defaultConfig, mode: "workspace-write" },
      env: { PATH: process.env.PATH }
    })
    const status = await pending
    expect(starts()).toBeGreaterThan(0)
    const built = Effect.runSync(make("workspace-write", { bwrap }))
    expect(status).toEqual(built.status)
  })
})
