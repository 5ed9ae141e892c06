import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import type * as Sandbox from "../src/Sandbox.js"

/** Runs a prepared process as a tool does: waits for the command's exit, releases, then drains the output. */
export const runPrepared = (prepared: Sandbox.Prepared) =>
  Effect.promise(
    () =>
      new Promise<{ code: number | null; output: string }>((resolve, reject) => {
        const child = spawn(prepared.command, [...prepared.args], {
          cwd: prepared.cwd,
          env: prepared.env,
          stdio: ["ignore", "pipe", "pipe"],
          detached: true
        })
        let output = ""
        child.stdout.on("data", (d) => (output += d))
        child.stderr.on("data", (d) => (output += d))
        child.on("error", reject)
        let code: number | null = null
        let pending = 3
        const done = () => {
          if (--pending === 0) resolve({ code, output })
        }
        child.stdout.on("close", done)
        child.stderr.on("close", done)
        child.on("exit", (c) => {
          code = c
          Effect.runPromise(prepared.release).then(done, reject)
        })
      })
  )

export const bash = (command: string) => ({ command: "/bin/bash", args: ["--noprofile", "--norc", "-c", command] })

/** Processes whose command line contains `marker`. */
export const processesWith = (marker: string): ReadonlyArray<number> =>
  fs
    .readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").includes(marker)
      } catch {
        return false
      }
    })
    .map(Number)

export const tempDir = (prefix: string) => fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)))
