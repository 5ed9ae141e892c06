import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import { Matcher } from "../src/index.js"

const toolName = FastCheck.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,30}$/)

const compile = (pattern: string | undefined, dialect?: Matcher.Dialect) =>
  Either.getOrThrow(Matcher.compile(pattern, { dialect }))

describe("Matcher", () => {
  it("absent, empty and * match everything, even an event without a target", () => {
    for (const dialect of ["strata", "claude"] as const) {
      for (const pattern of [undefined, "", "*"]) {
        const m = compile(pattern, dialect)
        expect(m.matchesAll).toBe(true)
        expect(m.test(undefined)).toBe(true)
        expect(m.test("anything")).toBe(true)
      }
    }
  })

  it("an exact name matches itself and nothing else", () => {
    FastCheck.assert(
      FastCheck.property(toolName, toolName, (a, b) => {
        for (const dialect of ["strata", "claude"] as const) {
          const m = compile(a, dialect)
          expect(m.test(a)).toBe(true)
          expect(m.test(b)).toBe(a === b)
          expect(m.test(undefined)).toBe(false)
        }
      })
    )
  })

  it("a glob prefix* matches exactly the names with that prefix", () => {
    FastCheck.assert(
      FastCheck.property(toolName, toolName, (prefix, name) => {
        expect(compile(`${prefix}*`).test(name)).toBe(name.startsWith(prefix))
        expect(compile(`${prefix}*`).test(`${prefix}${name}`)).toBe(true)
      })
    )
  })

  it("alternatives, ? globs and /regex/ in the strata dialect; regex metacharacters in globs are literal", () => {
    expect(compile("read_file|write_file").test("write_file")).toBe(true)
    expect(compile("read_file|write_file").test("read_files")).toBe(false)
    expect(compile("git_?").test("git_x")).toBe(true)
    expect(compile("git_?").test("git_xy")).toBe(false)
    expect(compile("a.b*").test("a.bc")).toBe(true)
    expect(compile("a.b*").test("axbc")).toBe(false)
    expect(compile("/^git_(status|diff)$/").test("git_diff")).toBe(true)
    expect(compile("/^git_(status|diff)$/").test("git_log")).toBe(false)
    expect(compile("/exec/i").test("EXEC_command")).toBe(true)
  })

  it("Claude dialect: word lists are exact, anything else is an anchored regex", () => {
    expect(compile("Edit|Write", "claude").test("Write")).toBe(true)
    expect(compile("Edit|Write", "claude").test("MultiEdit")).toBe(false)
    expect(compile("Notebook.*", "claude").test("NotebookEdit")).toBe(true)
    expect(compile("mcp__memory__.*", "claude").test("mcp__memory__create")).toBe(true)
    expect(compile("mcp__memory__.*", "claude").test("x_mcp__memory__create")).toBe(false)
  })

  it("invalid patterns fail with InvalidMatcher naming the path", () => {
    for (const [pattern, dialect] of [
      ["/(unclosed/", "strata"],
      ["a||b", "strata"],
      ["(unclosed", "claude"]
    ] as const) {
      const error = Option.getOrThrow(
        Either.getLeft(Matcher.compile(pattern, { dialect, path: "hooks.PreToolUse[0].matcher" }))
      )
      expect(error.reason).toBe("InvalidMatcher")
      expect(error.path).toBe("hooks.PreToolUse[0].matcher")
      expect(error.message).toContain(JSON.stringify(pattern))
    }
  })
})
