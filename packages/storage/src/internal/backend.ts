/**
 * The internal port every backend implements: an append-only journal per
 * thread with store-assigned sequence numbers, and revisioned records with a
 * compare-and-set write. The `StateStore` semantics (validation, encoding,
 * schema versions, checkpoints, jobs, approvals, export) are written once on
 * top of it, in `store.ts`.
 */
import type * as Event from "@strata/protocol/Event"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Capabilities, Durability, LeaseInfo } from "../StateStore.js"
import type { CorruptJournal, LeaseLost, StorageError, UnsupportedSchemaVersion } from "../StorageError.js"
import type { RecordKind } from "../StorageSchema.js"

/** Where a record lives. Checkpoints are scoped to their thread. */
export type Collection =
  | { readonly kind: "thread" }
  | { readonly kind: "checkpoint"; readonly threadId: string }
  | { readonly kind: "job" }
  | { readonly kind: "approval" }

/** A record as stored: its revision (1 for the first write) and its document. */
export interface StoredRecord {
  readonly key: string
  readonly revision: number
  /** The parsed wrapper `{ schemaVersion, kind, record }`. */
  readonly doc: unknown
}

/** A record that could not be read back, and why. */
export interface Damaged {
  readonly key: string
  readonly error: StorageError | UnsupportedSchemaVersion
}

/** What `listRecords` found. */
export interface Listing {
  readonly records: ReadonlyArray<StoredRecord>
  readonly damaged: ReadonlyArray<Damaged>
}

/**
 * The outcome of a compare-and-set write. `lost`: the write was fenced with
 * a lease token that is no longer the thread's current one.
 */
export type PutResult =
  | { readonly ok: true; readonly revision: number }
  | { readonly ok: false; readonly actual: number; readonly lost?: boolean }

/** A write fenced by a thread lease. */
export interface Fence {
  readonly threadId: string
  readonly token: number
}

/** What a writer asks for. The backend adds what it knows of the process (pid, host). */
export interface LeaseRequest {
  readonly owner: string
  readonly ttlMs: number
}

export type LeaseAcquired =
  | { readonly ok: true; readonly token: number; readonly expiresAt: number }
  | { readonly ok: false; readonly holder: LeaseInfo }

/**
 * Thread leases. A lease is live while it is neither released nor expired
 * (and, where the backend can tell, its process is alive). Tokens are
 * strictly increasing per thread. A fenced write passes while the current
 * lease record carries its token and is not released (an expired lease
 * nobody took yet still passes).
 */
export interface Leases {
  readonly acquire: (threadId: string, request: LeaseRequest) => Effect.Effect<LeaseAcquired, StorageError>
  /** Extends the lease; `none` when the token is no longer current (lost). */
  readonly renew: (threadId: string, token: number, ttlMs: number) => Effect.Effect<Option.Option<number>, StorageError>
  readonly release: (threadId: string, token: number) => Effect.Effect<void, StorageError>
  readonly current: (threadId: string) => Effect.Effect<Option.Option<LeaseInfo>, StorageError>
}

export type JournalError = StorageError | CorruptJournal | UnsupportedSchemaVersion

export interface Backend {
  readonly name: string
  /** How durable an acknowledged write is here. */
  readonly durability: Durability
  /** What this backend promises (durability, atomicity, locking, leases, listing cost). */
  readonly capabilities: Capabilities
  /**
   * Appends `bodies` (each the JSON of an event frame without its `seq`) to
   * the thread's journal, atomically and durably, and returns the sequence
   * number given to the first. The backend writes `{"seq":N,` + body.slice(1).
   * With `fence` (a lease token) it writes only while that token is the
   * thread's current lease, atomically with the check, else `LeaseLost`.
   */
  readonly append: (
    threadId: string,
    bodies: ReadonlyArray<string>,
    fence?: number | undefined
  ) => Effect.Effect<number, JournalError | LeaseLost>
  /** Reads frames with `seq >= fromSeq`, at most `limit` of them, in order. */
  readonly read: (threadId: string, fromSeq: number, limit: number) => Stream.Stream<Event.EventFrame, JournalError>
  /** The last sequence number given in the thread (0 when empty). */
  readonly lastSeq: (threadId: string) => Effect.Effect<number, JournalError>
  readonly getRecord: (
    collection: Collection,
    key: string
  ) => Effect.Effect<Option.Option<StoredRecord>, StorageError | UnsupportedSchemaVersion>
  /**
   * Writes `doc` (the JSON wrapper) when the stored revision equals
   * `expected` (0 = absent); `undefined` writes unconditionally. With
   * `fence`, only while the lease token is current (else `lost`).
   */
  readonly putRecord: (
    collection: Collection,
    key: string,
    doc: string,
    expected: number | undefined,
    fence?: Fence | undefined
  ) => Effect.Effect<PutResult, StorageError>
  /**
   * Every record of a collection. A record that cannot be read back (bad
   * JSON, no revision) is listed in `damaged` instead; the others are
   * returned as usual.
   */
  readonly listRecords: (collection: Collection) => Effect.Effect<Listing, StorageError | UnsupportedSchemaVersion>
  /** Removes a thread's journal, checkpoints and metadata (its lease counter stays). */
  readonly removeThread: (threadId: string) => Effect.Effect<void, StorageError>
  readonly leases: Leases
}

/** Decodes one stored event frame: version check, migrations, JSON parse. */
export type FrameDecoder = (
  threadId: string,
  version: number,
  json: string,
  file: string,
  offset: number
) => Event.EventFrame | CorruptJournal | UnsupportedSchemaVersion

export const kindOf = (collection: Collection): RecordKind => collection.kind

/** `{"seq":N,` + the rest of the body: the stored form of a frame. */
export const withSeq = (seq: number, body: string): string => `{"seq":${seq},${body.slice(1)}`

/**
 * A store that holds nothing and is never written: what a read-only store
 * reads when its backend has not been set up yet (no tables, no marker).
 */
export const emptyBackend = (name: string, durability: Durability, capabilities: Capabilities): Backend => {
  const never = Effect.dieMessage(`${name}: a read-only store was written to`)
  return {
    name,
    durability,
    capabilities,
    append: () => never,
    read: () => Stream.empty,
    lastSeq: () => Effect.succeed(0),
    getRecord: () => Effect.succeed(Option.none()),
    putRecord: () => never,
    listRecords: () => Effect.succeed({ records: [], damaged: [] }),
    removeThread: () => never,
    leases: {
      acquire: () => never,
      renew: () => never,
      release: () => never,
      current: () => Effect.succeed(Option.none())
    }
  }
}
