/**
 * The exec policy starts loading when the model names a shell tool (issue
 * 19): `ToolInvoker.prepare` forks the deferred policy's `ready` (the bash
 * grammar and the check of the rules' examples) while the reply is still
 * being written, and the call's judgement then uses that same load. A turn
 * that names no shell tool never loads the grammar; a load that fails fails
 * the judgement as before (the background start swallows nothing).
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ToolInvoker, ToolRegistry, Turn } from "@strata/core-runtime"
import { ExecPolicy } from "@strata/exec-policy"
import * as Ids from "@strata/protocol/Ids"
import * as ScriptedModelServer from "@strata/testkit/node/ScriptedModelServer"
import type { Turn as ScriptedTurn } from "@strata/testkit/ScriptedModel"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Add, makeExec } from "./tools.js"
import { toolRuntime, turnRuntime } from "./turnRuntime.js"

const rules = `default = "ask"
[[rule]]
prefix = [["ls", "echo"]]
decision = "allow"
match = ["ls -la", "echo hi"]
not_match = ["rm -rf x"]
`

/** A deferred policy whose grammar is read through an effect that records each read. */
const deferredPolicy = (text: string) =>
  Effect.gen(function* () {
    const bytes = yield* ExecPolicy.loadGrammar.pipe(Effect.provide(NodeContext.layer))
    const asked = yield* Deferred.make<void>()
    let reads = 0
    const policy = yield* ExecPolicy.makeDeferred([{ file: "rules.toml", layer: "project", text }], {
      builtin: false,
      grammar: Effect.sync(() => {
        reads++
        return bytes
      }).pipe(Effect.zipLeft(Deferred.succeed(asked, undefined)))
    })
    return {
      policy,
      asked,
      get reads() {
        return reads
      }
    }
  })

type Policy = Effect.Effect.Success<ReturnType<typeof deferredPolicy>>

const invokerLayer = (policy: Policy) => toolRuntime({ policy: Layer.succeed(ExecPolicy.ExecPolicy, policy.policy) })

const register = Effect.gen(function* () {
  const registry = yield* ToolRegistry.ToolRegistry
  const exec = makeExec()
  yield* registry.register([ToolRegistry.fromPlugin("math", Add), exec.runtimeTool])
  return exec
})

const call = (name: string, args: unknown) => ({ id: Ids.make("ToolCallId"), name, arguments: args as never })

describe("ToolInvoker.prepare", () => {
  it.scoped("a shell tool named: the policy loads in the background, once, and the call is judged with that load", () =>
    Effect.gen(function* () {
      const p = yield* deferredPolicy(rules)
      yield* Effect.gen(function* () {
        yield* register
        const invoker = yield* ToolInvoker.ToolInvoker
        expect(invoker.prepare).toBeDefined()
        // a tool that runs no shell command needs no policy
        yield* invoker.prepare!("math__add")
        yield* invoker.prepare!("no_such_tool")
        expect(p.reads).toBe(0)
        // named: the load starts without the caller waiting for it
        yield* invoker.prepare!("shell__exec")
        yield* Deferred.await(p.asked)
        yield* p.policy.ready
        // named again (a second call in the reply): nothing more
        yield* invoker.prepare!("shell__exec")
        const allowed = yield* invoker.invokeTool(call("shell__exec", { command: "ls -la" }), "on-request", "/w")
        expect(allowed).toMatchObject({ ok: true, status: "completed" })
        const asked = yield* invoker.invokeTool(call("shell__exec", { command: "rm -rf x" }), "on-request", "/w")
        expect(asked.status).toBe("approval_required")
        expect(p.reads).toBe(1)
      }).pipe(Effect.provide(invokerLayer(p)))
    })
  )

  it.scoped("a policy whose examples fail: prepare does not fail, the load's error stays the policy's error", () =>
    Effect.gen(function* () {
      const p = yield* deferredPolicy('[[rule]]\nprefix = ["ls"]\ndecision = "allow"\nmatch = ["cat x"]\n')
      yield* Effect.gen(function* () {
        yield* register
        const invoker = yield* ToolInvoker.ToolInvoker
        yield* invoker.prepare!("shell__exec")
        const error = yield* Effect.flip(p.policy.ready)
        expect(error).toMatchObject({ _tag: "RuleFileError", reason: "ExampleFailed", file: "rules.toml" })
        // the call is not run: its judgement meets the same error
        const exec = yield* Effect.exit(invoker.invokeTool(call("shell__exec", { command: "ls" }), "on-request", "/w"))
        expect(exec._tag).toBe("Failure")
        expect(p.reads).toBe(1)
      }).pipe(Effect.provide(invokerLayer(p)))
    })
  )
})

/** A turn against a scripted model, with an invoker that records what the turn asked of it, in order. */
const withTurn = <A, E>(
  turns: ReadonlyArray<ScriptedTurn>,
  f: (seen: ReadonlyArray<string>, p: Policy) => Effect.Effect<A, E, Turn.TurnRunner>
) =>
  Effect.gen(function* () {
    const server = yield* ScriptedModelServer.make({ turns, strict: true })
    const p = yield* deferredPolicy(rules)
    const seen: Array<string> = []
    const recording = Layer.effect(
      ToolInvoker.ToolInvoker,
      Effect.gen(function* () {
        const real = yield* ToolInvoker.make()
        const prepare = real.prepare
        return {
          ...real,
          invokeTool: (c, approval, cwd) =>
            Effect.suspend(() => {
              seen.push(`invoke ${c.name}`)
              return real.invokeTool(c, approval, cwd)
            }),
          ...(prepare === undefined
            ? {}
            : {
                prepare: (name: string) =>
                  Effect.suspend(() => {
                    seen.push(`prepare ${name}`)
                    return prepare(name)
                  })
              })
        } satisfies ToolInvoker.Service
      })
    )
    const layer = turnRuntime({
      baseUrl: server.baseUrl("openai-compatible"),
      turn: { systemPrompt: "You are a test agent.", maxTurns: 4 },
      invoker: recording,
      policy: Layer.succeed(ExecPolicy.ExecPolicy, p.policy)
    })
    return yield* Effect.gen(function* () {
      yield* register
      return yield* f(seen, p)
    }).pipe(Effect.provide(layer))
  }).pipe(Effect.scoped)

describe("a turn and the policy's load", () => {
  it.live("the reply names a shell tool: the turn prepares it before the call is invoked", () =>
    withTurn(
      [
        {
          text: "Listing.",
          toolCalls: [
            { name: "math__add", arguments: { a: 1, b: 2 } },
            { name: "shell__exec", arguments: { command: "ls" } }
          ]
        },
        { text: "Done." }
      ],
      (seen, p) =>
        Effect.gen(function* () {
          const response = yield* (yield* Turn.TurnRunner).handlePrompt({ prompt: "list" })
          expect(response).toMatchObject({ outcome: "completed", output: "Done." })
          const shell = seen.indexOf("prepare shell__exec")
          expect(shell).toBeGreaterThanOrEqual(0)
          expect(shell).toBeLessThan(seen.indexOf("invoke shell__exec"))
          expect(seen.indexOf("prepare math__add")).toBeLessThan(seen.indexOf("invoke math__add"))
          expect(p.reads).toBe(1)
        })
    )
  )

  it.live("a reply with no tool call never loads the grammar", () =>
    withTurn([{ text: "Hello there." }], (seen, p) =>
      Effect.gen(function* () {
        const response = yield* (yield* Turn.TurnRunner).handlePrompt({ prompt: "hi" })
        expect(response).toMatchObject({ outcome: "completed", output: "Hello there." })
        expect(seen).toStrictEqual([])
        expect(p.reads).toBe(0)
      })
    )
  )
})
