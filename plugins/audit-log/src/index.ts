/**
 * `@strata/plugin-audit-log`: hooks writing every tool call, decision and
 * approval to a JSONL file, built only on `@strata/plugin`. The default
 * export is the plugin (`plugins = ["@strata/plugin-audit-log"]`): it runs on
 * the host's platform (`FileSystem`, `Path`, provided by the host: Node, Bun
 * or Deno) and ships none of its own. `make(options)` builds it with other
 * settings.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type { PluginDefinition } from "@strata/plugin/Plugin"
import { define as definePlugin } from "@strata/plugin/Plugin"
import * as Layer from "effect/Layer"
import * as AuditLog from "./AuditLog.js"

/** @since 0.2.0 */
export * as AuditChain from "./AuditChain.js"
/** @since 0.1.0 */
export * as AuditLog from "./AuditLog.js"

/**
 * The plugin with these settings, on the host's platform. The 0.1 form
 * `make(platform, options)` still works: the platform layer is ignored (the
 * host's is used).
 *
 * @since 0.1.0
 * @category plugins
 */
export const make: {
  (options?: AuditLog.Options): PluginDefinition<AuditLog.AuditLog>
  /** @deprecated the host provides the platform: use `make(options)` */
  (
    platform: Layer.Layer<FileSystem.FileSystem | Path.Path>,
    options?: AuditLog.Options
  ): PluginDefinition<AuditLog.AuditLog>
} = (
  first?: AuditLog.Options | Layer.Layer<FileSystem.FileSystem | Path.Path>,
  second?: AuditLog.Options
): PluginDefinition<AuditLog.AuditLog> => {
  const options = Layer.isLayer(first) ? (second ?? {}) : ((first as AuditLog.Options | undefined) ?? {})
  return definePlugin<AuditLog.AuditLog>({
    id: "audit-log",
    version: "0.1.0",
    description: "Writes every tool call, decision and approval to a JSONL file (.strata/audit.jsonl by default).",
    hooks: [...AuditLog.hooks],
    layer: AuditLog.layer(options)
  })
}

/**
 * The audit-log plugin, on the host's platform: `plugins = ["@strata/plugin-audit-log"]`.
 *
 * @since 0.2.0
 * @category plugins
 */
export default make()
