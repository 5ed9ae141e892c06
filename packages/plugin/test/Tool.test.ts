import { describe, expect, it } from "@effect/vitest"
import { Ids } from "@strata/protocol"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { defineTool, PluginError, Tool } from "../src/index.js"

const context = { call_id: Ids.unsafeMake("ToolCallId", "call-1") }

const Search = defineTool({
  name: "search",
  description: "Search the code",
  input: Schema.Struct({
    query: Schema.String.pipe(Schema.minLength(1)).annotations({ description: "what to look for" }),
    limit: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive())).annotations({
      description: "how many results"
    })
  }),
  output: Schema.Struct({ hits: Schema.Array(Schema.String), total: Schema.Number }),
  run: ({ query, limit }) =>
    query === "explode"
      ? Effect.fail(new Error("index is corrupt"))
      : query === "lie"
        ? Effect.succeed({ hits: ["a"], total: "one" as unknown as number })
        : Effect.succeed({ hits: [`${query}:1`], total: limit ?? 1 })
})

describe("Tool", () => {
  it("describes a tool as JSON Schema, under its qualified name", () => {
    const described = Tool.describe(Search, Tool.qualifiedName("code", "search"))
    expect(described.name).toBe("code__search")
    expect(described.description).toBe("Search the code")
    expect(described.input_schema).toMatchObject({
      type: "object",
      required: ["query"],
      properties: {
        query: { type: "string", description: "what to look for", minLength: 1 },
        limit: { type: "integer", description: "how many results" }
      }
    })
    expect(described.output_schema).toMatchObject({ type: "object", required: ["hits", "total"] })
  })

  it.effect("decodes input, reporting every issue by field for the model", () =>
    Effect.gen(function* () {
      expect(yield* Tool.decodeInput(Search)({ query: "x", limit: 3 })).toEqual({ query: "x", limit: 3 })
      const error = yield* Effect.flip(Tool.decodeInput(Search, "code__search")({ query: "", limit: -1, extra: 1 }))
      expect(error).toBeInstanceOf(PluginError.ToolInputError)
      expect(error.tool).toBe("code__search")
      expect(error.issues.map((i) => i.path)).toEqual(["extra", "query", "limit"])
      expect(error.issues[2]!.message).toBe("Expected a positive number, actual -1")
      expect(error.message).toContain('Invalid input for tool "code__search"')
      expect(error.message).toContain("- query:")
      expect(error.message).toContain("- extra:")
      expect(error.message).toContain("Rewrite the input so it satisfies the tool's input schema.")
    })
  )

  it.effect("invoke decodes, runs, checks and encodes; failures are typed", () =>
    Effect.gen(function* () {
      expect(yield* Tool.invoke(Search, { query: "foo", limit: 2 }, context)).toEqual({ hits: ["foo:1"], total: 2 })
      const input = yield* Effect.flip(Tool.invoke(Search, { limit: 2 }, context))
      expect(input._tag).toBe("ToolInputError")
      const failed = yield* Effect.flip(Tool.invoke(Search, { query: "explode" }, context, "code__search"))
      expect(failed).toBeInstanceOf(PluginError.ToolFailure)
      expect(failed.message).toBe('Tool "code__search" failed: index is corrupt')
      const lied = yield* Effect.flip(Tool.invoke(Search, { query: "lie" }, context))
      expect(lied._tag).toBe("ToolOutputError")
      expect(lied.message).toContain("total")
    })
  )

  it.effect("validator accepts a valid rewrite unchanged and rejects an invalid one", () =>
    Effect.gen(function* () {
      const validate = Tool.validator(Search)
      expect(yield* validate({ query: "q" })).toEqual({ query: "q" })
      expect((yield* Effect.flip(validate({ q: 1 })))._tag).toBe("ToolInputError")
    })
  )

  it("names: letters and digits joined by single _ or -", () => {
    for (const ok of ["status", "check_command", "a-b", "X1"]) expect(Tool.NAME_PATTERN.test(ok)).toBe(true)
    for (const bad of ["", "a__b", "_a", "a_", "a b", "a.b", "a/b"]) expect(Tool.NAME_PATTERN.test(bad)).toBe(false)
  })
})
