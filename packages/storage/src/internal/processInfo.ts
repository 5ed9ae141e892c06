/**
 * Who this process is, and whether another process is still alive: what the
 * file-system store's lock files record so that a lock left by a crash is
 * recognised as stale, even when its pid has been reused.
 *
 * A process is identified by its pid plus its start time (`/proc/<pid>/stat`
 * field 22 on Linux), the boot it belongs to (`/proc/sys/kernel/random/boot_id`)
 * and the host name. Where `/proc` is missing (macOS, Windows) only the pid is
 * known and a reused pid cannot be told apart; leases still expire.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"

/** What a lock or lease file records about its holder. */
export interface ProcessId {
  readonly pid: number
  /** Start time in clock ticks since boot (Linux), when known. */
  readonly start?: string | undefined
  /** The boot id (Linux), when known. */
  readonly boot?: string | undefined
  readonly host?: string | undefined
}

interface Proc {
  readonly pid?: number
  readonly kill?: (pid: number, signal: number) => void
  readonly env?: Record<string, string | undefined>
}

// `process` is a global on Node, Bun and Deno; read it defensively.
const proc = (): Proc | undefined => (globalThis as { process?: Proc }).process

/** This process's pid (-1 when the runtime has none). */
export const ownPid = (): number => proc()?.pid ?? -1

/** The pid alone, for stores that cannot read `/proc`. */
export const basic = (): ProcessId => ({ pid: ownPid() })

/** The start time field of a `/proc/<pid>/stat` line (after the `(comm)` field, which may hold spaces). */
export const parseStartTime = (stat: string): string | undefined => {
  const close = stat.lastIndexOf(")")
  if (close < 0) return undefined
  // Fields after ")" start with field 3 (state); the start time is field 22.
  const fields = stat.slice(close + 2).split(" ")
  const start = fields[22 - 3]
  return start !== undefined && /^\d+$/.test(start) ? start : undefined
}

const readTrimmed = (fs: FileSystem.FileSystem, file: string) =>
  fs.readFileString(file).pipe(
    Effect.map((s) => s.trim()),
    Effect.orElseSucceed(() => undefined)
  )

/** The start time of `pid`, when `/proc` can tell. */
export const startTimeOf = (fs: FileSystem.FileSystem, pid: number | "self") =>
  Effect.map(readTrimmed(fs, `/proc/${pid}/stat`), (stat) => (stat === undefined ? undefined : parseStartTime(stat)))

const CACHE = Symbol.for("@strata/storage/processInfo")

/** This process, as precisely as the platform tells (read once per process). */
export const current = (fs: FileSystem.FileSystem): Effect.Effect<ProcessId> =>
  Effect.suspend(() => {
    const g = globalThis as { [CACHE]?: ProcessId }
    const cached = g[CACHE]
    if (cached !== undefined && cached.pid === ownPid()) return Effect.succeed(cached)
    return Effect.map(
      Effect.all([
        startTimeOf(fs, "self"),
        readTrimmed(fs, "/proc/sys/kernel/random/boot_id"),
        readTrimmed(fs, "/proc/sys/kernel/hostname")
      ]),
      ([start, boot, host]) => {
        const id: ProcessId = {
          pid: ownPid(),
          ...(start === undefined ? {} : { start }),
          ...(boot === undefined || boot === "" ? {} : { boot }),
          ...(host === undefined || host === "" ? {} : { host })
        }
        g[CACHE] = id
        return id
      }
    )
  })

/** Whether a process with this pid exists (true when the runtime cannot tell). */
export const pidExists = (pid: number): boolean => {
  const p = proc()
  if (p?.kill === undefined || !Number.isSafeInteger(pid) || pid <= 0) return true
  try {
    p.kill(pid, 0)
    return true
  } catch (e) {
    return (e as { code?: string }).code === "EPERM"
  }
}

/**
 * Whether the process `holder` names is certainly gone: another boot of this
 * host, no such pid, or a pid now used by a process that started at another
 * time (a reused pid). False when it cannot be told (another host, no
 * `/proc`): callers then rely on expiry.
 */
export const isGone = (fs: FileSystem.FileSystem, self: ProcessId, holder: ProcessId): Effect.Effect<boolean> =>
  Effect.gen(function* () {
    if (holder.host !== undefined && self.host !== undefined && holder.host !== self.host) return false
    if (holder.boot !== undefined && self.boot !== undefined && holder.boot !== self.boot) {
      // Same host (or unknown), another boot: every process of that boot is gone.
      return holder.host !== undefined && self.host !== undefined
    }
    if (holder.pid === self.pid) {
      // Our own pid: alive exactly when the start time is ours.
      return holder.start !== undefined && self.start !== undefined && holder.start !== self.start
    }
    if (!pidExists(holder.pid)) return true
    if (holder.start === undefined) return false
    const now = yield* startTimeOf(fs, holder.pid)
    return now !== undefined && now !== holder.start
  })

/** "process 123 on host" for messages. */
export const describeProcess = (p: ProcessId): string =>
  `process ${p.pid}${p.host === undefined ? "" : ` on ${p.host}`}`
