/**
 * The hook conformance suite: proves that every declared hook event is
 * actually dispatched by the code path that owns it. A recorder hook on all
 * events (`event: "*"`), plus an observer subscription, watch a scripted
 * session; every expected event kind (`HookEvent.kinds`, restricted to the
 * owners under test) must be seen by the hook and on the observer stream,
 * and every event seen must be a valid `HookEvent`.
 *
 * Each owner reruns it with its real code path:
 *
 * ```ts
 * // packages/jobs/test/HookConformance.test.ts
 * import * as HookConformanceSuite from "../../hooks/test/HookConformanceSuite.js"
 * HookConformanceSuite.run("jobs", {
 *   owners: ["jobs"],
 *   layer: JobManager.layerMemory.pipe(Layer.provideMerge(HookDispatcher.Default)),
 *   session: Effect.gen(function* () { ... enqueue, run, complete a job ... })
 * })
 * ```
 *
 * With `commandRecorder: true` the suite also registers a command hook
 * recorder (`sh`), proving the events reach command hooks; the layer must
 * then provide `CommandExecutor` and `FileSystem` (`NodeContext.layer`).
 */
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as FileSystem from "@effect/platform/FileSystem"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { CommandHook, Hook, HookDispatcher, HookEvent } from "../src/index.js"

/**
 * The event kinds the given owners must dispatch.
 */
export const expectedKinds = (owners: ReadonlyArray<HookEvent.Owner> = ["core-runtime", "jobs", "mcp"]) =>
  HookEvent.kinds.filter((kind) =>
    owners.includes(HookEvent.catalog[kind.split(".")[0] as HookEvent.HookEventName].owner)
  )

/**
 * The expected kinds not among the seen ones, in declaration order.
 */
export const missing = (expected: ReadonlyArray<string>, seen: Iterable<string>): ReadonlyArray<string> => {
  const set = new Set(seen)
  return expected.filter((kind) => !set.has(kind))
}

/**
 * What the recorders saw.
 */
export interface Recording {
  /** Events received by the in-process recorder hook, in order. */
  readonly hooked: ReadonlyArray<HookEvent.HookEvent>
  /** Events reported as dispatched on the observer stream, in order. */
  readonly observed: ReadonlyArray<HookEvent.HookEvent>
  /** `hook_event_name` (and `phase`) of what the command recorder read on stdin, when enabled. */
  readonly commanded: ReadonlyArray<string> | undefined
}

const isHookEvent = Schema.is(HookEvent.HookEvent)

/**
 * Runs `session` with recorders installed and returns what they saw. The
 * command recorder needs `CommandExecutor` and `FileSystem` in the context
 * (`NodeContext.layer`); without them the run dies with a message saying so.
 */
export const record = <E, R>(
  session: Effect.Effect<void, E, R>,
  options: { readonly commandRecorder?: boolean } = {}
): Effect.Effect<Recording, unknown, HookDispatcher.HookDispatcher | R | Scope.Scope> =>
  Effect.gen(function* () {
    const hooks = yield* HookDispatcher.HookDispatcher
    const hooked: Array<HookEvent.HookEvent> = []
    const queue = yield* hooks.subscribe
    yield* hooks.register(
      Hook.define({
        event: "*",
        name: "recorder",
        priority: Number.MAX_SAFE_INTEGER,
        run: (event) =>
          Effect.sync(() => {
            hooked.push(event)
          })
      }),
      { owner: "conformance" }
    )
    let readCommanded: Effect.Effect<ReadonlyArray<string>, unknown> | undefined
    if (options.commandRecorder === true) {
      const fs = yield* Effect.serviceOption(FileSystem.FileSystem)
      const executor = yield* Effect.serviceOption(CommandExecutor.CommandExecutor)
      if (Option.isNone(fs) || Option.isNone(executor)) {
        return yield* Effect.dieMessage("commandRecorder needs CommandExecutor and FileSystem (NodeContext.layer)")
      }
      const file = yield* registerCommandRecorder.pipe(
        Effect.provideService(FileSystem.FileSystem, fs.value),
        Effect.provideService(CommandExecutor.CommandExecutor, executor.value)
      )
      readCommanded = Effect.map(fs.value.readFileString(file), (text) =>
        text
          .split("\n")
          .filter((line) => line.trim() !== "")
          .map((line) => HookEvent.kindOf(JSON.parse(line)))
      )
    }
    yield* session
    const observed = Chunk.toReadonlyArray(yield* Queue.takeAll(queue)).flatMap((a) =>
      a._tag === "EventDispatched" ? [a.event] : []
    )
    const commanded = readCommanded === undefined ? undefined : yield* readCommanded
    return { hooked, observed, commanded }
  })

/** A command hook on every event that appends its stdin (one JSON line) to a temp file. */
const registerCommandRecorder = Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped()
  const file = `${dir}/events.jsonl`
  const table = Object.fromEntries(
    HookEvent.names.map((name) => [name, [{ command: 'cat >> "$RECORD_FILE"; echo >> "$RECORD_FILE"', name }]])
  )
  const specs = yield* CommandHook.fromConfig(table)
  yield* CommandHook.register(specs, { owner: "conformance-command", env: { RECORD_FILE: file }, cwd: dir })
  return file
})

/**
 * Options of the suite: the layer under test (must provide the
 * `HookDispatcher` the session dispatches on), the scripted session, the
 * owners whose events must be seen, and whether to check command hooks too.
 */
export interface Options<E, R> {
  readonly layer: Layer.Layer<HookDispatcher.HookDispatcher | R, E>
  readonly session: Effect.Effect<void, unknown, HookDispatcher.HookDispatcher | R | Scope.Scope>
  readonly owners?: ReadonlyArray<HookEvent.Owner>
  readonly commandRecorder?: boolean
}

/**
 * Registers the suite with Vitest.
 */
export const run = <E, R>(name: string, options: Options<E, R>) =>
  describe(`hook conformance: ${name}`, () => {
    const expected = expectedKinds(options.owners)

    it.scopedLive("every declared event is dispatched to hooks and to observers, as a valid HookEvent", () =>
      Effect.gen(function* () {
        const recording = yield* record(options.session, { commandRecorder: options.commandRecorder ?? false })
        expect(missing(expected, recording.hooked.map(HookEvent.kindOf)), "not seen by the recorder hook").toEqual([])
        expect(missing(expected, recording.observed.map(HookEvent.kindOf)), "not seen on the observer stream").toEqual(
          []
        )
        // every event the hook saw was dispatched, and vice versa
        expect(recording.observed.map(HookEvent.kindOf)).toEqual(recording.hooked.map(HookEvent.kindOf))
        for (const event of recording.hooked) {
          expect(isHookEvent(event), `invalid event: ${JSON.stringify(event)}`).toBe(true)
        }
        if (recording.commanded !== undefined) {
          expect(missing(expected, recording.commanded), "not seen by the command hook recorder").toEqual([])
        }
      }).pipe(Effect.provide(options.layer))
    )
  })
