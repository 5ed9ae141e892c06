/**
 * `StateStore` on any unstorage driver, chosen by name (`@strata/storage/Unstorage`):
 * one of unstorage's own drivers (`fs`, `redis`, `deno-kv`, `db0`, `s3`, ...),
 * loaded lazily so that its optional packages stay optional, or a package or
 * file whose default export is a driver factory.
 *
 * The store is crash-tolerant on drivers that only write one key at a time:
 * an append is acknowledged only after its commit marker (the journal's
 * head, in two alternating checksummed slots) is written, entries beyond
 * the committed head are ignored and cleaned by the next writer, and
 * records live in two slots so that a torn write leaves the previous
 * revision readable. unstorage has no compare-and-set, so one process
 * writes at a time (a second one is refused with `Locked`, naming the
 * first); thread leases hold within that process. `capabilities` and
 * `durability` say what each driver promises.
 *
 * @example
 * ```ts
 * import { Unstorage } from "@strata/storage/Unstorage"
 *
 * const layer = Unstorage.layerDriver({ driver: "redis", options: { url: "redis://127.0.0.1:6379", base: "strata" } })
 * ```
 *
 * @since 0.3.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { builtinDrivers, createStorage, type Driver, type Storage } from "unstorage"
import * as Capabilities from "./internal/capabilities.js"
import * as ProcessInfo from "./internal/processInfo.js"
import * as store from "./internal/store.js"
import * as unstorageBackend from "./internal/unstorageBackend.js"
import type * as WriterLock from "./internal/writerLock.js"
import { type Service, StateStore, type StoreOptions } from "./StateStore.js"
import { DriverUnavailable, describe, type StorageError, type UnsupportedSchemaVersion } from "./StorageError.js"

/**
 * The packages unstorage's drivers need (its optional peer dependencies),
 * so a missing one is named even when the runtime's error does not say.
 *
 * @since 0.3.0
 * @category constants
 */
export const driverPackages: Readonly<Record<string, ReadonlyArray<string>>> = {
  "azure-app-configuration": ["@azure/app-configuration", "@azure/identity"],
  "azure-cosmos": ["@azure/cosmos", "@azure/identity"],
  "azure-key-vault": ["@azure/keyvault-secrets", "@azure/identity"],
  "azure-storage-blob": ["@azure/storage-blob", "@azure/identity"],
  "azure-storage-table": ["@azure/data-tables", "@azure/identity"],
  "capacitor-preferences": ["@capacitor/preferences"],
  db0: ["db0"],
  "deno-kv-node": ["@deno/kv"],
  indexedb: ["idb-keyval"],
  "lru-cache": ["lru-cache"],
  mongodb: ["mongodb"],
  "netlify-blobs": ["@netlify/blobs"],
  planetscale: ["@planetscale/database"],
  redis: ["ioredis"],
  s3: ["aws4fetch"],
  uploadthing: ["uploadthing"],
  upstash: ["@upstash/redis"],
  "vercel-blob": ["@vercel/blob"],
  "vercel-kv": ["@vercel/kv"],
  "vercel-runtime-cache": ["@vercel/functions"]
}

/**
 * unstorage's own driver names (both spellings, `fs-lite` and `fsLite`).
 *
 * @since 0.3.0
 * @category constants
 */
export const builtinDriverNames: ReadonlyArray<string> = Object.keys(builtinDrivers)

/**
 * Options of a store on an unstorage `Storage`.
 *
 * @since 0.3.0
 * @category models
 */
export interface UnstorageOptions extends StoreOptions {
  /**
   * The driver's name, for what the store promises (`capabilities`,
   * `durability`). Default: the name the mounted driver gives itself.
   */
  readonly driver?: string | undefined
  /**
   * How long the writer record lives without renewal (default 15 s): how
   * long a second process waits at most after the writer crashed, when it
   * cannot tell that the writer's process is gone.
   */
  readonly writerTtlMs?: number | undefined
}

/**
 * What a configuration names: a driver and its options.
 *
 * @since 0.3.0
 * @category models
 */
export interface DriverConfig extends UnstorageOptions {
  /** One of {@link builtinDriverNames}, or a package name or file URL whose default export is a driver factory. */
  readonly driver: string
  /** Passed to the driver's factory (for `db0`: `{ connector, ...connector options, tableName? }`). */
  readonly options?: Readonly<Record<string, unknown>> | undefined
}

const isMissingModule = (e: unknown): boolean => {
  const code = (e as { code?: unknown } | null)?.code
  const message = describe(e)
  return (
    code === "ERR_MODULE_NOT_FOUND" ||
    code === "MODULE_NOT_FOUND" ||
    /Cannot find (module|package)|Module not found|not found in import map|Could not resolve/i.test(message)
  )
}

/** The package a "cannot find" message names, if any. */
const missingPackage = (e: unknown): string | undefined => {
  const m = /Cannot find (?:module|package) ['"]([^'"]+)['"]/.exec(describe(e))
  if (m === null) return undefined
  const spec = m[1]!
  if (spec.startsWith(".") || spec.startsWith("/") || spec.startsWith("file:")) return undefined
  const parts = spec.split("/")
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]
}

const canonical = (name: string): string => {
  const path = (builtinDrivers as Record<string, string>)[name]
  return path === undefined ? name : path.slice("unstorage/drivers/".length)
}

type DriverFactory = (options: Record<string, unknown>) => Driver

const importModule = (driver: string, specifier: string) =>
  Effect.tryPromise({
    try: () => import(/* @vite-ignore */ specifier) as Promise<{ default?: unknown }>,
    catch: (e) => {
      const pkg = missingPackage(e) ?? (driverPackages[canonical(driver)] ?? [])[0]
      const builtin = canonical(driver) !== driver || driver in builtinDrivers
      return new DriverUnavailable({
        driver,
        field: "storage.driver",
        ...(pkg === undefined ? {} : { package: pkg }),
        detail: !isMissingModule(e)
          ? `loading ${specifier} failed: ${describe(e)}`
          : builtin
            ? `it needs the package "${pkg ?? specifier}", which is not installed (npm install ${pkg ?? specifier})`
            : `it is neither one of unstorage's drivers (${[...new Set(builtinDriverNames.map(canonical))].join(", ")}) nor an installed package or file`,
        cause: e
      })
    }
  })

const factoryOf = (driver: string, module: { default?: unknown }) =>
  typeof module.default === "function"
    ? Effect.succeed(module.default as DriverFactory)
    : Effect.fail(
        new DriverUnavailable({
          driver,
          field: "storage.driver",
          detail: "its module has no default export that makes a driver"
        })
      )

const construct = (driver: string, factory: DriverFactory, options: Record<string, unknown>) =>
  Effect.try({
    try: () => factory(options),
    catch: (e) =>
      new DriverUnavailable({
        driver,
        field: "storage.options",
        detail: `the driver refused its options: ${describe(e)}`,
        cause: e
      })
  })

/** db0 takes a database object: built here from `{ connector, ...options }`. */
const db0Options = (options: Record<string, unknown>) =>
  Effect.gen(function* () {
    if ("database" in options) return options
    const { connector, tableName, ...rest } = options
    if (typeof connector !== "string" || !/^[a-z0-9-]+$/.test(connector)) {
      return yield* new DriverUnavailable({
        driver: "db0",
        field: "storage.options.connector",
        detail: 'db0 needs a connector name (for example "postgresql", "sqlite", "node-sqlite", "libsql")'
      })
    }
    const db0 = yield* importModule("db0", "db0")
    const connectorModule = yield* importModule("db0", `db0/connectors/${connector}`)
    const makeConnector = yield* factoryOf("db0", connectorModule)
    const database = yield* Effect.try({
      try: () => (db0 as { createDatabase: (c: unknown) => unknown }).createDatabase(makeConnector(rest)),
      catch: (e) =>
        new DriverUnavailable({
          driver: "db0",
          field: "storage.options",
          detail: `db0 connector "${connector}" refused its options: ${describe(e)}`,
          cause: e
        })
    })
    return { database, ...(tableName === undefined ? {} : { tableName }) }
  })

/**
 * Loads a driver by name and builds it with `options`: one of unstorage's
 * drivers (imported only now, so its optional packages stay optional), or
 * a package or file URL whose default export is a driver factory. Fails
 * with `DriverUnavailable`, naming the driver, the missing package and the
 * configuration field.
 *
 * @since 0.3.0
 * @category constructors
 */
export const loadDriver = (
  driver: string,
  options: Readonly<Record<string, unknown>> = {}
): Effect.Effect<Driver, DriverUnavailable> =>
  Effect.gen(function* () {
    if (driver.trim() === "") {
      return yield* new DriverUnavailable({ driver, field: "storage.driver", detail: "no driver named" })
    }
    const builtin = (builtinDrivers as Record<string, string>)[driver]
    const module = yield* importModule(driver, builtin ?? driver)
    const factory = yield* factoryOf(driver, module)
    const opts = canonical(driver) === "db0" ? yield* db0Options({ ...options }) : { ...options }
    return yield* construct(driver, factory, opts)
  }).pipe(Effect.withSpan("Unstorage.loadDriver", { attributes: { driver } }))

/**
 * Who this process is, for the writer record: pid, start time, boot and
 * host where `/proc` tells, so a crashed writer is recognised at once.
 *
 * @since 0.3.0
 * @category constructors
 */
export const processIdentity: Effect.Effect<WriterLock.Identity, never, FileSystem.FileSystem> = Effect.flatMap(
  FileSystem.FileSystem,
  (fs) =>
    Effect.map(ProcessInfo.current(fs), (self) => ({
      self,
      isGone: (holder: ProcessInfo.ProcessId) => ProcessInfo.isGone(fs, self, holder)
    }))
)

/** Without `/proc`: the pid only, and a crashed writer is taken over once its record expires. */
const basicIdentity: WriterLock.Identity = { self: ProcessInfo.basic(), isGone: () => Effect.succeed(false) }

const driverNameOf = (storage: Storage): string => {
  const name = storage.getMount("").driver.name
  return typeof name === "string" && name !== "" ? name : "custom"
}

/**
 * What a store on this driver promises (see `StateStore.Capabilities`),
 * and how durable its acknowledged writes are.
 *
 * @since 0.3.0
 * @category utils
 */
export const describeDriver = (driver: string) => {
  const facts = Capabilities.driverFacts(driver)
  return { durability: facts.durability, capabilities: Capabilities.unstorage(facts) }
}

const build = (
  storage: Storage,
  options: UnstorageOptions,
  identity: WriterLock.Identity
): Effect.Effect<Service, StorageError | UnsupportedSchemaVersion, Scope.Scope> =>
  Effect.gen(function* () {
    const driver = options.driver ?? driverNameOf(storage)
    const facts = Capabilities.driverFacts(driver)
    const backend = yield* unstorageBackend.make(storage, {
      ...options,
      driverName: driver,
      driverDurability: facts.durability,
      capabilities: Capabilities.unstorage(facts),
      processLocal: facts.processLocal,
      identity
    })
    return yield* store.build(backend, options)
  }).pipe(Effect.withSpan("StateStore.open", { attributes: { backend: "unstorage" } }))

/**
 * A store on an unstorage `Storage` you built. The writer record knows this
 * process by its pid only: after a crash, another process takes over once
 * the record expires (`writerTtlMs`). {@link makeDriver} knows more.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = (
  storage: Storage,
  options: UnstorageOptions = {}
): Effect.Effect<Service, StorageError | UnsupportedSchemaVersion, Scope.Scope> =>
  build(storage, options, basicIdentity)

/**
 * A store on the driver a configuration names (see {@link loadDriver}). The
 * driver is disposed of with the scope.
 *
 * @since 0.3.0
 * @category constructors
 */
export const makeDriver = (
  config: DriverConfig
): Effect.Effect<
  Service,
  StorageError | UnsupportedSchemaVersion | DriverUnavailable,
  FileSystem.FileSystem | Scope.Scope
> =>
  Effect.gen(function* () {
    const driver = yield* loadDriver(config.driver, config.options ?? {})
    const storage = yield* Effect.acquireRelease(
      Effect.sync(() => createStorage({ driver })),
      (s) => Effect.promise(() => s.dispose().catch(() => undefined))
    )
    const identity = yield* processIdentity
    return yield* build(storage, { ...config, driver: canonical(config.driver) }, identity)
  })

/**
 * A layer of {@link makeDriver}.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerDriver = (
  config: DriverConfig
): Layer.Layer<StateStore, StorageError | UnsupportedSchemaVersion | DriverUnavailable, FileSystem.FileSystem> =>
  Layer.scoped(StateStore, makeDriver(config))

/**
 * A layer of {@link make}.
 *
 * @since 0.3.0
 * @category layers
 */
export const layer = (
  storage: Storage,
  options: UnstorageOptions = {}
): Layer.Layer<StateStore, StorageError | UnsupportedSchemaVersion> => Layer.scoped(StateStore, make(storage, options))
