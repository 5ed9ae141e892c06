/**
 * `@strata/sandbox/node`: the {@link Sandbox.Sandbox} on Node, Bun and Deno
 * (through `node:*`), chosen at run time.
 *
 * - Sandbox: bubblewrap (`bwrap`) on Linux when it can start (probed once
 *   with a real `bwrap ... true`): a new user, PID, IPC, UTS and (unless
 *   `network = true`) network namespace; no capabilities;
 *   `--die-with-parent`; `--new-session` (no terminal injection); the root
 *   file system read-only; a fresh `/proc`, a minimal `/dev`, a private
 *   `/tmp`; the workspace and `writable_roots` writable (`workspace-write`);
 *   the protected paths that exist bound read-only over them; the `hide`
 *   paths replaced by an empty tmpfs (directories) or an empty file.
 *   Elsewhere (not Linux, no `bwrap`, no user namespaces) commands run
 *   unsandboxed and the status says why; `required = true` refuses them.
 * - Containment: a sandboxed command is contained by bubblewrap's PID
 *   namespace (everything in it is killed when its first process ends or
 *   bwrap is killed; nothing can leave it). A command outside the sandbox
 *   (`mode = "off"`, or approved to run unsandboxed): cgroup v2 when this
 *   process may create a cgroup under its own (each call gets one;
 *   `release` writes `cgroup.kill` and removes it); else a PID namespace
 *   (bwrap, even with `mode = "off"`); else the
 *   process group plus a tag in the environment (`STRATA_SANDBOX_TAG`): at
 *   `release` every process whose environment carries the call's tag is
 *   killed (a process that clears its environment escapes this last one).
 * - Reaping: cgroups are named after the owning process
 *   (`strata.<pid>/call-<n>`); at start, the cgroups of owners that are
 *   gone are killed and removed, so a restarted Strata ends what a killed
 *   one left. With process-group containment, each call's tag is recorded
 *   in `stateDir` (when given) and reaped the same way.
 *
 * @since 0.1.0
 */
import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import {
  type CgroupBase,
  currentCgroupParent,
  killTagged,
  reapRecords,
  releaseCgroup,
  setupCgroup,
  TAG
} from "./internal/containment.js"
import * as ProbeRecord from "./internal/probeRecord.js"
import { runPrepared } from "./internal/run.js"
import * as Sandbox from "./Sandbox.js"

/**
 * Options of the Node implementation.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Sandbox.Options {
  /** The home directory (`~/` in `hide`); default `env.HOME`. */
  readonly home?: string | undefined
  /** The `bwrap` binary (default: the first on the environment's `PATH`). */
  readonly bwrap?: string | undefined
  /** Where process-group containment records its calls (reaped after a crash). */
  readonly stateDir?: string | undefined
  /** Force a containment mechanism (tests); default: the strongest that works. */
  readonly containment?: Sandbox.Containment | undefined
  /**
   * A file that records a successful probe of bubblewrap, so that a later
   * session skips the probe (a child process) while nothing it depends on
   * changed. Only success is recorded: a stale record makes commands fail
   * in bubblewrap, never run outside it, and the first such failure removes
   * it. Put it where commands cannot write (the CLI: the approval key's
   * directory, hidden from the sandbox). Default: no record, probe each time.
   */
  readonly probeRecord?: string | undefined
}

const findBwrap = (options: Options): string | undefined => {
  if (options.bwrap !== undefined) return fs.existsSync(options.bwrap) ? options.bwrap : undefined
  const path = options.env?.PATH ?? process.env.PATH ?? ""
  for (const dir of path.split(":")) {
    if (dir === "") continue
    const candidate = nodePath.join(dir, "bwrap")
    if (fs.existsSync(candidate)) return candidate
  }
  return undefined
}

const errorText = (e: unknown): string => {
  const err = e as { stderr?: Buffer | string; message?: string }
  const stderr = err.stderr === undefined ? "" : String(err.stderr).trim()
  return stderr !== "" ? stderr.split("\n")[0]! : (err.message ?? String(e)).split("\n")[0]!
}

/**
 * Whether bubblewrap can start here, with the namespaces the sandbox uses:
 * `undefined` when it can, else the reason.
 *
 * @since 0.1.0
 * @category utils
 */
export const probeBwrap = (bwrap: string | undefined, network = false): string | undefined => {
  const why = cannotProbe(bwrap)
  if (why !== undefined) return why
  try {
    execFileSync(bwrap!, probeArgs(network), { stdio: ["ignore", "ignore", "pipe"], timeout: 10_000 })
    return undefined
  } catch (e) {
    return `bwrap cannot start here: ${errorText(e)}`
  }
}

/** {@link probeBwrap} without blocking: the process runs while the caller does other work. */
const probeBwrapAsync = (bwrap: string | undefined, network = false): Promise<string | undefined> => {
  const why = cannotProbe(bwrap)
  if (why !== undefined) return Promise.resolve(why)
  return new Promise((resolve) => {
    const child = execFile(bwrap!, probeArgs(network), { timeout: 10_000 }, (error, _stdout, stderr) =>
      resolve(error === null ? undefined : `bwrap cannot start here: ${errorText({ message: error.message, stderr })}`)
    )
    child.stdin?.end()
  })
}

const cannotProbe = (bwrap: string | undefined): string | undefined => {
  if (process.platform !== "linux")
    return `bubblewrap runs on Linux only (this is ${process.platform}; a sandbox-exec profile for macOS is not built yet)`
  if (bwrap === undefined) return "bwrap is not installed (apt-get install bubblewrap)"
  return undefined
}

const probeArgs = (network: boolean): Array<string> => [
  "--unshare-user",
  "--unshare-pid",
  ...(network ? [] : ["--unshare-net"]),
  "--die-with-parent",
  "--ro-bind",
  "/",
  "/",
  "--proc",
  "/proc",
  "--dev",
  "/dev",
  "--",
  "/bin/sh",
  "-c",
  "exit 0"
]

const expandHome = (path: string, home: string | undefined): string | undefined =>
  path === "~" || path.startsWith("~/")
    ? home === undefined
      ? undefined
      : nodePath.join(home, path.slice(1))
    : nodePath.resolve(path)

const realOr = (path: string): string => {
  try {
    return fs.realpathSync(path)
  } catch {
    return path
  }
}

/** The existing paths a protected-path pattern covers (`*` in the last segment expanded). */
const protectedTargets = (pattern: string): ReadonlyArray<string> => {
  const path = pattern.endsWith("/") ? pattern.slice(0, -1) : pattern
  const base = nodePath.basename(path)
  if (!base.includes("*")) return fs.existsSync(path) ? [path] : []
  const dir = nodePath.dirname(path)
  const re = new RegExp(
    `^${base
      .split("*")
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`
  )
  try {
    return fs
      .readdirSync(dir)
      .filter((n) => re.test(n))
      .map((n) => nodePath.join(dir, n))
  } catch {
    return []
  }
}

const inside = (root: string, path: string) => path === root || path.startsWith(root.endsWith("/") ? root : `${root}/`)

/**
 * The bubblewrap arguments (before `--` and the command) for a config.
 *
 * @since 0.1.0
 * @category utils
 */
export const bwrapArgs = (options: {
  readonly workspace: string
  readonly config: Sandbox.SandboxConfig
  readonly home?: string | undefined
  readonly protectedPaths?: ReadonlyArray<string> | undefined
  readonly cwd: string
  /**
   * Files the command itself names (its program and arguments that are
   * existing absolute file paths: an MCP server's script): when they live
   * under `/tmp`, which the sandbox replaces by a fresh tmpfs, their top
   * directory there is bound again read-only.
   */
  readonly programFiles?: ReadonlyArray<string> | undefined
}): Array<string> => {
  const { config } = options
  const workspace = realOr(options.workspace)
  const args = [
    "--die-with-parent",
    "--new-session",
    "--unshare-user",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    ...(config.network ? [] : ["--unshare-net"]),
    "--cap-drop",
    "ALL",
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    "--tmpfs",
    "/tmp"
  ]
  // /tmp is a fresh tmpfs: the tree a program the command names lives in
  // there (an MCP server's script, with its node_modules) is bound again,
  // read-only, before the writable roots (which may lie inside it).
  const programTrees = new Set<string>()
  for (const file of options.programFiles ?? []) {
    if (!file.startsWith("/")) continue
    const real = realOr(file)
    if (!inside("/tmp", real) || real === "/tmp") continue
    try {
      if (!fs.statSync(real).isFile()) continue
    } catch {
      continue
    }
    const top = real.split("/").slice(0, 3).join("/")
    if (!programTrees.has(top)) {
      programTrees.add(top)
      args.push("--ro-bind", top, top)
    }
  }
  const writable =
    config.mode === "workspace-write"
      ? [workspace, ...config.writable_roots.map((r) => expandHome(r, options.home)).filter((r) => r !== undefined)]
      : []
  for (const root of writable) {
    const real = realOr(root)
    if (fs.existsSync(real)) args.push("--bind", real, real)
  }
  // /tmp is a fresh tmpfs: a read-only workspace under /tmp must be bound again
  if (config.mode === "read-only" && inside("/tmp", workspace)) args.push("--ro-bind", workspace, workspace)
  for (const entry of config.hide ?? Sandbox.defaultHide) {
    const path = expandHome(entry, options.home)
    if (path === undefined || inside(path, workspace)) continue
    let stat: fs.Stats
    try {
      stat = fs.lstatSync(path)
    } catch {
      continue
    }
    if (stat.isDirectory()) args.push("--tmpfs", path, "--remount-ro", path)
    else args.push("--ro-bind", "/dev/null", path)
  }
  if (config.mode === "workspace-write") {
    for (const pattern of options.protectedPaths ?? []) {
      for (const target of protectedTargets(pattern)) {
        const real = realOr(target)
        if (writable.some((root) => inside(realOr(root), real))) args.push("--ro-bind", real, real)
      }
    }
  }
  args.push("--chdir", realOr(options.cwd))
  return args
}

/** Whether bubblewrap can sandbox here under the configured mode (probed with a real `bwrap ... true`). */
const probeSandbox = (options: Options) => {
  const config = options.config ?? Sandbox.defaultConfig
  const bwrap = findBwrap(options)
  if (config.mode === "off") return { config, bwrap, reason: undefined, sandboxed: false }
  // a recorded success under the same binary, kernel, boot, user and sysctls holds (see internal/probeRecord)
  const record = options.probeRecord
  const recordKey =
    record !== undefined && bwrap !== undefined && cannotProbe(bwrap) === undefined
      ? ProbeRecord.key(bwrap, probeArgs(config.network))
      : undefined
  if (record !== undefined && recordKey !== undefined && ProbeRecord.holds(record, recordKey))
    return { config, bwrap, reason: undefined, sandboxed: true }
  const reason = probeBwrap(bwrap, config.network)
  if (reason === undefined && record !== undefined && recordKey !== undefined) ProbeRecord.write(record, recordKey)
  return { config, bwrap, reason, sandboxed: reason === undefined }
}

/** How bubblewrap says it could not set a sandbox up (before the command ran): `bwrap: ...`, exit code 1. */
const bwrapFailed = (result: Sandbox.RunResult): boolean =>
  result.sandboxed && result.exitCode === 1 && new TextDecoder().decode(result.output.subarray(0, 6)) === "bwrap:"

/** The status a probe and a built sandbox report alike. */
const statusOf = (
  { config, reason, sandboxed }: ReturnType<typeof probeSandbox>,
  containment: Sandbox.Containment
): Sandbox.Status => ({
  mode: sandboxed ? config.mode : "off",
  configured: config.mode,
  mechanism: sandboxed ? "bwrap" : "none",
  network: sandboxed ? config.network : true,
  containment,
  reason,
  required: config.required
})

/**
 * What {@link make} would run here, without setting anything up (no cgroup
 * created, nothing reaped): for `strata status`. The probes of bubblewrap
 * run as child processes without blocking, both at once.
 *
 * @since 0.1.0
 * @category constructors
 */
export const probe = async (options: Options): Promise<Sandbox.Status> => {
  const config = options.config ?? Sandbox.defaultConfig
  const bwrap = findBwrap(options)
  const parent = currentCgroupParent()
  const cgroup =
    process.platform === "linux" &&
    parent !== undefined &&
    fs.existsSync(nodePath.join(parent, "cgroup.procs")) &&
    (() => {
      try {
        fs.accessSync(parent, fs.constants.W_OK)
        return true
      } catch {
        return false
      }
    })()
  const [reason, pidNamespace] = await Promise.all([
    config.mode === "off" ? undefined : probeBwrapAsync(bwrap, config.network),
    // the same probe with the network when that one may decide the containment
    cgroup || bwrap === undefined || (config.mode !== "off" && config.network)
      ? undefined
      : probeBwrapAsync(bwrap, true)
  ])
  const bwrapState = { config, bwrap, reason, sandboxed: config.mode !== "off" && reason === undefined }
  let containment: Sandbox.Containment = "process-group"
  if (cgroup) containment = "cgroup"
  else if (
    bwrapState.sandboxed ||
    (bwrap !== undefined && (config.mode !== "off" && config.network ? reason : pidNamespace) === undefined)
  )
    containment = "pid-namespace"
  return statusOf(bwrapState, containment)
}

/**
 * Probes what runs here and builds the service: bubblewrap when it can
 * start, the strongest containment.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Sandbox.Service> => Effect.sync(() => build(options).service)

/**
 * The service, and whether its calls run in cgroups (known without probing
 * bubblewrap). The probe of bubblewrap starts processes (`bwrap ... true`,
 * tens of milliseconds): it runs when first needed, on the first command
 * prepared or the first read of `status`, not when the service is built, so a
 * session that runs no command (a text turn, `strata run --json`) never pays it.
 */
const build = (options: Options): { readonly service: Sandbox.Service; readonly cgroup: CgroupBase | undefined } => {
  const home = options.home ?? options.env?.HOME ?? os.homedir()
  const { environment, redact } = Sandbox.environmentOf(options)
  // containment: cgroup > pid namespace > process group
  let cgroup: CgroupBase | undefined
  const wanted = options.containment
  if (wanted === undefined || wanted === "cgroup") {
    const c = setupCgroup()
    if (typeof c !== "string") cgroup = c
  }
  // the calls a killed process-group-contained Strata left are ended at start
  if (cgroup === undefined && options.stateDir !== undefined) reapRecords(options.stateDir)
  let probed:
    | {
        readonly bwrapState: ReturnType<typeof probeSandbox>
        readonly containment: Sandbox.Containment
        readonly status: Sandbox.Status
      }
    | undefined
  const probeOnce = () => {
    if (probed !== undefined) return probed
    const bwrapState = probeSandbox(options)
    const { bwrap, sandboxed } = bwrapState
    let containment: Sandbox.Containment = cgroup !== undefined ? "cgroup" : "process-group"
    const pidNamespace =
      containment !== "cgroup" &&
      wanted !== "process-group" &&
      (sandboxed || (bwrap !== undefined && probeBwrap(bwrap, true) === undefined))
    if (pidNamespace) containment = "pid-namespace"
    probed = { bwrapState, containment, status: statusOf(bwrapState, containment) }
    return probed
  }
  let counter = 0
  const prepare = (spec: Sandbox.Spec): Effect.Effect<Sandbox.Prepared, Sandbox.SandboxError> =>
    Effect.try({
      try: (): Sandbox.Prepared => {
        const {
          bwrapState: { config, bwrap, reason, sandboxed },
          containment
        } = probeOnce()
        const inSandbox = sandboxed && spec.sandboxed !== false
        if (!inSandbox && config.required && config.mode !== "off" && spec.sandboxed !== false) {
          throw new Sandbox.SandboxError({
            reason: "Required",
            detail: `sandbox.required is set and no sandbox runs here: ${reason}`
          })
        }
        const tag = `${process.pid}.${Date.now().toString(36)}.${(counter++).toString(36)}`
        const env = { ...environment(spec.env), [TAG]: tag }
        let command = spec.command
        let args: Array<string> = [...spec.args]
        if (inSandbox) {
          args = [
            ...bwrapArgs({
              workspace: options.workspace,
              config,
              home,
              protectedPaths: options.protectedPaths,
              cwd: spec.cwd,
              programFiles: spec.programFiles
            }),
            "--",
            command,
            ...args
          ]
          command = bwrap!
        } else if (containment === "pid-namespace") {
          args = [
            "--die-with-parent",
            "--unshare-user",
            "--unshare-pid",
            "--bind",
            "/",
            "/",
            "--dev-bind",
            "/dev",
            "/dev",
            "--proc",
            "/proc",
            "--chdir",
            spec.cwd,
            "--",
            command,
            ...args
          ]
          command = bwrap!
        }
        let release: Effect.Effect<void> = Effect.void
        // A sandboxed command runs in bubblewrap's own PID namespace
        // (`--unshare-pid`, `--die-with-parent`): when its first process
        // ends, or bwrap is killed, the kernel kills everything left in the
        // namespace, and no process can leave it. That already contains it;
        // a cgroup around bwrap would add nothing but cost (about 10 ms a
        // command: the launcher and the slower namespace set-up inside a
        // fresh cgroup). The cgroup contains the commands that run outside.
        if (cgroup !== undefined && !inSandbox) {
          const dir = nodePath.join(cgroup.dir, `call-${tag}`)
          fs.mkdirSync(dir)
          // the launcher joins the call's cgroup before it becomes the command
          args = ["-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir, command, ...args]
          command = "/bin/sh"
          release = releaseCgroup(dir)
        } else if (containment === "process-group") {
          const record =
            options.stateDir === undefined
              ? undefined
              : nodePath.join(options.stateDir, "sandbox-calls", `${process.pid}.${tag}`)
          if (record !== undefined) {
            fs.mkdirSync(nodePath.dirname(record), { recursive: true })
            fs.writeFileSync(record, "")
          }
          release = Effect.sync(() => {
            if (process.platform === "linux") killTagged(tag)
            if (record !== undefined) fs.rmSync(record, { force: true })
          })
        }
        let released = false
        return {
          command,
          args,
          cwd: spec.cwd,
          env,
          sandboxed: inSandbox,
          release: Effect.suspend(() => {
            if (released) return Effect.void
            released = true
            return release
          })
        }
      },
      catch: (e) =>
        e instanceof Sandbox.SandboxError
          ? e
          : new Sandbox.SandboxError({ reason: "SpawnFailed", detail: (e as Error).message, cause: e })
    }).pipe(Effect.withSpan("Sandbox.prepare"))
  const service: Sandbox.Service = {
    get status() {
      return probeOnce().status
    },
    prepare,
    run: (spec, runOptions) =>
      Effect.flatMap(prepare(spec), (prepared) => runPrepared(prepared, runOptions)).pipe(
        Effect.tap((result) =>
          Effect.sync(() => {
            // bubblewrap no longer starts: forget the recorded probe, probe again at the next command
            if (!bwrapFailed(result)) return
            if (options.probeRecord !== undefined) ProbeRecord.remove(options.probeRecord)
            probed = undefined
          })
        )
      ),
    environment,
    redact,
    denial: (output) => (probeOnce().bwrapState.sandboxed ? Sandbox.findDenial(output) : undefined)
  }
  return { service, cgroup }
}

/**
 * The sandbox of this platform, probed once when the layer is built; the
 * calls' cgroup directory is removed with the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Sandbox.Sandbox> =>
  Layer.scoped(
    Sandbox.Sandbox,
    // traced (`--profile-startup`); the probe of bubblewrap runs later, when first needed
    Effect.acquireRelease(
      Effect.withSpan(
        Effect.sync(() => build(options)),
        "Sandbox.setup"
      ),
      ({ cgroup }) =>
        Effect.sync(() => {
          if (cgroup === undefined) return
          try {
            // the directory made at setup (no second read of /proc/self/mounts and cgroup)
            fs.rmdirSync(cgroup.dir)
          } catch {
            // still in use by another layer of this process, or gone
          }
        })
    ).pipe(Effect.map(({ service }) => service))
  )
