import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import * as Profile from "../src/Profile.js"

describe("Profile", () => {
  it("is asked for by the flag or a non-empty, non-zero STRATA_PROFILE_STARTUP", () => {
    expect(Profile.requested(["node", "strata", "run", "--profile-startup", "hi"], {})).toBe(true)
    expect(Profile.requested(["node", "strata", "run", "hi"], { STRATA_PROFILE_STARTUP: "1" })).toBe(true)
    expect(Profile.requested(["node", "strata", "run", "hi"], { STRATA_PROFILE_STARTUP: "0" })).toBe(false)
    expect(Profile.requested(["node", "strata", "run", "hi"], { STRATA_PROFILE_STARTUP: "" })).toBe(false)
    expect(Profile.requested(["node", "strata", "run", "hi"], {})).toBe(false)
  })

  it("records the spans an effect opens, nested, with their times relative to the process start", async () => {
    let clock = 1000
    const recorder = Profile.make(Date.now() - 50, () => clock)
    recorder.mark("modules loaded")
    const program = Effect.gen(function* () {
      yield* Effect.sleep("5 millis").pipe(Effect.withSpan("Inner", { attributes: { plugin: "fs" } }))
      yield* Effect.sleep("1 millis").pipe(Effect.withSpan("Repeated"))
      yield* Effect.sleep("1 millis").pipe(Effect.withSpan("Repeated"))
      yield* Effect.sleep("1 millis").pipe(Effect.withSpan("Runtime.modelCall"))
    }).pipe(Effect.withSpan("Outer"))
    await Effect.runPromise(Effect.withTracer(program, recorder.tracer))
    const names = recorder.phases.map((p) => [p.name, p.depth])
    expect(names).toEqual([
      ["Outer", 0],
      ["Inner fs", 1],
      ["Repeated", 1],
      ["Repeated", 1],
      ["Runtime.modelCall", 1]
    ])
    const outer = recorder.phases[0]!
    const inner = recorder.phases[1]!
    expect(outer.end).toBeDefined()
    expect(inner.start).toBeGreaterThanOrEqual(outer.start)
    expect(inner.end! - inner.start).toBeGreaterThanOrEqual(4)
    expect(outer.start).toBeGreaterThan(40) // the origin was 50 ms before
    clock = 1234.5
    const report = recorder.report({ peakRssBytes: 64 * 1024 * 1024 })
    expect(report).toContain("modules loaded")
    expect(report).toMatch(/Inner fs/)
    expect(report).toMatch(/Repeated {2}\(x2, [\d.]+ ms in all\)/)
    expect(report).toMatch(/first request to the model at [\d.]+ ms/)
    expect(report).toContain("ended at 1234.5 ms")
    expect(report).toContain("peak RSS 64.0 MiB")
  })
})
