import { describe, expect, it } from "@effect/vitest"
import { Ids } from "@strata/protocol"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Hook, HookActivity, HookDispatcher, HookError, HookEvent, HookOutput } from "../src/index.js"

const callId = Ids.unsafeMake("ToolCallId", "call-1")

const preToolUse = (tool_name: string, tool_input: HookEvent.PreToolUse["tool_input"] = { command: "ls" }) =>
  HookEvent.PreToolUse.make({ tool_name, tool_input, tool_use_id: callId, session_id: "s-1" })

const layer = HookDispatcher.HookDispatcher.Default

const order = (log: Array<string>, name: string, output?: HookOutput.HookOutput, priority?: number) =>
  Hook.define({
    event: "PreToolUse",
    name,
    ...(priority === undefined ? {} : { priority }),
    run: () =>
      Effect.sync(() => {
        log.push(name)
        return output
      })
  })

describe("HookDispatcher", () => {
  it.scoped("with no hooks the decision is none and the event is unchanged", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      const event = preToolUse("exec")
      const result = yield* hooks.dispatch(event)
      expect(result.decision).toBe("none")
      expect(result.event).toBe(event)
      expect(result.hooks).toBe(0)
      expect(result.continue).toBe(true)
    }).pipe(Effect.provide(layer))
  )

  it.scoped("runs hooks by priority (higher first), then in registration order", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      const log: Array<string> = []
      yield* hooks.register([order(log, "a"), order(log, "b", undefined, 5)], { owner: "p1" })
      yield* hooks.register([order(log, "c"), order(log, "d", undefined, 5), order(log, "e", undefined, -1)], {
        owner: "p2"
      })
      yield* hooks.dispatch(preToolUse("exec"))
      expect(log).toEqual(["b", "d", "a", "c", "e"])
      const listed = yield* hooks.hooks
      expect(listed.map((h) => h.id)).toEqual(["p1/b", "p2/d", "p1/a", "p2/c", "p2/e"])
    }).pipe(Effect.provide(layer))
  )

  it.scoped("the strictest decision wins and a deny ends the chain", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      const log: Array<string> = []
      yield* hooks.register([
        order(log, "allow", HookOutput.allow("fine")),
        order(log, "ask", HookOutput.ask("check with a person")),
        order(log, "allow2", HookOutput.allow())
      ])
      const asked = yield* hooks.dispatch(preToolUse("exec"))
      expect(asked.decision).toBe("ask")
      expect(asked.reason).toBe("check with a person")
      expect(asked.decidedBy).toBe("app/ask")
      expect(log).toEqual(["allow", "ask", "allow2"])

      log.length = 0
      yield* hooks.register([order(log, "deny", HookOutput.deny("no"), -1), order(log, "after", undefined, -2)])
      const denied = yield* hooks.dispatch(preToolUse("exec"))
      expect(denied.decision).toBe("deny")
      expect(denied.reason).toBe("no")
      expect(log).toEqual(["allow", "ask", "allow2", "deny"])
    }).pipe(Effect.provide(layer))
  )

  it.scoped("rewrites chain: each hook sees the previous rewrite, each rewrite is re-validated", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      const seen: Array<unknown> = []
      yield* hooks.register([
        Hook.define({
          event: "PreToolUse",
          run: (e) => {
            seen.push(e.tool_input)
            return Effect.succeed(HookOutput.updateInput({ command: "ls -la" }))
          }
        }),
        Hook.define({
          event: "PreToolUse",
          run: (e) => {
            seen.push(e.tool_input)
            const input = e.tool_input as { command: string }
            return Effect.succeed(HookOutput.updateInput({ command: `${input.command} /tmp` }))
          }
        })
      ])
      const validated: Array<unknown> = []
      const Input = Schema.Struct({ command: Schema.String })
      const result = yield* hooks.dispatch(preToolUse("exec"), {
        validateInput: (input) =>
          Schema.decodeUnknown(Input)(input).pipe(
            Effect.tap((i) => validated.push(i)),
            Effect.as(input)
          )
      })
      expect(seen).toEqual([{ command: "ls" }, { command: "ls -la" }])
      expect(validated).toEqual([{ command: "ls -la" }, { command: "ls -la /tmp" }])
      expect(result.event.tool_input).toEqual({ command: "ls -la /tmp" })
      expect(result.updatedInput).toEqual({ command: "ls -la /tmp" })
      expect(result.decision).toBe("none")
    }).pipe(Effect.provide(layer))
  )

  it.scoped("a rewrite that fails validation is a hook error: denied on PreToolUse, input kept", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      yield* hooks.register(
        Hook.define({ event: "PreToolUse", name: "bad", run: () => Effect.succeed(HookOutput.updateInput({ cmd: 1 })) })
      )
      const Input = Schema.Struct({ command: Schema.String })
      const result = yield* hooks.dispatch(preToolUse("exec"), {
        validateInput: (input) => Effect.as(Schema.decodeUnknown(Input)(input), input)
      })
      expect(result.decision).toBe("deny")
      expect(result.event.tool_input).toEqual({ command: "ls" })
      expect(result.errors).toHaveLength(1)
      expect(result.errors[0]!.reason).toBe("InvalidUpdatedInput")
      expect(result.errors[0]!.message).toContain("command")
      expect(result.reason).toContain("app/bad")
    }).pipe(Effect.provide(layer))
  )

  it.scoped("prompt rewrites must be strings", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      yield* hooks.register([
        Hook.define({
          event: "UserPromptSubmit",
          run: (e) => Effect.succeed(HookOutput.updateInput(`${e.prompt} (be brief)`))
        }),
        Hook.define({ event: "UserPromptSubmit", run: () => Effect.succeed(HookOutput.updateInput(42)) })
      ])
      const result = yield* hooks.dispatch(HookEvent.UserPromptSubmit.make({ prompt: "hello" }))
      expect(result.event.prompt).toBe("hello (be brief)")
      expect(result.errors.map((e) => e.reason)).toEqual(["InvalidUpdatedInput"])
      // UserPromptSubmit defaults to on_error = allow
      expect(result.decision).toBe("none")
    }).pipe(Effect.provide(layer))
  )

  it.scoped("additional context accumulates in order; continue: false stops the turn and the chain", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      const log: Array<string> = []
      yield* hooks.register([
        order(log, "ctx1", HookOutput.addContext("the repo uses pnpm")),
        order(log, "ctx2", { ...HookOutput.addContext("tests live in test/"), systemMessage: "heads up" }),
        order(log, "stop", HookOutput.stop("budget exhausted")),
        order(log, "never")
      ])
      const result = yield* hooks.dispatch(preToolUse("exec"))
      expect(result.additionalContext).toEqual(["the repo uses pnpm", "tests live in test/"])
      expect(result.systemMessages).toEqual(["heads up"])
      expect(result.continue).toBe(false)
      expect(result.stopReason).toBe("budget exhausted")
      expect(log).toEqual(["ctx1", "ctx2", "stop"])
    }).pipe(Effect.provide(layer))
  )

  it.scoped("matchers select by the event's match target", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      const log: Array<string> = []
      const on = (name: string, matcher: string) =>
        Hook.define({
          event: ["PreToolUse", "McpStartupUpdate", "Stop"],
          name,
          matcher,
          run: (e) =>
            Effect.sync(() => {
              log.push(`${name}:${HookEvent.matchTarget(e) ?? e.hook_event_name}`)
            })
        })
      yield* hooks.register([
        on("exact", "exec"),
        on("alt", "read_file|write_file"),
        on("glob", "mcp__*"),
        on("regex", "/^git_(status|diff)$/"),
        on("server", "github")
      ])
      for (const tool of ["exec", "exec2", "write_file", "mcp__github__search", "git_diff", "git_log"]) {
        yield* hooks.dispatch(preToolUse(tool))
      }
      yield* hooks.dispatch(HookEvent.McpStartupUpdate.make({ server_name: "github", status: "ready" }))
      // Stop has no match target: every hook on it runs, whatever its matcher
      yield* hooks.dispatch(HookEvent.Stop.make({ stop_hook_active: false }))
      expect(log).toEqual([
        "exact:exec",
        "alt:write_file",
        "glob:mcp__github__search",
        "regex:git_diff",
        "server:github",
        "exact:Stop",
        "alt:Stop",
        "glob:Stop",
        "regex:Stop",
        "server:Stop"
      ])
    }).pipe(Effect.provide(layer))
  )

  it.scopedLive("hook failures become hook errors resolved by on_error; the dispatch never fails", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      yield* hooks.register([
        Hook.define({ event: ["PreToolUse", "PostToolUse"], name: "fails", run: () => Effect.fail("boom") }),
        Hook.define({
          event: ["PreToolUse", "PostToolUse"],
          name: "throws",
          run: () => {
            throw new Error("thrown")
          }
        }),
        Hook.define({ event: ["PreToolUse", "PostToolUse"], name: "dies", run: () => Effect.die(new Error("died")) }),
        Hook.define({
          event: ["PreToolUse", "PostToolUse"],
          name: "garbage",
          run: () => Effect.succeed(42 as unknown as HookOutput.HookOutput)
        }),
        Hook.define({
          event: ["PreToolUse", "PostToolUse"],
          name: "hangs",
          timeout: "50 millis",
          run: () => Effect.never
        }),
        Hook.define({
          event: ["PreToolUse", "PostToolUse"],
          name: "typed",
          run: () => Effect.fail(new HookError.HookFailure({ reason: "Crashed", detail: "custom" }))
        })
      ])
      const post = yield* hooks.dispatch(
        HookEvent.PostToolUse.make({
          tool_name: "exec",
          tool_input: {},
          tool_use_id: callId,
          tool_response: { content: [] }
        })
      )
      expect(post.errors.map((e) => [e.hook, e.reason, e.on_error])).toEqual([
        ["app/fails", "Failed", "allow"],
        ["app/throws", "Defect", "allow"],
        ["app/dies", "Defect", "allow"],
        ["app/garbage", "InvalidOutput", "allow"],
        ["app/hangs", "Timeout", "allow"],
        ["app/typed", "Crashed", "allow"]
      ])
      expect(post.errors[1]!.message).toBe("thrown")
      expect(post.decision).toBe("none")
      // PreToolUse defaults to on_error = deny: the first failure denies and ends the chain
      const pre = yield* hooks.dispatch(preToolUse("exec"))
      expect(pre.decision).toBe("deny")
      expect(pre.reason).toBe("hook app/fails failed (Failed): boom")
      expect(pre.errors).toHaveLength(1)
    }).pipe(Effect.provide(layer))
  )

  it.live("an asynchronous hook that answers within its timeout is waited for", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      yield* hooks.register([
        Hook.define({
          event: "PreToolUse",
          timeout: "5 seconds",
          run: () => Effect.as(Effect.sleep("20 millis"), HookOutput.ask("slow but sure"))
        }),
        Hook.define({
          event: "PreToolUse",
          run: () => Effect.promise(() => Promise.resolve(HookOutput.addContext("p")))
        })
      ])
      const result = yield* hooks.dispatch(preToolUse("exec"))
      expect(result).toMatchObject({ decision: "ask", reason: "slow but sure", additionalContext: ["p"], errors: [] })
    }).pipe(Effect.provide(layer), Effect.scoped)
  )

  it.scoped("on_error = allow on PreToolUse lets the call through", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      yield* hooks.register(Hook.define({ event: "PreToolUse", onError: "allow", run: () => Effect.fail("x") }))
      const result = yield* hooks.dispatch(preToolUse("exec"))
      expect(result.decision).toBe("none")
      expect(result.errors[0]!.on_error).toBe("allow")
    }).pipe(Effect.provide(layer))
  )

  it.scoped("observer events ignore outputs, and events that cannot decide drop decisions", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      yield* hooks.register(
        Hook.define({
          event: ["ResponseDelta", "SessionStart"],
          run: () => Effect.succeed({ ...HookOutput.deny("no"), ...HookOutput.addContext("ctx") })
        })
      )
      const delta = yield* hooks.dispatch(
        HookEvent.ResponseDelta.make({ response_id: Ids.unsafeMake("ResponseId", "r1"), delta: "hi" })
      )
      expect(delta.decision).toBe("none")
      expect(delta.additionalContext).toEqual([])
      const start = yield* hooks.dispatch(HookEvent.SessionStart.make({ source: "startup" }))
      expect(start.decision).toBe("none")
      expect(start.additionalContext).toEqual(["ctx"])
    }).pipe(Effect.provide(layer))
  )

  it.scoped("invalid definitions fail with a HookConfigError naming the entry, and register nothing", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      const ok = Hook.define({ event: "Stop", run: () => Effect.void })
      const unknown = yield* Effect.flip(
        hooks.register([ok, { event: "PreToolUze", run: () => Effect.void } as unknown as Hook.Any], { owner: "p" })
      )
      expect(unknown.reason).toBe("UnknownEvent")
      expect(unknown.path).toBe("hooks[1].event")
      expect(unknown.message).toContain("PreToolUze")
      expect(unknown.message).toContain("in p")
      const matcher = yield* Effect.flip(hooks.register({ ...ok, matcher: "/(unclosed/" }))
      expect(matcher.reason).toBe("InvalidMatcher")
      expect(matcher.path).toBe("hooks[0].matcher")
      const timeout = yield* Effect.flip(hooks.register({ ...ok, timeout: -5 }))
      expect(timeout.path).toBe("hooks[0].timeout")
      expect(yield* hooks.hooks).toEqual([])

      yield* hooks.register({ ...ok, name: "guard" }, { owner: "p" })
      const duplicate = yield* Effect.flip(hooks.register({ ...ok, name: "guard" }, { owner: "p" }))
      expect(duplicate.reason).toBe("DuplicateName")
      expect(duplicate.message).toContain('"p/guard"')
    }).pipe(Effect.provide(layer))
  )

  it.effect("hooks are unregistered when their scope closes", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      const scope = yield* Scope.make()
      yield* hooks
        .register(Hook.define({ event: "PreToolUse", run: () => Effect.succeed(HookOutput.deny("x")) }))
        .pipe(Scope.extend(scope))
      expect((yield* hooks.dispatch(preToolUse("exec"))).decision).toBe("deny")
      yield* Scope.close(scope, Option.none() as never)
      expect((yield* hooks.dispatch(preToolUse("exec"))).decision).toBe("none")
    }).pipe(Effect.provide(layer))
  )

  it.scoped("the observer stream sees every dispatched event and every hook outcome", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      const queue = yield* hooks.subscribe
      yield* hooks.register([
        Hook.define({ event: "PreToolUse", name: "ok", run: () => Effect.succeed(HookOutput.allow("fine")) }),
        Hook.define({ event: "PreToolUse", name: "bad", onError: "allow", run: () => Effect.fail("nope") })
      ])
      yield* hooks.dispatch(preToolUse("exec"))
      yield* hooks.dispatch(HookEvent.Stop.make({ stop_hook_active: false }))
      const seen = Chunk.toReadonlyArray(yield* Queue.takeAll(queue))
      expect(seen.map((a) => a._tag)).toEqual(["HookCompleted", "HookError", "EventDispatched", "EventDispatched"])
      const [completed, failed, dispatched] = seen
      expect(completed).toMatchObject({ hook: "app/ok", decision: "allow", kind: "in-process" })
      expect(failed).toMatchObject({ hook: "app/bad", reason: "Failed", message: "nope", on_error: "allow" })
      expect(dispatched).toMatchObject({ decision: "allow", hooks: 2, errors: 1 })
      // every activity is a valid, serializable HookActivity
      for (const activity of seen) {
        expect(Schema.is(HookActivity.HookActivity)(activity)).toBe(true)
        JSON.stringify(Schema.encodeSync(HookActivity.HookActivity)(activity))
      }
      expect(Option.getOrThrow(HookActivity.toProtocolEvent(failed!))).toMatchObject({
        event: "hook_outcome",
        hook_event: "PreToolUse",
        hook: "app/bad",
        error: "Failed: nope"
      })
      expect(Option.isNone(HookActivity.toProtocolEvent(dispatched!))).toBe(true)
    }).pipe(Effect.provide(layer))
  )

  it.scoped("the events stream delivers to a running consumer", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      const ready = yield* Deferred.make<void>()
      const fiber = yield* hooks.events.pipe(
        Stream.tap(() => Deferred.succeed(ready, undefined)),
        Stream.filter((a) => a._tag === "EventDispatched"),
        Stream.take(2),
        Stream.runCollect,
        Effect.fork
      )
      // keep dispatching until the consumer is subscribed (it subscribes asynchronously)
      while (!(yield* Deferred.isDone(ready))) {
        yield* hooks.notify(HookEvent.Notification.make({ message: "ping" }))
        yield* Effect.yieldNow()
      }
      yield* hooks.notify(HookEvent.Notification.make({ message: "last" }))
      const events = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
      expect(events).toHaveLength(2)
    }).pipe(Effect.provide(layer))
  )

  it.live("interrupting a dispatch interrupts the running hook", () =>
    Effect.gen(function* () {
      const hooks = yield* HookDispatcher.HookDispatcher
      const started = yield* Deferred.make<void>()
      const released = yield* Deferred.make<void>()
      yield* hooks.register(
        Hook.define({
          event: "PreToolUse",
          run: () =>
            Deferred.succeed(started, undefined).pipe(
              Effect.zipRight(Effect.never),
              Effect.onInterrupt(() => Deferred.succeed(released, undefined))
            )
        })
      )
      const fiber = yield* Effect.fork(hooks.dispatch(preToolUse("exec")))
      yield* Deferred.await(started)
      yield* Fiber.interrupt(fiber)
      expect(yield* Deferred.isDone(released)).toBe(true)
    }).pipe(Effect.provide(layer), Effect.scoped)
  )
})
