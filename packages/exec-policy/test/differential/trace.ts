/**
 * The differential executor: runs a command string the way the shell tool
 * runs it (`bash --noprofile --norc -c`, or `/bin/sh -c` for dash), under
 * `strace -f -e trace=execve`, in a throw-away sandbox, and returns every
 * program that really executed (or was attempted), with its argv.
 *
 * The sandbox: a fresh temp directory (cwd and HOME) holding `.git/config`,
 * `.git/hooks/`, `.strata/config.toml` (protected files: a change to any of
 * them is reported), and a `bin/` directory that is the whole `PATH`: real
 * shells and wrappers (so that what they run is traced too) and a logging
 * stub for every other name. A name bash cannot find goes through an
 * imported `command_not_found_handle` that executes the stub under that
 * name, so it shows in the trace as well. When bubblewrap works, the run is
 * inside it: read-only root, no network, only the sandbox writable.
 *
 * Node-only test helper.
 */
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"

const which = (name: string): string | undefined => {
  const r = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" })
  const p = r.stdout.trim()
  return r.status === 0 && p.startsWith("/") ? p : undefined
}

/** Whether strace can trace a child here (ptrace may be forbidden in some containers). */
export const straceStatus = (): { readonly ok: boolean; readonly why: string } => {
  const strace = which("strace")
  if (strace === undefined) return { ok: false, why: "strace is not installed (apt-get install strace)" }
  const r = spawnSync(strace, ["-f", "-qq", "-e", "trace=execve", "-o", "/dev/null", "true"], { encoding: "utf8" })
  if (r.status !== 0) return { ok: false, why: `strace cannot trace here: ${r.stderr.trim()}` }
  return { ok: true, why: "" }
}

const bwrapPath = (): string | undefined => {
  const bwrap = which("bwrap")
  if (bwrap === undefined) return undefined
  const r = spawnSync(bwrap, ["--ro-bind", "/", "/", "--dev", "/dev", "--unshare-net", "--die-with-parent", "true"])
  return r.status === 0 ? bwrap : undefined
}

/** Programs that are linked to the real binaries: shells and wrappers, whose inner commands must be traced. */
const REAL = ["bash", "sh", "dash", "env", "timeout", "nice", "nohup", "stdbuf", "xargs", "find", "setsid", "flock"]

/** Names given a logging stub (anything else goes through command_not_found_handle under bash). */
const STUBS = [
  "ls",
  "cat",
  "echo",
  "wc",
  "sort",
  "grep",
  "head",
  "tail",
  "printf",
  "pwd",
  "git",
  "sed",
  "awk",
  "tee",
  "touch",
  "rm",
  "curl",
  "wget",
  "python3",
  "node",
  "make",
  "cp",
  "mv",
  "ln",
  "chmod",
  "date",
  "uname",
  "whoami",
  "which",
  "tree",
  "npm",
  "jq",
  "uniq",
  "true",
  "false",
  "test",
  "[",
  "id",
  "sleep",
  "mkdir",
  "dd",
  "install",
  "truncate",
  "sudo",
  "su",
  "doas",
  "ssh",
  "nc",
  "perl",
  "ruby",
  "less",
  "more",
  "man",
  "vi",
  "vim",
  "nano",
  "zsh",
  "ksh"
]

/** One program execution seen in the trace. */
export interface Exec {
  /** The path passed to execve. */
  readonly file: string
  readonly argv: ReadonlyArray<string>
  /** The execve succeeded (a failed one is a program the shell tried to run). */
  readonly ok: boolean
}

/** What one run did. */
export interface Outcome {
  readonly execs: ReadonlyArray<Exec>
  /** Protected files that changed, appeared or disappeared. */
  readonly protectedChanged: ReadonlyArray<string>
  readonly timedOut: boolean
}

export type Dialect = "bash" | "dash"

const hex = (s: string): string => Buffer.from(s.replace(/\\x/g, ""), "hex").toString("utf8")

/** Parses `strace -f -xx -v -e trace=execve` output into executions, joining `<unfinished ...>` lines. */
export const parseTrace = (log: string): Array<Exec> => {
  const pending = new Map<string, string>()
  const calls: Array<string> = []
  for (const line of log.split("\n")) {
    const m = /^(\d+)\s+(.*)$/.exec(line)
    if (m === null) continue
    const [, pid, rest] = m as unknown as [string, string, string]
    if (rest.startsWith("execve(") && rest.endsWith("<unfinished ...>")) {
      pending.set(pid, rest.slice(0, -"<unfinished ...>".length))
      continue
    }
    if (rest.startsWith("<... execve resumed>")) {
      const head = pending.get(pid)
      pending.delete(pid)
      if (head !== undefined) calls.push(head + rest.slice("<... execve resumed>".length))
      continue
    }
    if (rest.startsWith("execve(")) calls.push(rest)
  }
  const out: Array<Exec> = []
  for (const c of calls) {
    const file = /^execve\("((?:\\x[0-9a-f]{2})*)"/.exec(c)
    const arr = /^execve\("(?:\\x[0-9a-f]{2})*", \[(.*?)\](?:, |\))/.exec(c)
    if (file === null) continue
    const argv: Array<string> = []
    if (arr !== null) for (const a of arr[1]!.matchAll(/"((?:\\x[0-9a-f]{2})*)"/g)) argv.push(hex(a[1]!))
    const ok = /\)\s*=\s*0\s*$/.test(c)
    out.push({ file: hex(file[1]!), argv, ok })
  }
  return out
}

/** A reusable sandbox template: the bin directory and the tools found. */
export class Sandbox {
  readonly root: string
  readonly bin: string
  private readonly strace: string
  private readonly bwrap: string | undefined
  private readonly bash: string
  private readonly dash: string | undefined
  private n = 0

  constructor() {
    const strace = which("strace")
    const bash = which("bash")
    if (strace === undefined || bash === undefined) throw new Error("strace and bash are required")
    this.strace = strace
    this.bash = bash
    this.dash = which("dash")
    this.bwrap = bwrapPath()
    this.root = mkdtempSync(path.join(tmpdir(), "strata-differential-"))
    this.bin = path.join(this.root, "bin")
    mkdirSync(this.bin)
    for (const name of REAL) {
      const real = which(name)
      if (real !== undefined) symlinkSync(real, path.join(this.bin, name))
    }
    const stub = path.join(this.bin, ".stub")
    writeFileSync(stub, "#!/bin/sh\nexit 0\n")
    chmodSync(stub, 0o755)
    for (const name of STUBS) {
      if (!existsSync(path.join(this.bin, name))) symlinkSync(stub, path.join(this.bin, name))
    }
  }

  /** Whether runs are confined by bubblewrap. */
  get confined(): boolean {
    return this.bwrap !== undefined
  }

  close(): void {
    rmSync(this.root, { recursive: true, force: true })
  }

  /** Runs `command` as the shell tool does, traced. */
  run(command: string, dialect: Dialect = "bash", timeoutMs = 3_000): Outcome {
    const dir = path.join(this.root, `w${this.n++}`)
    mkdirSync(path.join(dir, ".git", "hooks"), { recursive: true })
    mkdirSync(path.join(dir, ".strata"), { recursive: true })
    writeFileSync(path.join(dir, ".git", "config"), "[core]\n\tbare = false\n")
    writeFileSync(path.join(dir, ".strata", "config.toml"), "# config\n")
    writeFileSync(path.join(dir, "f"), "x\n")
    const before = snapshot(dir)
    const log = path.join(dir, ".trace")
    const shellArgv =
      dialect === "bash" ? [this.bash, "--noprofile", "--norc", "-c", command] : [this.dash ?? "/bin/sh", "-c", command]
    const traced = [
      this.strace,
      "-f",
      "-qq",
      "-xx",
      "-v",
      "-s",
      "65536",
      "-e",
      "trace=execve",
      "-e",
      "signal=none",
      "-o",
      log,
      ...shellArgv
    ]
    const argv =
      this.bwrap !== undefined
        ? [
            this.bwrap,
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--tmpfs",
            "/tmp",
            "--bind",
            this.root,
            this.root,
            "--unshare-net",
            "--unshare-pid",
            "--die-with-parent",
            "--chdir",
            dir,
            ...traced
          ]
        : traced
    const r = spawnSync(argv[0]!, argv.slice(1), {
      cwd: dir,
      env: {
        PATH: this.bin,
        HOME: dir,
        LANG: "C.UTF-8",
        "BASH_FUNC_command_not_found_handle%%": `() { exec -a "$1" ${path.join(this.bin, ".stub")} "\${@:2}"; }`
      },
      stdio: ["ignore", "ignore", "ignore"],
      timeout: timeoutMs,
      killSignal: "SIGKILL"
    })
    const timedOut = r.error !== undefined || r.signal === "SIGKILL"
    let execs: Array<Exec> = []
    try {
      execs = parseTrace(readFileSync(log, "utf8"))
    } catch {
      // no log: the tracer did not start
    }
    // The first execve is the shell the tool starts.
    const after = snapshot(dir)
    const protectedChanged: Array<string> = []
    for (const [k, v] of before) if (after.get(k) !== v) protectedChanged.push(k)
    for (const k of after.keys()) if (!before.has(k)) protectedChanged.push(k)
    rmSync(dir, { recursive: true, force: true })
    return { execs: execs.slice(1), protectedChanged, timedOut }
  }
}

/** Contents of the protected files (and listing of the protected directories). */
const snapshot = (dir: string): Map<string, string> => {
  const out = new Map<string, string>()
  const visit = (rel: string) => {
    const p = path.join(dir, rel)
    let entries: Array<string>
    try {
      entries = readdirSync(p)
    } catch {
      try {
        out.set(rel, createHash("sha1").update(readFileSync(p)).digest("hex"))
      } catch {
        out.set(rel, "?")
      }
      return
    }
    out.set(`${rel}/`, entries.sort().join("\0"))
    for (const e of entries) visit(path.join(rel, e))
  }
  visit(".git")
  visit(".strata")
  return out
}

/** Shell-quotes an argv so that the policy can decide it as one command. */
export const quoteArgv = (argv: ReadonlyArray<string>): string =>
  argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ")

/** The argv as the program sees it, with argv[0] the name the shell looked up. */
export const programArgv = (e: Exec, bin: string): Array<string> => {
  const stub = path.join(bin, ".stub")
  if (e.file === stub) return [...e.argv]
  const name = e.file.startsWith(`${bin}/`) ? path.basename(e.file) : e.file
  return [name, ...e.argv.slice(1)]
}
