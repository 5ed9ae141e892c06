/**
 * Encoding and decoding of stored records and journal frames: the schema
 * version check, the migration chain, and schema decoding of records.
 */
import type * as Event from "@strata/protocol/Event"
import * as ProtocolError from "@strata/protocol/ProtocolError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { CorruptJournal, StorageError, UnsupportedSchemaVersion } from "../StorageError.js"
import type { Migration, RecordKind } from "../StorageSchema.js"
import { SCHEMA_VERSION } from "../StorageSchema.js"
import type { FrameDecoder, StoredRecord } from "./backend.js"

type Upgrade = (value: unknown) => unknown

const chain = (
  migrations: ReadonlyArray<Migration>,
  from: number,
  pick: (m: Migration) => Upgrade | undefined
): ReadonlyArray<Upgrade> | undefined => {
  const steps: Array<Upgrade> = []
  for (let v = from; v < SCHEMA_VERSION; v++) {
    const m = migrations.find((m) => m.from === v)
    const f = m === undefined ? undefined : pick(m)
    if (f === undefined) return undefined
    steps.push(f)
  }
  return steps
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Builds the frame decoder every backend uses. The current version takes a
 * fast path (`JSON.parse` plus a shallow check of the envelope): frames were
 * validated against the `Event` schema when they were appended, and the
 * file-system journal checksums them. Older frames go through the
 * migrations and are then decoded with the full schema.
 */
export const makeFrameDecoder = (
  migrations: ReadonlyArray<Migration>,
  frameSchema: Schema.Schema<Event.EventFrame, any, never>
): FrameDecoder => {
  // Compiled on the first migrated record, not when the store opens (most stores never need it).
  let decodeFrame: ((u: unknown) => Either.Either<Event.EventFrame, ParseResult.ParseError>) | undefined
  const decodeFull = (u: unknown) => {
    decodeFrame ??= Schema.decodeUnknownEither(frameSchema)
    return decodeFrame(u)
  }
  return (threadId, version, json, file, offset) => {
    if (version > SCHEMA_VERSION) {
      return new UnsupportedSchemaVersion({ key: `${file}@${offset}`, found: version, supported: SCHEMA_VERSION })
    }
    let value: unknown
    try {
      value = JSON.parse(json)
    } catch (e) {
      return new CorruptJournal({ threadId, file, offset, detail: `record is not valid JSON (${String(e)})` })
    }
    if (version < SCHEMA_VERSION) {
      const steps = chain(migrations, version, (m) => m.event)
      if (steps === undefined) {
        return new UnsupportedSchemaVersion({ key: `${file}@${offset}`, found: version, supported: SCHEMA_VERSION })
      }
      for (const step of steps) value = step(value)
      const decoded = decodeFull(value)
      if (Either.isLeft(decoded)) {
        return new CorruptJournal({
          threadId,
          file,
          offset,
          detail: `migrated record does not match EventFrame: ${ProtocolError.fromParseError(frameSchema, decoded.left).message}`
        })
      }
      value = decoded.right
    }
    if (!isObject(value) || value.thread_id !== threadId || typeof value.event !== "string") {
      return new CorruptJournal({ threadId, file, offset, detail: "record is not an event frame of this thread" })
    }
    return value as unknown as Event.EventFrame
  }
}

/**
 * Decodes the stored entry at `seq` of a key-value journal (Redis, SQL,
 * unstorage, memory): the frame decoder, then the check that the frame's own
 * seq is the one its position implies. `offset` is the entry index.
 */
export const decodeEntry = (
  decode: FrameDecoder,
  threadId: string,
  version: number,
  json: string,
  key: string,
  seq: number
): Event.EventFrame | CorruptJournal | UnsupportedSchemaVersion => {
  const frame = decode(threadId, version, json, key, seq - 1)
  if (frame instanceof CorruptJournal || frame instanceof UnsupportedSchemaVersion) return frame
  return checkSeq(frame, seq, threadId, key, seq - 1)
}

/** Whether a decoded entry is an error. */
export const isEntryError = (u: unknown): u is CorruptJournal | UnsupportedSchemaVersion =>
  u instanceof CorruptJournal || u instanceof UnsupportedSchemaVersion

/** Checks a decoded frame's sequence number against the one its position implies. */
export const checkSeq = (
  frame: Event.EventFrame,
  expected: number,
  threadId: string,
  file: string,
  offset: number
): Event.EventFrame | CorruptJournal =>
  frame.seq === expected
    ? frame
    : new CorruptJournal({ threadId, file, offset, detail: `expected seq ${expected}, found ${String(frame.seq)}` })

/** The stored document of an already valid record. */
export const wrapRecord = (kind: RecordKind, record: unknown): string =>
  JSON.stringify({ schemaVersion: SCHEMA_VERSION, kind, record })

/** Wraps a record in its stored document. */
export const encodeRecord = <A, I>(
  kind: RecordKind,
  schema: Schema.Schema<A, I, never>,
  key: string,
  value: A
): Effect.Effect<string, StorageError> =>
  Either.match(Schema.encodeEither(schema)(value), {
    onLeft: (e) =>
      Effect.fail(
        new StorageError({
          reason: "InvalidInput",
          key,
          detail: ProtocolError.fromParseError(schema as Schema.Schema.AnyNoContext, e).message
        })
      ),
    onRight: (record) => Effect.succeed(JSON.stringify({ schemaVersion: SCHEMA_VERSION, kind, record }))
  })

/** Reads a stored document back: version check, migrations, schema decoding. */
export const decodeRecord = <A, I>(
  migrations: ReadonlyArray<Migration>,
  kind: RecordKind,
  schema: Schema.Schema<A, I, never>,
  key: string,
  stored: StoredRecord,
  /** A faster check that accepts only values the schema decodes to themselves. */
  fast?: (u: unknown) => u is A
): Effect.Effect<A, StorageError | UnsupportedSchemaVersion> =>
  Effect.suspend((): Effect.Effect<A, StorageError | UnsupportedSchemaVersion> => {
    const doc = stored.doc
    if (!isObject(doc) || typeof doc.schemaVersion !== "number" || !("record" in doc)) {
      return Effect.fail(
        new StorageError({ reason: "Corrupt", key, detail: "stored document has no schemaVersion or record" })
      )
    }
    let record = doc.record
    if (doc.schemaVersion > SCHEMA_VERSION) {
      return Effect.fail(new UnsupportedSchemaVersion({ key, found: doc.schemaVersion, supported: SCHEMA_VERSION }))
    }
    if (doc.schemaVersion < SCHEMA_VERSION) {
      const steps = chain(migrations, doc.schemaVersion, (m) =>
        m.record === undefined ? undefined : (r: unknown) => m.record!(kind, r)
      )
      if (steps === undefined) {
        return Effect.fail(new UnsupportedSchemaVersion({ key, found: doc.schemaVersion, supported: SCHEMA_VERSION }))
      }
      for (const step of steps) record = step(record)
    }
    if (fast?.(record)) return Effect.succeed(record)
    return Either.match(Schema.decodeUnknownEither(schema)(record), {
      onLeft: (e) =>
        Effect.fail(
          new StorageError({
            reason: "Corrupt",
            key,
            detail: ProtocolError.fromParseError(schema as Schema.Schema.AnyNoContext, e).message
          })
        ),
      onRight: Effect.succeed
    })
  })

/** `v1 {json}`: the text form of a versioned entry on key-value backends. */
export const tagVersion = (version: number, json: string): string => `v${version} ${json}`

/** Splits `v1 {json}` into version and JSON; `undefined` when malformed. */
export const untagVersion = (text: string): { readonly version: number; readonly json: string } | undefined => {
  if (text.charCodeAt(0) !== 118 /* v */) return undefined
  const space = text.indexOf(" ")
  if (space < 2) return undefined
  const version = Number(text.slice(1, space))
  if (!Number.isInteger(version) || version < 0) return undefined
  return { version, json: text.slice(space + 1) }
}

/** `3 {json}`: a record with its revision, on key-value backends. */
export const tagRevision = (revision: number, doc: string): string => `${revision} ${doc}`

/** Splits `3 {json}`; `undefined` when malformed. */
export const untagRevision = (text: string): { readonly revision: number; readonly doc: string } | undefined => {
  const space = text.indexOf(" ")
  if (space < 1) return undefined
  const revision = Number(text.slice(0, space))
  if (!Number.isInteger(revision) || revision < 1) return undefined
  return { revision, doc: text.slice(space + 1) }
}

/** Parses a stored record's text (`rev doc`) into a `StoredRecord`. */
export const parseTaggedRecord = (id: string, key: string, text: unknown): StoredRecord | StorageError => {
  if (typeof text !== "string") {
    return new StorageError({ reason: "Corrupt", key, detail: `stored value is a ${typeof text}, not text` })
  }
  const parts = untagRevision(text)
  if (parts === undefined) return new StorageError({ reason: "Corrupt", key, detail: "stored value has no revision" })
  try {
    return { key: id, revision: parts.revision, doc: JSON.parse(parts.doc) }
  } catch (e) {
    return new StorageError({ reason: "Corrupt", key, detail: `stored value is not valid JSON (${String(e)})` })
  }
}
