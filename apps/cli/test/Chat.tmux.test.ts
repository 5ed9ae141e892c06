/**
 * The interactive `strata` in a real terminal: tmux runs it, `send-keys`
 * types, `capture-pane` reads the screen. One session on the demo model: a
 * turn with a real tool call and an approval answered at the prompt, a turn
 * interrupted with Ctrl-C (the program survives and takes the next turn),
 * `/exit`, then `strata resume --last`.
 *
 * tmux comes from Debian packages (`.ci/run` installs it when missing).
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { bin, ensureBuilt } from "./build.js"

const hasTmux = spawnSync("tmux", ["-V"]).status === 0
const socket = `strata-test-${process.pid}`
const dir = mkdtempSync(path.join(tmpdir(), "strata-chat-"))
const tmux = (...args: Array<string>) => execFileSync("tmux", ["-L", socket, ...args], { encoding: "utf8" })
const screen = () => tmux("capture-pane", "-p", "-J", "-S", "-500", "-t", "strata")
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Waits until the screen shows `text` (appearing `count` times); fails with the screen when it never does. */
const waitFor = async (text: string, count = 1, limitMs = 20_000) => {
  const deadline = Date.now() + limitMs
  for (;;) {
    const now = screen()
    if (now.split(text).length - 1 >= count) return now
    if (Date.now() > deadline) throw new Error(`the screen never showed ${JSON.stringify(text)}:\n${now}`)
    await sleep(100)
  }
}
const type = (keys: string) => tmux("send-keys", "-t", "strata", "-l", keys)
const press = (...keys: Array<string>) => tmux("send-keys", "-t", "strata", ...keys)

const start = (args: string) =>
  tmux(
    "new-session",
    "-d",
    "-s",
    "strata",
    "-x",
    "200",
    "-y",
    "50",
    `cd ${dir} && HOME=${dir} XDG_CONFIG_HOME= STRATA_DEMO=1 NO_COLOR=1 ${process.execPath} ${bin} ${args}; echo STRATA-EXITED $?; sleep 600`
  )

beforeAll(() => {
  ensureBuilt()
  writeFileSync(path.join(dir, "notes.md"), "# notes\n")
}, 300_000)
afterAll(() => {
  if (hasTmux) spawnSync("tmux", ["-L", socket, "kill-server"])
  rmSync(dir, { recursive: true, force: true })
})

describe.skipIf(!hasTmux && process.env.CI === undefined)("strata chat in a terminal (tmux)", () => {
  it("a turn with an approval, Ctrl-C interrupts a turn but not the program, /exit, resume --last", async () => {
    start("")
    await waitFor("demo model: no provider configured")
    await waitFor("› ")
    type("show me around")
    press("Enter")
    await waitFor("⏺ shell__exec(ls)")
    await waitFor("exit 0, 1 line: notes.md")
    await waitFor("approve? [y] once")
    expect(existsSync(path.join(dir, "strata-demo.txt"))).toBe(false)
    type("y")
    press("Enter")
    await waitFor("Done: strata-demo.txt exists now.")
    expect(existsSync(path.join(dir, "strata-demo.txt"))).toBe(true)

    type("run: sleep 30")
    press("Enter")
    await waitFor("approval needed: sleep 30")
    await waitFor("sleep 30: ask (no rule)")
    type("y")
    press("Enter")
    await waitFor("⏺ shell__exec(sleep 30)")
    press("C-c")
    await waitFor("(turn interrupted)")
    // "Always" remembers exact rules: they never cover another command on the same line.
    type("run: touch a.txt")
    press("Enter")
    await waitFor("approval needed: touch a.txt")
    await waitFor("touch a.txt: ask (no rule)")
    type("a")
    press("Enter")
    await waitFor('prefix = ["touch","a.txt"]')
    type("run: touch a.txt && touch b.txt")
    press("Enter")
    await waitFor("approval needed: touch a.txt && touch b.txt")
    type("n")
    press("Enter")
    expect(existsSync(path.join(dir, "b.txt"))).toBe(false)
    type("run: echo still here")
    press("Enter")
    await waitFor("Ran `echo still here`.")
    type("/exit")
    press("Enter")
    const end = await waitFor("STRATA-EXITED 0")
    const thread = /thread (thread-\S+) · resume with/.exec(end)?.[1]
    expect(thread).toBeDefined()
    tmux("kill-session", "-t", "strata")

    start("resume --last")
    await waitFor(`resuming ${thread}`)
    await waitFor("› ")
    press("C-d")
    await waitFor("STRATA-EXITED 0")
  }, 90_000)
})
