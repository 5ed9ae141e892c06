/**
 * The one border where a backend's foreign errors (a rejected promise from
 * a client, a platform error) become a `StorageError` of reason
 * `Unavailable`, keeping the original as `cause`. Every backend goes
 * through these, so every I/O failure reads the same way:
 * `Unavailable <key>: <action> failed: <why>`.
 */
import * as Effect from "effect/Effect"
import { describe, fromUnknown, make, type StorageError } from "../StorageError.js"

/** Runs a promise-returning call of a client library. */
export const tryPromise = <A>(key: string, action: string, f: () => Promise<A>): Effect.Effect<A, StorageError> =>
  Effect.tryPromise({ try: f, catch: fromUnknown(key, action) })

/** Converts the error of an effect (a platform call). */
export const mapIo =
  (key: string, action: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, StorageError, R> =>
    Effect.mapError(effect, fromUnknown(key, action))

/** Converts a foreign error into `Unavailable` with the detail `<what>: <why>` (a driver that cannot load or connect). */
export const unavailable =
  (key: string, what: string) =>
  (cause: unknown): StorageError =>
    make("Unavailable", key, `${what}: ${describe(cause)}`, cause)
