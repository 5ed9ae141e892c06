/**
 * The Redis `StateStore` (`@strata/storage/redis`), for a fleet of processes
 * sharing one server. `ioredis` is an optional peer dependency, imported
 * only when the layer is built.
 *
 * Appends are one Lua script each: atomic and gap-free across processes.
 * Record writes are a compare-and-set script. An append is acknowledged when
 * Redis has applied it; whether it survives a Redis crash is the server's
 * persistence setting (`appendonly yes` with `appendfsync always` for a
 * fsync before every reply). Use `requireDurable` to refuse a server that
 * is not set up that way.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { Redis } from "ioredis"
import { unavailable } from "./internal/io.js"
import * as redisBackend from "./internal/redisBackend.js"
import * as store from "./internal/store.js"
import type { Durability, Service, StoreOptions } from "./StateStore.js"
import { StateStore } from "./StateStore.js"
import { StorageError, type UnsupportedSchemaVersion } from "./StorageError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface RedisOptions extends StoreOptions {
  /** Default `redis://127.0.0.1:6379`. Ignored when `client` is given. */
  readonly url?: string
  /** An existing ioredis client; the layer does not close it. */
  readonly client?: Redis
  /** Key prefix (default `strata`): 1..64 characters of `[A-Za-z0-9._:-]`. */
  readonly prefix?: string
  /** How long to wait for the connection (default 5 seconds). */
  readonly connectTimeout?: Duration.DurationInput
  /**
   * Refuse a server whose persistence does not fsync every write
   * (`appendonly yes` and `appendfsync always`): the same as
   * `durability: "strict"`. Default false: the store says so on stderr once
   * per process instead (and in `durability`).
   */
  readonly requireDurable?: boolean
}

const PREFIX = /^[A-Za-z0-9._:-]{1,64}$/

/**
 * Says `message` on stderr once per process and server: a long-running
 * process or a CLI opening the store several times warns once, and stdout
 * (where `--json` output goes) stays clean.
 */
const warnOnce = (url: string, message: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    const g = globalThis as { [k: symbol]: Set<string> | undefined }
    const key = Symbol.for("@strata/storage/redisWarned")
    const warned = (g[key] ??= new Set())
    if (warned.has(url)) return Effect.void
    warned.add(url)
    return Console.error(message)
  })

/**
 * Builds the Redis store. The client it creates is closed with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeRedis = (
  options: RedisOptions = {}
): Effect.Effect<Service, StorageError | UnsupportedSchemaVersion, Scope.Scope> =>
  Effect.gen(function* () {
    const prefix = options.prefix ?? "strata"
    if (!PREFIX.test(prefix)) {
      return yield* new StorageError({
        reason: "InvalidInput",
        key: "redis",
        detail: `prefix must be 1..64 characters of [A-Za-z0-9._:-] (got ${JSON.stringify(prefix)})`
      })
    }
    const url = options.url ?? "redis://127.0.0.1:6379"
    const failed = (what: string) => unavailable(url, what)

    let client: Redis
    if (options.client !== undefined) {
      client = options.client
    } else {
      const { Redis } = yield* Effect.tryPromise({
        try: () => import("ioredis"),
        catch: failed("cannot load ioredis (install it: npm install ioredis)")
      })
      const timeout = Duration.toMillis(options.connectTimeout ?? "5 seconds")
      const created = new Redis(url, {
        lazyConnect: true,
        connectTimeout: timeout,
        maxRetriesPerRequest: 3,
        // Commands issued in the same tick share one write to the socket.
        enableAutoPipelining: true,
        // Fail the first connection fast; reconnect with backoff afterwards.
        retryStrategy: (times) => Math.min(times * 100, 2000)
      })
      // Connection errors surface through the commands that fail; without a
      // listener ioredis would also print each one.
      created.on("error", () => {})
      yield* Effect.addFinalizer(() => Effect.promise(() => created.quit().catch(() => created.disconnect())))
      yield* Effect.tryPromise({ try: () => created.connect(), catch: failed("cannot connect to Redis") }).pipe(
        Effect.timeoutFail({ duration: timeout, onTimeout: () => failed("cannot connect to Redis")("timed out") })
      )
      client = created
    }

    const durable = yield* Effect.tryPromise(async () => {
      const [, aof] = (await client.config("GET", "appendonly")) as [string, string]
      const [, fsync] = (await client.config("GET", "appendfsync")) as [string, string]
      return { aof, fsync }
    }).pipe(Effect.option)
    const isDurable = Option.isSome(durable) && durable.value.aof === "yes" && durable.value.fsync === "always"
    const seen = Option.isSome(durable)
      ? `appendonly ${durable.value.aof}, appendfsync ${durable.value.fsync}`
      : "persistence settings unreadable"
    const durability: Durability = isDurable
      ? { level: "durable", detail: `Redis at ${url} fsyncs every write (${seen})` }
      : {
          level: "volatile",
          detail:
            `Redis at ${url} does not fsync every write (${seen}): acknowledged writes can be lost if Redis crashes; ` +
            "set appendonly yes and appendfsync always"
        }
    const strict = options.durability === "strict" || options.requireDurable === true
    if (!isDurable && strict) {
      // Before anything is written (the store's marker included).
      return yield* new StorageError({
        reason: "NotDurable",
        key: url,
        detail: `durability = "strict" refuses this store: ${durability.detail}`
      })
    }
    if (!isDurable) yield* warnOnce(url, `@strata/storage: warning: ${durability.detail}`)
    const backend = yield* redisBackend.make(client, prefix, durability, options)
    return yield* store.build(backend, strict ? { ...options, durability: "strict" } : options)
  }).pipe(Effect.withSpan("StateStore.open", { attributes: { backend: "redis" } }))

/**
 * The Redis store (see {@link makeRedis}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRedis = (
  options: RedisOptions = {}
): Layer.Layer<StateStore, StorageError | UnsupportedSchemaVersion> => Layer.scoped(StateStore, makeRedis(options))
