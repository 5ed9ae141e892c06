/**
 * The file operations the file-system store is built from: atomic record
 * writes (temp file, fsync, rename, fsync of the directory), directory
 * fsyncs shared by the writes waiting for them (group commit), reads that
 * tell "absent" from "failed", and the escaping of ids into file names.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { describe, type StorageError } from "../StorageError.js"
import { mapIo } from "./io.js"
import { makeBatcher } from "./locks.js"

/** `Thread-A` -> `~thread-~a`: ids never contain `~`, so this is reversible. */
export const encodeName = (id: string): string => id.replace(/[A-Z]/g, (c) => `~${c.toLowerCase()}`)
/** The inverse of {@link encodeName}. */
export const decodeName = (name: string): string => name.replace(/~([a-z])/g, (_, c: string) => c.toUpperCase())

export const isReason = (e: unknown, reason: string): boolean =>
  typeof e === "object" && e !== null && (e as { reason?: string }).reason === reason

/** Temp files older than this were left by a crash (no write takes an hour) and are swept. */
const TEMP_MAX_AGE_MS = 3_600_000

export interface Files {
  readonly fs: FileSystem.FileSystem
  readonly path: Path.Path
  /** A file's bytes, or none when it does not exist. */
  readonly readOptional: (file: string) => Effect.Effect<Option.Option<Uint8Array>, StorageError>
  readonly readTextOptional: (file: string) => Effect.Effect<Option.Option<string>, StorageError>
  /** The names in a directory (none when it does not exist). */
  readonly listNames: (dir: string) => Effect.Effect<ReadonlyArray<string>, StorageError>
  /** Creates a directory and its parents, fsyncing each parent that changed. */
  readonly ensureDir: (dir: string) => Effect.Effect<void, StorageError>
  /** Forgets what is known of directories under `dir` (after removing them). */
  readonly forgetDirs: (dir: string) => void
  /** Replaces `file` atomically; `durable` (default) adds the fsyncs of the file and its directory. */
  readonly atomicWrite: (file: string, text: string, durable?: boolean) => Effect.Effect<void, StorageError>
  /** fsync of a directory, shared with the callers waiting for one. */
  readonly syncDir: (dir: string) => Effect.Effect<void, StorageError>
  /** Removes temp files in `dir` left by a crash long ago. */
  readonly sweepTemps: (dir: string) => Effect.Effect<void>
  /** Keeps a handle open on `dir` for its frequent fsyncs. */
  readonly keepDirOpen: (dir: string) => Effect.Effect<void, StorageError, Scope.Scope>
}

type Made = "made" | "exists" | "noParent"

/** Directory handles kept open for their fsyncs, at most (past it, a directory is opened per fsync). */
const MAX_KEPT_DIRS = 64

export const make = (
  fs: FileSystem.FileSystem,
  path: Path.Path,
  root: string,
  scope: Scope.Scope,
  /** Directories whose handle is kept open once it was fsynced (the store never removes them). */
  keep: (dir: string) => boolean = () => false
): Effect.Effect<Files> =>
  Effect.gen(function* () {
    const dirHandles = new Map<string, FileSystem.File>()
    let kept = 0
    const openKept = (dir: string) =>
      Effect.flatMap(Scope.extend(fs.open(dir, { flag: "r" }), scope), (f) =>
        Effect.sync(() => {
          // Two callers raced to open it: the second handle goes with the scope.
          if (!dirHandles.has(dir)) {
            dirHandles.set(dir, f)
            kept++
          }
          return f
        })
      )
    const syncDirRaw = (dir: string) => {
      const cached = dirHandles.get(dir)
      if (cached !== undefined) return cached.sync
      if (kept < MAX_KEPT_DIRS && keep(dir)) return Effect.flatMap(openKept(dir), (f) => f.sync)
      return Effect.scoped(Effect.flatMap(fs.open(dir, { flag: "r" }), (f) => f.sync))
    }
    // Some platforms cannot open a directory: there renames are not fsynced
    // (said once). Only known once the root exists; until then, assume yes.
    let dirSync: boolean | undefined
    const canSyncDirs = Effect.suspend(() =>
      dirSync !== undefined
        ? Effect.succeed(dirSync)
        : syncDirRaw(root).pipe(
            Effect.as(true),
            Effect.catchAll((e) =>
              Effect.as(
                Effect.logWarning(
                  `@strata/storage: cannot fsync directories here (${describe(e)}); renames are not fsynced`
                ),
                false
              )
            ),
            Effect.tap((ok) =>
              Effect.sync(() => {
                dirSync = ok
              })
            )
          )
    )

    // Group commit for directories: an fsync that starts after a rename
    // covers it, so the renames waiting when a sync starts share it.
    const dirSyncers = new Map<string, (d: Deferred.Deferred<void, StorageError>) => Effect.Effect<void>>()
    const syncDir = (dir: string): Effect.Effect<void, StorageError> =>
      Effect.flatMap(canSyncDirs, (can) => {
        if (!can) return Effect.void
        let submit = dirSyncers.get(dir)
        if (submit === undefined) {
          submit = makeBatcher(scope, (waiting: Array<Deferred.Deferred<void, StorageError>>) =>
            Effect.flatMap(Effect.exit(mapIo(dir, "fsync of the directory")(syncDirRaw(dir))), (exit) =>
              Effect.forEach(waiting, (d) => Deferred.done(d, exit), { discard: true })
            )
          )
          dirSyncers.set(dir, submit)
        }
        const enqueue = submit
        return Effect.flatMap(Deferred.make<void, StorageError>(), (d) =>
          Effect.zipRight(enqueue(d), Deferred.await(d))
        )
      })

    const known = new Set<string>()
    /** `mkdir` first (one call whether it is there or not): made, already there, or no parent yet. */
    const mkdir = (dir: string): Effect.Effect<Made, StorageError> =>
      fs.makeDirectory(dir).pipe(
        Effect.as<Made>("made"),
        Effect.catchIf(
          (e) => isReason(e, "AlreadyExists"),
          () => Effect.succeed<Made>("exists")
        ),
        Effect.catchIf(
          (e) => isReason(e, "NotFound"),
          () => Effect.succeed<Made>("noParent")
        ),
        mapIo(dir, "creating the directory")
      )
    const ensureDir = (dir: string): Effect.Effect<void, StorageError> =>
      known.has(dir)
        ? Effect.void
        : Effect.gen(function* () {
            const parent = path.dirname(dir)
            let made = yield* mkdir(dir)
            if (made === "noParent" && parent !== dir) {
              yield* ensureDir(parent)
              made = yield* mkdir(dir)
            }
            if (made === "noParent") {
              return yield* mapIo(dir, "creating the directory")(fs.makeDirectory(dir))
            }
            if (made === "made" && parent !== dir && known.has(parent)) yield* syncDir(parent)
            known.add(dir)
          })

    const readOptional = (file: string) =>
      fs.readFile(file).pipe(
        Effect.map(Option.some),
        Effect.catchIf(
          (e) => isReason(e, "NotFound"),
          () => Effect.succeed(Option.none<Uint8Array>())
        ),
        mapIo(file, "reading")
      )

    const readTextOptional = (file: string) =>
      fs.readFileString(file).pipe(
        Effect.map(Option.some),
        Effect.catchIf(
          (e) => isReason(e, "NotFound"),
          () => Effect.succeed(Option.none<string>())
        ),
        mapIo(file, "reading")
      )

    const listNames = (dir: string) =>
      fs.readDirectory(dir).pipe(
        Effect.catchIf(
          (e) => isReason(e, "NotFound"),
          () => Effect.succeed([] as Array<string>)
        ),
        mapIo(dir, "listing")
      )

    let tmpCounter = 0
    const tmpSuffix = (globalThis as unknown as { crypto: { randomUUID(): string } }).crypto.randomUUID().slice(0, 8)
    const encoder = new TextEncoder()

    const atomicWrite = (file: string, text: string, durable = true): Effect.Effect<void, StorageError> => {
      const dir = path.dirname(file)
      const tmp = `${file}.tmp-${tmpSuffix}-${tmpCounter++}`
      return Effect.gen(function* () {
        yield* ensureDir(dir)
        yield* Effect.scoped(
          Effect.gen(function* () {
            const f = yield* fs.open(tmp, { flag: "w" })
            yield* f.writeAll(encoder.encode(text))
            if (durable) yield* f.sync
          })
        ).pipe(mapIo(file, "writing"))
        yield* fs.rename(tmp, file).pipe(mapIo(file, "renaming"))
        if (durable) yield* syncDir(dir)
      }).pipe(Effect.tapError(() => Effect.ignore(fs.remove(tmp))))
    }

    const sweepTemps = (dir: string) =>
      Effect.gen(function* () {
        const now = Date.now()
        for (const name of yield* listNames(dir)) {
          if (!name.includes(".tmp-")) continue
          const file = path.join(dir, name)
          const info = yield* fs.stat(file)
          const mtime = Option.getOrUndefined(info.mtime)?.getTime() ?? now
          if (now - mtime > TEMP_MAX_AGE_MS) yield* fs.remove(file)
        }
      }).pipe(Effect.ignore)

    const keepDirOpen = (dir: string) =>
      Effect.gen(function* () {
        if (!(yield* canSyncDirs) || dirHandles.has(dir)) return
        dirHandles.set(dir, yield* fs.open(dir, { flag: "r" }).pipe(mapIo(dir, "opening the directory")))
      })

    return {
      fs,
      path,
      readOptional,
      readTextOptional,
      listNames,
      ensureDir,
      forgetDirs: (dir) => {
        for (const k of known) if (k === dir || k.startsWith(`${dir}${path.sep}`)) known.delete(k)
      },
      atomicWrite,
      syncDir,
      sweepTemps,
      keepDirOpen
    } satisfies Files
  })
