// Tools shared by the runtime tests (real plugin tools built with defineTool).

import { ToolRegistry } from "@strata/core-runtime"
import { Tool as PluginTool } from "@strata/plugin"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

export const Add = PluginTool.define({
  name: "add",
  description: "Add two numbers",
  input: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
  output: Schema.Struct({ sum: Schema.Number }),
  run: ({ a, b }) => Effect.succeed({ sum: a + b })
})

export const Boom = PluginTool.define({
  name: "boom",
  description: "Always fails",
  input: Schema.Struct({}),
  output: Schema.String,
  run: () => Effect.fail(new Error("disk on fire"))
})

export const Sleep = PluginTool.define({
  name: "sleep",
  description: "Sleeps forever",
  input: Schema.Struct({}),
  output: Schema.String,
  run: () => Effect.never
})

/** A shell-flagged tool that records the commands it would run (the real one is plugins/shell). */
export const makeExec = () => {
  const ran: Array<string> = []
  const tool = PluginTool.define({
    name: "exec",
    description: "Run a shell command",
    input: Schema.Struct({ command: Schema.String.annotations({ description: "the command" }) }),
    output: Schema.String,
    shellCommand: ({ command }) => command,
    run: ({ command }) =>
      Effect.sync(() => {
        ran.push(command)
        return `ran: ${command}`
      })
  })
  return { tool, ran, runtimeTool: ToolRegistry.fromPlugin("shell", tool) }
}
