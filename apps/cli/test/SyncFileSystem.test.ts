/**
 * The synchronous file system of one-shot commands against
 * `@effect/platform-node`'s, on a real temporary directory: the same
 * results and the same errors (by reason) for the same calls; special files
 * (FIFOs) never hold the event loop; serve and worker keep the asynchronous one.
 */

import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { afterEach } from "vitest"
import { platformLayer } from "../src/Distribution.js"
import * as SyncFileSystem from "../src/SyncFileSystem.js"

const dirs: Array<string> = []
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "strata-syncfs-"))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const asyncFs = Effect.runSync(Effect.provide(FileSystem.FileSystem, NodeFileSystem.layer))
const syncFs = SyncFileSystem.make(asyncFs)
const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

/** What a call gave, comparable across the two: its value, or its error's tag and reason. */
const outcome = <A>(effect: Effect.Effect<A, unknown, never>) =>
  Effect.map(Effect.either(effect), (e) =>
    Either.isRight(e)
      ? { ok: e.right }
      : { error: (e.left as { _tag?: string })._tag, reason: (e.left as { reason?: string }).reason }
  )

/** A sequence of calls in `dir`, each call's outcome in order. */
const scenario = (fs: FileSystem.FileSystem, dir: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const p = (name: string) => join(dir, name)
      const out: Array<unknown> = []
      const record = function* <A>(effect: Effect.Effect<A, unknown, never>) {
        out.push(yield* outcome(effect))
      }
      yield* record(fs.readFile(p("missing")))
      yield* record(fs.stat(p("missing")))
      // (node's mkdir gives the first directory it made; the interface says void)
      yield* record(Effect.asVoid(fs.makeDirectory(p("a/b/c"), { recursive: true })))
      yield* record(fs.makeDirectory(p("a")))
      yield* record(fs.writeFileString(p("a/one.txt"), "hello"))
      yield* record(Effect.map(fs.readFile(p("a/one.txt")), text))
      yield* record(fs.writeFile(p("a/one.txt"), bytes("!"), { flag: "a" }))
      yield* record(fs.readFileString(p("a/one.txt")))
      yield* record(fs.writeFile(p("a/one.txt"), bytes("x"), { flag: "wx" }))
      yield* record(Effect.map(fs.stat(p("a/one.txt")), (s) => [s.type, Number(s.size), Option.isSome(s.ino)]))
      yield* record(Effect.map(fs.stat(p("a")), (s) => s.type))
      yield* record(fs.readFile(p("a")))
      yield* record(fs.link(p("a/one.txt"), p("a/two.txt")))
      yield* record(fs.link(p("a/one.txt"), p("a/two.txt")))
      yield* record(fs.symlink("one.txt", p("a/sym")))
      yield* record(fs.readLink(p("a/sym")))
      yield* record(Effect.map(fs.realPath(p("a/sym")), (r) => r.endsWith("one.txt")))
      yield* record(fs.access(p("a/one.txt"), { readable: true, writable: true }))
      yield* record(fs.exists(p("a/nope")))
      yield* record(fs.exists(p("a/one.txt")))
      yield* record(fs.exists(p("a/one.txt/below")))
      yield* record(Effect.map(fs.readDirectory(p("a")), (names) => [...names].sort()))
      yield* record(fs.rename(p("a/two.txt"), p("a/three.txt")))
      yield* record(fs.rename(p("a/two.txt"), p("a/four.txt")))
      yield* record(fs.truncate(p("a/three.txt"), 2))
      yield* record(fs.readFileString(p("a/three.txt")))
      yield* record(fs.remove(p("a/b")))
      yield* record(fs.remove(p("a/b"), { recursive: true }))
      yield* record(fs.remove(p("a/b"), { force: true }))
      yield* record(fs.chmod(p("a/three.txt"), 0o600))
      yield* record(Effect.map(fs.stat(p("a/three.txt")), (s) => s.mode & 0o777))
      // a file handle: append, seek, read, readAlloc, truncate, sync
      const file = yield* fs.open(p("a/handle.txt"), { flag: "a+" })
      yield* record(file.writeAll(bytes("0123456789")))
      yield* record(file.write(bytes("ab")))
      yield* record(Effect.map(file.stat, (s) => Number(s.size)))
      yield* record(file.seek(3, "start"))
      const buffer = new Uint8Array(4)
      yield* record(Effect.map(file.read(buffer), (n) => [Number(n), text(buffer)]))
      yield* record(Effect.map(file.readAlloc(100), Option.map(text)))
      yield* record(Effect.map(file.readAlloc(100), Option.isNone))
      yield* record(file.truncate(5))
      yield* record(file.sync)
      yield* record(fs.readFileString(p("a/handle.txt")))
      const rw = yield* fs.open(p("a/rw.txt"), { flag: "w+" })
      yield* record(rw.writeAll(bytes("abcdef")))
      yield* record(rw.seek(-2, "current"))
      yield* record(rw.write(bytes("XY")))
      yield* record(rw.seek(0, "start"))
      yield* record(Effect.map(rw.readAlloc(16), Option.map(text)))
      yield* record(Effect.scoped(Effect.as(fs.open(p("a/rw.txt"), { flag: "wx" }), "opened")))
      yield* record(Effect.scoped(Effect.as(fs.open(p("a/missing/deeper"), { flag: "r" }), "opened")))
      return out
    })
  )

describe("SyncFileSystem", () => {
  it.effect("gives what @effect/platform-node's file system gives, call by call, errors by reason", () =>
    Effect.gen(function* () {
      const expected = yield* scenario(asyncFs, tempDir())
      const actual = yield* scenario(syncFs, tempDir())
      expect(actual).toEqual(expected)
      // the scenario met errors, and not only one kind
      const reasons = new Set(expected.flatMap((o) => ((o as { reason?: string }).reason ? [(o as any).reason] : [])))
      expect([...reasons].sort()).toEqual(["AlreadyExists", "BadResource", "NotFound", "Unknown"])
    })
  )

  it.effect("is the one-shot commands' file system; serve and worker keep the asynchronous one", () =>
    Effect.gen(function* () {
      const oneShot = yield* Effect.provide(FileSystem.FileSystem, platformLayer())
      const shared = yield* Effect.provide(FileSystem.FileSystem, platformLayer({ sharedEventLoop: true }))
      expect(SyncFileSystem.isSync(oneShot)).toBe(true)
      expect(SyncFileSystem.isSync(shared)).toBe(false)
      expect(SyncFileSystem.isSync(asyncFs)).toBe(false)
    })
  )

  const hasMkfifo = process.platform !== "win32" && spawnSync("mkfifo", ["--version"]).status === 0

  it.live.skipIf(!hasMkfifo)(
    "never holds the event loop on a FIFO: reading waits for its writer, writing for its reader",
    () =>
      Effect.gen(function* () {
        const dir = tempDir()
        const fifo = join(dir, "pipe")
        expect(spawnSync("mkfifo", [fifo]).status).toBe(0)
        // A timer that ticks while the read waits: a synchronous read of the FIFO would stop it.
        let ticks = 0
        const timer = setInterval(() => ticks++, 5)
        try {
          const read = yield* Effect.fork(syncFs.readFileString(fifo))
          yield* Effect.sleep("100 millis")
          const ticksBeforeWriter = ticks
          const writer = spawn("sh", ["-c", `printf 'from the writer' > '${fifo}'`])
          const writerExited = new Promise((resolve) => writer.on("exit", resolve))
          expect(yield* read.await.pipe(Effect.flatten)).toBe("from the writer")
          expect(ticksBeforeWriter).toBeGreaterThan(5)
          expect(yield* Effect.promise(() => writerExited)).toBe(0)

          // Writing with no reader yet: handed to the asynchronous call, which waits for one.
          const write = yield* Effect.fork(syncFs.writeFileString(fifo, "to the reader"))
          yield* Effect.sleep("100 millis")
          const ticksBeforeReader = ticks
          const reader = spawn("cat", [fifo])
          let read2 = ""
          reader.stdout.on("data", (d) => {
            read2 += d
          })
          const readerExited = new Promise((resolve) => reader.on("exit", resolve))
          yield* write.await.pipe(Effect.flatten)
          expect(yield* Effect.promise(() => readerExited)).toBe(0)
          expect(read2).toBe("to the reader")
          expect(ticksBeforeReader).toBeGreaterThan(5)
        } finally {
          clearInterval(timer)
        }
      })
  )

  it.effect("writes what the asynchronous file system reads back, and the other way round", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251)
      yield* syncFs.writeFile(join(dir, "big"), big)
      expect(Buffer.compare(readFileSync(join(dir, "big")), Buffer.from(big))).toBe(0)
      yield* asyncFs.writeFile(join(dir, "big2"), big)
      const back = yield* syncFs.readFile(join(dir, "big2"))
      expect(Buffer.compare(Buffer.from(back), Buffer.from(big))).toBe(0)
    })
  )
})

// Keeps the layer's type honest: it provides a FileSystem and needs nothing.
const _layer: Layer.Layer<FileSystem.FileSystem> = SyncFileSystem.layer
void _layer
