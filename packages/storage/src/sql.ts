/**
 * The PostgreSQL `StateStore` (`@strata/storage/sql`), for a fleet of
 * processes sharing one database. `pg` is an optional peer dependency,
 * imported only when the layer is built.
 *
 * The store keeps its tables in one schema (default `strata`), created on
 * first use. Appends are one statement each (atomic, gap-free across
 * processes, durable at commit); record writes are conditional on the
 * expected revision.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { Pool } from "pg"
import { unavailable } from "./internal/io.js"
import * as pgBackend from "./internal/pgBackend.js"
import * as store from "./internal/store.js"
import type { Service, StoreOptions } from "./StateStore.js"
import { StateStore } from "./StateStore.js"
import { StorageError, type UnsupportedSchemaVersion } from "./StorageError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface PostgresOptions extends StoreOptions {
  /** Default `postgres://postgres@127.0.0.1:5432/test`. Ignored when `pool` is given. */
  readonly connectionString?: string
  /** An existing `pg` pool; the layer does not end it. */
  readonly pool?: Pool
  /** The schema holding the tables (default `strata`): a lower-case SQL identifier. */
  readonly schema?: string
  /** Pool size when the layer creates the pool (default 10). */
  readonly max?: number
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/

/**
 * Builds the PostgreSQL store. The pool it creates is ended with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makePostgres = (
  options: PostgresOptions = {}
): Effect.Effect<Service, StorageError | UnsupportedSchemaVersion, Scope.Scope> =>
  Effect.gen(function* () {
    const schema = options.schema ?? "strata"
    if (!SCHEMA.test(schema)) {
      return yield* new StorageError({
        reason: "InvalidInput",
        key: "postgres",
        detail: `schema must match ${SCHEMA.source} (got ${JSON.stringify(schema)})`
      })
    }
    let pool: Pool
    if (options.pool !== undefined) {
      pool = options.pool
    } else {
      const connectionString = options.connectionString ?? "postgres://postgres@127.0.0.1:5432/test"
      const pg = yield* Effect.tryPromise({
        try: () => import("pg"),
        catch: unavailable("postgres", "cannot load pg (install it: npm install pg)")
      })
      const Pool = (pg.default ?? pg).Pool
      const created = new Pool({ connectionString, max: options.max ?? 10, connectionTimeoutMillis: 5000 })
      // An idle client losing its connection must not crash the process.
      created.on("error", () => {})
      yield* Effect.addFinalizer(() => Effect.promise(() => created.end().catch(() => {})))
      pool = created
    }
    const backend = yield* pgBackend.make(pool, schema, options)
    return yield* store.build(backend, options)
  }).pipe(Effect.withSpan("StateStore.open", { attributes: { backend: "postgres" } }))

/**
 * The PostgreSQL store (see {@link makePostgres}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPostgres = (
  options: PostgresOptions = {}
): Layer.Layer<StateStore, StorageError | UnsupportedSchemaVersion> => Layer.scoped(StateStore, makePostgres(options))
