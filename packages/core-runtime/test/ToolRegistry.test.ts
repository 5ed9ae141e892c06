// covers: issue 16 part 6
// `ToolRegistry.fromPlugin` is the one adapter of plugin tools: a definition
// and a built plugin's tool (its services provided, the sandbox and the
// plugin's jobs in its context) come out the same way. Redaction is not the
// adapter's: the invoker redacts every tool's output once (ToolInvoker.test.ts).
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { ToolRegistry } from "@strata/core-runtime"
import { definePlugin, defineTool, Plugin } from "@strata/plugin"
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import * as Sandbox from "@strata/sandbox/Sandbox"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

class Greeting extends Context.Tag("test/Greeting")<Greeting, { readonly word: string }>() {}

const Leak = defineTool({
  name: "leak",
  description: "Says the greeting and the secret",
  input: Schema.Struct({ name: Schema.String.annotations({ description: "who" }) }),
  output: Schema.Struct({ text: Schema.String, jobs: Schema.Boolean, sandboxed: Schema.Boolean }),
  shellCommand: ({ name }) => `echo ${name}`,
  fileAccess: ({ name }) => [{ path: name, access: "read" }],
  run: ({ name }, context) =>
    Effect.map(Greeting, (g) => ({
      text: `${g.word} ${name}: s3cr3t-token-value`,
      jobs: context.jobs !== undefined,
      sandboxed: context.sandbox !== undefined
    }))
})

const Fails = defineTool({
  name: "fails",
  description: "Fails naming the secret",
  input: Schema.Struct({ why: Schema.optional(Schema.String.annotations({ description: "why" })) }),
  output: Schema.String,
  run: () => Effect.fail(new Error("token s3cr3t-token-value rejected"))
})

const plugin = definePlugin({
  id: "greet",
  version: "1.0.0",
  tools: [Leak, Fails],
  layer: Layer.succeed(Greeting, { word: "hello" })
})

const sandbox = Sandbox.makeUnsandboxed({
  workspace: "/w",
  env: { E2E_TOKEN: "s3cr3t-token-value" },
  secretNames: ["E2E_TOKEN"]
})

const jobs = { enqueue: () => Effect.die("unused"), await: () => Effect.die("unused") }

describe("ToolRegistry.fromPlugin", () => {
  it.scoped(
    "a built plugin's tool: its services, the sandbox and the jobs in its context; output and errors as the tool gave them",
    () =>
      Effect.gen(function* () {
        const built = yield* Plugin.build(yield* Plugin.validate(plugin, "inline"))
        const [leak, fails] = built.tools.map((t) => ToolRegistry.fromPlugin(built.id, t, { jobs, sandbox }))
        expect(leak).toMatchObject({ name: "greet__leak", owner: "plugin:greet", description: Leak.description })
        // the definition's policy hooks survive the adaptation
        expect(leak!.shellCommand?.({ name: "x" })).toBe("echo x")
        expect(leak!.fileAccess?.({ name: "a.txt" })).toStrictEqual([{ path: "a.txt", access: "read" }])
        expect(yield* Effect.flip(leak!.validate({ name: 1 }))).toMatchObject({
          _tag: "ToolInputInvalid",
          tool: "greet__leak"
        })
        const output = yield* leak!.run({ name: "you" }, { call_id: "call-1" as never, cwd: "/w" })
        // redacted once, by the invoker, not here
        expect(output.structured).toStrictEqual({ text: "hello you: s3cr3t-token-value", jobs: true, sandboxed: true })
        const failure = yield* Effect.flip(fails!.run({}, { call_id: "call-2" as never, cwd: "/w" }))
        expect(failure).toMatchObject({ _tag: "ToolRunFailed", tool: "greet__fails" })
        expect(failure.detail).toBe(`Tool "greet__fails" failed: token s3cr3t-token-value rejected`)
      }).pipe(Effect.provide([NodeContext.layer, NodeWorkspace.layer({ durable: false })]))
  )

  it.effect("a definition adapts the same way", () =>
    Effect.gen(function* () {
      const tool = ToolRegistry.fromPlugin("greet", Fails)
      expect(tool).toMatchObject({ name: "greet__fails", owner: "plugin:greet" })
      const failure = yield* Effect.flip(tool.run({}, { call_id: "call-3" as never, cwd: "/w" }))
      expect(failure.detail).toContain("rejected")
    })
  )
})
