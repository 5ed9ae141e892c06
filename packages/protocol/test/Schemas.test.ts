import { readdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { App, Common, Event, Job, ProtocolError, Schemas, Thread } from "@strata/protocol"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"

const schemaDir = join(dirname(fileURLToPath(import.meta.url)), "..", "schema")

describe("Schemas", () => {
  for (const [name, schema] of Object.entries(Schemas.all)) {
    it(`${name}: encode -> JSON -> decode round-trips`, () => {
      const s = schema as Schema.Schema<unknown, unknown, never>
      const encode = Schema.encodeSync(s)
      const decode = Schema.decodeUnknownSync(s)
      FastCheck.assert(
        FastCheck.property(Arbitrary.make(s), (value) => {
          const wire = JSON.parse(JSON.stringify(encode(value)))
          expect(decode(wire)).toStrictEqual(value)
          // and the wire form is stable: encoding the decoded value gives the same JSON
          expect(JSON.parse(JSON.stringify(encode(decode(wire))))).toStrictEqual(wire)
        }),
        { numRuns: Number(process.env.STRATA_FUZZ_RUNS ?? 60) }
      )
    })
  }

  it("committed JSON Schema files are up to date (run `npm run schema -w @strata/protocol`)", () => {
    const names = Object.keys(Schemas.all).sort()
    const files = readdirSync(schemaDir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.slice(0, -5))
      .sort()
    expect(files).toStrictEqual(names)
    for (const [name, schema] of Object.entries(Schemas.all)) {
      const committed = readFileSync(join(schemaDir, `${name}.json`), "utf8")
      expect(committed, `schema/${name}.json is stale`).toBe(Schemas.jsonSchemaDocument(name, schema))
    }
  })
})

describe("ThreadRequest", () => {
  const decode = ProtocolError.decodeUnknownEither(Thread.ThreadRequest)

  it("decodes every kind of the seed", () => {
    const requests = [
      { kind: "create" },
      { kind: "start", model: "m", cwd: "/w" },
      { kind: "resume", thread_id: "t1" },
      { kind: "fork", thread_id: "t1", at_message_id: "m7" },
      { kind: "list", include_archived: true, limit: 10 },
      { kind: "read", thread_id: "t1" },
      { kind: "set_name", thread_id: "t1", name: "n" },
      { kind: "archive", thread_id: "t1" },
      { kind: "unarchive", thread_id: "t1" },
      { kind: "message", thread_id: "t1", input: "hi" }
    ]
    for (const request of requests) {
      const decoded = decode(request)
      expect(Either.isRight(decoded), JSON.stringify(request)).toBe(true)
      if (Either.isRight(decoded)) expect(decoded.right.kind).toBe(request.kind)
    }
  })

  it("rejects an unknown kind and names the discriminator", () => {
    const decoded = decode({ kind: "delete", thread_id: "t1" })
    expect(Either.isLeft(decoded)).toBe(true)
    if (Either.isLeft(decoded)) {
      expect(decoded.left.path).toBe("kind")
      expect(decoded.left.message).toContain("ThreadRequest")
    }
  })

  it("reports every issue, each with its path", () => {
    const decoded = ProtocolError.decodeUnknownEither(Thread.ThreadResponse)({
      thread_id: "t",
      status: "exploded",
      threads: [{ id: "../t" }]
    })
    expect(Either.isLeft(decoded)).toBe(true)
    if (Either.isLeft(decoded)) {
      const paths = decoded.left.issues.map((i) => i.path)
      expect(paths).toContain("status")
      expect(paths.some((p) => p.startsWith("threads[0]"))).toBe(true)
    }
  })
})

describe("EventFrame", () => {
  it("carries thread id, sequence number and timestamp on every event", () => {
    const decode = Schema.decodeUnknownEither(Event.EventFrame)
    const base = { thread_id: "t1", seq: 1, timestamp: 1_700_000_000_000 }
    expect(Either.isRight(decode({ ...base, event: "response_start", response_id: "r1" }))).toBe(true)
    expect(Either.isLeft(decode({ event: "response_start", response_id: "r1" }))).toBe(true)
    expect(Either.isLeft(decode({ ...base, seq: 0, event: "response_start", response_id: "r1" }))).toBe(true)
    expect(Either.isLeft(decode({ ...base, seq: 1.5, event: "response_start", response_id: "r1" }))).toBe(true)
    expect(
      Either.isRight(
        decode({
          ...base,
          thread_id: null,
          event: "mcp_startup_complete",
          summary: { ready: ["a"], failed: [], cancelled: [] }
        })
      )
    ).toBe(true)
  })

  it("defaults a delta's channel to text, as the seed", () => {
    const frame = Schema.decodeUnknownSync(Event.EventFrame)({
      thread_id: "t1",
      seq: 2,
      timestamp: 1,
      event: "response_delta",
      response_id: "r1",
      delta: "hi"
    })
    expect(frame.event === "response_delta" && frame.channel).toBe("text")
  })

  it("job progress outside 0..100 is rejected with its path", () => {
    const decoded = ProtocolError.decodeUnknownEither(Job.JobHistoryEntry)({
      at: 1,
      phase: "progress",
      from: "running",
      to: "running",
      progress: 101,
      detail: null,
      attempt: 0
    })
    expect(Either.isLeft(decoded) && decoded.left.path).toBe("progress")
  })
})

describe("untrusted JSON", () => {
  const hostile = [
    '{"__proto__":{"polluted":true}}',
    '{"a":{"__proto__":{"polluted":true}}}',
    '{"a":[1,{"b":{"__proto__":"x"}}]}',
    '{"__proto__":"x"}'
  ]

  it("refuses a `__proto__` key anywhere in a JSON value, naming the path, and never changes a prototype", () => {
    for (const text of hostile) {
      const decoded = ProtocolError.decodeUnknownEither(Common.JsonValue)(JSON.parse(text))
      expect(Either.isLeft(decoded), text).toBe(true)
      if (Either.isLeft(decoded)) {
        expect(
          decoded.left.issues.some((i) => i.path.endsWith("__proto__")),
          text
        ).toBe(true)
        expect(
          decoded.left.issues.some((i) => i.message.includes("__proto__")),
          text
        ).toBe(true)
      }
      // nor on the way out
      expect(Either.isLeft(Schema.encodeUnknownEither(Common.JsonValue)(JSON.parse(text))), text).toBe(true)
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it("refuses it in every record of the wire types (AppStatus versions)", () => {
    const decoded = ProtocolError.decodeUnknownEither(App.AppStatus)(
      JSON.parse(
        '{"ok":true,"versions":{"__proto__":"1"},"runtime":{"name":"node","version":"20"},"jobs":[],"mcp_servers":[],"threads":{"total":0,"archived":0}}'
      )
    )
    expect(Either.isLeft(decoded)).toBe(true)
    if (Either.isLeft(decoded)) expect(decoded.left.path).toBe("versions.__proto__")
  })

  it("keeps `constructor` and `prototype` keys as plain data", () => {
    const value = Schema.decodeUnknownSync(Common.JsonObject)(
      JSON.parse('{"constructor":{"prototype":{"x":1}},"prototype":2,"toString":"s"}')
    )
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
    expect(Object.keys(value)).toStrictEqual(["constructor", "prototype", "toString"])
    expect(JSON.stringify(value)).toBe('{"constructor":{"prototype":{"x":1}},"prototype":2,"toString":"s"}')
  })
})
