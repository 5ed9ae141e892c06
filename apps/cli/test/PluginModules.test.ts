/**
 * Which audit log writer each kind of process loads: a one-shot command the
 * synchronous one (`NodeAuditLog`), a process whose event loop many sessions
 * share (`serve`, `worker`) the asynchronous one.
 */
import { describe, expect, it } from "@effect/vitest"
import * as AuditLog from "@strata/plugin-audit-log"
import * as NodeAuditLog from "@strata/plugin-audit-log/NodeAuditLog"
import { pluginModules, sharedLoopPluginModules } from "../src/Distribution.js"

describe("built-in plugin modules", () => {
  it("a one-shot command writes its audit lines synchronously; serve and worker asynchronously", async () => {
    expect(await pluginModules["@strata/plugin-audit-log"]!()).toBe(NodeAuditLog)
    expect(await pluginModules["@strata/plugin-audit-log/node"]!()).toBe(NodeAuditLog)
    expect(await sharedLoopPluginModules["@strata/plugin-audit-log"]!()).toBe(AuditLog)
    expect(await sharedLoopPluginModules["@strata/plugin-audit-log/node"]!()).not.toBe(NodeAuditLog)
    // the other built-ins are the same in both
    for (const name of ["@strata/plugin-shell", "@strata/plugin-fs"]) {
      expect(await sharedLoopPluginModules[name]!()).toBe(await pluginModules[name]!())
    }
  })
})
