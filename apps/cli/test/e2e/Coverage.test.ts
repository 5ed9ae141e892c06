/**
 * Every key of the runtime config schema (`RuntimeConfig`, nested keys of
 * sections included, record keys and list elements as `*`), and every key
 * of the sections the built-in plugins read through Effect's `Config`
 * (`[fs]`), has an end-to-end test through the built `strata` that proves
 * it changes behaviour, marked `// covers: <dotted.key>` anywhere under
 * apps/cli/test/. This test fails naming every key without a marker, and
 * every marker that names no key (a renamed or removed key).
 */
import { readdirSync, readFileSync } from "node:fs"
import * as path from "node:path"
import * as RuntimeConfig from "@strata/core-runtime/RuntimeConfig"
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import * as PluginSettings from "../../src/PluginSettings.js"
import { appDir } from "../build.js"
import { schemaKeys } from "./schemaKeys.js"

const testDir = path.join(appDir, "test")

const files = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === "node_modules" || entry.name === "fixtures" ? [] : files(full)
    return /\.(ts|mjs|js)$/.test(entry.name) ? [full] : []
  })

const markers = () => {
  const found = new Map<string, Array<string>>()
  for (const file of files(testDir)) {
    const text = readFileSync(file, "utf8")
    // A comment line of its own: `// covers: <dotted.key>`.
    for (const m of text.matchAll(/^[ \t]*\/\/ covers: ([A-Za-z0-9_.*]+)[ \t]*$/gm)) {
      const where = `${path.relative(appDir, file)}:${text.slice(0, m.index).split("\n").length}`
      found.set(m[1]!, [...(found.get(m[1]!) ?? []), where])
    }
  }
  return found
}

describe("every config key has an end-to-end test", async () => {
  const plugins = await Effect.runPromise(PluginSettings.settings)
  const keys = [...schemaKeys(RuntimeConfig.RuntimeConfig.ast), ...plugins.map((s) => ({ key: s.key, section: false }))]

  it("the schema walk finds the keys of nested sections, records and lists", () => {
    const names = keys.map((k) => k.key)
    expect(names).toEqual(
      expect.arrayContaining([
        "approval_policy",
        "mcp_servers.*.startup_timeout",
        "models.*.price_per_mtok.cached_input",
        "hooks.*.*.matcher",
        "plugins.*.spec",
        "mcp.restart.factor"
      ])
    )
    expect(keys.find((k) => k.key === "mcp.restart")?.section).toBe(true)
    expect(names).toEqual(expect.arrayContaining(["fs.max_depth"]))
    expect(keys.find((k) => k.key === "providers")?.section).toBe(false)
  })

  it("every key has a // covers: marker, and every marker names a key", () => {
    const found = markers()
    const missing = keys.filter((k) => !k.section && !found.has(k.key)).map((k) => k.key)
    const known = new Set(keys.map((k) => k.key))
    const unknown = [...found].filter(([key]) => !known.has(key)).map(([key, where]) => `${key} (${where.join(", ")})`)
    expect(missing, `keys without an end-to-end test (add one with // covers: <key>):\n${missing.join("\n")}`).toEqual(
      []
    )
    expect(unknown, `markers naming no key of RuntimeConfig:\n${unknown.join("\n")}`).toEqual([])
  })
})
