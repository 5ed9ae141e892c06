import { describe, expect, it } from "@effect/vitest"
import { Ids, ProtocolError, Thread, Tool } from "@strata/protocol"
import * as Arbitrary from "effect/Arbitrary"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"

const kinds = ["ThreadId", "MessageId", "CheckpointId", "JobId", "ToolCallId", "ApprovalId", "ResponseId"] as const

const hostile = ["../x", "a/b", "a\\b", "a\u0000b", "x".repeat(129), "", ".", "..", "a b", "é", "a\nb", "/etc/passwd"]

describe("Ids", () => {
  it("accepts the documented alphabet up to 128 characters", () => {
    for (const kind of kinds) {
      for (const ok of ["a", "thread-1", "A.b_c-9", "x".repeat(128), "...", ".a", "a.."]) {
        expect(Either.isRight(Ids.validateEither(kind, ok))).toBe(true)
      }
    }
  })

  it("rejects hostile ids with a typed InvalidId naming kind and field", () => {
    for (const kind of kinds) {
      for (const bad of hostile) {
        const result = Ids.validateEither(kind, bad, "thread_id")
        expect(Either.isLeft(result)).toBe(true)
        const error = Either.getLeft(result).pipe((o) => (o._tag === "Some" ? o.value : undefined))!
        expect(error._tag).toBe("InvalidId")
        expect(error.kind).toBe(kind)
        expect(error.field).toBe("thread_id")
        expect(error.message).toContain(kind)
        expect(error.message).toContain("thread_id")
      }
    }
  })

  it.effect("validate fails in the error channel", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Ids.validate("JobId", "a/../../b", "id"))
      expect(error).toBeInstanceOf(Ids.InvalidId)
      expect(error.message).toBe(
        'Invalid JobId in field "id": "a/../../b" must only contain [A-Za-z0-9._-] (found "/")'
      )
    })
  )

  it("rejects non-strings", () => {
    expect(Either.isLeft(Ids.validateEither("ThreadId", 42))).toBe(true)
    expect(Either.isLeft(Ids.validateEither("ThreadId", null))).toBe(true)
  })

  it("make produces valid, distinct ids", () => {
    const seen = new Set<string>()
    for (const kind of kinds) {
      const id = Ids.make(kind)
      expect(Ids.isValidId(id)).toBe(true)
      seen.add(id)
    }
    expect(seen.size).toBe(kinds.length)
  })

  it("property: every string the schema accepts is a safe key segment", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.string({ unit: "binary", maxLength: 140 }), (s) => {
        const ok = Either.isRight(Schema.decodeUnknownEither(Ids.ThreadId)(s))
        if (ok) {
          expect(s.length).toBeGreaterThan(0)
          expect(s.length).toBeLessThanOrEqual(128)
          expect(s).not.toMatch(/[/\\\u0000\s]/)
          expect(s === "." || s === "..").toBe(false)
        }
        expect(ok).toBe(Ids.isValidId(s))
      }),
      { numRuns: 2000 }
    )
  })

  it("property: arbitrary ids round-trip", () => {
    const arb = Arbitrary.make(Ids.ToolCallId)
    FastCheck.assert(
      FastCheck.property(arb, (id) => {
        expect(Schema.decodeUnknownSync(Ids.ToolCallId)(Schema.encodeSync(Ids.ToolCallId)(id))).toBe(id)
      })
    )
  })

  it("hostile ids inside a request name the field path", () => {
    for (const bad of hostile) {
      const result = ProtocolError.decodeUnknownEither(Thread.ThreadRequest)({ kind: "fork", thread_id: bad })
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) {
        expect(result.left._tag).toBe("DecodeError")
        expect(result.left.path).toBe("thread_id")
        expect(result.left.message).toContain("ThreadId")
      }
    }
    const nested = ProtocolError.decodeUnknownEither(Tool.ToolCall)({
      id: "ok",
      name: "x",
      arguments: {},
      thread_id: "../up"
    })
    expect(Either.isLeft(nested) && nested.left.path).toBe("thread_id")
  })
})
