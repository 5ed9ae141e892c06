/**
 * The interactive chat in a real terminal (tmux): configured MCP servers
 * start with the session, their progress shows on the screen, and a prompt's
 * model is offered and calls their tools; a hook whose matcher matches no
 * tool is warned about at the start.
 */
import { execFileSync, spawnSync } from "node:child_process"
import * as path from "node:path"
import * as ScriptedModelServer from "@strata/testkit/node/ScriptedModelServer"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import { bin, call, fixtures, project, providerToml, q } from "./harness.js"

const hasTmux = spawnSync("tmux", ["-V"]).status === 0
const socket = `strata-e2e-chat-${process.pid}`
const tmux = (...args: Array<string>) => execFileSync("tmux", ["-L", socket, ...args], { encoding: "utf8" })
const screen = () => tmux("capture-pane", "-p", "-J", "-S", "-500", "-t", "chat")
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const waitFor = async (text: string, limitMs = 60_000) => {
  const deadline = Date.now() + limitMs
  for (;;) {
    const now = screen()
    if (now.includes(text)) return now
    if (Date.now() > deadline) throw new Error(`the screen never showed ${JSON.stringify(text)}:\n${now}`)
    await sleep(100)
  }
}

const p = project()
beforeAll(() => ensureBuilt(), 300_000)
afterAll(() => {
  if (hasTmux) spawnSync("tmux", ["-L", socket, "kill-server"])
  p.cleanup()
})

describe.skipIf(!hasTmux && process.env.CI === undefined)("strata chat in a terminal: MCP and hooks", () => {
  it("shows the servers starting, offers their tools, warns about a hook that matches nothing", async () => {
    const server = await ScriptedModelServer.start({
      turns: [call("mcp__e2e__echo", { text: "from chat" }), { text: "The server echoed." }]
    })
    try {
      p.config(
        [
          providerToml(server),
          "[mcp_servers.e2e]",
          `command = ${q(process.execPath)}`,
          `args = [${q(path.join(fixtures, "mcp-stdio.mjs"))}]`,
          'startup_timeout = "60s"',
          'trust = "trusted"',
          "",
          "[[hooks.PreToolUse]]",
          'matcher = "exec"',
          'command = "exit 0"',
          ""
        ].join("\n")
      )
      tmux(
        "new-session",
        "-d",
        "-s",
        "chat",
        "-x",
        "200",
        "-y",
        "50",
        `cd ${p.dir} && HOME=${p.home} XDG_CONFIG_HOME= NO_COLOR=1 ${process.execPath} ${bin}; echo CHAT-EXITED $?; sleep 600`
      )
      await waitFor("model: scripted (provider local)")
      await waitFor('warning: hooks.PreToolUse[0]: matcher "exec" matches no tool')
      await waitFor("mcp: e2e starting")
      await waitFor("mcp: e2e ready (6 tools)")
      tmux("send-keys", "-t", "chat", "-l", "echo something")
      tmux("send-keys", "-t", "chat", "Enter")
      await waitFor("⏺ mcp__e2e__echo(")
      await waitFor("The server echoed.")
      expect(server.requests[0]!.tools).toContain("mcp__e2e__echo")
      tmux("send-keys", "-t", "chat", "-l", "/exit")
      tmux("send-keys", "-t", "chat", "Enter")
      await waitFor("CHAT-EXITED 0")
    } finally {
      await server.close()
    }
  }, 180_000)
})
