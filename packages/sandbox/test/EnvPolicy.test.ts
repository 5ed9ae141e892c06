import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as EnvPolicy from "../src/EnvPolicy.js"

const parent = {
  PATH: "/usr/bin:/bin",
  HOME: "/home/u",
  LANG: "C.UTF-8",
  LC_ALL: "C",
  TERM: "xterm",
  DEEPSEEK_API_KEY: "sk-live-1234567890",
  MY_PROVIDER_VAR: "sk-provider-abcdef",
  GITHUB_TOKEN: "ghp_abcdefghijkl",
  DB_PASSWORD: "hunter2hunter2",
  AWS_SECRET_ACCESS_KEY: "aws-secret-xyz",
  NODE_OPTIONS: "--max-old-space-size=100",
  EDITOR: "vim",
  UNSET: undefined
}

describe("EnvPolicy.apply", () => {
  it("core: only the core variables, never a secret", () => {
    expect(EnvPolicy.apply(parent, EnvPolicy.defaults)).toEqual({
      PATH: "/usr/bin:/bin",
      HOME: "/home/u",
      LANG: "C.UTF-8",
      LC_ALL: "C",
      TERM: "xterm"
    })
  })
  it("all: everything but secrets and the providers' key variables", () => {
    const env = EnvPolicy.apply(parent, { ...EnvPolicy.defaults, inherit: "all" }, ["MY_PROVIDER_VAR"])
    expect(Object.keys(env).sort()).toEqual(["EDITOR", "HOME", "LANG", "LC_ALL", "NODE_OPTIONS", "PATH", "TERM"])
  })
  it("none + include + exclude + set", () => {
    const env = EnvPolicy.apply(parent, {
      inherit: "none",
      include: ["github_*", "NODE_*", "PATH"],
      exclude: ["node_options"],
      set: { CI: "1", PATH: "/opt/bin" }
    })
    expect(env).toEqual({ GITHUB_TOKEN: "ghp_abcdefghijkl", PATH: "/opt/bin", CI: "1" })
  })
  it("a secret-looking name passes only when included, whatever inherit says", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.constantFrom("KEY", "SECRET", "TOKEN", "PASSWORD", "key", "Token"),
        FastCheck.stringMatching(/^[A-Z_]{0,6}$/),
        FastCheck.stringMatching(/^[A-Z_]{0,6}$/),
        FastCheck.constantFrom("none" as const, "core" as const, "all" as const),
        (fragment, before, after, inherit) => {
          const name = `${before}${fragment}${after}`
          const env = EnvPolicy.apply({ [name]: "v" }, { ...EnvPolicy.defaults, inherit })
          const included = EnvPolicy.apply({ [name]: "v" }, { ...EnvPolicy.defaults, inherit, include: [name] })
          return env[name] === undefined && included[name] === "v"
        }
      ),
      { seed: 24, numRuns: 300 }
    )
  })
  it("secretValues: the values of secret variables and provider keys", () => {
    expect([...EnvPolicy.secretValues(parent, ["MY_PROVIDER_VAR"])].sort()).toEqual(
      ["aws-secret-xyz", "ghp_abcdefghijkl", "hunter2hunter2", "sk-live-1234567890", "sk-provider-abcdef"].sort()
    )
  })
})
