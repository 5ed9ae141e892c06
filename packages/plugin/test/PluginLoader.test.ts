import * as Path from "@effect/platform/Path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { HookDispatcher } from "@strata/hooks"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { HookEvent, PluginLoader } from "../src/index.js"

const baseDir = Effect.flatMap(Path.Path, (path) => path.fromFileUrl(new URL("./fixtures/", import.meta.url))).pipe(
  Effect.orDie
)

const load = (specs: unknown) => Effect.flatMap(baseDir, (dir) => PluginLoader.load(specs, { baseDir: dir }))

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
    }).pipe(Effect.provide(Layer.mergeAll(NodeContext.layer, HookDispatcher.HookDispatcher.Default)))
  )
})
