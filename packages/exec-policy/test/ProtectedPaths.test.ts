import { describe, expect, it } from "@effect/vitest"
import { ProtectedPaths } from "@strata/exec-policy"

describe("ProtectedPaths", () => {
  const guard = ProtectedPaths.extend(ProtectedPaths.defaults({ workspace: "/w", home: "/home/u" }), "/w", [
    "secrets/",
    "deploy.key"
  ])

  it("covers the control files, under any spelling of the path", () => {
    for (const path of [
      "/w/.strata",
      "/w/.strata/config.toml",
      "/w/./.strata//policy.toml",
      "/w/src/../.strata/approvals/a.json",
      "/w/.git/config",
      "/w/.git/hooks/pre-commit",
      "/w/.claude/settings.json",
      "/w/.claude/settings.local.json",
      "/home/u/.config/strata/config.toml",
      "/home/u/.strata/config.toml",
      "/home/u/.local/state/strata/approval.key",
      "/w/secrets/a",
      "/w/deploy.key"
    ]) {
      expect(ProtectedPaths.match(guard, path), path).toBeDefined()
    }
  })

  it("leaves ordinary files alone", () => {
    for (const path of [
      "/w/src/index.ts",
      "/w/.strata-notes",
      "/w/.git/HEAD",
      "/w/.git/configx",
      "/w/.claude/commands/x.md",
      "/w/.claude/settings/x.json",
      "/w",
      "relative/.strata/config.toml"
    ]) {
      expect(ProtectedPaths.match(guard, path), path).toBeUndefined()
    }
  })

  it("a move or delete of an ancestor touches what is below it", () => {
    expect(ProtectedPaths.touches(guard, "/w/.git")).toBe("/w/.git/config")
    expect(ProtectedPaths.touches(guard, "/w")).toBeDefined()
    expect(ProtectedPaths.touches(guard, "/w/src")).toBeUndefined()
  })

  it("resolves relative and home paths", () => {
    expect(ProtectedPaths.resolve("/w/src", "../.strata/x")).toBe("/w/.strata/x")
    expect(ProtectedPaths.resolve("/w", "~/.strata/config.toml", "/home/u")).toBe("/home/u/.strata/config.toml")
    expect(ProtectedPaths.resolve("/w", "/etc/../w/.git/config")).toBe("/w/.git/config")
  })
})
