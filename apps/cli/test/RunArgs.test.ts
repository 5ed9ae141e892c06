// The `strata run` fast path reads the common command lines without the
// command-line parser: whatever it reads, it must read exactly as
// `@effect/cli` does with the real `run` options (a differential property
// test over command lines made of flags, boolean words and prompt words).
import * as Command from "@effect/cli/Command"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { describe, expect, it } from "vitest"
import { runConfig } from "../src/commands/run.js"
import { type RunOptions, simpleRun } from "../src/commands/runTurn.js"

/** What `@effect/cli` parses `strata ARGS` into (the options the `run` handler gets), or undefined on a usage error. */
const parsed = (args: ReadonlyArray<string>): Promise<RunOptions | undefined> => {
  let got: RunOptions | undefined
  const cli = Command.run(
    Command.make("strata").pipe(
      Command.withSubcommands([Command.make("run", runConfig, (o) => Effect.sync(() => void (got = o)))])
    ),
    { name: "strata", version: "0.0.0" }
  )
  // Process.ts takes --verbose and --profile-startup out before the parser sees the command line
  const argv = ["node", "strata", ...args.filter((a) => a !== "--verbose" && a !== "--profile-startup")]
  return Effect.runPromise(
    cli(argv).pipe(
      Effect.as(got),
      Effect.map(() => got),
      Effect.catchAll(() => Effect.succeed(undefined)),
      Effect.provide(NodeContext.layer),
      Logger.withMinimumLogLevel(LogLevel.None)
    )
  )
}

const normal = (o: RunOptions) => ({ ...o, prompt: [...o.prompt] })

describe("strata run fast path", () => {
  it("reads the common forms", () => {
    expect(simpleRun(["run", "--json", "-y", "list", "files"])).toMatchObject({
      prompt: ["list", "files"],
      json: true,
      yes: true
    })
    expect(simpleRun(["run", "--verbose", "hi", "--profile-startup"])).toMatchObject({ prompt: ["hi"], json: false })
    expect(simpleRun(["run"])).toMatchObject({ prompt: [] })
  })

  it("leaves everything else to the parser", () => {
    for (const args of [
      ["status"],
      ["run", "--model", "m", "hi"],
      ["run", "hi", "--json"],
      ["run", "--json", "false"],
      ["run", "-y", "yes", "do", "it"],
      ["run", "--help"],
      ["run", "--", "hi"],
      ["run", "-yj", "hi"]
    ])
      expect(simpleRun(args)).toBeUndefined()
  })

  it("reads what it reads exactly as @effect/cli does (property)", async () => {
    const word = FastCheck.constantFrom(
      "--json",
      "--yes",
      "-y",
      "--verbose",
      "--profile-startup",
      "true",
      "false",
      "yes",
      "no",
      "on",
      "0",
      "1",
      "hi",
      "list the files",
      "run",
      "",
      "--model",
      "x"
    )
    await FastCheck.assert(
      FastCheck.asyncProperty(FastCheck.array(word, { maxLength: 6 }), async (words) => {
        const args = ["run", ...words]
        const fast = simpleRun(args)
        if (fast === undefined) return true
        const slow = await parsed(args)
        expect(slow).toBeDefined()
        expect(normal(fast)).toEqual(normal(slow!))
        return true
      }),
      { numRuns: 1000 }
    )
  })
})
