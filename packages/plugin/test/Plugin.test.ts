import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { HookDispatcher } from "@strata/hooks"
import { Ids } from "@strata/protocol"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { defineHook, definePlugin, defineTool, HookEvent, HookOutput, Job, Plugin } from "../src/index.js"
import * as NodeWorkspace from "../src/NodeWorkspace.js"
import * as Workspace from "../src/Workspace.js"

/** What a host gives plugins (`Plugin.HostPlatform`): the platform and the workspace port. */
const Host = Layer.merge(NodeContext.layer, NodeWorkspace.layer({ durable: false }))

class Greeting extends Context.Tag("test/Greeting")<Greeting, { readonly word: string }>() {}

const Greet = defineTool({
  name: "greet",
  description: "Greet someone",
  input: Schema.Struct({ who: Schema.String.annotations({ description: "who to greet" }) }),
  output: Schema.String,
  run: ({ who }) => Effect.map(Greeting, ({ word }) => `${word}, ${who}`)
})

const greeter = definePlugin({
  id: "greeter",
  version: "1.0.0",
  description: "Greets",
  tools: [Greet],
  hooks: [
    defineHook({
      event: "UserPromptSubmit",
      run: (e) => Effect.map(Greeting, ({ word }) => HookOutput.addContext(`${word} ${e.prompt}`))
    }),
    defineHook({ event: ["PreToolUse", "PostToolUse"], name: "audit", matcher: "greeter__*", run: () => Effect.void })
  ],
  layer: Layer.succeed(Greeting, { word: "Hello" })
})

const invalid = (value: unknown) => Effect.flip(Plugin.validate(value, "./p.js"))

const tool = (overrides: Record<string, unknown>) => ({ ...Greet, ...overrides })

describe("Plugin", () => {
  it.effect("validate computes the manifest: namespaced tools with JSON Schemas, hook ids", () =>
    Effect.gen(function* () {
      const plugin = yield* Plugin.validate(greeter)
      expect(plugin.id).toBe("greeter")
      expect(plugin.source).toBe("inline")
      expect(plugin.manifest).toMatchObject({
        id: "greeter",
        version: "1.0.0",
        description: "Greets",
        has_layer: true,
        tools: [{ name: "greeter__greet", local_name: "greet", description: "Greet someone" }],
        hooks: [
          { id: "greeter/UserPromptSubmit#1", events: ["UserPromptSubmit"], priority: 0 },
          { id: "greeter/audit", events: ["PreToolUse", "PostToolUse"], matcher: "greeter__*", priority: 0 }
        ]
      })
      expect(plugin.manifest.tools[0]!.input_schema).toMatchObject({
        properties: { who: { description: "who to greet" } }
      })
      // the manifest is plain, serializable data
      expect(Schema.decodeUnknownSync(Plugin.PluginManifest)(JSON.parse(JSON.stringify(plugin.manifest)))).toEqual(
        plugin.manifest
      )
      // `name` is accepted as the id
      expect((yield* Plugin.validate({ name: "by-name", version: "1" })).id).toBe("by-name")
    })
  )

  it.effect("validate rejects invalid plugins with InvalidPlugin naming the field", () =>
    Effect.gen(function* () {
      const cases: Array<[unknown, string | undefined, string]> = [
        [42, undefined, "does not export a plugin"],
        [{ id: "Bad_Id", version: "1" }, "id", "lowercase"],
        [{ id: "a__b", version: "1" }, "id", "lowercase"],
        [{ id: "ok" }, "version", "version"],
        [{ id: "ok", version: "1", tools: {} }, "tools", "array"],
        [{ id: "ok", version: "1", tools: [tool({ name: "a__b" })] }, "tools[0].name", "never"],
        [{ id: "ok", version: "1", tools: [tool({ description: " " })] }, "tools[0].description", "description"],
        [{ id: "ok", version: "1", tools: [tool({ input: { type: "object" } })] }, "tools[0].input", "Schema"],
        [{ id: "ok", version: "1", tools: [tool({ run: undefined })] }, "tools[0].run", "run"],
        [
          { id: "ok", version: "1", tools: [tool({ input: Schema.Struct({ who: Schema.String }) })] },
          "tools[0].input.who",
          "no description"
        ],
        [{ id: "ok", version: "1", tools: [tool({ input: Schema.String })] }, "tools[0].input", "Struct"],
        [{ id: "ok", version: "1", tools: [Greet, Greet] }, "tools[1].name", "defined twice"],
        [{ id: "ok", version: "1", tools: [tool({ name: "x".repeat(70) })] }, "tools[0].name", "longer than 64"],
        [
          { id: "ok", version: "1", hooks: [{ event: "PreToolUze", run: () => Effect.void }] },
          "hooks[0].event",
          "PreToolUze"
        ],
        [{ id: "ok", version: "1", hooks: [{ event: "Stop" }] }, "hooks[0].run", "run"],
        [
          { id: "ok", version: "1", hooks: [{ event: "PreToolUse", matcher: "/(/", run: () => Effect.void }] },
          "hooks[0].matcher",
          "regular expression"
        ],
        [{ id: "ok", version: "1", layer: {} }, "layer", "Layer"]
      ]
      for (const [value, path, text] of cases) {
        const error = yield* invalid(value)
        expect(error.reason, JSON.stringify(path)).toBe("InvalidPlugin")
        expect(error.path, text).toBe(path)
        expect(error.message, String(path)).toContain(text)
        expect(error.message).toContain('"./p.js"')
      }
    })
  )

  it.scoped(
    "install builds the layer, provides it to tools and hooks, and registers the hooks under the plugin id",
    () =>
      Effect.gen(function* () {
        const plugin = yield* Plugin.validate(greeter)
        const built = yield* Plugin.install(plugin)
        const [greet] = built.tools
        expect(greet!.name).toBe("greeter__greet")
        expect(greet!.owner).toBe("greeter")
        expect(yield* greet!.invoke({ who: "Ada" }, { call_id: Ids.unsafeMake("ToolCallId", "c1") })).toBe("Hello, Ada")
        const hooks = yield* HookDispatcher.HookDispatcher
        expect((yield* hooks.hooks).map((h) => h.id)).toEqual(plugin.manifest.hooks.map((h) => h.id))
        const result = yield* hooks.dispatch(HookEvent.UserPromptSubmit.make({ prompt: "world" }))
        expect(result.additionalContext).toEqual(["Hello world"])
      }).pipe(Effect.provide([HookDispatcher.HookDispatcher.Default, Host]))
  )

  it.scoped("a layer that fails gives LayerFailed naming the plugin", () =>
    Effect.gen(function* () {
      const plugin = yield* Plugin.validate({
        id: "needs-key",
        version: "1",
        layer: Layer.effectDiscard(Effect.fail(new Error("API key missing")))
      })
      const error = yield* Effect.flip(Plugin.build(plugin))
      expect(error.reason).toBe("LayerFailed")
      expect(error.message).toBe(
        'Plugin "needs-key" failed to load (LayerFailed): the plugin\'s layer failed to build: API key missing'
      )
    }).pipe(Effect.provide(Host))
  )

  it.scoped("installing the same plugin twice collides on its hook names, naming the owner", () =>
    Effect.gen(function* () {
      const plugin = yield* Plugin.validate(greeter)
      yield* Plugin.install(plugin)
      const error = yield* Effect.flip(Plugin.install(plugin))
      expect(error.reason).toBe("Collision")
      expect(error.message).toContain("greeter/")
    }).pipe(Effect.provide([HookDispatcher.HookDispatcher.Default, Host]))
  )

  it.scoped("the host's platform reaches a plugin's tools and layer: the plugin ships none", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "strata-plugin-host-" })
      class Root extends Context.Tag("test/Root")<Root, string>() {}
      const Note = defineTool({
        name: "note",
        description: "Writes a note into the root",
        input: Schema.Struct({ text: Schema.String.annotations({ description: "the note" }) }),
        output: Schema.String,
        run: ({ text }) =>
          Effect.gen(function* () {
            const fs = yield* FileSystem.FileSystem
            const path = yield* Path.Path
            const file = path.join(yield* Root, "note.txt")
            yield* Effect.orDie(fs.writeFileString(file, text))
            return file
          })
      })
      // the layer itself needs the platform (Path) and provides only the plugin's own service
      const plugin = yield* Plugin.validate(
        definePlugin({
          id: "notes",
          version: "1",
          tools: [Note],
          layer: Layer.effect(
            Root,
            Effect.map(Path.Path, (path) => path.join(dir, "."))
          )
        })
      )
      const built = yield* Plugin.build(plugin)
      const file = yield* built.tools[0]!.invoke({ text: "hi" }, { call_id: Ids.unsafeMake("ToolCallId", "c9") })
      expect(yield* fs.readFileString(String(file))).toBe("hi")
    }).pipe(Effect.provide(Host))
  )

  // A tool that writes through the Workspace port; which Workspace it got shows in the file.
  const Save = defineTool({
    name: "save",
    description: "Saves a note in the workspace",
    input: Schema.Struct({ text: Schema.String.annotations({ description: "the note" }) }),
    output: Schema.String,
    fileAccess: () => [{ path: "note.txt", access: "write" }],
    run: ({ text }, context) =>
      Effect.flatMap(Workspace.Workspace, (ws) =>
        ws.writeFile(context.cwd, "note.txt", text, Workspace.policyOf(context))
      ).pipe(Effect.map((written) => written.real))
  })
  /** A Workspace of the plugin's own: the SDK's, marking what it writes. */
  const marking = Layer.effect(
    Workspace.Workspace,
    Effect.map(NodeWorkspace.make({ durable: false }), (ws) =>
      Workspace.Workspace.of({
        ...ws,
        writeFile: (root, path, text, options) => ws.writeFile(root, path, `own:${text}`, options)
      })
    )
  )

  it.scoped("the host's Workspace reaches a plugin's tools: the plugin ships none", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "strata-plugin-ws-" })
      const built = yield* Plugin.build(
        yield* Plugin.validate(definePlugin({ id: "saver", version: "1", tools: [Save] }))
      )
      const file = yield* built.tools[0]!.invoke(
        { text: "hi" },
        { call_id: Ids.unsafeMake("ToolCallId", "c10"), cwd: dir }
      )
      expect(yield* fs.readFileString(String(file))).toBe("hi")
      // the host's port, not a lexical check: a symlink leading out is refused, nothing written outside
      const outside = yield* fs.makeTempDirectoryScoped({ prefix: "strata-plugin-out-" })
      yield* fs.remove(String(file))
      yield* fs.symlink(`${outside}/note.txt`, `${dir}/note.txt`)
      const refused = yield* Effect.flip(
        built.tools[0]!.invoke({ text: "x" }, { call_id: Ids.unsafeMake("ToolCallId", "c11"), cwd: dir })
      )
      expect(refused.message).toContain("outside")
      expect(yield* fs.exists(`${outside}/note.txt`)).toBe(false)
    }).pipe(Effect.provide(Host))
  )

  it.scoped("a plugin whose layer provides its own Workspace uses its own; other plugins keep the host's", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const own = yield* fs.makeTempDirectoryScoped({ prefix: "strata-plugin-own-" })
      const host = yield* fs.makeTempDirectoryScoped({ prefix: "strata-plugin-host-" })
      const withOwn = yield* Plugin.build(
        yield* Plugin.validate(definePlugin({ id: "own-ws", version: "1", tools: [Save], layer: marking }))
      )
      const withHost = yield* Plugin.build(
        yield* Plugin.validate(definePlugin({ id: "host-ws", version: "1", tools: [Save] }))
      )
      const call = { call_id: Ids.unsafeMake("ToolCallId", "c12") }
      const a = yield* withOwn.tools[0]!.invoke({ text: "a" }, { ...call, cwd: own })
      const b = yield* withHost.tools[0]!.invoke({ text: "b" }, { ...call, cwd: host })
      expect(yield* fs.readFileString(String(a))).toBe("own:a")
      expect(yield* fs.readFileString(String(b))).toBe("b")
    }).pipe(Effect.provide(Host))
  )
})

describe("job kinds", () => {
  it.scoped("are validated, named <plugin>__<kind> in the manifest, and built with the plugin's services", () =>
    Effect.gen(function* () {
      const Count = Context.GenericTag<{ readonly n: number }>("test/Count")
      const withJob = Plugin.define({
        id: "jobs-demo",
        version: "1.0.0",
        jobs: [Job.define({ kind: "tick", description: "ticks", run: () => Effect.map(Count, (c) => c.n) })],
        layer: Layer.succeed(Count, { n: 7 })
      })
      const plugin = yield* Plugin.validate(withJob)
      expect(plugin.manifest.jobs).toEqual([{ name: "jobs-demo__tick", kind: "tick", description: "ticks" }])
      const built = yield* Plugin.build(plugin)
      expect(built.jobs.map((j) => j.kind)).toEqual(["jobs-demo__tick"])
      const run = { id: "job-1", input: undefined, attempt: 1, progress: () => Effect.void, checkpoint: Effect.void }
      expect(yield* built.jobs[0]!.run(run)).toBe(7)
      const bad = yield* Effect.flip(
        Plugin.validate({ id: "x", version: "1", jobs: [{ kind: "Bad Kind", run: () => Effect.void }] })
      )
      expect([bad.reason, bad.path]).toEqual(["InvalidPlugin", "jobs[0].kind"])
    }).pipe(Effect.provide(Host))
  )
})
