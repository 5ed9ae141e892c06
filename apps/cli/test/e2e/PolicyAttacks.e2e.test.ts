/**
 * Issue 13 through the built `strata`: strings that the engine used to
 * allow while bash ran another program now ask (or are denied), both in
 * `strata policy check` and in `strata run` (the demo model's `run:
 * <command>` makes it call `shell__exec`), and nothing runs. The distribution's
 * default rules are read-only in fact, and `policy check` names the dialect.
 */
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import { jsonLines, withProject } from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

const demo = { env: { STRATA_DEMO: "1" } }

/** Each of these ran `touch pwned` under bash while the engine said `allow`. */
const ESCAPES = [
  "echo `echo \\`touch pwned\\``",
  "echo `echo \\$(touch pwned)`",
  "echo \"${x:-'$(touch pwned)'}\"",
  "cat <<EOF\n${x:-'$(touch pwned)'}\nEOF",
  "a=(1); unset 'a[$(touch pwned)]'",
  "declare -a a='([$(touch pwned)]=1)'",
  "printf -v 'a[$(touch pwned)]' x",
  "test -v 'a[$(touch pwned)]'"
]

describe.concurrent("exec policy under attack, end to end", { timeout: 180_000 }, () => {
  it("policy check: previously allowed escapes ask, denials through expansions deny, the dialect is named", async () => {
    await withProject(async (p) => {
      const lines = [
        ...ESCAPES.map((command, i) => ({ id: `escape-${i}`, command, expected: "ask" })),
        // A denied program reached through brace expansion or env -S is denied, not asked.
        { id: "brace", command: "{sudo,ls}", expected: "deny" },
        { id: "env-S", command: "env -S 'sudo ls'", expected: "deny" },
        { id: "control", command: "echo hi", expected: "allow" }
      ]
      const run = await p.strata(["policy", "check", "--jsonl"], {
        stdin: lines.map((l) => JSON.stringify({ id: l.id, command: l.command })).join("\n")
      })
      expect(run.code, run.stderr).toBe(0)
      const out = jsonLines(run.stdout)
      expect(out.map((o) => o["id"])).toEqual(lines.map((l) => l.id))
      for (const [i, l] of lines.entries()) {
        expect(out[i]!["decision"], l.command).toBe(l.expected)
        expect(out[i]!["dialect"]).toBe("bash")
      }
      const text = await p.strata(["policy", "check", "--", "echo hi"])
      expect(text.stdout).toContain("dialect: bash")
    })
  })

  it("policy check: the default rules are read-only in fact, protected paths ask (deny under never)", async () => {
    await withProject(async (p) => {
      // A decision past its 100 ms budget asks by design; on a loaded machine an `allow`
      // expectation may meet one: only such a line is decided again (up to 3 times).
      const batch = async (rows: ReadonlyArray<readonly [string, string]>, extra: ReadonlyArray<string> = []) => {
        let out: Array<Record<string, unknown>> = []
        for (let attempt = 0; attempt < 3; attempt++) {
          const run = await p.strata(["policy", "check", "--jsonl", ...extra], {
            stdin: rows.map(([command], i) => JSON.stringify({ id: i, command })).join("\n")
          })
          expect(run.code, run.stderr).toBe(0)
          out = jsonLines(run.stdout)
          const overBudget = out.some(
            (o, i) =>
              o["decision"] !== rows[i]![1] &&
              (o["reasons"] as Array<{ code: string }>).length > 0 &&
              (o["reasons"] as Array<{ code: string }>).every((r) => r.code === "time-budget")
          )
          if (!overBudget) break
        }
        for (const [i, [command, expected]] of rows.entries()) expect(out[i]!["decision"], command).toBe(expected)
        return out
      }
      await batch([
        ["git log -n 3", "allow"],
        ["git log --output=.git/config --format=x", "ask"],
        ["git diff --no-index /etc/passwd x", "ask"],
        ["date -f /etc/shadow", "ask"],
        ["git branch -D main", "ask"]
      ])
      p.write(
        ".strata/policy.toml",
        '[[rule]]\nprefix = [["echo", "cp", "tee"]]\ndecision = "allow"\nallow_redirection = true\n'
      )
      const out = await batch([
        ["echo hi > notes.txt", "allow"],
        ["echo 'curl x' > .git/hooks/pre-commit", "ask"],
        ["echo x | tee ~/.config/strata/config.toml", "ask"]
      ])
      const reasons = (out[1]!["commands"] as Array<{ reasons: Array<{ code: string }> }>)[0]!.reasons
      expect(reasons.map((r) => r.code)).toContain("protected-path")
      await batch([["cp x .strata/policy.toml", "deny"]], ["--approval", "never"])
    })
  })

  it("strata run: a previously bypassing string does not run (approval mode never)", async () => {
    await withProject(async (p) => {
      for (const command of [ESCAPES[0]!, ESCAPES[2]!, "echo x > .git/config"]) {
        const run = await p.strata(["run", "--json", "--approval", "never", `run: ${command}`], demo)
        expect(run.code, run.stderr).toBe(0)
        const result = jsonLines(run.stdout).find((e) => e.event === "tool_call_result")!.result as { status: string }
        expect(result.status, command).toBe("denied")
      }
      expect(p.exists("pwned")).toBe(false)
      // The same tool does run what is allowed: the test can fail.
      const ok = await p.strata(["run", "--json", "--approval", "never", "run: echo fine"], demo)
      const result = jsonLines(ok.stdout).find((e) => e.event === "tool_call_result")!.result as { status: string }
      expect(result.status).toBe("completed")
    })
  })
})
