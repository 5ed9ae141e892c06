/**
 * MCP servers in config, through the built `strata`: they start with the
 * session (in parallel; progress on stderr), the model is offered their
 * `mcp__<server>__<tool>` tools and calls them; every `[mcp_servers.*]` and
 * `[mcp.restart]` key takes effect. Real servers: `@modelcontextprotocol/server-everything`
 * from npm and the SDK-based fixtures in `fixtures/`.
 */
import { spawn } from "node:child_process"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import {
  call,
  everything,
  fixtures,
  jsonLines,
  lastToolResult,
  lineCount,
  providerToml,
  q,
  withModel,
  withProject
} from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

const stdioServer = (name: string, args: ReadonlyArray<string> = [], extra = "") =>
  [
    `[mcp_servers.${name}]`,
    `command = ${q(process.execPath)}`,
    `args = ${JSON.stringify([path.join(fixtures, "mcp-stdio.mjs"), ...args])}`,
    // These tests are about the servers, not about approvals (see the trust test).
    extra.includes("trust") ? "" : 'trust = "trusted"',
    // Generous on a loaded machine; tests of the timeout set their own.
    extra.includes("startup_timeout") ? "" : 'startup_timeout = "60s"',
    extra,
    ""
  ].join("\n")

const toolNames = (request: { readonly tools: ReadonlyArray<string> }) =>
  request.tools.filter((t) => t.startsWith("mcp__"))

describe.concurrent("MCP servers start with the session", { timeout: 180_000 }, () => {
  it("run: servers start in parallel, the model is offered mcp__ tools and calls them; env and cwd reach the server", async () => {
    await withProject(async (p) => {
      p.write("sub/.keep", "")
      await withModel(
        {
          turns: [
            call("mcp__everything__echo", { message: "hello" }),
            call("mcp__e2e__env", { name: "E2E_VAR" }),
            call("mcp__e2e__cwd", {}),
            { text: "done" }
          ]
        },
        async (server) => {
          // covers: mcp_servers
          // covers: mcp_servers.*.command
          // covers: mcp_servers.*.args
          // covers: mcp_servers.*.env
          // covers: mcp_servers.*.cwd
          p.config(
            [
              providerToml(server),
              `[mcp_servers.everything]\ncommand = ${q(process.execPath)}\nargs = [${q(everything)}, "stdio"]\nstartup_timeout = "60s"\ntrust = "trusted"\n`,
              stdioServer("e2e", [], 'env = { E2E_VAR = "from-config" }\ncwd = "sub"')
            ].join("\n")
          )
          const run = await p.strata(["run", "--json", "use the tools"])
          expect(run.code, run.stderr).toBe(0)
          const offered = toolNames(server.requests[0]!)
          expect(offered, run.stderr).toEqual(
            expect.arrayContaining(["mcp__everything__echo", "mcp__e2e__env", "mcp__e2e__cwd"])
          )
          expect(lastToolResult(server.requests[1]!)).toContain("Echo: hello")
          expect(lastToolResult(server.requests[2]!)).toBe("from-config")
          expect(lastToolResult(server.requests[3]!)).toBe(path.join(p.dir, "sub"))
          const events = jsonLines(run.stdout)
          const results = events.filter((e) => e.event === "tool_call_result")
          expect(results.map((e) => (e.result as { status: string }).status)).toEqual([
            "completed",
            "completed",
            "completed"
          ])
          // progress on stderr, as JSON lines with --json
          const progress = jsonLines(run.stderr).filter((e) => e.event === "mcp_startup_update")
          expect(
            progress.map(
              (e) => `${(e.update as { server_name: string }).server_name}:${(e.update as { status: string }).status}`
            )
          ).toEqual(expect.arrayContaining(["everything:starting", "e2e:starting", "everything:ready", "e2e:ready"]))
        }
      )
    })
  })

  it("trust: an untrusted server's tools are asked about unless a rule allows them; a trusted one's run; no __ in names", async () => {
    await withProject(async (p) => {
      await withModel(
        {
          turns: [
            call("mcp__wild__echo", { text: "untrusted" }),
            call("mcp__wild__env", { name: "HOME" }),
            { text: "after rule" },
            call("mcp__tame__echo", { text: "trusted" }),
            { text: "after trusted" }
          ]
        },
        async (server) => {
          // covers: mcp_servers.*.trust
          p.config(
            [providerToml(server), stdioServer("wild", [], 'trust = "untrusted"'), stdioServer("tame")].join("\n")
          )
          p.write(".strata/policy.toml", '[[rule]]\nprefix = ["mcp__wild__env"]\ndecision = "allow"\n')
          // the default (untrusted): asked, so the run pauses (exit 3) and nothing ran
          const asked = await p.strata(["run", "--json", "echo"])
          expect(asked.code, asked.stderr).toBe(3)
          const requested = jsonLines(asked.stdout).find((e) => e.event === "approval_requested")!
          expect(requested.reason).toMatch(/MCP server "wild" is untrusted/)
          // a rule naming the tool allows it
          const ruled = await p.strata(["run", "--json", "env"])
          expect(ruled.code, ruled.stderr).toBe(0)
          const ran = jsonLines(ruled.stdout).filter((e) => e.event === "tool_call_result")
          expect(ran.map((e) => (e.result as { status: string }).status)).toEqual(["completed"])
          // a trusted server's tool runs without asking
          const trusted = await p.strata(["run", "--json", "trusted"])
          expect(trusted.code, trusted.stderr).toBe(0)
          expect(lastToolResult(server.requests[4]!)).toContain("trusted")
          // a server name with "__" is refused, naming the server
          p.config([providerToml(server), stdioServer("a__b")].join("\n"))
          const bad = await p.strata(["run", "hi"])
          expect(bad.code).not.toBe(0)
          expect(bad.stderr).toMatch(/a__b.*must not contain "__"|must not contain "__".*a__b/s)
        }
      )
    })
  })

  it("enabled = false, enabled_tools and disabled_tools decide which tools the model is offered", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "ok" }] }, async (server) => {
        // covers: mcp_servers.*.enabled
        // covers: mcp_servers.*.enabled_tools
        // covers: mcp_servers.*.disabled_tools
        p.config(
          [
            providerToml(server),
            stdioServer("only", [], 'enabled_tools = ["echo", "env"]'),
            stdioServer("most", [], 'disabled_tools = ["crash", "sleep"]'),
            stdioServer("off", [], "enabled = false")
          ].join("\n")
        )
        const run = await p.strata(["run", "hi"])
        expect(run.code, run.stderr).toBe(0)
        expect(toolNames(server.requests[0]!).sort()).toEqual(
          [
            "mcp__most__cwd",
            "mcp__most__echo",
            "mcp__most__env",
            "mcp__most__image",
            "mcp__only__echo",
            "mcp__only__env"
          ].sort()
        )
      })
    })
  })

  it("startup_timeout bounds the wait (the prompt goes on without the server); a required server that does not start stops the run", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [{ text: "answered without it", repeat: true }] }, async (server) => {
        // covers: mcp_servers.*.startup_timeout
        const slow = stdioServer("slow", ["--init-delay", "20000"], 'startup_timeout = "300ms"')
        p.config([providerToml(server), slow, stdioServer("fast")].join("\n"))
        const run = await p.strata(["run", "hi"])
        expect(run.code, run.stderr).toBe(0)
        expect(run.stdout).toContain("answered without it")
        expect(run.stderr).toMatch(/mcp: slow failed: .*(timed out|timeout)/i)
        expect(toolNames(server.requests[0]!)).toEqual(expect.arrayContaining(["mcp__fast__echo"]))
        expect(toolNames(server.requests[0]!).some((t) => t.startsWith("mcp__slow__"))).toBe(false)
        // covers: mcp_servers.*.required
        p.config([providerToml(server), `${slow}required = true\n`].join("\n"))
        const required = await p.strata(["run", "hi"])
        expect(required.code).toBe(1)
        expect(required.stderr).toContain("Required MCP server(s) did not start: slow")
        expect(server.requests).toHaveLength(1)
      })
    })
  })

  it("tool_timeout ends a call that takes too long; the turn goes on", async () => {
    await withProject(async (p) => {
      await withModel({ turns: [call("mcp__e2e__sleep", { ms: 20_000 }), { text: "moved on" }] }, async (server) => {
        // covers: mcp_servers.*.tool_timeout
        p.config([providerToml(server), stdioServer("e2e", [], 'tool_timeout = "300ms"')].join("\n"))
        const run = await p.strata(["run", "--json", "sleep"])
        expect(run.code, run.stderr).toBe(0)
        const result = jsonLines(run.stdout).find((e) => e.event === "tool_call_result")!.result as {
          status: string
          error: string
        }
        expect(result.status).toBe("failed")
        expect(result.error).toMatch(/time|300/i)
        expect(lastToolResult(server.requests[1]!)).toMatch(/^Error: /)
      })
    })
  })

  it("images a tool returns reach a model with the images capability, and only such a model", async () => {
    await withProject(async (p) => {
      await withModel(
        {
          turns: [
            call(
              "mcp__e2e__image",
              {},
              { repeat: true, match: (r) => r.messages.at(-1)?.role === "user" && r.messages.length <= 2 }
            ),
            { text: "seen", repeat: true }
          ]
        },
        async (server) => {
          // covers: models.*.capabilities.images
          const model = (images: boolean) =>
            providerToml(server, {
              model: images ? "eyes" : "blind",
              selectModel: false,
              provider: images ? "a" : "b",
              modelExtra: `capabilities = { images = ${images} }`
            })
          p.config([model(true), model(false), stdioServer("e2e")].join("\n"))
          const sent = (index: number) => JSON.stringify(server.requests[index]!.body.messages)
          expect((await p.strata(["run", "--model", "eyes", "look"])).code).toBe(0)
          expect(sent(1)).toContain("data:image/png;base64,iVBORw0KGgo")
          expect((await p.strata(["run", "--model", "blind", "look"])).code).toBe(0)
          expect(sent(3)).not.toContain("iVBORw0KGgo")
          expect(sent(3)).toContain("[image image/png]")
        }
      )
    })
  })

  it("HTTP servers: url, headers, and type (a server that speaks only streamable HTTP fails as `sse`)", async () => {
    const child = spawn(process.execPath, [path.join(fixtures, "mcp-http.mjs")], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    try {
      const port = await new Promise<string>((resolve) =>
        child.stdout.on("data", (d) => {
          const m = /PORT=(\d+)/.exec(String(d))
          if (m !== null) resolve(m[1]!)
        })
      )
      await withProject(async (p) => {
        await withModel({ turns: [call("mcp__web__headers", {}), { text: "ok" }] }, async (server) => {
          const url = `http://127.0.0.1:${port}/mcp`
          // covers: mcp_servers.*.url
          // covers: mcp_servers.*.headers
          // covers: mcp_servers.*.type
          p.config(
            [
              providerToml(server),
              `[mcp_servers.web]\nurl = ${q(url)}\ntype = "streamable-http"\nheaders = { x-e2e = "from-config" }\ntrust = "trusted"\n`,
              `[mcp_servers.legacy]\nurl = ${q(url)}\ntype = "sse"\nstartup_timeout = "5s"\ntrust = "trusted"\n`
            ].join("\n")
          )
          const run = await p.strata(["run", "headers"])
          expect(run.code, run.stderr).toBe(0)
          expect(toolNames(server.requests[0]!)).toEqual(["mcp__web__headers"])
          expect(JSON.parse(lastToolResult(server.requests[1]!))).toMatchObject({ "x-e2e": "from-config" })
          expect(run.stderr).toMatch(/mcp: legacy failed/)
        })
      })
    } finally {
      child.kill()
    }
  })
})

describe.concurrent("[mcp.restart]: a server that exits is restarted as configured", { timeout: 240_000 }, () => {
  /**
   * Runs a turn where the model makes the server crash `crashes` times,
   * then calls `echo`. `waitStarts` holds the model's next answer until the
   * server was started that many times (a restart happened).
   */
  const crashing = async (
    restart: string,
    crashes: number,
    waitStarts: ReadonlyArray<number>
  ): Promise<{ starts: number; echo: string }> =>
    withProject(async (p) => {
      const starts = path.join(p.dir, "starts.log")
      const turns = []
      for (let i = 0; i < crashes; i++) {
        const want = waitStarts[i]
        turns.push(
          call(
            "mcp__e2e__crash",
            {},
            {
              ...(i === 0 || want === undefined ? {} : { waitFor: () => until(() => lineCount(starts) >= want) })
            }
          )
        )
      }
      const last = waitStarts[crashes]
      turns.push(
        call(
          "mcp__e2e__echo",
          { text: "after" },
          last === undefined ? {} : { waitFor: () => until(() => lineCount(starts) >= last) }
        )
      )
      turns.push({ text: "done" })
      return withModel({ turns }, async (server) => {
        p.config(
          [providerToml(server), stdioServer("e2e", ["--starts", starts]), "[mcp.restart]", restart, ""].join("\n")
        )
        const run = await p.strata(["run", "crash it"])
        expect(run.code, run.stderr).toBe(0)
        return { starts: lineCount(starts), echo: lastToolResult(server.requests[crashes + 1]!) }
      })
    })

  // Then a moment for strata to take in the tool list it was just sent.
  const until = async (check: () => boolean) => {
    const deadline = Date.now() + 30_000
    while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
    await new Promise((r) => setTimeout(r, 250))
  }

  it("initial_delay: a short delay restarts the server before the next call; an hour does not", async () => {
    // covers: mcp.restart.initial_delay
    const quick = await crashing('initial_delay = "20ms"', 1, [1, 2])
    expect(quick).toEqual({ starts: 2, echo: "echo: after" })
    const slow = await crashing('initial_delay = "1h"', 1, [1])
    expect(slow.starts).toBe(1)
    expect(slow.echo).toMatch(/^Error: /)
  })

  it("max_attempts = 0 never restarts; max_delay caps the delay", async () => {
    // covers: mcp.restart.max_attempts
    const never = await crashing('initial_delay = "20ms"\nmax_attempts = 0', 1, [1])
    expect(never.starts).toBe(1)
    expect(never.echo).toMatch(/^Error: /)
    // covers: mcp.restart.max_delay
    const capped = await crashing('initial_delay = "1h"\nmax_delay = "20ms"', 1, [1, 2])
    expect(capped).toEqual({ starts: 2, echo: "echo: after" })
  })

  it("factor grows the delay after each restart; reset_after starts the count again once a connection stayed up", async () => {
    // covers: mcp.restart.factor
    // The second restart waits 20ms * 1e6: it does not happen while the run lasts.
    const grown = await crashing('initial_delay = "20ms"\nfactor = 1000000\nmax_delay = "10h"', 2, [1, 2])
    expect(grown.starts).toBe(2)
    expect(grown.echo).toMatch(/^Error: /)
    // covers: mcp.restart.reset_after
    // One attempt allowed in a row: a second crash is restarted only because the connection stayed up 1ms.
    const reset = await crashing('initial_delay = "20ms"\nmax_attempts = 1\nreset_after = "1ms"', 2, [1, 2, 3])
    expect(reset).toEqual({ starts: 3, echo: "echo: after" })
    const strict = await crashing('initial_delay = "20ms"\nmax_attempts = 1', 2, [1, 2])
    expect(strict.starts).toBe(2)
    expect(strict.echo).toMatch(/^Error: /)
  })
})
