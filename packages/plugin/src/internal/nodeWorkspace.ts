/// <reference types="node" />
/**
 * The `Workspace` port on `node:fs` (Node, Bun, Deno). See
 * `NodeWorkspace.ts` for the guarantee; this file is the mechanism.
 *
 * Every path is walked one component at a time from an open descriptor of
 * the workspace root. In `descriptor` mode (Linux with /proc), a component
 * is opened as `/proc/self/fd/<parent>/<name>`: the kernel resolves the
 * magic link straight to the parent's open directory, so the lookup is an
 * `openat(parent, name)` and no rename or symlink swap of an ancestor can
 * redirect it; `O_NOFOLLOW` refuses a symlink in the last position. Symlinks
 * met on the way are read and resolved by hand, only while they stay inside
 * the root. In `path` mode (no /proc) the same walk runs on path strings and
 * re-checks each opened descriptor against the path (device and inode, and
 * the real path): a race is detected, but a narrow window remains.
 *
 * (About 600 lines: the walk and each operation on top of it share the
 * descriptor bookkeeping; split, the confinement argument would span files.)
 */
import type * as fs from "node:fs"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as W from "../Workspace.js"
import {
  C,
  code,
  DIRECTORY,
  type Dir,
  descriptorMechanism,
  type Errno,
  fail,
  fchmod,
  fstat,
  fsync,
  ioError,
  isDeleted,
  joinRel,
  lstat,
  MAX_HOPS,
  type Mode,
  mkdir,
  NOFOLLOW,
  NONBLOCK,
  openScoped,
  pathMechanism,
  type Root,
  randomName,
  read,
  readdir,
  readlink,
  realpath,
  rename,
  sameFile,
  summary,
  unlink,
  write
} from "./nodeFs.js"

export { probeDescriptorMode } from "./nodeFs.js"

/**
 * Builds the port on a mechanism.
 */
export const make = (
  mode: Mode,
  defaults: { readonly durable?: boolean | undefined } = {}
): Context.Tag.Service<typeof W.Workspace> => {
  const m = mode === "descriptor" ? descriptorMechanism : pathMechanism

  const openRoot = (confined: W.Confined) =>
    Effect.gen(function* () {
      const fd = yield* openScoped(confined.root, C.O_RDONLY | DIRECTORY).pipe(
        Effect.mapError(
          (e) =>
            new W.WorkspaceError({
              reason: "NoWorkspace",
              path: confined.relative,
              detail: `workspace root ${confined.root} cannot be opened: ${e.message}`,
              cause: e
            })
        )
      )
      const real =
        m.mode === "descriptor"
          ? yield* m.realOf(fd, confined.root)
          : yield* Effect.flatMap(realpath(confined.root), (r) => m.realOf(fd, r))
      return { fd, given: confined.root, real } satisfies Root
    })

  const outside = (named: string, detail: string, real?: string) =>
    fail("OutsideWorkspace", named, detail, real === undefined ? {} : { real })

  /** Where a symlink at `dir/name` leads, as segments from the real root, followed by `rest`. */
  const followLink = (root: Root, dir: Dir, name: string, rest: ReadonlyArray<string>, named: string) =>
    Effect.gen(function* () {
      const target = yield* readlink(m.at(root, dir, name))
      const base = dir.rel.length === 0 ? root.real : `${root.real}/${joinRel(dir.rel)}`
      const abs = W.normalize(target.startsWith("/") ? target : `${base}/${target}`)!
      const given = W.normalize(root.given)!
      let segments: Array<string>
      if (W.isInside(root.real, abs)) segments = abs.slice(root.real.length).split("/").filter(Boolean)
      else if (W.isInside(given, abs)) segments = abs.slice(given.length).split("/").filter(Boolean)
      else {
        return yield* outside(
          named,
          `${W.printable(named)} is outside the workspace (${root.real}): ${W.printable([...dir.rel, name].join("/"))} is a symlink to ${W.printable(target)}`,
          abs
        )
      }
      return [...segments, ...rest]
    })

  /**
   * Opens the directory that holds the last segment (the root for a single
   * segment), resolving symlinks on the way; `create` makes missing
   * directories. Returns the directory and the final name (`undefined` for
   * the root itself).
   */
  const parentOf = (
    root: Root,
    start: ReadonlyArray<string>,
    named: string,
    create: boolean
  ): Effect.Effect<
    { readonly dir: Dir; readonly name: string | undefined; readonly segments: ReadonlyArray<string> },
    Errno | W.WorkspaceError,
    Scope.Scope
  > =>
    Effect.gen(function* () {
      let segments = start
      let hops = 0
      restart: for (;;) {
        let dir: Dir = { fd: root.fd, rel: [] }
        for (let i = 0; i < segments.length - 1; i++) {
          const name = segments[i]!
          const flags = C.O_RDONLY | DIRECTORY | NOFOLLOW
          let opened = yield* Effect.either(openScoped(m.at(root, dir, name), flags))
          if (Either.isLeft(opened) && code(opened.left) === "ENOENT" && create) {
            yield* mkdir(m.at(root, dir, name)).pipe(
              Effect.catchIf(
                (e) => code(e) === "EEXIST",
                () => Effect.void
              )
            )
            opened = yield* Effect.either(openScoped(m.at(root, dir, name), flags))
          }
          if (Either.isLeft(opened)) {
            const c = code(opened.left)
            if (c !== "ELOOP" && c !== "ENOTDIR" && c !== "EMLINK") return yield* Effect.fail(opened.left)
            const info = yield* lstat(m.at(root, dir, name))
            if (!info.isSymbolicLink()) {
              return yield* fail(
                "NotADirectory",
                named,
                `${W.printable(named)}: ${W.printable([...dir.rel, name].join("/"))} is not a directory`
              )
            }
            if (++hops > MAX_HOPS) return yield* fail("SymlinkLoop", named, `${W.printable(named)}: too many symlinks`)
            segments = yield* followLink(root, dir, name, segments.slice(i + 1), named)
            continue restart
          }
          const next: Dir = { fd: opened.right, rel: [...dir.rel, name] }
          if (m.mode === "path") yield* m.realOf(next.fd, m.dirPath(root, next))
          dir = next
        }
        return { dir, name: segments[segments.length - 1], segments }
      }
    })

  /** The real path of an open directory, checked to be inside the root. */
  const dirReal = (root: Root, dir: Dir, named: string) =>
    Effect.gen(function* () {
      if (dir.fd === root.fd) return root.real
      const real = yield* m.realOf(dir.fd, m.dirPath(root, dir))
      if (!W.isInside(root.real, real) || isDeleted(real)) {
        return yield* fail("Changed", named, `${W.printable(named)}: a directory on the way moved during the call`, {
          real
        })
      }
      return real
    })

  const relativeTo = (root: Root, real: string) => (real === root.real ? "." : real.slice(root.real.length + 1))

  const refuseProtected = (
    root: Root,
    policy: W.AccessPolicy,
    access: "read" | "write",
    named: W.Confined,
    real: string
  ) => {
    const pattern = W.protectedBy(policy, access, {
      root: root.given,
      realRoot: root.real,
      named: named.absolute,
      real
    })
    if (pattern === undefined) return Effect.void
    const how =
      real === named.absolute
        ? access === "write"
          ? "a person must approve changing it"
          : "it was not named directly"
        : `it is reached through a symlink or moved directory (as ${W.printable(named.relative)}); name the real path directly`
    return fail(
      "Protected",
      named.relative,
      `${W.printable(named.relative)}: ${real} is a protected path (${pattern}): ${how}`,
      { real, pattern }
    )
  }

  /** Opens a regular file for reading in `dir`, checked (type, links, real path, protection). */
  const openFileIn = (
    root: Root,
    dir: Dir,
    name: string,
    named: W.Confined,
    policy: W.AccessPolicy,
    baseNamed: W.Confined = named
  ) =>
    Effect.gen(function* () {
      // O_NONBLOCK: a FIFO swapped in opens without waiting for a writer.
      const fd = yield* openScoped(m.at(root, dir, name), C.O_RDONLY | NOFOLLOW | NONBLOCK)
      const info = yield* fstat(fd)
      const shown = W.printable(named.relative)
      if (info.isDirectory()) return yield* fail("IsADirectory", named.relative, `${shown} is a directory`)
      if (!info.isFile()) return yield* fail("NotAFile", named.relative, `${shown} is not a regular file`)
      if (info.nlink > 1 && policy.allowHardlinks !== true) {
        return yield* fail(
          "HardLinked",
          named.relative,
          `${shown} has ${info.nlink} hard links (another name shares its content); refused unless allow_hardlinks is set`
        )
      }
      const expected = `${yield* dirReal(root, dir, named.relative)}/${name}`
      const real = yield* m.realOf(fd, expected)
      if (!W.isInside(root.real, real) || isDeleted(real)) {
        return yield* fail("Changed", named.relative, `${shown} moved during the call; try again`, { real })
      }
      yield* refuseProtected(root, policy, "read", baseNamed, real)
      return { fd, info, real }
    })

  const readAll = (fd: number, size: number, maxBytes: number | undefined, named: string) =>
    Effect.gen(function* () {
      if (maxBytes !== undefined && size > maxBytes) {
        return yield* fail("TooLarge", named, `${W.printable(named)} is ${size} bytes, over the limit of ${maxBytes}`)
      }
      const chunks: Array<Uint8Array> = []
      let total = 0
      // Sized from fstat: one read for a file that did not grow; a short read of a regular file is its end.
      let want = size + 1
      for (;;) {
        const buffer = new Uint8Array(want)
        let got = 0
        while (got < want) {
          const n = yield* read(fd, buffer, got)
          if (n === 0) break
          got += n
        }
        total += got
        if (maxBytes !== undefined && total > maxBytes) {
          return yield* fail("TooLarge", named, `${W.printable(named)} grew over the limit of ${maxBytes} bytes`)
        }
        chunks.push(buffer.subarray(0, got))
        if (got < want) break
        want = Math.min(Math.max(want * 2, 65536), 16 << 20)
      }
      if (chunks.length === 1) return chunks[0]!
      const out = new Uint8Array(total)
      let at = 0
      for (const chunk of chunks) {
        out.set(chunk, at)
        at += chunk.length
      }
      return out
    })

  const confined = (root: string | undefined, path: string) =>
    Either.match(W.confine(root, path), { onLeft: Effect.fail, onRight: Effect.succeed })

  /** Runs `f` on the final component, following a final symlink (inside the root) by restarting. */
  const resolveFinal = <A>(
    root: Root,
    named: W.Confined,
    create: boolean,
    f: (dir: Dir, name: string) => Effect.Effect<A | "symlink", Errno | W.WorkspaceError, Scope.Scope>
  ) =>
    Effect.gen(function* () {
      let segments = named.segments
      for (let hops = 0; ; hops++) {
        if (hops > MAX_HOPS) return yield* fail("SymlinkLoop", named.relative, `${named.relative}: too many symlinks`)
        const parent = yield* parentOf(root, segments, named.relative, create)
        if (parent.name === undefined) {
          return yield* fail("IsADirectory", named.relative, `${W.printable(named.relative)} is a directory`)
        }
        const result = yield* f(parent.dir, parent.name)
        if (result !== "symlink") return result
        segments = yield* followLink(root, parent.dir, parent.name, [], named.relative)
      }
    })

  const readFile: Context.Tag.Service<typeof W.Workspace>["readFile"] = (rootPath, path, options = {}) =>
    Effect.scoped(
      Effect.gen(function* () {
        const named = yield* confined(rootPath, path)
        const root = yield* openRoot(named)
        return yield* resolveFinal(root, named, false, (dir, name) =>
          Effect.gen(function* () {
            const opened = yield* Effect.either(openFileIn(root, dir, name, named, options))
            if (Either.isLeft(opened)) {
              if (code(opened.left) === "ELOOP") return "symlink" as const
              return yield* Effect.fail(opened.left)
            }
            const bytes = yield* readAll(opened.right.fd, opened.right.info.size, options.maxBytes, named.relative)
            return { bytes, real: opened.right.real, relative: relativeTo(root, opened.right.real) }
          })
        )
      })
    ).pipe(Effect.mapError(ioError(path)), Effect.withSpan("Workspace.readFile"))

  const writeFile: Context.Tag.Service<typeof W.Workspace>["writeFile"] = (rootPath, path, data, options = {}) =>
    Effect.scoped(
      Effect.gen(function* () {
        const named = yield* confined(rootPath, path)
        const root = yield* openRoot(named)
        const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data
        const shown = W.printable(named.relative)
        return yield* resolveFinal(root, named, options.createParents ?? true, (dir, name) =>
          Effect.gen(function* () {
            const target = m.at(root, dir, name)
            const before = yield* lstat(target).pipe(
              Effect.map((s): fs.Stats | undefined => s),
              Effect.catchIf(
                (e) => code(e) === "ENOENT",
                () => Effect.succeed(undefined)
              )
            )
            if (before?.isSymbolicLink()) return "symlink" as const
            if (before?.isDirectory()) return yield* fail("IsADirectory", named.relative, `${shown} is a directory`)
            if (before !== undefined && !before.isFile()) {
              return yield* fail("NotAFile", named.relative, `${shown} is not a regular file`)
            }
            if (before !== undefined && before.nlink > 1 && options.allowHardlinks !== true) {
              return yield* fail(
                "HardLinked",
                named.relative,
                `${shown} has ${before.nlink} hard links (another name shares its content); refused unless allow_hardlinks is set`
              )
            }
            const real = `${yield* dirReal(root, dir, named.relative)}/${name}`
            yield* refuseProtected(root, options, "write", named, real)
            const mode = before === undefined ? 0o666 : before.mode & 0o777
            const temp = randomName()
            const written = yield* Effect.uninterruptible(
              Effect.gen(function* () {
                const fd = yield* openScoped(m.at(root, dir, temp), C.O_WRONLY | C.O_CREAT | C.O_EXCL | NOFOLLOW, mode)
                const replace = Effect.gen(function* () {
                  for (let at = 0; at < bytes.length; ) at += yield* write(fd, bytes, at)
                  if (before !== undefined) yield* fchmod(fd, mode)
                  if (options.durable ?? defaults.durable ?? true) yield* fsync(fd)
                  // Both names are looked up in the same open directory: the
                  // rename cannot be redirected to another directory.
                  yield* rename(m.at(root, dir, temp), target)
                })
                yield* replace.pipe(Effect.tapError(() => Effect.ignore(unlink(m.at(root, dir, temp)))))
                // Where the file is now, through its own descriptor.
                const after = yield* m.realOf(fd, real)
                const moved =
                  !W.isInside(root.real, after) ||
                  isDeleted(after) ||
                  (after !== real &&
                    W.protectedBy(options, "write", {
                      root: root.given,
                      realRoot: root.real,
                      named: named.absolute,
                      real: after
                    }) !== undefined)
                if (moved) {
                  // The directory moved during the write: take our file back out.
                  const ours = yield* fstat(fd)
                  const there = yield* Effect.either(lstat(target))
                  if (Either.isRight(there) && sameFile(ours, there.right)) yield* Effect.ignore(unlink(target))
                  return yield* fail(
                    "Changed",
                    named.relative,
                    `${shown}: the directory moved during the write (the file landed at ${W.printable(after)}); it was removed, nothing was written`,
                    { real: after }
                  )
                }
                return after
              })
            )
            return { real: written, relative: relativeTo(root, written), created: before === undefined }
          })
        )
      })
    ).pipe(Effect.mapError(ioError(path)), Effect.withSpan("Workspace.writeFile"))

  const remove: Context.Tag.Service<typeof W.Workspace>["remove"] = (rootPath, path, options = {}) =>
    Effect.scoped(
      Effect.gen(function* () {
        const named = yield* confined(rootPath, path)
        const root = yield* openRoot(named)
        const parent = yield* parentOf(root, named.segments, named.relative, false)
        const shown = W.printable(named.relative)
        if (parent.name === undefined) return yield* fail("IsADirectory", named.relative, `${shown} is a directory`)
        const target = m.at(root, parent.dir, parent.name)
        const info = yield* lstat(target)
        if (info.isDirectory()) return yield* fail("IsADirectory", named.relative, `${shown} is a directory`)
        const real = `${yield* dirReal(root, parent.dir, named.relative)}/${parent.name}`
        yield* refuseProtected(root, options, "write", named, real)
        // unlink never follows a symlink and never touches another name of a hard link.
        yield* unlink(target)
        return { real, relative: relativeTo(root, real), created: false }
      })
    ).pipe(Effect.mapError(ioError(path)), Effect.withSpan("Workspace.remove"))

  const stat: Context.Tag.Service<typeof W.Workspace>["stat"] = (rootPath, path) =>
    Effect.scoped(
      Effect.gen(function* () {
        const named = yield* confined(rootPath, path)
        const root = yield* openRoot(named)
        const parent = yield* parentOf(root, named.segments, named.relative, false)
        if (parent.name === undefined) {
          const info = yield* fstat(root.fd)
          return { real: root.real, relative: ".", type: "directory", size: info.size, links: info.nlink } as const
        }
        const info = yield* lstat(m.at(root, parent.dir, parent.name))
        const real = `${yield* dirReal(root, parent.dir, named.relative)}/${parent.name}`
        const type = info.isSymbolicLink()
          ? "symlink"
          : info.isDirectory()
            ? "directory"
            : info.isFile()
              ? "file"
              : "other"
        return { real, relative: relativeTo(root, real), type, size: info.size, links: info.nlink } as const
      })
    ).pipe(Effect.mapError(ioError(path)), Effect.withSpan("Workspace.stat"))

  const walk: Context.Tag.Service<typeof W.Workspace>["walk"] = (rootPath, path, options) =>
    Effect.scoped(
      Effect.gen(function* () {
        const named = yield* confined(rootPath, path)
        const root = yield* openRoot(named)
        // The base directory, following symlinks that stay inside.
        let base: Dir = { fd: root.fd, rel: [] }
        if (named.segments.length > 0) {
          base = yield* resolveFinal(root, named, false, (dir, name) =>
            Effect.gen(function* () {
              const opened = yield* Effect.either(openScoped(m.at(root, dir, name), C.O_RDONLY | DIRECTORY | NOFOLLOW))
              if (Either.isLeft(opened)) {
                if (code(opened.left) === "ELOOP" || code(opened.left) === "ENOTDIR") {
                  const info = yield* lstat(m.at(root, dir, name))
                  if (info.isSymbolicLink()) return "symlink" as const
                  return yield* fail(
                    "NotADirectory",
                    named.relative,
                    `${W.printable(named.relative)} is not a directory`
                  )
                }
                return yield* Effect.fail(opened.left)
              }
              return { fd: opened.right, rel: [...dir.rel, name] } satisfies Dir
            })
          )
        }
        const baseReal = yield* dirReal(root, base, named.relative)
        yield* refuseProtected(root, options, "read", named, baseReal)
        const tooDeep = summary()
        const symlinks = summary()
        const protectedPaths = summary()
        const unreadable = summary()
        let entries = 0
        let files = 0
        let cut = false
        let stopped = false
        const concurrency = Math.max(1, options.concurrency ?? 1)
        const visit = (dir: Dir, real: string, depth: number): Effect.Effect<void, Errno | W.WorkspaceError> =>
          Effect.gen(function* () {
            const listed = yield* Effect.either(readdir(m.dirPath(root, dir)))
            if (Either.isLeft(listed)) {
              unreadable.add(joinRel(dir.rel) || ".")
              return
            }
            const names = listed.right.map((d) => ({ name: d.name, dirent: d }))
            names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
            // Files are handed to onFile in batches (concurrently when asked), in order of dispatch.
            const batch: Array<W.WalkFile> = []
            const flush = Effect.suspend(() => {
              const files = batch.splice(0)
              return Effect.forEach(files, options.onFile, { concurrency }).pipe(
                Effect.tap((goOn) =>
                  Effect.sync(() => {
                    if (goOn.includes(false)) stopped = true
                  })
                )
              )
            })
            for (const { name, dirent } of names) {
              if (cut || stopped) return
              if (options.skip?.has(name)) continue
              if (entries >= options.maxEntries) {
                cut = true
                return
              }
              entries++
              const rel = [...dir.rel, name]
              const relText = joinRel(rel)
              const entryReal = `${real}/${name}`
              let kind: "file" | "directory" | "symlink" | "other" = dirent.isSymbolicLink()
                ? "symlink"
                : dirent.isDirectory()
                  ? "directory"
                  : dirent.isFile()
                    ? "file"
                    : "other"
              if (kind === "other" && !dirent.isFIFO() && !dirent.isSocket() && !dirent.isBlockDevice()) {
                // DT_UNKNOWN on some file systems: ask.
                const info = yield* Effect.either(lstat(m.at(root, dir, name)))
                if (Either.isRight(info)) {
                  kind = info.right.isSymbolicLink()
                    ? "symlink"
                    : info.right.isDirectory()
                      ? "directory"
                      : info.right.isFile()
                        ? "file"
                        : "other"
                }
              }
              if (kind === "symlink") {
                symlinks.add(relText)
                continue
              }
              if (kind === "other") continue
              const pattern = W.protectedBy(options, "read", {
                root: root.given,
                realRoot: root.real,
                named: named.absolute,
                real: entryReal
              })
              if (pattern !== undefined) {
                protectedPaths.add(relText)
                continue
              }
              if (kind === "directory") {
                yield* flush
                if (stopped) return
                if (depth + 1 > options.maxDepth) {
                  tooDeep.add(relText)
                  continue
                }
                yield* Effect.scoped(
                  Effect.gen(function* () {
                    const opened = yield* Effect.either(
                      openScoped(m.at(root, dir, name), C.O_RDONLY | DIRECTORY | NOFOLLOW)
                    )
                    // Swapped for a symlink or a file since it was listed: not followed.
                    if (Either.isLeft(opened)) return
                    const child: Dir = { fd: opened.right, rel }
                    const childReal = yield* Effect.either(dirReal(root, child, relText))
                    if (Either.isLeft(childReal)) return
                    yield* visit(child, childReal.right, depth + 1)
                  })
                )
                continue
              }
              files++
              const file: W.WalkFile = {
                relative: relText,
                local: rel.slice(base.rel.length).join("/"),
                read: (maxBytes) =>
                  Effect.scoped(
                    Effect.gen(function* () {
                      const fileNamed: W.Confined = {
                        root: named.root,
                        segments: rel,
                        relative: relText,
                        absolute: `${named.root === "/" ? "" : named.root}/${relText}`
                      }
                      const opened = yield* openFileIn(root, dir, name, fileNamed, options, named)
                      return yield* readAll(opened.fd, opened.info.size, maxBytes, relText)
                    })
                  ).pipe(Effect.mapError(ioError(relText)))
              }
              batch.push(file)
              if (batch.length >= concurrency) yield* flush
            }
            yield* flush
          })
        yield* visit(base, baseReal, 0)
        return {
          files,
          entries,
          cutAtEntries: cut,
          stopped,
          tooDeep: tooDeep.get(),
          symlinks: symlinks.get(),
          protected: protectedPaths.get(),
          unreadable: unreadable.get()
        } satisfies W.WalkResult
      })
    ).pipe(Effect.mapError(ioError(path)), Effect.withSpan("Workspace.walk"))

  return { guarantee: mode, readFile, writeFile, remove, stat, walk }
}
