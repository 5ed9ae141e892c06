/**
 * What `strata status` reports: version, working directory, config files,
 * storage, the model a session would use (and why), plugins, threads and MCP
 * servers. It reads the config and the store (opened read-only: nothing is
 * written) only: no runtime is built, no plugin loaded, no server started. Shared by the `status` command and the
 * launcher's fast path (`src/statusMain.ts`), which answers `strata status`
 * without loading the command-line parser.
 *
 * @since 0.1.0
 */
import * as Path from "@effect/platform/Path"
import type { StorageConfig } from "@strata/core-runtime/RuntimeConfig"
import * as Sandbox from "@strata/sandbox/Sandbox"
import * as Effect from "effect/Effect"
import * as Choice from "./Choice.js"
import { version } from "./version.js"

const runtimeName = () => ("Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node")

/**
 * The modules every report needs beyond the config: imported as the report
 * starts, so that they load while the config files are read.
 */
const importModules = () => {
  const store = import("@strata/storage/StateStore")
  const sandbox = Promise.all([import("@strata/sandbox/node"), import("@strata/core-runtime/SandboxOptions")])
  // Awaited later, or never when the config cannot be read: not an unhandled rejection then.
  store.catch(() => {})
  sandbox.catch(() => {})
  return { store, sandbox }
}
type Modules = ReturnType<typeof importModules>

/**
 * What the store holds and how durable it is, read with the store opened
 * read-only (nothing is written, a file store that does not exist yet is
 * not created).
 */
const storeFacts = (cwd: string, storage: StorageConfig, modules: Modules) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    // The file store directly, the others through the runtime's selector (imported when needed).
    const StateStore = yield* Effect.promise(() => modules.store).pipe(Effect.withSpan("Status.loadStore"))
    const layer =
      storage.kind === "fs"
        ? StateStore.layerFileSystem(path.resolve(cwd, storage.dir), {
            readOnly: true,
            ...(storage.durability === undefined ? {} : { durability: storage.durability })
          })
        : (yield* Effect.promise(() => import("@strata/core-runtime/RuntimeLayer"))).layerStorage(storage, cwd, {
            readOnly: true
          })
    return yield* Effect.flatMap(StateStore.StateStore, (store) =>
      Effect.map(
        // One listing (one directory read, one read per record) for the threads and the damaged ones.
        store.listThreads({ damaged: true }),
        (page) => ({
          threads: {
            total: page.threads.length,
            archived: page.threads.filter((t) => t.archived === true || t.status === "archived").length,
            damaged: page.damaged?.length ?? 0
          },
          durability: store.durability,
          capabilities: store.capabilities
        })
      )
    ).pipe(Effect.provide(layer))
  }).pipe(Effect.withSpan("Status.store"))

/**
 * The report.
 *
 * @since 0.1.0
 * @category constructors
 */
export const report = Effect.fn("Status.report")(function* (options: Choice.Options) {
  const modules = importModules()
  const loaded = yield* Choice.loadConfig(options).pipe(Effect.withSpan("Status.config"))
  const storage = loaded.value.storage
  const jobs = loaded.value.jobs
  // The model choice (a TCP probe of Ollama), the store, the queue and the
  // sandbox (bubblewrap probed in child processes) are read at once.
  const { choice, facts, queue, sandbox } = yield* Effect.all(
    {
      choice: Choice.chooseModel(options, loaded.value).pipe(Effect.withSpan("Status.model")),
      facts: storeFacts(options.cwd, storage, modules),
      queue:
        jobs.backend === "bullmq"
          ? Effect.promise(() => import("@strata/jobs/bullmq")).pipe(
              Effect.flatMap((bull) =>
                bull.clusterStatus({
                  url: jobs.redis_url ?? (storage.kind === "redis" ? storage.url : undefined),
                  prefix: jobs.prefix
                })
              ),
              Effect.map((q) => ({ reachable: true as const, ...q })),
              Effect.catchAll((e) => Effect.succeed({ reachable: false as const, error: e.message })),
              Effect.withSpan("Status.queue")
            )
          : Effect.succeed(undefined),
      sandbox: Effect.promise(async () => {
        const [SandboxNode, SandboxOptions] = await modules.sandbox
        return SandboxNode.probe(SandboxOptions.make(loaded.value, { cwd: options.cwd, env: options.env }))
      }).pipe(Effect.withSpan("Status.sandbox"))
    },
    { concurrency: "unbounded" }
  )
  return {
    version,
    cwd: options.cwd,
    runtime: { name: runtimeName(), version: process.versions.bun ?? process.versions.deno ?? process.versions.node },
    config_sources: [...new Set([...loaded.origins.values()].map((origin) => origin.source))].filter(
      (s) => s !== "defaults" && s !== "cli"
    ),
    storage,
    durability: facts.durability,
    capabilities: facts.capabilities,
    model: choice,
    plugins: [...Choice.builtinPlugins, ...loaded.value.plugins],
    threads: facts.threads,
    jobs: { backend: jobs.backend, concurrency: jobs.concurrency, ...(queue === undefined ? {} : { queue }) },
    mcp_servers: Object.keys(loaded.value.mcp_servers),
    sandbox
  }
})

const WRITERS = {
  "many-processes": "any number of writer processes",
  "one-process": "one writer process at a time (the driver has no cross-process lock)",
  "this-process": "this process only"
} as const

/** One line: what the store promises beyond durability. */
const describeCapabilities = (c: Effect.Effect.Success<ReturnType<typeof storeFacts>>["capabilities"]): string =>
  [
    WRITERS[c.writers],
    c.atomicAppend === "native" ? "atomic appends" : "appends committed by a marker",
    c.leases === "cross-process" ? "leases across processes" : "leases in this process",
    `listing: ${c.list}`
  ].join("; ")

type Report = Effect.Effect.Success<ReturnType<typeof report>>

/** `local, 4 at once` or the cluster's queue depth, workers and stalled recoveries. */
const jobsLine = (jobs: Report["jobs"]): string => {
  if (jobs.queue === undefined) return `${jobs.backend}, ${jobs.concurrency} at once`
  const q = jobs.queue
  if (!q.reachable) return `bullmq, queue NOT reachable: ${q.error}`
  const kinds = q.kinds
  const sum = (f: (k: (typeof kinds)[number]) => number) => kinds.reduce((n, k) => n + f(k), 0)
  return `bullmq, ${sum((k) => k.waiting)} waiting, ${sum((k) => k.active)} active, ${sum((k) => k.delayed)} delayed; ${q.workers} worker${q.workers === 1 ? "" : "s"}; ${q.stalledRecoveries} stalled run${q.stalledRecoveries === 1 ? "" : "s"} recovered`
}

/**
 * The report as text.
 *
 * @since 0.1.0
 * @category utils
 */
export const format = (v: Effect.Effect.Success<ReturnType<typeof report>>): string =>
  [
    `strata ${v.version} on ${v.runtime.name} ${v.runtime.version}`,
    `  cwd       ${v.cwd}`,
    `  config    ${v.config_sources.length === 0 ? "defaults only (no config file)" : v.config_sources.join(", ")}`,
    `  storage   ${v.storage.kind}${"dir" in v.storage ? ` (${v.storage.dir})` : ""}${"driver" in v.storage ? ` (driver ${v.storage.driver})` : ""}, ${v.durability.level === "durable" ? "durable" : v.durability.level === "unknown" ? `durability unknown: ${v.durability.detail}` : `NOT durable: ${v.durability.detail}`}`,
    `            ${describeCapabilities(v.capabilities)}`,
    `  model     ${v.model.banner}${v.model.skipped === undefined ? "" : ` (${v.model.skipped})`}`,
    `  plugins   ${v.plugins.join(", ")}`,
    `  threads   ${v.threads.total} (${v.threads.archived} archived${v.threads.damaged > 0 ? `, ${v.threads.damaged} damaged: see strata threads list` : ""})`,
    `  jobs      ${jobsLine(v.jobs)}`,
    `  mcp       ${v.mcp_servers.length === 0 ? "no servers configured" : v.mcp_servers.join(", ")}`,
    `  sandbox   ${Sandbox.describe(v.sandbox)}`
  ].join("\n")
