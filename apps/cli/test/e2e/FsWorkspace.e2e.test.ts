/**
 * The file tools on the host's `Workspace` through the built `strata`:
 * `@strata/plugin-fs` is platform-free (the session provides
 * `@strata/plugin/NodeWorkspace`), and a config naming it, by package name
 * or by its deprecated `/node` alias, gets the same one plugin, loaded
 * once. Each run writes and reads a real file through the model's tool
 * calls, and a write through a symlink leading out of the project is
 * refused (the race-safe port, not a lexical check), nothing written
 * outside. A project's plugin whose layer provides its own `Workspace`
 * keeps its own (it shadows the host's, for that plugin only).
 */
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import { call, jsonLines, linkWorkspace, providerToml, withModel, withProject } from "./harness.js"

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

  // A third-party plugin that ships its own Workspace (the pre-0.2 way): its own shadows the host's, for it only.
  const ownWorkspacePlugin = `import { definePlugin, defineTool } from "@strata/plugin"
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import * as Workspace from "@strata/plugin/Workspace"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

const own = Layer.effect(
  Workspace.Workspace,
  Effect.map(NodeWorkspace.make({ durable: false }), (ws) =>
    Workspace.Workspace.of({ ...ws, writeFile: (root, path, text, o) => ws.writeFile(root, path, "own:" + text, o) })
  )
)
export default definePlugin({
  id: "notes",
  version: "0.0.1",
  tools: [
    defineTool({
      name: "save",
      description: "Saves a note",
      input: Schema.Struct({ text: Schema.String.annotations({ description: "The note" }) }),
      output: Schema.String,
      fileAccess: () => [{ path: "note.txt", access: "write" }],
      run: ({ text }, context) =>
        Effect.flatMap(Workspace.Workspace, (ws) => ws.writeFile(context.cwd, "note.txt", text, Workspace.policyOf(context))).pipe(
          Effect.map((w) => w.relative)
        )
    })
  ],
  layer: own
})
`

  it("a project plugin whose layer provides its own Workspace keeps it; other plugins keep the host's", async () => {
    await withProject(async (p) => {
      linkWorkspace(p, ["@strata/plugin", "effect"])
      p.write("plugins/notes.js", ownWorkspacePlugin)
      // the same plugin without a layer: its copy of the SDK's Workspace tag finds the host's
      p.write(
        "plugins/plain.js",
        ownWorkspacePlugin
          .replace('id: "notes"', 'id: "plain"')
          .replace("  layer: own\n", "")
          .replace(/note\.txt/g, "plain.txt")
      )
      await withModel(
        {
          turns: [
            call("notes__save", { text: "mine" }),
            call("plain__save", { text: "host's" }),
            call("fs__write_file", { path: "host.txt", content: "theirs" }),
            { text: "done" }
          ]
        },
        async (server) => {
          p.config(['plugins = ["./plugins/notes.js", "./plugins/plain.js"]', providerToml(server)].join("\n"))
          const run = await p.strata(["run", "--json", "--yes", "save"])
          expect(run.code, run.stderr).toBe(0)
          expect(p.read("note.txt")).toBe("own:mine")
          expect(p.read("plain.txt")).toBe("host's")
          expect(p.read("host.txt")).toBe("theirs")
        }
      )
    })
  })
})
