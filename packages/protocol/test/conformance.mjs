// Cross-runtime conformance for @strata/protocol: runs unchanged under Node, Bun and Deno on dist.
import assert from "node:assert/strict"
import { Event, Ids, ProtocolError, Schemas, Thread } from "@strata/protocol"
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as Schema from "effect/Schema"
import { run, test } from "../../../scripts/conformance.mjs"

const hostile = ["../x", "a/b", "a\\b", "a\u0000b", "x".repeat(129), "", ".", ".."]

test("valid ids are accepted", () => {
  for (const id of ["t", "thread-1", "A.b_c-9", "x".repeat(128)])
    assert.ok(Either.isRight(Ids.validateEither("ThreadId", id)))
})

test("hostile ids are rejected with InvalidId naming the field", () => {
  for (const id of hostile) {
    const result = Ids.validateEither("ThreadId", id, "thread_id")
    assert.ok(Either.isLeft(result), JSON.stringify(id))
    assert.equal(result.left._tag, "InvalidId")
    assert.match(result.left.message, /thread_id/)
  }
})

test("thread requests decode and re-encode to the same wire form", () => {
  const wire = { kind: "fork", thread_id: "t1", at_message_id: "m2" }
  const decoded = Schema.decodeUnknownSync(Thread.ThreadRequest)(wire)
  assert.deepEqual(Schema.encodeSync(Thread.ThreadRequest)(decoded), wire)
})

test("a hostile id inside a request names its path", () => {
  const result = ProtocolError.decodeUnknownEither(Thread.ThreadRequest)({ kind: "read", thread_id: "../../etc" })
  assert.ok(Either.isLeft(result))
  assert.equal(result.left.path, "thread_id")
})

test("event frames round-trip through JSON", () => {
  const frame = {
    thread_id: "t1",
    seq: 3,
    timestamp: 1700000000000,
    event: "response_delta",
    response_id: "r1",
    delta: "é🙂",
    channel: "reasoning"
  }
  const decoded = Schema.decodeUnknownSync(Event.EventFrame)(JSON.parse(JSON.stringify(frame)))
  assert.deepEqual(Schema.encodeSync(Event.EventFrame)(decoded), frame)
})

test("every wire type has a JSON Schema", () => {
  for (const [name, schema] of Object.entries(Schemas.all)) {
    const doc = JSONSchema.make(schema)
    assert.ok(doc.$schema, name)
  }
})

await run("@strata/protocol")
