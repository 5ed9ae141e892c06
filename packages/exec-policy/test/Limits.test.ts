/**
 * Huge and deeply nested input is decided within the limits or refused
 * (`ask`, with the reason); it never hangs or crashes the engine.
 */
import { expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { ExecPolicy } from "../src/index.js"
import { policyLayer, sampleRules } from "./utils.js"

const codes = (d: { reasons: ReadonlyArray<{ code: string }> }) => d.reasons.map((r) => r.code)

layer(policyLayer([sampleRules]))("limits", (it) => {
  it.effect("1 MB of input is refused with a reason, without parsing", () =>
    Effect.gen(function* () {
      const d = yield* ExecPolicy.check(`echo ${"a".repeat(1024 * 1024)}`)
      expect(d.decision).toBe("ask")
      expect(codes(d)).toEqual(["too-large"])
      expect(d.reasons[0]!.message).toContain("32768")
    })
  )

  it.effect("1 MB hidden behind an allowed prefix is still refused", () =>
    Effect.gen(function* () {
      const d = yield* ExecPolicy.check(`ls; ${"ls; ".repeat(262_144)}rm -rf /`)
      expect(d.decision).toBe("ask")
      expect(codes(d)).toEqual(["too-large"])
    })
  )

  it.effect("deeply nested subshells are refused", () =>
    Effect.gen(function* () {
      const d = yield* ExecPolicy.check(`${"(".repeat(1_000)}ls${")".repeat(1_000)}`)
      expect(d.decision).toBe("ask")
      expect(codes(d)).toContain("too-deep")
    })
  )

  it.effect("deeply nested command substitutions are refused", () =>
    Effect.gen(function* () {
      const d = yield* ExecPolicy.check(`echo ${"$(echo ".repeat(800)}x${")".repeat(800)}`)
      expect(d.decision).toBe("ask")
      expect(codes(d).some((c) => c === "too-deep" || c === "parse-error" || c === "time-budget")).toBe(true)
    })
  )

  it.effect("bash -c nested past the limit is refused", () =>
    Effect.gen(function* () {
      let command = "ls"
      for (let i = 0; i < 12; i++) command = `bash -c ${JSON.stringify(command)}`
      const d = yield* ExecPolicy.check(command)
      expect(d.decision).toBe("ask")
      expect(codes(d)).toContain("too-deep")
      let shallow = "ls"
      for (let i = 0; i < 4; i++) shallow = `bash -c ${JSON.stringify(shallow)}`
      expect((yield* ExecPolicy.check(shallow)).decision).toBe("allow")
    })
  )

  it.effect("an unbalanced flood of openers is refused, not a crash", () =>
    Effect.gen(function* () {
      for (const flood of [
        "$(".repeat(20_000),
        "`".repeat(30_001),
        "'".repeat(30_001),
        "{ ".repeat(20_000),
        "<<EOF\n".repeat(5_000)
      ]) {
        const d = yield* ExecPolicy.check(flood)
        expect(d.decision).toBe("ask")
        expect(d.reasons.length).toBeGreaterThan(0)
      }
    })
  )
})

// Generous limits: these tests are about deciding in full, not about speed.
layer(policyLayer([sampleRules], { maxInputLength: 200_000, timeBudgetMs: 60_000 }))("large input", (it) => {
  it.effect("large input under the limit is decided in full", () =>
    Effect.gen(function* () {
      const allowed = yield* ExecPolicy.check("ls -la; ".repeat(8_000))
      expect(allowed.decision).toBe("allow")
      expect(allowed.commands).toHaveLength(8_000)
      const denied = yield* ExecPolicy.check(`${"ls -la; ".repeat(7_000)}rm -rf /`)
      expect(denied.decision).toBe("deny")
    })
  )

  it.effect("a large here-document to an allowed command is decided", () =>
    Effect.gen(function* () {
      const body = "some text $HOME and more\n".repeat(2_000)
      const d = yield* ExecPolicy.check(`tee notes.txt <<EOF\n${body}EOF`)
      expect(d.decision).toBe("allow")
    })
  )
})

layer(policyLayer([sampleRules], { timeBudgetMs: 0 }))("time budget", (it) => {
  it.effect("a decision past its budget is ask, with the reason", () =>
    Effect.gen(function* () {
      const d = yield* ExecPolicy.check("ls -la | wc -l; ".repeat(1_500))
      expect(d.decision).toBe("ask")
      expect(codes(d)).toContain("time-budget")
    })
  )
})

layer(policyLayer([sampleRules], { maxInputLength: 10 }))("configurable size limit", (it) => {
  it.effect("refuses input over maxInputLength", () =>
    Effect.gen(function* () {
      expect((yield* ExecPolicy.check("ls")).decision).toBe("allow")
      const d = yield* ExecPolicy.check("ls -la /tmp/x")
      expect(d.decision).toBe("ask")
      expect(codes(d)).toEqual(["too-large"])
    })
  )
})
