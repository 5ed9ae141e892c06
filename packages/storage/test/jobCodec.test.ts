// The hand-written job record check against the protocol's schema: it
// accepts exactly what the schema accepts unchanged (a differential
// property test, so the two cannot drift apart).

import { assert, describe, it } from "@effect/vitest"
import * as Job from "@strata/protocol/Job"
import * as Arbitrary from "effect/Arbitrary"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { isJobRecord } from "../src/internal/jobCodec.js"

const isRecord = Schema.is(Job.JobRecord)
const record = Arbitrary.make(Job.JobRecord)

/** Whether every object in `u` has only the schema's keys (what the fast check also requires). */
const exactKeys = (u: Job.JobRecord): boolean => {
  const recordKeys = [
    "id",
    "name",
    "status",
    "progress",
    "detail",
    "input",
    "retry",
    "history",
    "created_at",
    "updated_at",
    "revision",
    "owner"
  ]
  return (
    Object.keys(u).every((k) => recordKeys.includes(k)) &&
    Object.keys(u.retry).length === 5 &&
    u.history.every((h) => Object.keys(h).length === 7)
  )
}

const bad: ReadonlyArray<unknown> = [
  -1,
  1.5,
  101,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  "x",
  "",
  null,
  undefined,
  true,
  [],
  {},
  "../etc",
  "queued",
  { __proto__: null }
]

const fresh = <A>(a: A): A => JSON.parse(JSON.stringify(a)) as A

describe("job record fast check", () => {
  it("accepts what the schema accepts (property)", () => {
    FastCheck.assert(
      FastCheck.property(record, (r) => {
        const copy = fresh(r)
        return isJobRecord(copy) === (isRecord(copy) && exactKeys(copy))
      }),
      { numRuns: 300 }
    )
  })

  it("refuses what the schema refuses: any field, entry field or retry field set to a wrong value (property)", () => {
    FastCheck.assert(
      FastCheck.property(
        record.filter((r) => r.history.length > 0),
        FastCheck.constantFrom(...bad),
        FastCheck.nat(),
        (r, value, pick) => {
          const copy = fresh(r) as unknown as Record<string, unknown> & {
            history: Array<Record<string, unknown>>
            retry: Record<string, unknown>
          }
          const targets: Array<[Record<string, unknown>, string]> = [
            ...Object.keys(copy).map((k) => [copy, k] as [Record<string, unknown>, string]),
            ...Object.keys(copy.retry).map((k) => [copy.retry, k] as [Record<string, unknown>, string]),
            ...Object.keys(copy.history[0]!).map((k) => [copy.history[0]!, k] as [Record<string, unknown>, string])
          ]
          const [target, key] = targets[pick % targets.length]!
          target[key] = value
          const fast = isJobRecord(copy)
          // Never more lenient than the schema.
          return !fast || (isRecord(copy) && exactKeys(copy as unknown as Job.JobRecord))
        }
      ),
      { numRuns: 1000 }
    )
  })

  it("an input with a value JSON cannot hold anywhere inside is refused as the schema refuses it (property)", () => {
    const notJson: ReadonlyArray<unknown> = [
      Number.NaN,
      Number.NEGATIVE_INFINITY,
      undefined,
      () => 1,
      Symbol("s"),
      1n,
      new Date(0),
      new Map(),
      JSON.parse('{"__proto__": 1}')
    ]
    FastCheck.assert(
      FastCheck.property(
        record,
        FastCheck.json().map((j) => JSON.parse(j) as unknown),
        FastCheck.constantFrom(...notJson),
        FastCheck.nat(),
        (r, input, value, pick) => {
          // `value` put at some depth of `input` (or as the input itself).
          const place = (u: unknown, depth: number): unknown => {
            if (depth === 0 || typeof u !== "object" || u === null) return value
            if (Array.isArray(u)) return u.length === 0 ? [value] : u.map((x, i) => (i === 0 ? place(x, depth - 1) : x))
            const keys = Object.keys(u)
            return keys.length === 0
              ? { k: value }
              : { ...u, [keys[0]!]: place((u as Record<string, unknown>)[keys[0]!], depth - 1) }
          }
          const copy = { ...fresh(r), input: place(input, pick % 4) }
          return isJobRecord(copy) === (isRecord(copy) && exactKeys(copy as Job.JobRecord))
        }
      ),
      { numRuns: 500 }
    )
  })

  it("a record with an extra field goes to the schema (which drops it)", () => {
    const r = fresh(FastCheck.sample(record, 1)[0]!)
    assert.isFalse(isJobRecord({ ...r, extra: 1 }))
  })
})
