import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as McpToolName from "../src/McpToolName.js"

const valid = /^[A-Za-z0-9_-]{1,64}$/

describe("McpToolName", () => {
  it("sanitizes to [A-Za-z0-9_-], one _ per code point, keeping case", () => {
    expect(McpToolName.sanitize("Read-File_2")).toBe("Read-File_2")
    expect(McpToolName.sanitize("a.b c/d")).toBe("a_b_c_d")
    expect(McpToolName.sanitize("ünï🙂")).toBe("_n__")
  })

  it("qualifies short names as mcp__server__tool", () => {
    expect(McpToolName.qualify("fs", "read_file")).toBe("mcp__fs__read_file")
    expect(McpToolName.qualify("my server", "get.thing")).toBe("mcp__my_server__get_thing")
  })

  it("shortens long names to 64 chars with a stable hash", () => {
    const long = McpToolName.qualify("server", "x".repeat(80))
    expect(long).toHaveLength(64)
    expect(long).toMatch(valid)
    // The hash is part of the contract: names must not change between runs or runtimes.
    expect(McpToolName.stableHash("server\u0000" + "x".repeat(80))).toBe(long.slice(-12))
    expect(McpToolName.stableHash("abc")).toBe("1a47e90bbdd5") // FNV-1a("abc") = 0x1a47e90b
    const other = McpToolName.qualify("server", `${"x".repeat(79)}y`)
    expect(other).not.toBe(long)
    expect(other.slice(0, 51)).toBe(long.slice(0, 51))
    const bothLong = McpToolName.qualify("s".repeat(60), "t".repeat(60))
    expect(bothLong).toMatch(/^mcp__s{22}__t{22}_[0-9a-f]{12}$/)
    expect(McpToolName.qualify("s".repeat(10), "t".repeat(60))).toMatch(/^mcp__s{10}__t{34}_[0-9a-f]{12}$/)
  })

  it("resolves collisions: the name that needed no sanitizing keeps it, others get a hash", () => {
    const names = McpToolName.assign([
      { server: "s", tool: "a.b" },
      { server: "s", tool: "a_b" },
      { server: "s", tool: "a b" }
    ])
    expect(names[1]).toBe("mcp__s__a_b")
    expect(names[0]).toMatch(/^mcp__s__a_b_[0-9a-f]{12}$/)
    expect(names[2]).toMatch(/^mcp__s__a_b_[0-9a-f]{12}$/)
    expect(new Set(names).size).toBe(3)
  })

  it("gives unique, valid names that do not depend on input order (property)", () => {
    const tool = FastCheck.oneof(
      FastCheck.constantFrom("a.b", "a_b", "a b", "x".repeat(70), `${"x".repeat(69)}y`),
      FastCheck.string({ minLength: 1, maxLength: 90, unit: "grapheme" })
    )
    const ref = FastCheck.record({ server: FastCheck.constantFrom("s", "srv.1", "s".repeat(40)), tool })
    FastCheck.assert(
      FastCheck.property(FastCheck.uniqueArray(ref, { selector: (r) => `${r.server}\u0000${r.tool}` }), (refs) => {
        const names = McpToolName.assign(refs)
        expect(new Set(names).size).toBe(refs.length)
        for (const n of names) expect(n).toMatch(valid)
        const reversed = McpToolName.assign([...refs].reverse())
        expect([...reversed].reverse()).toEqual(names)
      }),
      { numRuns: 300 }
    )
  })
})
