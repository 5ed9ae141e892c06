/**
 * @internal
 *
 * Containment on Linux for `@strata/sandbox/node` (Node-only: imported from
 * that subpath alone): cgroup v2 setup and release, the tagged-process
 * fallback, and reaping what a killed owner left behind.
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"

/** The environment variable that tags a call's processes under process-group containment. */
export const TAG = "STRATA_SANDBOX_TAG"

export interface CgroupBase {
  readonly dir: string
}

export const cgroupMount = (): string | undefined => {
  try {
    for (const line of fs.readFileSync("/proc/self/mounts", "utf8").split("\n")) {
      const [, mountPoint, type] = line.split(" ")
      if (type === "cgroup2" && mountPoint !== undefined) return mountPoint
    }
  } catch {
    return undefined
  }
  return undefined
}

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

/**
 * Ends a cgroup: `cgroup.kill` when something is left in it (each member by
 * pid on kernels before 5.14, which lack it), then removes it once the kernel
 * has emptied it, pausing between attempts with `pause` (which decides
 * whether the wait blocks). A cgroup that is already gone is fine.
 */
const endCgroup = (
  dir: string,
  attempts: number,
  pause: (attempt: number) => Effect.Effect<void>
): Effect.Effect<void> =>
  Effect.gen(function* () {
    let procs = ""
    try {
      procs = fs.readFileSync(nodePath.join(dir, "cgroup.procs"), "utf8")
    } catch {
      return
    }
    if (procs.trim() !== "") {
      try {
        fs.writeFileSync(nodePath.join(dir, "cgroup.kill"), "1")
      } catch {
        for (const pid of procs.split("\n")) {
          try {
            if (pid !== "") process.kill(Number(pid), "SIGKILL")
          } catch {
            // gone
          }
        }
      }
    }
    for (let i = 0; i < attempts; i++) {
      try {
        fs.rmdirSync(dir)
        return
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return
      }
      yield* pause(i)
    }
  })

/** Ends a dead owner's cgroup at setup, synchronously (setup is synchronous). */
const killCgroup = (dir: string): void => Effect.runSync(endCgroup(dir, 200, () => Effect.sync(() => sleepSync(5))))

/** Ends a call's cgroup without blocking the event loop. */
export const releaseCgroup = (dir: string): Effect.Effect<void> =>
  endCgroup(dir, 1000, (i) => Effect.sleep(i < 20 ? "1 millis" : "10 millis"))

/** The cgroup v2 directory this process may create calls' cgroups under, reaping dead owners' ones. */
export const setupCgroup = (): CgroupBase | string => {
  if (process.platform !== "linux") return "cgroups are Linux only"
  const mount = cgroupMount()
  if (mount === undefined) return "no cgroup v2 file system is mounted"
  const own = ownCgroup()
  if (own === null) return "cannot read /proc/self/cgroup"
  if (own === undefined) return "this process is in no cgroup v2 hierarchy"
  const parent = nodePath.join(mount, own)
  // Reap what dead owners left (a Strata killed before it could release).
  try {
    for (const name of fs.readdirSync(parent)) {
      const m = /^strata\.(\d+)$/.exec(name)
      if (m === null || alive(Number(m[1]))) continue
      const base = nodePath.join(parent, name)
      for (const call of fs.readdirSync(base)) {
        if (call.startsWith("call-")) killCgroup(nodePath.join(base, call))
      }
      try {
        fs.rmdirSync(base)
      } catch {
        // still busy; next start
      }
    }
  } catch {
    // not listable: the mkdir below decides
  }
  const dir = nodePath.join(parent, `strata.${process.pid}`)
  try {
    fs.mkdirSync(dir, { recursive: true })
    if (!fs.existsSync(nodePath.join(dir, "cgroup.procs"))) return `${dir} is not a cgroup`
    // a leaf must be creatable and joinable: try one
    const probe = nodePath.join(dir, "call-probe")
    fs.mkdirSync(probe)
    fs.rmdirSync(probe)
    return { dir }
  } catch (e) {
    return `cannot create a cgroup under ${parent}: ${(e as Error).message}`
  }
}

const listProcs = (): ReadonlyArray<number> => {
  try {
    return fs
      .readdirSync("/proc")
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
  } catch {
    return []
  }
}

/** Kills every process whose environment carries `TAG=<tag>`; returns how many. */
export const killTagged = (tag: string): number => {
  const needle = `${TAG}=${tag}\0`
  let killed = 0
  // repeat: a fork between scan and kill is caught by the next round
  for (let round = 0; round < 5; round++) {
    let found = 0
    for (const pid of listProcs()) {
      if (pid === process.pid) continue
      try {
        if (fs.readFileSync(`/proc/${pid}/environ`, "latin1").includes(needle)) {
          process.kill(pid, "SIGKILL")
          found++
        }
      } catch {
        // gone or not ours
      }
    }
    killed += found
    if (found === 0) break
  }
  return killed
}

export const reapRecords = (stateDir: string) => {
  const dir = nodePath.join(stateDir, "sandbox-calls")
  let names: Array<string> = []
  try {
    names = fs.readdirSync(dir)
  } catch {
    return
  }
  for (const name of names) {
    const m = /^(\d+)\.(.+)$/.exec(name)
    if (m === null || alive(Number(m[1]))) continue
    killTagged(m[2]!)
    fs.rmSync(nodePath.join(dir, name), { force: true })
  }
}

export const currentCgroupParent = (): string | undefined => {
  const mount = cgroupMount()
  if (mount === undefined) return undefined
  const own = ownCgroup()
  return own === undefined || own === null ? undefined : nodePath.join(mount, own)
}

/** This process's cgroup v2 path (`0::<path>`), undefined when it is in none, null when unreadable. */
const ownCgroup = (): string | undefined | null => {
  try {
    return fs
      .readFileSync("/proc/self/cgroup", "utf8")
      .split("\n")
      .find((l) => l.startsWith("0::"))
      ?.slice(3)
  } catch {
    return null
  }
}
