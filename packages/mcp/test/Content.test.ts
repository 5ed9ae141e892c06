import { describe, expect, it } from "@effect/vitest"
import { toolOutput } from "../src/internal/content.js"

describe("MCP results as tool outputs", () => {
  it("refuses structured content carrying a `__proto__` key (as JSON.parse leaves it), naming where", () => {
    const result = JSON.parse(
      '{"content":[{"type":"text","text":"ok"}],"structuredContent":{"a":[{"__proto__":{"polluted":true}}]}}'
    )
    const output = toolOutput(result)
    expect(output.is_error).toBe(true)
    expect(output.structured).toBeUndefined()
    expect(output.content[0]).toMatchObject({ type: "text" })
    expect((output.content[0] as { text: string }).text).toContain("structuredContent.a.0.__proto__")
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it("keeps `constructor` and `prototype` keys as data", () => {
    const output = toolOutput(JSON.parse('{"content":[],"structuredContent":{"constructor":1,"prototype":{"x":2}}}'))
    expect(output.structured).toStrictEqual({ constructor: 1, prototype: { x: 2 } })
    expect(Object.getPrototypeOf(output.structured)).toBe(Object.prototype)
  })
})
