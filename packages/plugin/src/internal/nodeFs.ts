/// <reference types="node" />
/**
 * The system calls `NodeWorkspace` is built from, as Effects on `node:fs`
 * callbacks (asynchronous: a slow file system never blocks the event loop),
 * and the two mechanisms that reach a file: through `/proc/self/fd` (an
 * `openat` on Linux) or by path with re-checks.
 */
import * as fs from "node:fs"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as W from "../Workspace.js"

export type Mode = "descriptor" | "path"
export type Errno = NodeJS.ErrnoException

export const C = fs.constants
export const NOFOLLOW = C.O_NOFOLLOW ?? 0
export const DIRECTORY = C.O_DIRECTORY ?? 0
export const NONBLOCK = C.O_NONBLOCK ?? 0
export const MAX_HOPS = 40
export const SAMPLE = 5

export const call = <A>(f: (cb: (error: Errno | null, value: A) => void) => void): Effect.Effect<A, Errno> =>
  Effect.async<A, Errno>((resume) => {
    f((error, value) => resume(error ? Effect.fail(error) : Effect.succeed(value)))
  })

export const open = (path: string, flags: number, mode = 0o666) => call<number>((cb) => fs.open(path, flags, mode, cb))
export const close = (fd: number) =>
  Effect.orElseSucceed(
    call<void>((cb) => fs.close(fd, (e) => cb(e, undefined))),
    () => {}
  )
export const fstat = (fd: number) => call<fs.Stats>((cb) => fs.fstat(fd, cb))
export const lstat = (path: string) => call<fs.Stats>((cb) => fs.lstat(path, cb))
export const readlink = (path: string) => call<string>((cb) => fs.readlink(path, cb))
export const realpath = (path: string) => call<string>((cb) => fs.realpath(path, cb))
export const mkdir = (path: string) => call<void>((cb) => fs.mkdir(path, 0o777, (e) => cb(e, undefined)))
export const rename = (from: string, to: string) => call<void>((cb) => fs.rename(from, to, (e) => cb(e, undefined)))
export const unlink = (path: string) => call<void>((cb) => fs.unlink(path, (e) => cb(e, undefined)))
export const fsync = (fd: number) => call<void>((cb) => fs.fsync(fd, (e) => cb(e, undefined)))
export const fchmod = (fd: number, mode: number) => call<void>((cb) => fs.fchmod(fd, mode, (e) => cb(e, undefined)))
export const readdir = (path: string) => call<Array<fs.Dirent>>((cb) => fs.readdir(path, { withFileTypes: true }, cb))
export const write = (fd: number, bytes: Uint8Array, offset: number) =>
  call<number>((cb) => fs.write(fd, bytes, offset, bytes.length - offset, null, cb))
export const read = (fd: number, buffer: Uint8Array, offset: number) =>
  call<number>((cb) => fs.read(fd, buffer, offset, buffer.length - offset, null, cb))

/** An open descriptor, closed when the scope closes (opening is uninterruptible, so none leaks). */
export const openScoped = (path: string, flags: number, mode?: number): Effect.Effect<number, Errno, Scope.Scope> =>
  Effect.acquireRelease(open(path, flags, mode), close)

export const code = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e ? String((e as Errno).code) : undefined

export const fail = (
  reason: W.WorkspaceErrorReason,
  path: string,
  detail: string,
  extra: { readonly real?: string; readonly pattern?: string; readonly cause?: unknown } = {}
) => Effect.fail(new W.WorkspaceError({ reason, path, detail, ...extra }))

/** A foreign error as a `WorkspaceError` naming the path. */
export const ioError =
  (named: string) =>
  (e: Errno | W.WorkspaceError): W.WorkspaceError => {
    if (e instanceof W.WorkspaceError) return e
    const shown = W.printable(named)
    switch (code(e)) {
      case "ENOENT":
        return new W.WorkspaceError({
          reason: "NotFound",
          path: named,
          detail: `${shown}: no such file in the workspace`,
          cause: e
        })
      case "ENOTDIR":
        return new W.WorkspaceError({
          reason: "NotADirectory",
          path: named,
          detail: `${shown}: a part of the path is not a directory`,
          cause: e
        })
      case "EISDIR":
        return new W.WorkspaceError({
          reason: "IsADirectory",
          path: named,
          detail: `${shown} is a directory`,
          cause: e
        })
      default:
        return new W.WorkspaceError({
          reason: "IoError",
          path: named,
          detail: `${shown}: ${e.message.replace(/^[A-Z]+: /, "")}`,
          cause: e
        })
    }
  }

/** The workspace root: its descriptor, the path as given, its real path. */
export interface Root {
  readonly fd: number
  readonly given: string
  readonly real: string
}

/** An open directory inside the root: its descriptor and its path relative to the real root. */
export interface Dir {
  readonly fd: number
  readonly rel: ReadonlyArray<string>
}

export const joinRel = (rel: ReadonlyArray<string>) => rel.join("/")

/** How the implementation reaches files: one value per mode. */
export interface Mechanism {
  readonly mode: Mode
  /** The path that reaches `name` in `dir` (an `openat` through /proc, or a path). */
  readonly at: (root: Root, dir: Dir, name: string) => string
  /** The path that reaches `dir` itself. */
  readonly dirPath: (root: Root, dir: Dir) => string
  /** The real path of what `fd` is open on, expected to be `expected` (checked in path mode). */
  readonly realOf: (fd: number, expected: string) => Effect.Effect<string, Errno | W.WorkspaceError>
}

export const sameFile = (a: fs.Stats, b: fs.Stats) => a.dev === b.dev && a.ino === b.ino

export const descriptorMechanism: Mechanism = {
  mode: "descriptor",
  at: (_root, dir, name) => `/proc/self/fd/${dir.fd}/${name}`,
  dirPath: (_root, dir) => `/proc/self/fd/${dir.fd}`,
  realOf: (fd) => readlink(`/proc/self/fd/${fd}`)
}

export const pathMechanism: Mechanism = {
  mode: "path",
  at: (root, dir, name) => (dir.rel.length === 0 ? `${root.real}/${name}` : `${root.real}/${joinRel(dir.rel)}/${name}`),
  dirPath: (root, dir) => (dir.rel.length === 0 ? root.real : `${root.real}/${joinRel(dir.rel)}`),
  realOf: (fd, expected) =>
    Effect.gen(function* () {
      // The descriptor must be the file now at `expected`, and `expected`
      // must have no symlink in it: a swap in between is detected.
      const [opened, now, real] = yield* Effect.all([fstat(fd), lstat(expected), realpath(expected)])
      if (!sameFile(opened, now) || real !== expected) {
        return yield* fail("Changed", expected, `${W.printable(expected)} changed while it was opened; try again`)
      }
      return expected
    })
}

/** Whether /proc/self/fd resolves descriptors here (Linux with /proc mounted). */
export const probeDescriptorMode: Effect.Effect<boolean> = Effect.scoped(
  Effect.gen(function* () {
    const fd = yield* openScoped("/", C.O_RDONLY | DIRECTORY)
    const link = yield* readlink(`/proc/self/fd/${fd}`)
    const through = yield* lstat(`/proc/self/fd/${fd}/.`)
    return link === "/" && through.isDirectory()
  })
).pipe(Effect.orElseSucceed(() => false))

export const isDeleted = (real: string) => real.endsWith(" (deleted)")

export const randomName = () => {
  const bytes = new Uint8Array(9)
  globalThis.crypto.getRandomValues(bytes)
  return `.strata-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}.tmp`
}

export const summary = () => {
  const sample: Array<string> = []
  let count = 0
  return {
    add: (path: string) => {
      count++
      if (sample.length < SAMPLE) sample.push(path)
    },
    get: (): W.Skipped => ({ count, sample: [...sample] })
  }
}
