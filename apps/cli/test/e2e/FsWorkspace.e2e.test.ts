/**
 * The file tools on the host's `Workspace` through the built `strata`:
 * `@strata/plugin-fs` is platform-free (the session provides
 * `@strata/plugin/NodeWorkspace`), and a config naming it, by package name
 * or by its deprecated `/node` alias, gets the same one plugin, loaded
 * once. Each run writes and reads a real file through the model's tool
 * calls, and a write through a symlink leading out of the project is
 * refused (the race-safe port, not a lexical check), nothing written
 * outside.
 */
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import { call, jsonLines, providerToml, withModel, withProject } from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

/** The content of the tool message answering `callIndex`-th model request. */
const toolResults = (requests: ReadonlyArray<{ messages: ReadonlyArray<{ role: string; content: string }> }>) =>
  requests
    .at(-1)!
    .messages.filter((m) => m.role === "tool")
    .map((m) => m.content)

describe.concurrent("fs plugin on the host's Workspace", { timeout: 180_000 }, () => {
  for (const plugins of [undefined, "@strata/plugin-fs", "@strata/plugin-fs/node"]) {
    it(`file tools work with ${plugins === undefined ? "the built-in plugin only" : `plugins = ["${plugins}"]`}`, async () => {
      const outside = mkdtempSync(path.join(tmpdir(), "strata-fs-outside-"))
      try {
        await withProject(async (p) => {
          symlinkSync(outside, path.join(p.dir, "out"))
          await withModel(
            {
              turns: [
                call("fs__write_file", { path: "notes/a.txt", content: "written by the model\n" }),
                call("fs__read_file", { path: "notes/a.txt" }),
                call("fs__write_file", { path: "out/escape.txt", content: "x" }),
                { text: "done" }
              ]
            },
            async (server) => {
              // covers: plugins
              p.config(
                [...(plugins === undefined ? [] : [`plugins = ["${plugins}"]`]), providerToml(server)].join("\n")
              )
              const run = await p.strata(["run", "--json", "--yes", "write a note"])
              expect(run.code, run.stderr).toBe(0)
              expect(jsonLines(run.stdout).at(-1)).toMatchObject({ event: "run_result", outcome: "completed" })
              expect(server.requests[0]!.tools.filter((t) => t.startsWith("fs__"))).toHaveLength(6)
              expect(p.read("notes/a.txt")).toBe("written by the model\n")
              const [written, read, escaped] = toolResults(server.requests)
              expect(written).toContain("notes/a.txt")
              expect(read).toContain("written by the model")
              expect(escaped).toContain("outside the workspace")
              expect(readdirSync(outside)).toEqual([])

              const list = await p.strata(["plugins", "list", "--json"])
              expect(list.code, list.stderr).toBe(0)
              const listed = (JSON.parse(list.stdout) as { plugins: Array<Record<string, unknown>> }).plugins
              // named again (by package name or the deprecated alias), it is the built-in: listed once
              expect(listed.filter((x) => x.id === "fs").map((x) => [x.spec, x.status])).toEqual([
                ["@strata/plugin-fs", "loaded"]
              ])
            }
          )
        })
      } finally {
        rmSync(outside, { recursive: true, force: true })
      }
    })
  }
})
