/**
 * @internal
 *
 * The record of a bubblewrap probe that succeeded, so that the next session
 * on this machine does not start `bwrap ... true` again before its first
 * command (a child process: about 10 ms).
 *
 * Only success is recorded, never a failure: a record can make the runtime
 * run commands in bubblewrap, never outside it. A record that no longer
 * holds (bubblewrap broke since) makes commands fail, closed, and is removed
 * by the first command whose bubblewrap could not start. The record names
 * everything that decides whether bubblewrap starts (its binary, the kernel
 * and this boot, the user, the user-namespace sysctls, the probe's
 * arguments): when any of them changes, the probe runs again. It lives in
 * the approval key's directory, which the sandbox hides from commands and
 * the exec policy protects.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"

const readOr = (path: string): string => {
  try {
    return fs.readFileSync(path, "utf8").trim()
  } catch {
    return ""
  }
}

/** What must be unchanged for a recorded probe to hold. */
export const key = (bwrap: string, probeArgs: ReadonlyArray<string>): string | undefined => {
  let stat: fs.Stats
  try {
    stat = fs.statSync(bwrap)
  } catch {
    return undefined
  }
  return JSON.stringify({
    v: 1,
    bwrap,
    binary: [stat.dev, stat.ino, stat.size, stat.mtimeMs, stat.mode, stat.uid],
    kernel: os.release(),
    boot: readOr("/proc/sys/kernel/random/boot_id"),
    uid: process.getuid?.(),
    sysctls: [
      "/proc/sys/user/max_user_namespaces",
      "/proc/sys/kernel/unprivileged_userns_clone",
      "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"
    ].map(readOr),
    probe: probeArgs
  })
}

/** Whether `file` records a successful probe under exactly `key`. */
export const holds = (file: string, key: string): boolean => readOr(file) === key

/** Records a successful probe (best effort: a record that cannot be written only costs a probe). */
export const write = (file: string, key: string): void => {
  try {
    fs.mkdirSync(nodePath.dirname(file), { recursive: true, mode: 0o700 })
    const temp = `${file}.${process.pid}.tmp`
    fs.writeFileSync(temp, key, { mode: 0o600 })
    fs.renameSync(temp, file)
  } catch {
    // not writable: the next session probes again
  }
}

/** Forgets the record (bubblewrap failed to start a command). */
export const remove = (file: string): void => {
  try {
    fs.rmSync(file, { force: true })
  } catch {
    // gone
  }
}
