/**
 * The differential oracle: a command string the policy allows must execute
 * only programs the policy allows (each executed argv, decided as a command
 * of its own, is `allow`) and change no protected file.
 */
import type { Decision } from "../../src/Decision.js"
import { type Dialect, programArgv, quoteArgv, type Sandbox } from "./trace.js"

export interface Bypass {
  readonly command: string
  readonly dialect: Dialect
  /** What ran that the policy does not allow, or the protected file that changed. */
  readonly what: string
}

export interface Verdict {
  readonly decision: Decision["decision"]
  readonly bypasses: ReadonlyArray<Bypass>
  /** The string ran (the policy allowed it). */
  readonly ran: boolean
}

/**
 * An executed argv is fine when the policy allows it, or would but for a
 * protected path it mentions (`printf .git/config` run by `xargs` writes
 * nothing; real writes are caught by the protected-file snapshot).
 */
const allowedButForProtected = (d: Decision): boolean => {
  if (d.decision === "allow") return true
  if (d.policy_decision === "deny") return false
  if (d.reasons.some((r) => r.code !== "protected-path")) return false
  return d.commands.every(
    (c) =>
      c.decision === "allow" || (c.rule?.decision === "allow" && c.reasons.every((r) => r.code === "protected-path"))
  )
}

export const differential = (
  check: (command: string) => Decision,
  sandbox: Sandbox,
  command: string,
  dialects: ReadonlyArray<Dialect> = ["bash"]
): Verdict => {
  const decision = check(command).decision
  if (decision !== "allow") return { decision, bypasses: [], ran: false }
  const bypasses: Array<Bypass> = []
  const seen = new Map<string, boolean>()
  for (const dialect of dialects) {
    const outcome = sandbox.run(command, dialect)
    for (const e of outcome.execs) {
      const argv = programArgv(e, sandbox.bin)
      const quoted = quoteArgv(argv)
      let ok = seen.get(quoted)
      if (ok === undefined) {
        ok = allowedButForProtected(check(quoted))
        seen.set(quoted, ok)
      }
      if (!ok) bypasses.push({ command, dialect, what: `ran ${JSON.stringify(argv)}` })
    }
    for (const p of outcome.protectedChanged) bypasses.push({ command, dialect, what: `changed ${p}` })
  }
  return { decision, bypasses, ran: true }
}
