import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as McpConfig from "../src/McpConfig.js"
import type { McpConfigError } from "../src/McpError.js"

const fail = (input: unknown, options?: McpConfig.DecodeOptions): McpConfigError => {
  const result = McpConfig.decodeEither(input, options)
  if (Either.isRight(result)) throw new Error(`expected a failure, got ${JSON.stringify(result.right)}`)
  return result.left
}

describe("McpConfig", () => {
  it("decodes stdio and http servers with defaults, in the order written", () => {
    const config = McpConfig.make({
      fs: { command: "node", args: ["server.js"], env: { A: "1" }, cwd: "/tmp" },
      web: { url: "http://127.0.0.1:1/mcp", headers: { Authorization: "Bearer x" }, required: true },
      legacy: { url: "https://example.com/sse", type: "sse", enabled: false }
    })
    expect(config.servers.map((s) => [s.name, s.transport])).toEqual([
      ["fs", "stdio"],
      ["web", "http"],
      ["legacy", "sse"]
    ])
    const [fs, web, legacy] = config.servers
    expect(fs).toMatchObject({ command: "node", args: ["server.js"], env: { A: "1" }, cwd: "/tmp", enabled: true })
    expect(fs!.required).toBe(false)
    expect(Duration.toMillis(fs!.startup_timeout)).toBe(10_000)
    expect(Duration.toMillis(fs!.tool_timeout)).toBe(60_000)
    expect(web).toMatchObject({ url: "http://127.0.0.1:1/mcp", headers: { Authorization: "Bearer x" }, required: true })
    expect(legacy!.enabled).toBe(false)
    expect(config.restart.max_attempts).toBe(5)
  })

  it("reads timeouts as seconds or as durations with a unit", () => {
    const ms = (t: unknown) =>
      Duration.toMillis(McpConfig.make({ s: { command: "x", startup_timeout: t } }).servers[0]!.startup_timeout)
    expect(ms(2)).toBe(2000)
    expect(ms(0.25)).toBe(250)
    expect(ms("500ms")).toBe(500)
    expect(ms("500 millis")).toBe(500)
    expect(ms("1.5s")).toBe(1500)
    expect(ms("2 minutes")).toBe(120_000)
  })

  it.each([0, -1, "soon", "10 parsecs", Number.POSITIVE_INFINITY])(
    "rejects the timeout %s naming server and field",
    (t) => {
      const error = fail({ servers: { slow: { command: "x", tool_timeout: t } } })
      expect(error).toMatchObject({
        _tag: "McpConfigError",
        reason: "InvalidField",
        server: "slow",
        field: "tool_timeout"
      })
      expect(error.message).toMatch(
        /^Invalid MCP config: server "slow": tool_timeout: expected a positive number of seconds/
      )
    }
  )

  it("needs exactly one of command and url, consistent with type", () => {
    expect(fail({ servers: { a: { args: [] } } })).toMatchObject({
      reason: "MissingField",
      server: "a",
      field: "command"
    })
    expect(fail({ servers: { a: { command: "x", url: "http://h" } } })).toMatchObject({
      reason: "Conflict",
      field: "url"
    })
    expect(fail({ servers: { a: { command: "x", type: "sse" } } })).toMatchObject({ reason: "Conflict", field: "type" })
    expect(fail({ servers: { a: { url: "http://h", type: "stdio" } } })).toMatchObject({
      reason: "Conflict",
      field: "type"
    })
    expect(fail({ servers: { a: { type: "http" } } })).toMatchObject({ reason: "MissingField", field: "url" })
    expect(fail({ servers: { a: { command: "x", type: "websocket" } } })).toMatchObject({
      reason: "InvalidField",
      field: "type"
    })
  })

  it("names the element of a bad array and the bad url", () => {
    expect(fail({ servers: { a: { command: "x", args: ["ok", 3] } } })).toMatchObject({ server: "a", field: "args[1]" })
    expect(fail({ servers: { a: { command: "" } } })).toMatchObject({ server: "a", field: "command" })
    expect(fail({ servers: { a: { url: "ftp://h/x" } } }).message).toMatch(/url: expected an http\(s\) URL/)
    expect(fail({ servers: { a: { url: "not a url" } } })).toMatchObject({ field: "url", reason: "InvalidField" })
    expect(fail({ servers: { a: { command: "x", env: { A: 1 } } } })).toMatchObject({ field: "env.A" })
    expect(fail({ servers: { a: { command: "x", enabled: "yes" } } })).toMatchObject({ field: "enabled" })
  })

  it("reports unknown keys unless strict is off", () => {
    const error = fail({ servers: { a: { command: "x", startup_timout: 3 } } })
    expect(error).toMatchObject({ reason: "UnknownField", server: "a", field: "startup_timout" })
    expect(error.message).toBe('Invalid MCP config: server "a": startup_timout: unknown key')
    expect(fail({ servers: {}, serverz: {} })).toMatchObject({ reason: "UnknownField", field: "serverz" })
    const lax = McpConfig.decodeEither(
      { servers: { a: { command: "x", startup_timout: 3 } }, other: 1 },
      { strict: false }
    )
    expect(Either.isRight(lax)).toBe(true)
  })

  it("rejects server names that collide after sanitizing, naming both", () => {
    const error = fail({ servers: { "my.server": { command: "x" }, my_server: { command: "y" } } })
    expect(error).toMatchObject({ reason: "Conflict", server: "my_server" })
    expect(error.message).toContain('collides with server "my.server"')
    expect(fail({ servers: { "": { command: "x" } } })).toMatchObject({ reason: "InvalidField" })
  })

  it("trust defaults to untrusted; a server name with __ is refused (tool names would collide by splitting)", () => {
    const config = McpConfig.make({ a: { command: "x" }, b: { command: "y", trust: "trusted" } })
    expect(config.servers.map((s) => [s.name, s.trust])).toEqual([
      ["a", "untrusted"],
      ["b", "trusted"]
    ])
    expect(fail({ servers: { a: { command: "x", trust: "yes" } } })).toMatchObject({ server: "a", field: "trust" })
    // "a__b" + tool "c" and "a" + tool "b__c" would both be mcp__a__b__c
    const error = fail({ servers: { a: { command: "x" }, a__b: { command: "y" } } })
    expect(error).toMatchObject({ reason: "InvalidField", server: "a__b" })
    expect(error.message).toContain('must not contain "__"')
  })

  it("decodes the restart policy and names its fields", () => {
    const config = McpConfig.make({}, { max_attempts: 2, initial_delay: "10ms", factor: 3 })
    expect(config.restart.max_attempts).toBe(2)
    expect(Duration.toMillis(config.restart.initial_delay)).toBe(10)
    expect(fail({ servers: {}, restart: { max_attempts: -1 } })).toMatchObject({ field: "restart.max_attempts" })
    expect(fail({ servers: {}, restart: { factor: 0.5 } })).toMatchObject({ field: "restart.factor" })
  })

  it("rejects input that is not a config object", () => {
    expect(fail(null)).toMatchObject({ reason: "InvalidField", field: "" })
    expect(fail({ servers: [] })).toMatchObject({ field: "servers" })
    expect(fail({ servers: { a: "node x" } })).toMatchObject({ server: "a", reason: "InvalidField" })
  })

  it.effect("decode is the Effect form", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(McpConfig.decode({ servers: { a: {} } }))
      expect(error._tag).toBe("McpConfigError")
      const ok = yield* McpConfig.decode({ servers: { a: { command: "x" } } })
      expect(ok.servers).toHaveLength(1)
    })
  )
})
