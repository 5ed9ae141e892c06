/**
 * `strata status`: version, working directory, config files, storage, the
 * model a session would use (and why), plugins, threads, jobs and MCP
 * servers.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import { Runtime } from "@strata/core-runtime"
import * as Effect from "effect/Effect"
import { json, print, processOptions } from "../common.js"
import * as Distribution from "../Distribution.js"
import { version } from "../version.js"

/**
 * @since 0.1.0
 * @category commands
 */
export const status = Command.make("status", { json }, (o) =>
  Distribution.session(processOptions(), (setup) =>
    Effect.gen(function* () {
      const rt = yield* Runtime.Runtime
      const app = yield* rt.appStatus
      const files = [...new Set([...setup.loaded.origins.values()].map((origin) => origin.source))].filter(
        (s) => s !== "defaults" && s !== "cli"
      )
      const storage = setup.config.storage
      const value = {
        version,
        cwd: setup.cwd,
        runtime: app.runtime,
        config_sources: files,
        storage,
        model: setup.choice,
        plugins: [...Distribution.builtinPlugins, ...setup.config.plugins],
        threads: app.threads,
        jobs: app.jobs.length,
        mcp_servers: Object.keys(setup.config.mcp_servers),
        versions: app.versions
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
          `  jobs      ${v.jobs}`,
          `  mcp       ${v.mcp_servers.length === 0 ? "no servers configured" : v.mcp_servers.join(", ")}`
        ].join("\n")
      )
    })
  )
).pipe(Command.withDescription("Show what a session would use: config, storage, model, plugins, threads"))
