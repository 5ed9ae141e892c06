/**
 * The crash-safe file-system backend, shared by every process that opens
 * the same directory.
 *
 * ```
 * <dir>/strata-store.json                      { format, schemaVersion }
 * <dir>/locks/<pid>-<token>                    who this process is; locks are hard links to it (fileLock.ts)
 * <dir>/threads/<thread>/journal               framed, checksummed events (journal.ts, fsJournal.ts)
 * <dir>/threads/<thread>/lock                  the thread's write lock, held for a write (fileLock.ts)
 * <dir>/threads/<thread>/lease                 the thread's lease and token counter (fsLease.ts)
 * <dir>/threads/<thread>/thread.json           thread metadata
 * <dir>/threads/<thread>/checkpoints/<id>.json
 * <dir>/jobs/journal                           every job transition (fsJobs.ts)
 * <dir>/jobs/lock
 * <dir>/approvals/<approval>.json (+ .lock while one is written)
 * ```
 *
 * Records are written atomically: temp file, fsync, rename, fsync of the
 * directory. A compare-and-set holds the record's lock file (the thread's
 * for its metadata and checkpoints, the approval's own) across processes.
 * Ids go into file names with upper-case letters escaped (`A` -> `~a`), so
 * the layout also works on case-insensitive file systems.
 *
 * Opened `readOnly`, the store writes nothing at all: no directory, marker,
 * lock or repair; writes are refused before any I/O (in `store.ts`).
 */

import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Event from "@strata/protocol/Event"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as StateStore from "../StateStore.js"
import { StorageError, UnsupportedSchemaVersion } from "../StorageError.js"
import { SCHEMA_VERSION } from "../StorageSchema.js"
import type { Backend, Collection, Damaged, Fence, PutResult, StoredRecord } from "./backend.js"
import * as Capabilities from "./capabilities.js"
import { makeFrameDecoder } from "./codec.js"
import * as FileLock from "./fileLock.js"
import * as Files from "./fsFiles.js"
import { decodeName, encodeName } from "./fsFiles.js"
import * as FsJobs from "./fsJobs.js"
import * as FsJournal from "./fsJournal.js"
import * as FsLease from "./fsLease.js"
import { makeStripedLock } from "./locks.js"
import * as ProcessInfo from "./processInfo.js"

export { decodeName, encodeName } from "./fsFiles.js"

const FORMAT = "strata-fs-store"

/** Builds the backend. */
export const make = (
  directory: string,
  options: StateStore.FileSystemOptions = {}
): Effect.Effect<Backend, StorageError | UnsupportedSchemaVersion, FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const root = path.resolve(directory)
    const readOnly = options.readOnly === true
    const scope = yield* Effect.scope
    const threadsDir = path.join(root, "threads")
    // A thread's directory is never removed by the store: its handle stays open for the fsyncs of its renames.
    const files = yield* Files.make(fs, path, root, scope, (dir) => path.dirname(dir) === threadsDir)

    // -------------------------------------------------------------------------
    // the store marker

    const markerFile = path.join(root, "strata-store.json")
    // Who this process is (read once per process, from /proc) is read beside the marker.
    const [marker, self] = yield* Effect.all([files.readTextOptional(markerFile), ProcessInfo.current(fs)], {
      concurrency: "unbounded"
    })
    if (Option.isSome(marker)) {
      let parsed: { format?: unknown; schemaVersion?: unknown } = {}
      try {
        parsed = JSON.parse(marker.value)
      } catch {}
      if (parsed.format !== FORMAT || typeof parsed.schemaVersion !== "number") {
        return yield* new StorageError({
          reason: "Corrupt",
          key: markerFile,
          detail: `not a Strata store marker; is ${root} a Strata store directory?`
        })
      }
      if (parsed.schemaVersion > SCHEMA_VERSION) {
        return yield* new UnsupportedSchemaVersion({
          key: markerFile,
          found: parsed.schemaVersion,
          supported: SCHEMA_VERSION
        })
      }
    }

    const jobsDir = path.join(root, "jobs")
    const approvalsDir = path.join(root, "approvals")
    if (!readOnly) {
      yield* files.ensureDir(root)
      if (Option.isNone(marker)) {
        yield* files.atomicWrite(markerFile, JSON.stringify({ format: FORMAT, schemaVersion: SCHEMA_VERSION }))
      }
      yield* Effect.forEach([threadsDir, jobsDir, approvalsDir], files.ensureDir, {
        discard: true,
        concurrency: "unbounded"
      })
      // Approvals and job journals are written often: keep their directories open for the fsyncs.
      yield* Effect.forEach(
        [jobsDir, approvalsDir],
        (dir) => Effect.zipRight(files.keepDirOpen(dir), files.sweepTemps(dir)),
        {
          discard: true,
          concurrency: "unbounded"
        }
      )
    }

    const locks = yield* FileLock.make(fs, self, {
      waitMs: options.lockWaitMs,
      holders: path.join(root, "locks"),
      // A store that writes takes a lock soon: its holder file is written now, beside the rest of start-up.
      eager: !readOnly
    })
    const threadDir = (threadId: string) => path.join(threadsDir, encodeName(threadId))
    const journals = FsJournal.make({
      files,
      scope,
      locks,
      decode: makeFrameDecoder(options.migrations ?? [], Event.EventFrame),
      threadDir
    })
    const leases = FsLease.make({
      fs,
      self,
      leaseFile: (threadId) => path.join(threadDir(threadId), "lease"),
      underLock: journals.underLock,
      writeFile: files.atomicWrite
    })
    journals.setLeases(leases)
    const jobs = FsJobs.make({ files, locks, scope, dir: jobsDir })

    // -------------------------------------------------------------------------
    // records

    const recordFile = (c: Collection, id: string): string => {
      switch (c.kind) {
        case "thread":
          return path.join(threadDir(id), "thread.json")
        case "checkpoint":
          return path.join(threadDir(c.threadId), "checkpoints", `${encodeName(id)}.json`)
        case "job":
          return path.join(jobsDir, `${encodeName(id)}.json`)
        case "approval":
          return path.join(approvalsDir, `${encodeName(id)}.json`)
      }
    }

    const parseRecord = (file: string, id: string, text: string): StoredRecord | StorageError => {
      let doc: { revision?: unknown }
      try {
        doc = JSON.parse(text)
      } catch (e) {
        return new StorageError({ reason: "Corrupt", key: file, detail: `not valid JSON (${String(e)})` })
      }
      const revision = doc?.revision
      if (typeof revision !== "number" || !Number.isSafeInteger(revision) || revision < 1) {
        return new StorageError({ reason: "Corrupt", key: file, detail: "record has no revision" })
      }
      return { key: id, revision, doc }
    }

    const readRecord = (file: string, id: string): Effect.Effect<Option.Option<StoredRecord>, StorageError> =>
      Effect.flatMap(files.readTextOptional(file), (text) => {
        if (Option.isNone(text)) return Effect.succeed(Option.none())
        const parsed = parseRecord(file, id, text.value)
        return parsed instanceof StorageError ? Effect.fail(parsed) : Effect.succeed(Option.some(parsed))
      })

    const getRecord = (c: Collection, id: string) =>
      c.kind === "job" ? jobs.get(id) : readRecord(recordFile(c, id), id)

    /** Reads the current revision and writes the next one (under the record's lock when it is a compare-and-set). */
    const write = (c: Collection, id: string, doc: string, expected: number | undefined) =>
      Effect.gen(function* () {
        const file = recordFile(c, id)
        const actual = Option.match(
          yield* readRecord(file, id).pipe(
            Effect.catchTag("StorageError", (e) =>
              // A damaged record can be replaced by an unconditional write only.
              expected === undefined ? Effect.succeed(Option.none()) : Effect.fail(e)
            )
          ),
          { onNone: () => 0, onSome: (r) => r.revision }
        )
        if (expected !== undefined && expected !== actual) return { ok: false, actual } satisfies PutResult
        yield* files.atomicWrite(file, `{"revision":${actual + 1},${doc.slice(1)}`)
        return { ok: true, revision: actual + 1 } satisfies PutResult
      })

    const approvalLocks = makeStripedLock()
    const putRecord = (
      c: Collection,
      id: string,
      doc: string,
      expected: number | undefined,
      fence?: Fence
    ): Effect.Effect<PutResult, StorageError> => {
      switch (c.kind) {
        case "job":
          return jobs.put(id, doc, expected)
        case "approval": {
          const file = recordFile(c, id)
          return expected === undefined
            ? write(c, id, doc, expected)
            : approvalLocks(file, locks.withLock(`${file}.lock`, write(c, id, doc, expected)))
        }
        default: {
          const threadId = c.kind === "thread" ? id : c.threadId
          if (fence !== undefined) {
            return journals.underLock(
              threadId,
              Effect.flatMap(leases.read(fence.threadId), (lease) =>
                leases.holds(lease, fence.token)
                  ? write(c, id, doc, expected)
                  : Effect.succeed<PutResult>({ ok: false, actual: 0, lost: true })
              )
            )
          }
          return expected === undefined
            ? write(c, id, doc, expected)
            : journals.underLock(threadId, write(c, id, doc, expected))
        }
      }
    }

    const listRecords = (c: Collection) =>
      Effect.gen(function* () {
        if (c.kind === "job") {
          const records = yield* jobs.list
          const damage = yield* jobs.damage
          return {
            records,
            damaged: Option.isSome(damage) ? [{ key: "jobs/journal", error: damage.value }] : []
          }
        }
        let entries: Array<readonly [string, string]>
        if (c.kind === "thread") {
          const names = yield* files.listNames(threadsDir)
          entries = names.map((n) => [path.join(threadsDir, n, "thread.json"), decodeName(n)] as const)
        } else {
          const dir = path.dirname(recordFile(c, "x"))
          const names = yield* files.listNames(dir)
          entries = names
            .filter((n) => n.endsWith(".json") && !n.includes(".tmp-"))
            .map((n) => [path.join(dir, n), decodeName(n.slice(0, -5))] as const)
        }
        const found = yield* Effect.forEach(entries, ([file, id]) => Effect.either(readRecord(file, id)), {
          concurrency: 16
        })
        const records: Array<StoredRecord> = []
        const damaged: Array<Damaged> = []
        found.forEach((r, i) => {
          if (r._tag === "Left") damaged.push({ key: entries[i]![1], error: r.left })
          else if (Option.isSome(r.right)) records.push(r.right.value)
        })
        return { records, damaged }
      })

    return {
      name: "fs",
      durability: { level: "durable", detail: "every acknowledged write is fsynced (file and directory)" },
      capabilities: Capabilities.fs,
      leases,
      append: (threadId: string, bodies: ReadonlyArray<string>, fence?: number) =>
        journals.append(threadId, bodies, fence),
      read: journals.read,
      lastSeq: journals.lastSeq,
      getRecord,
      putRecord,
      listRecords,
      removeThread: journals.remove
    } satisfies Backend
  })
