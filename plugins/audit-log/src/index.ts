/**
 * `@strata/plugin-audit-log`: hooks writing every tool call, decision and
 * approval to a JSONL file, built only on `@strata/plugin`. `make(platform)`
 * builds the plugin over any platform layer; the ready plugin for Node, Bun
 * and Deno is the default export of `@strata/plugin-audit-log/node`.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import { definePlugin } from "@strata/plugin"
import type { PluginDefinition } from "@strata/plugin/Plugin"
import * as Layer from "effect/Layer"
import * as AuditLog from "./AuditLog.js"

/** @since 0.2.0 */
export * as AuditChain from "./AuditChain.js"
/** @since 0.1.0 */
export * as AuditLog from "./AuditLog.js"

/**
 * The plugin over a platform layer (FileSystem, Path).
 *
 * @since 0.1.0
 * @category plugins
 */
export const make = (
  platform: Layer.Layer<FileSystem.FileSystem | Path.Path>,
  options: AuditLog.Options = {}
): PluginDefinition<AuditLog.AuditLog> =>
  definePlugin({
    id: "audit-log",
    version: "0.1.0",
    description: "Writes every tool call, decision and approval to a JSONL file (.strata/audit.jsonl by default).",
    hooks: [...AuditLog.hooks],
    layer: AuditLog.layer(options).pipe(Layer.provide(platform))
  })
