/**
 * Plugins named in config, resolved from the project, through the built
 * `strata`: a package installed into a temp project from its `npm pack`
 * tarball (its `exports` honoured), a local folder (its `main`), a broken
 * file (a syntax error named `file:line:column`); `strata plugins list`
 * lists them all and marks the broken one.
 */
import { execFileSync } from "node:child_process"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt } from "../build.js"
import { call, fixtures, jsonLines, lastToolResult, providerToml, repoRoot, withModel, withProject } from "./harness.js"

beforeAll(() => ensureBuilt(), 300_000)

const npm = (cwd: string, args: ReadonlyArray<string>) =>
  execFileSync("npm", [...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, npm_config_update_notifier: "false" }
  })

const localPlugin = `import { definePlugin, defineTool } from "@strata/plugin"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

export default definePlugin({
  id: "local-tools",
  version: "0.0.1",
  tools: [
    defineTool({
      name: "upper",
      description: "Upper-cases a text",
      input: Schema.Struct({ text: Schema.String.annotations({ description: "The text" }) }),
      output: Schema.String,
      run: ({ text }) => Effect.succeed(text.toUpperCase())
    })
  ]
})
`

describe("plugins from the project", { timeout: 240_000 }, () => {
  it("a package from an npm pack tarball, a local folder and a broken optional file", async () => {
    await withProject(async (p) => {
      // The plugin package, packed as it would be published, installed into the project with its
      // peers (@strata/plugin and effect) linked from this workspace.
      const tarball = npm(p.dir, [
        "pack",
        "--silent",
        "--pack-destination",
        p.dir,
        path.join(fixtures, "word-count")
      ]).trim()
      p.write("package.json", JSON.stringify({ name: "e2e-project", version: "1.0.0", private: true }))
      npm(p.dir, [
        "install",
        "--offline",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        "--legacy-peer-deps",
        `./${tarball}`,
        path.join(repoRoot, "packages/plugin"),
        path.join(repoRoot, "node_modules/effect")
      ])
      p.write("plugins/local/package.json", JSON.stringify({ type: "module", main: "src/plugin.js" }))
      p.write("plugins/local/src/plugin.js", localPlugin)
      p.write("plugins/broken.js", 'export default {\n  id: "broken",\n  tools: [ oops ]]\n}\n')
      await withModel(
        {
          turns: [
            call("word-count__count", { text: "to be or not to be" }),
            call("local-tools__upper", { text: "loud" }),
            { text: "counted" }
          ]
        },
        async (server) => {
          // covers: plugins
          // covers: plugins.*.spec
          // covers: plugins.*.required
          p.config(
            [
              'plugins = ["@acme/strata-word-count", "./plugins/local", { spec = "./plugins/broken.js", required = false }]',
              providerToml(server)
            ].join("\n")
          )
          const list = await p.strata(["plugins", "list", "--json"])
          expect(list.code, list.stderr).toBe(0)
          const listed = (JSON.parse(list.stdout) as { plugins: Array<Record<string, any>> }).plugins
          expect(listed.map((x) => [x.spec, x.status, x.id])).toEqual([
            ["@strata/plugin-shell", "loaded", "shell"],
            ["@strata/plugin-fs", "loaded", "fs"],
            ["@strata/plugin-audit-log", "loaded", "audit-log"],
            ["@acme/strata-word-count", "loaded", "word-count"],
            ["./plugins/local", "loaded", "local-tools"],
            ["./plugins/broken.js", "broken", undefined]
          ])
          const broken = listed[5]!.error as { message: string; line: number; column: number }
          expect(broken.message).toContain(`${path.join(p.dir, "plugins/broken.js")}:3:`)
          expect(broken.message).toContain("SyntaxError")
          expect(broken.line).toBe(3)
          const text = await p.strata(["plugins", "list"])
          expect(text.stdout).toMatch(/\.\/plugins\/broken\.js {2}BROKEN \(optional, skipped\)/)

          const run = await p.strata(["run", "--json", "count"])
          expect(run.code, run.stderr).toBe(0)
          expect(server.requests[0]!.tools).toEqual(expect.arrayContaining(["word-count__count", "local-tools__upper"]))
          expect(JSON.parse(lastToolResult(server.requests[1]!))).toEqual({ words: 6 })
          expect(lastToolResult(server.requests[2]!)).toBe("LOUD")
          expect(jsonLines(run.stdout).at(-1)).toMatchObject({ event: "run_result", outcome: "completed" })
        }
      )
      // Required (the default), the broken plugin stops the session, naming file:line:column.
      p.config('plugins = ["./plugins/broken.js"]\n')
      const required = await p.strata(["run", "hi"], { env: { STRATA_DEMO: "1" } })
      expect(required.code).toBe(1)
      expect(required.stderr).toMatch(
        new RegExp(`${path.join(p.dir, "plugins/broken.js").replace(/[.]/g, "\\.")}:3:\\d+: SyntaxError`)
      )
      expect((await p.strata(["plugins", "list"])).code).toBe(1)
    })
  })
})
