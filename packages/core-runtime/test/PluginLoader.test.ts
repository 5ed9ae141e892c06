import { execFileSync } from "node:child_process"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { HookDispatcher } from "@strata/hooks"
import { HookEvent } from "@strata/plugin"
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import * as Workspace from "@strata/plugin/Workspace"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PluginLoader from "../src/PluginLoader.js"

const baseDir = Effect.flatMap(Path.Path, (path) =>
  path.fromFileUrl(new URL("./fixtures/plugins/", import.meta.url))
).pipe(Effect.orDie)

const load = (specs: unknown) => Effect.flatMap(baseDir, (dir) => PluginLoader.load(specs, { baseDir: dir }))

/** A fixture plugin module's URL (a variable, so the type checker does not look for its types). */
const localPlugin = new URL("./fixtures/plugins/local-plugin.mjs", import.meta.url).href

describe("PluginLoader", () => {
  it.effect("loads a local file relative to the base dir and a package by name", () =>
    Effect.gen(function* () {
      const result = yield* load(["./local-plugin.mjs", "@strata/plugin-sample-guard", "./named-export.mjs"])
      expect(result.skipped).toEqual([])
      expect(result.plugins.map((p) => [p.spec, p.plugin.id, p.required])).toEqual([
        ["./local-plugin.mjs", "local", true],
        ["@strata/plugin-sample-guard", "sample-guard", true],
        ["./named-export.mjs", "named", true]
      ])
      expect(result.plugins[0]!.plugin.manifest.tools.map((t) => t.name)).toEqual(["local__echo"])
      expect(result.plugins[1]!.plugin.manifest.tools.map((t) => t.name)).toEqual(["sample-guard__check_command"])
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.effect("modules: a spec the distribution bundles is imported through its function, not looked up", () =>
    Effect.gen(function* () {
      const dir = yield* baseDir
      const imported: Array<string> = []
      const modules = {
        // not in node_modules anywhere: only the map can answer it
        "@acme/bundled-only": () => {
          imported.push("@acme/bundled-only")
          return import(localPlugin)
        },
        "@acme/broken": () => Promise.reject(new Error("bundle chunk missing")),
        "@acme/empty": () => Promise.resolve({})
      }
      const result = yield* PluginLoader.load(
        ["@acme/bundled-only", { spec: "@acme/broken", required: false }, { spec: "@acme/empty", required: false }],
        { baseDir: dir, modules }
      )
      expect(imported).toEqual(["@acme/bundled-only"])
      expect(result.plugins.map((p) => [p.spec, p.plugin.id])).toEqual([["@acme/bundled-only", "local"]])
      expect(result.skipped.map((e) => [e.plugin, e.reason])).toEqual([
        ["@acme/broken", "ImportFailed"],
        ["@acme/empty", "InvalidPlugin"]
      ])
      expect(result.skipped[0]!.message).toContain("bundle chunk missing")
      // a spec not in the map still resolves from the project
      const other = yield* PluginLoader.load(["./named-export.mjs"], { baseDir: dir, modules })
      expect(other.plugins.map((p) => p.plugin.id)).toEqual(["named"])
      // inherited keys of the map are not specs
      const inherited = Object.create({ "@acme/inherited": () => import(localPlugin) })
      const proto = yield* Effect.either(PluginLoader.load(["@acme/inherited"], { baseDir: dir, modules: inherited }))
      expect(proto._tag === "Left" && proto.left.reason).toBe("NotFound")
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.effect("a plugin that fails to load gives a typed error naming it", () =>
    Effect.gen(function* () {
      const cases: Array<[string, string, string]> = [
        ["./missing.mjs", "NotFound", "missing.mjs"],
        ["@strata/no-such-plugin", "NotFound", "@strata/no-such-plugin"],
        ["./throws.mjs", "ImportFailed", "boom at import time"],
        ["./missing-dependency.mjs", "ImportFailed", "strata-package-that-does-not-exist"],
        ["./not-a-plugin.mjs", "InvalidPlugin", "does not export a plugin"],
        ["./no-default.mjs", "InvalidPlugin", "no default export"]
      ]
      for (const [spec, reason, text] of cases) {
        const error = yield* Effect.flip(load([spec]))
        expect(error.plugin, spec).toBe(spec)
        expect(error.reason, spec).toBe(reason)
        expect(error.message, spec).toContain(text)
        expect(error.message, spec).toContain(JSON.stringify(spec))
      }
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.effect("with required = false a failing plugin is skipped and the others load", () =>
    Effect.gen(function* () {
      const result = yield* load([
        { spec: "./throws.mjs", required: false },
        "./local-plugin.mjs",
        { spec: "./missing.mjs", required: false }
      ])
      expect(result.plugins.map((p) => p.plugin.id)).toEqual(["local"])
      expect(result.skipped.map((e) => [e.plugin, e.reason])).toEqual([
        ["./throws.mjs", "ImportFailed"],
        ["./missing.mjs", "NotFound"]
      ])
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.effect("plugin id collisions are errors naming both owners", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(load(["./local-plugin.mjs", "./same-id.mjs"]))
      expect(error.reason).toBe("Collision")
      expect(error.plugin).toBe("./same-id.mjs")
      expect(error.other).toBe("./local-plugin.mjs")
      expect(error.message).toContain('plugin id "local" is used by both ./local-plugin.mjs and ./same-id.mjs')
      const optional = yield* load(["./local-plugin.mjs", { spec: "./same-id.mjs", required: false }])
      expect(optional.plugins.map((p) => p.spec)).toEqual(["./local-plugin.mjs"])
      expect(optional.skipped[0]!.reason).toBe("Collision")
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.effect("a plugin named again (a deprecated alias, the same spec) is one plugin, loaded once", () =>
    Effect.gen(function* () {
      const dir = yield* baseDir
      const specs = ["@strata/plugin-fs", "@strata/plugin-fs/node", "./local-plugin.mjs", "@strata/plugin-fs"]
      const result = yield* PluginLoader.load(specs, { baseDir: dir })
      expect(result.skipped).toEqual([])
      expect(result.plugins.map((p) => [p.spec, p.plugin.id])).toEqual([
        ["@strata/plugin-fs", "fs"],
        ["./local-plugin.mjs", "local"]
      ])
      const listed = yield* PluginLoader.inspect(specs, { baseDir: dir })
      expect(listed.map((p) => [p.spec, p._tag])).toEqual([
        ["@strata/plugin-fs", "Loaded"],
        ["./local-plugin.mjs", "Loaded"]
      ])
      // another object with the same id still collides
      const error = yield* Effect.flip(load(["./local-plugin.mjs", "./same-id.mjs", "./local-plugin.mjs"]))
      expect(error.reason).toBe("Collision")
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("install gives plugins the host's Workspace: @strata/plugin-fs and its /node alias write through it", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "strata-loader-ws-" })
      for (const spec of ["@strata/plugin-fs", "@strata/plugin-fs/node"]) {
        const result = yield* PluginLoader.install([spec], { baseDir: yield* baseDir })
        const write = result.plugins[0]!.tools.find((t) => t.name === "fs__write_file")!
        const file = `${spec.endsWith("/node") ? "alias" : "main"}.txt`
        yield* write.invoke({ path: file, content: "text" }, { call_id: "c1" as never, cwd: dir })
        // the host's Workspace (here one that marks what it writes) did the write
        expect(yield* fs.readFileString(`${dir}/${file}`)).toBe("host:text")
      }
    }).pipe(
      Effect.provide(
        Layer.mergeAll(
          NodeContext.layer,
          Layer.effect(
            Workspace.Workspace,
            Effect.map(NodeWorkspace.make({ durable: false }), (ws) =>
              Workspace.Workspace.of({
                ...ws,
                writeFile: (root, path, text, o) => ws.writeFile(root, path, `host:${text}`, o)
              })
            )
          ),
          HookDispatcher.HookDispatcher.Default
        )
      )
    )
  )

  it.effect("invalid config specs name the entry", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(load(["./local-plugin.mjs", 42]))
      expect(error.reason).toBe("InvalidPlugin")
      expect(error.path).toBe("plugins[1]")
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("install builds and registers; an optional plugin whose layer fails is skipped", () =>
    Effect.gen(function* () {
      const dir = yield* baseDir
      const result = yield* PluginLoader.install(
        ["./local-plugin.mjs", { spec: "./bad-layer.mjs", required: false }, "@strata/plugin-sample-guard"],
        { baseDir: dir }
      )
      expect(result.plugins.map((p) => p.id)).toEqual(["local", "sample-guard"])
      expect(result.skipped.map((e) => [e.plugin, e.reason])).toEqual([["bad-layer", "LayerFailed"]])
      const hooks = yield* HookDispatcher.HookDispatcher
      const prompt = yield* hooks.dispatch(HookEvent.UserPromptSubmit.make({ prompt: "hi" }))
      expect(prompt.additionalContext).toEqual(["from local"])
      const required = yield* Effect.flip(PluginLoader.install(["./bad-layer.mjs"], { baseDir: dir }))
      expect(required.reason).toBe("LayerFailed")
    }).pipe(
      Effect.provide(
        Layer.mergeAll(
          NodeContext.layer,
          NodeWorkspace.layer({ durable: false }),
          HookDispatcher.HookDispatcher.Default
        )
      )
    )
  )

  it.scoped("resolves package names from the project's node_modules, honouring exports and main", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const fixtures = yield* baseDir
      const project = yield* fs.makeTempDirectoryScoped({ prefix: "strata-plugin-project-" })
      const local = yield* fs.readFileString(path.join(fixtures, "local-plugin.mjs"))
      // The fixture imports @strata/plugin and effect: this project links them, as a workspace would.
      const write = (file: string, text: string) =>
        Effect.zipRight(
          fs.makeDirectory(path.dirname(path.join(project, file)), { recursive: true }),
          fs.writeFileString(path.join(project, file), text)
        )
      const link = (name: string) =>
        Effect.zipRight(
          fs.makeDirectory(path.dirname(path.join(project, "node_modules", name)), { recursive: true }),
          fs.symlink(
            path.dirname(
              execFileSync(process.execPath, ["-p", `require.resolve("${name}/package.json")`], {
                cwd: fixtures,
                encoding: "utf8"
              }).trim()
            ),
            path.join(project, "node_modules", name)
          )
        )
      yield* link("effect")
      yield* link("@strata/plugin")
      const pkg = (name: string, manifest: object, files: Record<string, string>) =>
        Effect.gen(function* () {
          yield* write(`node_modules/${name}/package.json`, JSON.stringify({ name, type: "module", ...manifest }))
          for (const [file, text] of Object.entries(files)) yield* write(`node_modules/${name}/${file}`, text)
        })
      const plugin = (id: string) =>
        local.replace('id: "local"', `id: "${id}"`).replace('name: "echo"', `name: "${id}_echo"`)
      yield* pkg(
        "@acme/exports",
        { exports: { ".": { require: "./nope.cjs", import: "./lib/plugin.js" }, "./extra/*": "./lib/extra/*.js" } },
        { "lib/plugin.js": plugin("exported"), "lib/extra/more.js": plugin("more") }
      )
      yield* pkg("acme-main", { main: "lib/entry.js" }, { "lib/entry.js": plugin("main") })
      yield* pkg("acme-index", {}, { "index.js": plugin("index") })
      yield* pkg("acme-unbuilt", { exports: "./dist/index.js" }, {})
      yield* write("plugins/folder/package.json", JSON.stringify({ type: "module", main: "./src/p.js" }))
      yield* write("plugins/folder/src/p.js", plugin("folder"))
      const result = yield* PluginLoader.load(
        ["@acme/exports", "@acme/exports/extra/more", "acme-main", "acme-index", "./plugins/folder"],
        { baseDir: project }
      )
      expect(result.plugins.map((p) => p.plugin.id)).toEqual(["exported", "more", "main", "index", "folder"])
      const unbuilt = yield* Effect.flip(PluginLoader.load(["acme-unbuilt"], { baseDir: project }))
      expect(unbuilt.reason).toBe("NotFound")
      expect(unbuilt.message).toContain("does not exist (is the package built?)")
      const unexported = yield* Effect.flip(PluginLoader.load(["@acme/exports/private"], { baseDir: project }))
      expect(unexported.message).toContain('"exports" has no entry for "./private"')
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("a syntax error or a throw at import names file:line:column; inspect reports every plugin", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const fixtures = yield* baseDir
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "strata-plugin-syntax-" })
      yield* fs.writeFileString(path.join(dir, "bad.mjs"), 'export default {\n  id: "x",\n  oops oops\n}\n')
      yield* fs.writeFileString(path.join(dir, "throws.mjs"), "const a = 1\n\nthrow new Error('boom')\n")
      // What the CLI passes on Node: `node --check` prints file:line and a caret under the column.
      const locateSyntaxError = (file: string) =>
        Effect.sync(() => {
          try {
            execFileSync(process.execPath, ["--check", file], { stdio: "pipe" })
            return undefined
          } catch (e) {
            const lines = String((e as { stderr?: unknown }).stderr).split("\n")
            const line = Number(/:(\d+)$/.exec(lines[0] ?? "")?.[1])
            const caret = (lines[2] ?? "").indexOf("^")
            return { file, line, ...(caret < 0 ? {} : { column: caret + 1 }) }
          }
        })
      // Vitest imports through Vite's transform, whose parse errors differ from Node's: this importer rejects
      // as Node's import() does on a syntax error (a SyntaxError without a location). The end-to-end test
      // in apps/cli runs the real Node import.
      const FakeNodeImport = () => Promise.reject(new SyntaxError("Unexpected identifier 'oops'"))
      const syntax = yield* Effect.flip(
        PluginLoader.load([path.join(dir, "bad.mjs")], {
          baseDir: dir,
          locateSyntaxError,
          importModule: FakeNodeImport
        })
      )
      expect(syntax.reason).toBe("ImportFailed")
      expect(syntax.message).toContain(`${path.join(dir, "bad.mjs")}:3:8: SyntaxError: Unexpected identifier 'oops'`)
      expect([syntax.line, syntax.column]).toEqual([3, 8])
      const thrown = yield* Effect.flip(PluginLoader.load(["./throws.mjs"], { baseDir: dir }))
      expect(thrown.message).toContain(`${path.join(dir, "throws.mjs")}:3:7: boom`)
      const listed = yield* PluginLoader.inspect(["./throws.mjs", path.join(fixtures, "local-plugin.mjs")], {
        baseDir: dir
      })
      expect(listed.map((p) => [p.spec.replace(fixtures, "<fixtures>"), p._tag])).toEqual([
        ["./throws.mjs", "Failed"],
        ["<fixtures>local-plugin.mjs", "Loaded"]
      ])
    }).pipe(Effect.provide(NodeContext.layer))
  )
})
