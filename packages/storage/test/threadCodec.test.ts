// The hand-written thread record check against the protocol's schema: it
// accepts exactly what the schema accepts unchanged (a differential
// property test, so the two cannot drift apart).

import { assert, describe, it } from "@effect/vitest"
import * as Thread from "@strata/protocol/Thread"
import * as Arbitrary from "effect/Arbitrary"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { isThread } from "../src/internal/threadCodec.js"

const isRecord = Schema.is(Thread.Thread)
const record = Arbitrary.make(Thread.Thread)

// The record's keys, from the schema itself (the codec keeps its own list; this test checks they agree).
const RECORD_KEYS = Object.keys(Thread.Thread.fields)

/** Whether every object in `u` has only the schema's keys (what the fast check also requires). */
const exactKeys = (u: Thread.Thread): boolean =>
  Object.keys(u).every((k) => RECORD_KEYS.includes(k)) &&
  (u.forked_from === undefined ||
    Object.keys(u.forked_from).every((k) => ["thread_id", "message_id", "seq"].includes(k)))

const bad: ReadonlyArray<unknown> = [
  -1,
  0,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  2 ** 53,
  "x",
  "",
  null,
  undefined,
  true,
  false,
  [],
  {},
  "../etc",
  ".",
  "idle",
  "api",
  { thread_id: "t" },
  { thread_id: "t", seq: 0 },
  { thread_id: "t", extra: 1 },
  { __proto__: null }
]

const fresh = <A>(a: A): A => JSON.parse(JSON.stringify(a)) as A

describe("thread record fast check", () => {
  it("accepts what the schema accepts (property)", () => {
    FastCheck.assert(
      FastCheck.property(record, (r) => {
        const copy = fresh(r)
        return isThread(copy) === (isRecord(copy) && exactKeys(copy))
      }),
      { numRuns: 500 }
    )
  })

  it("agrees with the schema on any field, or fork point field, set to a wrong value (property)", () => {
    FastCheck.assert(
      FastCheck.property(record, FastCheck.constantFrom(...bad), FastCheck.nat(), (r, value, pick) => {
        const copy = fresh(r) as unknown as Record<string, unknown> & { forked_from?: Record<string, unknown> }
        const targets: Array<[Record<string, unknown>, string]> = [
          // every key of the schema, present or not, and those of the fork point
          ...RECORD_KEYS.map((k) => [copy, k] as [Record<string, unknown>, string]),
          ...(copy.forked_from === undefined
            ? []
            : ["thread_id", "message_id", "seq"].map(
                (k) => [copy.forked_from!, k] as [Record<string, unknown>, string]
              ))
        ]
        const [target, key] = targets[pick % targets.length]!
        target[key] = value
        const schema = isRecord(copy) && exactKeys(copy as unknown as Thread.Thread)
        return isThread(copy) === schema
      }),
      { numRuns: 2000 }
    )
  })

  it("a record with an extra field goes to the schema (which drops it)", () => {
    const r = fresh(FastCheck.sample(record, 1)[0]!)
    assert.isTrue(isThread(r))
    assert.isFalse(isThread({ ...r, extra: 1 }))
    assert.isFalse(isThread(null))
    assert.isFalse(isThread([r]))
  })
})
