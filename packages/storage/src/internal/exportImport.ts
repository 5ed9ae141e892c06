/**
 * A thread's JSONL export and its import (see `docs/storage-schema.md`),
 * over any backend: every line of an import is decoded and checked before
 * anything is written.
 */
import type * as Event from "@strata/protocol/Event"
import * as Ids from "@strata/protocol/Ids"
import * as ProtocolError from "@strata/protocol/ProtocolError"
import * as Thread from "@strata/protocol/Thread"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as StateStore from "../StateStore.js"
import { type StorageError, UnsupportedSchemaVersion } from "../StorageError.js"
import * as StorageSchema from "../StorageSchema.js"
import type { Backend, Collection } from "./backend.js"
import { encodeRecord } from "./codec.js"
import { fail } from "./storeChecks.js"

const THREADS: Collection = { kind: "thread" }
const checkpoints = (threadId: string): Collection => ({ kind: "checkpoint", threadId })

export interface Deps {
  readonly backend: Backend
  readonly migrations: ReadonlyArray<StorageSchema.Migration>
  /** Fails with `ReadOnly` on a read-only store. */
  readonly writable: (key: string) => Effect.Effect<void, StorageError>
  readonly readThread: (
    threadId: string
  ) => Effect.Effect<Option.Option<Thread.Thread>, StorageError | UnsupportedSchemaVersion>
  readonly readCheckpoints: (
    threadId: string
  ) => Effect.Effect<ReadonlyArray<StorageSchema.Checkpoint>, StorageError | UnsupportedSchemaVersion>
}

export const make = (deps: Deps) => {
  const { backend } = deps

  const exportThread = (threadId: string) =>
    Stream.unwrap(
      Effect.gen(function* () {
        const id = yield* Ids.validate("ThreadId", threadId, "threadId")
        const thread = yield* deps.readThread(id)
        const header: StorageSchema.ExportLine = {
          type: "thread",
          schemaVersion: StorageSchema.SCHEMA_VERSION,
          thread_id: id,
          thread: Option.getOrNull(thread)
        }
        const count = yield* Ref.make(0)
        const events = backend.read(id, 1, Number.POSITIVE_INFINITY).pipe(
          Stream.mapChunks((frames) =>
            Chunk.map(
              frames,
              (frame) => `${JSON.stringify({ type: "event", schemaVersion: StorageSchema.SCHEMA_VERSION, frame })}\n`
            )
          ),
          Stream.tap(() => Ref.update(count, (n) => n + 1))
        )
        const rest = Stream.unwrap(
          Effect.gen(function* () {
            const all = yield* deps.readCheckpoints(id)
            const sorted = [...all].sort((a, b) => a.order - b.order)
            const lines = sorted.map(
              (checkpoint) =>
                `${JSON.stringify({ type: "checkpoint", schemaVersion: StorageSchema.SCHEMA_VERSION, checkpoint })}\n`
            )
            const n = yield* Ref.get(count)
            lines.push(`${JSON.stringify({ type: "end", events: n, checkpoints: sorted.length })}\n`)
            return Stream.fromIterable(lines)
          })
        )
        return Stream.concat(Stream.make(`${JSON.stringify(header)}\n`), Stream.concat(events, rest))
      })
    ).pipe(Stream.withSpan("StateStore.exportThread", { attributes: { threadId } }))

  // Compiled on the first import, not when the store opens.
  let decodeExportLine: ((u: unknown) => Either.Either<StorageSchema.ExportLine, ParseResult.ParseError>) | undefined
  const decodeLine = (u: unknown) => {
    decodeExportLine ??= Schema.decodeUnknownEither(StorageSchema.ExportLine)
    return decodeExportLine(u)
  }

  const parseLine = (
    text: string,
    lineNo: number
  ): Effect.Effect<StorageSchema.ExportLine, StorageError | UnsupportedSchemaVersion> =>
    Effect.suspend((): Effect.Effect<StorageSchema.ExportLine, StorageError | UnsupportedSchemaVersion> => {
      const key = `import line ${lineNo}`
      let raw: unknown
      try {
        raw = JSON.parse(text)
      } catch (e) {
        return fail("InvalidInput", key, `not valid JSON (${String(e)})`)
      }
      if (typeof raw === "object" && raw !== null && "schemaVersion" in raw && typeof raw.schemaVersion === "number") {
        const version = raw.schemaVersion
        if (version > StorageSchema.SCHEMA_VERSION) {
          return Effect.fail(
            new UnsupportedSchemaVersion({ key, found: version, supported: StorageSchema.SCHEMA_VERSION })
          )
        }
        if (version < StorageSchema.SCHEMA_VERSION) {
          const r = raw as Record<string, unknown>
          let upgraded: Record<string, unknown> = { ...r, schemaVersion: StorageSchema.SCHEMA_VERSION }
          for (let v = version; v < StorageSchema.SCHEMA_VERSION; v++) {
            const m = deps.migrations.find((m) => m.from === v)
            const f =
              r.type === "event"
                ? m?.event === undefined
                  ? undefined
                  : { ...upgraded, frame: m.event(upgraded.frame) }
                : r.type === "checkpoint"
                  ? m?.record === undefined
                    ? undefined
                    : { ...upgraded, checkpoint: m.record("checkpoint", upgraded.checkpoint) }
                  : r.type === "thread"
                    ? m?.record === undefined
                      ? undefined
                      : {
                          ...upgraded,
                          thread: upgraded.thread === null ? null : m.record("thread", upgraded.thread)
                        }
                    : upgraded
            if (f === undefined) {
              return Effect.fail(
                new UnsupportedSchemaVersion({ key, found: version, supported: StorageSchema.SCHEMA_VERSION })
              )
            }
            upgraded = f
          }
          raw = upgraded
        }
      }
      return Either.match(decodeLine(raw), {
        onLeft: (e) => fail("InvalidInput", key, ProtocolError.fromParseError(StorageSchema.ExportLine, e).message),
        onRight: Effect.succeed
      })
    })

  const importThread = Effect.fn("StateStore.importThread")(function* <E>(
    jsonl: string | Stream.Stream<string, E>,
    opts: StateStore.ImportOptions = {}
  ) {
    const target = opts.threadId === undefined ? undefined : yield* Ids.validate("ThreadId", opts.threadId, "threadId")
    yield* deps.writable("import")
    const texts: ReadonlyArray<string> =
      typeof jsonl === "string"
        ? jsonl.split("\n")
        : Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.splitLines(jsonl)))
    const lines: Array<StorageSchema.ExportLine> = []
    let lastLineNo = 0
    for (let i = 0; i < texts.length; i++) {
      const text = texts[i]!.trim()
      if (text === "") continue
      lines.push(yield* parseLine(text, i + 1))
      lastLineNo = i + 1
    }
    const head = lines[0]
    if (head === undefined || head.type !== "thread") {
      return yield* fail("InvalidInput", "import line 1", `the first line must be a "thread" line`)
    }
    const end = lines[lines.length - 1]
    if (end === undefined || end.type !== "end") {
      return yield* fail(
        "InvalidInput",
        `import line ${lastLineNo}`,
        `the last line must be an "end" line (truncated export?)`
      )
    }
    const source = head.thread_id
    const id = target ?? source
    const frames: Array<Event.EventFrame> = []
    const saved: Array<StorageSchema.Checkpoint> = []
    for (const line of lines.slice(1, -1)) {
      if (line.type === "event") {
        const expected = frames.length + 1
        if (line.frame.thread_id !== source || line.frame.seq !== expected) {
          return yield* fail(
            "InvalidInput",
            `import event ${expected}`,
            `expected seq ${expected} of thread ${source}, found seq ${line.frame.seq} of ${String(line.frame.thread_id)}`
          )
        }
        frames.push(line.frame)
      } else if (line.type === "checkpoint") {
        if (line.checkpoint.thread_id !== source) {
          return yield* fail("InvalidInput", `import checkpoint ${line.checkpoint.id}`, `belongs to another thread`)
        }
        saved.push(line.checkpoint)
      } else {
        return yield* fail("InvalidInput", "import", `unexpected "${line.type}" line in the middle of the export`)
      }
    }
    if (end.events !== frames.length || end.checkpoints !== saved.length) {
      return yield* fail(
        "InvalidInput",
        "import",
        `the end line counts ${end.events} events and ${end.checkpoints} checkpoints, found ${frames.length} and ${saved.length}`
      )
    }
    const existing = yield* backend.getRecord(THREADS, id)
    const seq = yield* backend.lastSeq(id)
    if (Option.isSome(existing) || seq > 0) return yield* fail("Conflict", `threads/${id}`, "thread already exists")
    if (frames.length > 0) {
      const bodies = frames.map(({ seq: _, ...frame }) => JSON.stringify({ ...frame, thread_id: id }))
      // Not fenced: a LeaseLost cannot happen here.
      const first = yield* Effect.catchTag(backend.append(id, bodies), "LeaseLost", Effect.die)
      if (first !== 1) {
        return yield* fail("Conflict", `threads/${id}`, "events were appended to the thread while importing")
      }
    }
    for (const c of saved) {
      const checkpoint = { ...c, thread_id: id }
      const key = `threads/${id}/checkpoints/${c.id}`
      const doc = yield* encodeRecord("checkpoint", StorageSchema.Checkpoint, key, checkpoint)
      yield* backend.putRecord(checkpoints(id), c.id, doc, undefined)
    }
    // The metadata last: a thread is listed only once fully imported.
    if (head.thread !== null) {
      const thread = { ...head.thread, id }
      const doc = yield* encodeRecord("thread", Thread.Thread, `threads/${id}`, thread)
      const put = yield* backend.putRecord(THREADS, id, doc, 0)
      if (!put.ok) return yield* fail("Conflict", `threads/${id}`, "thread already exists")
    }
    return { threadId: id, events: frames.length, checkpoints: saved.length } satisfies StateStore.ImportResult
  })

  return { exportThread, importThread }
}
