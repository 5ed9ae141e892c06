/**
 * A `FileSystem` for one-shot commands (`strata run`, `strata chat`, ...):
 * the calls a session makes on its own files (the store's journals and
 * records, the config, the approval key, the policy's grammar) run as
 * `node:fs`'s synchronous calls, where `@effect/platform-node`'s go through
 * libuv's thread pool and back (a round trip of 0.1-1 ms each, on the
 * critical path of every append, lease and checkpoint of a turn).
 *
 * Only regular files and directories take the synchronous path: a file is
 * opened with `O_NONBLOCK` and checked with `fstat` before anything is read
 * or written, and anything else (a FIFO, a device, a socket) is closed and
 * handed to the asynchronous file system, so that no call can hold the
 * process's only thread waiting for a writer that never comes. Watching,
 * copying trees and temporary files are the asynchronous file system's.
 *
 * Not for processes whose event loop many sessions share (`strata serve`,
 * `strata worker`): there, a slow disk would hold every session up; they
 * keep `@effect/platform-node`'s file system.
 *
 * Runs on Node, Bun and Deno (their `node:fs`).
 *
 * @since 0.3.0
 */

import * as NFS from "node:fs"
import * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

const C = NFS.constants
/** `O_NONBLOCK` where the system has it (not on Windows, where FIFOs are not files). */
const NONBLOCK = C.O_NONBLOCK ?? 0

const FLAGS: Record<FileSystem.OpenFlag, number> = {
  r: C.O_RDONLY,
  "r+": C.O_RDWR,
  w: C.O_TRUNC | C.O_CREAT | C.O_WRONLY,
  wx: C.O_TRUNC | C.O_CREAT | C.O_WRONLY | C.O_EXCL,
  "w+": C.O_TRUNC | C.O_CREAT | C.O_RDWR,
  "wx+": C.O_TRUNC | C.O_CREAT | C.O_RDWR | C.O_EXCL,
  a: C.O_APPEND | C.O_CREAT | C.O_WRONLY,
  ax: C.O_APPEND | C.O_CREAT | C.O_WRONLY | C.O_EXCL,
  "a+": C.O_APPEND | C.O_CREAT | C.O_RDWR,
  "ax+": C.O_APPEND | C.O_CREAT | C.O_RDWR | C.O_EXCL
}

/** Error codes by reason, as `@effect/platform-node`'s file system names them (any other: "Unknown"). */
const REASONS: Record<string, PlatformError.SystemErrorReason> = {
  ENOENT: "NotFound",
  EACCES: "PermissionDenied",
  EEXIST: "AlreadyExists",
  EISDIR: "BadResource",
  ENOTDIR: "BadResource",
  ELOOP: "BadResource",
  EBUSY: "Busy"
}

/**
 * The error `@effect/platform-node` gives for a failed call (its fields
 * are ours, so their check is skipped: a missing file, the commonest
 * failure, is looked for often).
 */
const failure = (method: string, path: string | number, error: unknown): PlatformError.PlatformError => {
  const e = error as NodeJS.ErrnoException
  if (typeof e?.code !== "string") {
    return new PlatformError.BadArgument(
      { module: "FileSystem", method, description: String(e?.message), cause: e },
      true
    )
  }
  return new PlatformError.SystemError(
    {
      reason: REASONS[e.code] ?? "Unknown",
      module: "FileSystem",
      method,
      pathOrDescriptor: path,
      syscall: e.syscall,
      description: e.message,
      cause: e
    },
    true
  )
}

/** Runs one synchronous call; its error as the asynchronous file system would give it. */
const call = <A>(method: string, path: string | number, f: () => A): Effect.Effect<A, PlatformError.PlatformError> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(f())
    } catch (error) {
      return Effect.fail(failure(method, path, error))
    }
  })

const typeOf = (s: NFS.Stats): FileSystem.File.Type =>
  s.isFile()
    ? "File"
    : s.isDirectory()
      ? "Directory"
      : s.isSymbolicLink()
        ? "SymbolicLink"
        : s.isBlockDevice()
          ? "BlockDevice"
          : s.isCharacterDevice()
            ? "CharacterDevice"
            : s.isFIFO()
              ? "FIFO"
              : s.isSocket()
                ? "Socket"
                : "Unknown"

const info = (s: NFS.Stats): FileSystem.File.Info => ({
  type: typeOf(s),
  mtime: Option.fromNullable(s.mtime),
  atime: Option.fromNullable(s.atime),
  birthtime: Option.fromNullable(s.birthtime),
  dev: s.dev,
  rdev: Option.fromNullable(s.rdev),
  ino: Option.fromNullable(s.ino),
  mode: s.mode,
  nlink: Option.fromNullable(s.nlink),
  uid: Option.fromNullable(s.uid),
  gid: Option.fromNullable(s.gid),
  size: FileSystem.Size(s.size),
  blksize: Option.map(Option.fromNullable(s.blksize), FileSystem.Size),
  blocks: Option.fromNullable(s.blocks)
})

/**
 * Opens `path` without blocking: the descriptor of a regular file (or a
 * directory, for reading), else `undefined` (closed: the caller hands the
 * path to the asynchronous file system).
 */
const openRegular = (path: string, flags: number, mode?: number): number | undefined => {
  let fd: number
  try {
    fd = NFS.openSync(path, flags | NONBLOCK, mode)
  } catch (error) {
    // a FIFO opened for writing with no reader yet
    if ((error as NodeJS.ErrnoException).code === "ENXIO") return undefined
    throw error
  }
  let regular = false
  try {
    const s = NFS.fstatSync(fd)
    regular = s.isFile() || (s.isDirectory() && (flags & (C.O_WRONLY | C.O_RDWR)) === 0)
  } finally {
    if (!regular) NFS.closeSync(fd)
  }
  return regular ? fd : undefined
}

class SyncFile implements FileSystem.File {
  readonly [FileSystem.FileTypeId]: FileSystem.FileTypeId = FileSystem.FileTypeId
  private position = 0

  constructor(
    readonly fd: FileSystem.File.Descriptor,
    private readonly append: boolean
  ) {}

  get stat() {
    return call("stat", this.fd, () => info(NFS.fstatSync(this.fd)))
  }

  /** On the thread pool: the disk's flush is the one wait worth overlapping with the session's work. */
  get sync() {
    return Effect.async<void, PlatformError.PlatformError>((resume) => {
      NFS.fsync(this.fd, (error) => resume(error === null ? Effect.void : Effect.fail(failure("sync", this.fd, error))))
    })
  }

  seek(offset: FileSystem.SizeInput, from: FileSystem.SeekMode) {
    // the position, as `@effect/platform-node`'s file gives it
    return Effect.sync(() => {
      this.position = from === "start" ? Number(offset) : this.position + Number(offset)
      return BigInt(this.position)
    })
  }

  read(buffer: Uint8Array) {
    return call("read", this.fd, () => {
      const n = NFS.readSync(this.fd, buffer, 0, buffer.length, this.position)
      this.position += n
      return FileSystem.Size(n)
    })
  }

  readAlloc(size: FileSystem.SizeInput) {
    return call("readAlloc", this.fd, (): Option.Option<Uint8Array> => {
      const buffer = Buffer.allocUnsafeSlow(Number(size))
      const n = NFS.readSync(this.fd, buffer, 0, buffer.length, this.position)
      if (n === 0) return Option.none()
      this.position += n
      return Option.some(n === buffer.length ? buffer : buffer.subarray(0, n))
    })
  }

  truncate(length?: FileSystem.SizeInput) {
    return call("truncate", this.fd, () => {
      const len = length === undefined ? 0 : Number(length)
      NFS.ftruncateSync(this.fd, len)
      if (!this.append && this.position > len) this.position = len
    })
  }

  private writeOnce(buffer: Uint8Array): number {
    const n = NFS.writeSync(this.fd, buffer, 0, buffer.length, this.append ? null : this.position)
    if (!this.append) this.position += n
    return n
  }

  write(buffer: Uint8Array) {
    return call("write", this.fd, () => FileSystem.Size(this.writeOnce(buffer)))
  }

  writeAll(buffer: Uint8Array) {
    return Effect.flatMap(
      call("writeAll", this.fd, () => {
        let rest = buffer
        while (rest.length > 0) {
          const n = this.writeOnce(rest)
          if (n === 0) return false
          rest = rest.subarray(n)
        }
        return true
      }),
      (complete) =>
        complete
          ? Effect.void
          : Effect.fail(
              new PlatformError.SystemError({
                module: "FileSystem",
                method: "writeAll",
                reason: "WriteZero",
                pathOrDescriptor: this.fd,
                description: "write returned 0 bytes written"
              })
            )
    )
  }
}

/**
 * The file system, over the asynchronous one it hands special files,
 * watching, copies and temporary files to.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = (async: FileSystem.FileSystem): FileSystem.FileSystem => {
  const fs = FileSystem.make({
    access: (path, options) =>
      call("access", path, () =>
        NFS.accessSync(
          path,
          C.F_OK | (options?.readable === true ? C.R_OK : 0) | (options?.writable === true ? C.W_OK : 0)
        )
      ),
    chmod: (path, mode) => call("chmod", path, () => NFS.chmodSync(path, mode)),
    chown: (path, uid, gid) => call("chown", path, () => NFS.chownSync(path, uid, gid)),
    copy: async.copy,
    copyFile: async.copyFile,
    link: (from, to) => call("link", from, () => NFS.linkSync(from, to)),
    makeDirectory: (path, options) =>
      call("makeDirectory", path, () => {
        NFS.mkdirSync(path, { recursive: options?.recursive ?? false, mode: options?.mode })
      }),
    makeTempDirectory: async.makeTempDirectory,
    makeTempDirectoryScoped: async.makeTempDirectoryScoped,
    makeTempFile: async.makeTempFile,
    makeTempFileScoped: async.makeTempFileScoped,
    open: (path, options) => {
      const flag = options?.flag ?? "r"
      return Effect.flatMap(
        call("open", path, () => openRegular(path, FLAGS[flag] ?? C.O_RDONLY, options?.mode)),
        (fd) =>
          fd === undefined
            ? async.open(path, options)
            : Effect.acquireRelease(
                Effect.succeed(new SyncFile(FileSystem.FileDescriptor(fd), flag.startsWith("a"))),
                () => Effect.sync(() => NFS.closeSync(fd))
              )
      )
    },
    readDirectory: (path, options) =>
      call("readDirectory", path, () =>
        NFS.readdirSync(path, { encoding: "utf8", recursive: options?.recursive ?? false })
      ),
    readFile: (path) =>
      Effect.flatMap(
        call("readFile", path, () => {
          const fd = openRegular(path, C.O_RDONLY)
          if (fd === undefined) return undefined
          try {
            return NFS.readFileSync(fd)
          } finally {
            NFS.closeSync(fd)
          }
        }),
        (bytes): Effect.Effect<Uint8Array, PlatformError.PlatformError> =>
          bytes === undefined ? async.readFile(path) : Effect.succeed(bytes)
      ),
    readLink: (path) => call("readLink", path, () => NFS.readlinkSync(path)),
    realPath: (path) => call("realPath", path, () => NFS.realpathSync(path)),
    remove: (path, options) =>
      call("remove", path, () =>
        NFS.rmSync(path, { recursive: options?.recursive ?? false, force: options?.force ?? false })
      ),
    rename: (from, to) => call("rename", from, () => NFS.renameSync(from, to)),
    stat: (path) => call("stat", path, () => info(NFS.statSync(path))),
    symlink: (target, path) => call("symlink", path, () => NFS.symlinkSync(target, path)),
    truncate: (path, length) =>
      call("truncate", path, () => NFS.truncateSync(path, length === undefined ? undefined : Number(length))),
    utimes: (path, atime, mtime) => call("utime", path, () => NFS.utimesSync(path, atime, mtime)),
    watch: async.watch,
    writeFile: (path, data, options) =>
      Effect.flatMap(
        call("writeFile", path, () => {
          const fd = openRegular(path, FLAGS[options?.flag ?? "w"] ?? FLAGS.w, options?.mode)
          if (fd === undefined) return false
          try {
            let rest = data
            while (rest.length > 0) rest = rest.subarray(NFS.writeSync(fd, rest))
          } finally {
            NFS.closeSync(fd)
          }
          return true
        }),
        (written) => (written ? Effect.void : async.writeFile(path, data, options))
      )
  })
  // `exists` without an error made and caught for the missing file (what it asks most)
  const exists = (path: string) =>
    Effect.suspend(() => {
      try {
        NFS.accessSync(path, C.F_OK)
        return Effect.succeed(true)
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === "ENOENT"
          ? Effect.succeed(false)
          : Effect.fail(failure("access", path, error))
      }
    })
  const withExists: FileSystem.FileSystem = { ...fs, exists }
  made.add(withExists)
  return withExists
}

const made = new WeakSet<FileSystem.FileSystem>()

/**
 * Whether `fs` is a synchronous file system made by {@link make}.
 *
 * @since 0.3.0
 * @category guards
 */
export const isSync = (fs: FileSystem.FileSystem): boolean => made.has(fs)

/**
 * The synchronous file system, in place of `@effect/platform-node`'s.
 *
 * @since 0.3.0
 * @category layers
 */
export const layer: Layer.Layer<FileSystem.FileSystem> = Layer.effect(
  FileSystem.FileSystem,
  Effect.map(FileSystem.FileSystem, make)
).pipe(Layer.provide(NodeFileSystem.layer))
