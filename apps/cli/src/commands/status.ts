/**
 * `strata status`: version, working directory, config files, storage, the
 * model a session would use (and why), plugins, threads and MCP servers.
 * It reads the config and the store only: no runtime is built, no plugin
 * loaded, no server started.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { StateStore } from "@strata/storage/StateStore"
import * as Effect from "effect/Effect"
import { json, print, processOptions } from "../common.js"
import * as Distribution from "../Distribution.js"
import { version } from "../version.js"

const runtimeName = () =>
  "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : typeof process !== "undefined" ? "node" : "unknown"

/** Threads in the file store, counted without building the runtime; other stores are counted through their layer. */
const countThreads = (setup: { readonly cwd: string; readonly storage: Distribution.Setup["config"]["storage"] }) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const fs = yield* FileSystem.FileSystem
    if (setup.storage.kind === "fs" && !(yield* fs.exists(path.resolve(setup.cwd, setup.storage.dir)))) {
      return { total: 0, archived: 0 }
    }
    const { layerStorage } = yield* Effect.promise(() => import("@strata/core-runtime/RuntimeLayer"))
    return yield* Effect.flatMap(StateStore, (store) => store.listThreads()).pipe(
      Effect.map((page) => ({
        total: page.threads.length,
        archived: page.threads.filter((t) => t.archived === true || t.status === "archived").length
      })),
      Effect.provide(layerStorage(setup.storage, setup.cwd))
    )
  })

/**
 * @since 0.1.0
 * @category commands
 */
export const status = Command.make("status", { json }, (o) =>
  Effect.gen(function* () {
    const options = processOptions()
    const loaded = yield* Distribution.loadConfig(options)
    const choice = yield* Distribution.chooseModel(options, loaded.value)
    const files = [...new Set([...loaded.origins.values()].map((origin) => origin.source))].filter(
      (s) => s !== "defaults" && s !== "cli"
    )
    const storage = loaded.value.storage
    const value = {
      version,
      cwd: options.cwd,
      runtime: { name: runtimeName(), version: process.versions.bun ?? process.versions.deno ?? process.versions.node },
      config_sources: files,
      storage,
      model: choice,
      plugins: [...Distribution.builtinPlugins, ...loaded.value.plugins],
      threads: yield* countThreads({ cwd: options.cwd, storage }),
      mcp_servers: Object.keys(loaded.value.mcp_servers)
    }
    yield* print(o.json, value, (v) =>
      [
        `strata ${v.version} on ${v.runtime.name} ${v.runtime.version}`,
        `  cwd       ${v.cwd}`,
        `  config    ${v.config_sources.length === 0 ? "defaults only (no config file)" : v.config_sources.join(", ")}`,
        `  storage   ${v.storage.kind}${"dir" in v.storage ? ` (${v.storage.dir})` : ""}`,
        `  model     ${v.model.banner}${v.model.skipped === undefined ? "" : ` (${v.model.skipped})`}`,
        `  plugins   ${v.plugins.join(", ")}`,
        `  threads   ${v.threads.total} (${v.threads.archived} archived)`,
        `  mcp       ${v.mcp_servers.length === 0 ? "no servers configured" : v.mcp_servers.join(", ")}`
      ].join("\n")
    )
  })
).pipe(Command.withDescription("Show what a session would use: config, storage, model, plugins, threads"))
