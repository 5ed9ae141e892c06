/**
 * The audit-log plugin with its lines written by `node:fs`'s synchronous
 * calls (Node; Bun and Deno have them too): the same file, chain, lock file
 * and head file as `@strata/plugin-audit-log` (`AuditLog.layerWith`), without
 * the round trips of a dozen asynchronous file operations per line through
 * the thread pool (about 3 ms of CPU a line on a busy 2-core machine; these
 * calls take tens of microseconds: no line is fsync'd either way). A lock
 * file held by another writer is still waited for without blocking
 * (`Effect.sleep` between attempts).
 *
 * `plugins = ["@strata/plugin-audit-log/NodeAuditLog"]`; the `strata`
 * distribution loads it for its built-in `@strata/plugin-audit-log`. The
 * plugin's id is `audit-log`, as the portable one's: a host loads one or the
 * other.
 *
 * @since 0.3.0
 */
import { createHash } from "node:crypto"
import {
  closeSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync
} from "node:fs"
import type * as Path from "@effect/platform/Path"
import type { PluginDefinition } from "@strata/plugin/Plugin"
import { define as definePlugin } from "@strata/plugin/Plugin"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as AuditLog from "./AuditLog.js"
import * as Writer from "./internal/writer.js"

const codeOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)))

/** A synchronous call as an effect; what it throws is the failure. */
const attempt = <A>(f: () => A): Effect.Effect<A, Error> => Effect.try({ try: f, catch: asError })

/** The writer's file operations on `node:fs` (handles closed with the layer's scope). */
const nodeFiles = Effect.gen(function* () {
  const handles = new Map<string, { readonly fd: number; readonly ino: number }>()
  const dropHandle = (file: string) =>
    Effect.sync(() => {
      const h = handles.get(file)
      handles.delete(file)
      if (h !== undefined) {
        try {
          closeSync(h.fd)
        } catch {}
      }
    })
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      for (const file of [...handles.keys()]) Effect.runSync(dropHandle(file))
    })
  )
  const files: Writer.Files = {
    makeDirectory: (dir) => attempt(() => void mkdirSync(dir, { recursive: true })),
    createExclusive: (file, text) =>
      Effect.suspend(() => {
        try {
          writeFileSync(file, text, { flag: "wx" })
          return Effect.succeed(true)
        } catch (e) {
          const code = codeOf(e)
          if (code === "EEXIST") return Effect.succeed(false)
          // Nothing is written yet: the caller makes the directory and tries again.
          if (code === "ENOENT") return Effect.fail(new Writer.LogDirGone())
          return Effect.fail(asError(e))
        }
      }),
    mtime: (file) =>
      Effect.sync(() => {
        try {
          return statSync(file).mtimeMs
        } catch {
          return undefined
        }
      }),
    remove: (file) =>
      Effect.sync(() => {
        try {
          unlinkSync(file)
        } catch {}
      }),
    // `lstat` tells "missing" and "symlink" at once; a symbolic link is never written through
    inspect: (file) =>
      Effect.suspend(() => {
        try {
          const info = lstatSync(file)
          if (info.isSymbolicLink()) {
            return Effect.fail(new Error(`${file} is a symlink; the audit log is not written through one`))
          }
          return Effect.succeed({ size: info.size, ino: info.ino })
        } catch (e) {
          return codeOf(e) === "ENOENT" ? Effect.succeed(undefined) : Effect.fail(asError(e))
        }
      }),
    read: (file, position, length) =>
      attempt(() => {
        const fd = openSync(file, "r")
        try {
          const bytes = new Uint8Array(length)
          let got = 0
          while (got < length) {
            const n = readSync(fd, bytes, got, length - got, position + got)
            if (n === 0) break
            got += n
          }
          return bytes.subarray(0, got)
        } finally {
          closeSync(fd)
        }
      }),
    append: (file, ino, bytes) =>
      Effect.suspend(() => {
        let h = handles.get(file)
        try {
          if (h === undefined || ino === undefined || h.ino !== ino) {
            Effect.runSync(dropHandle(file))
            const fd = openSync(file, "a")
            try {
              h = { fd, ino: fstatSync(fd).ino }
            } catch (e) {
              closeSync(fd)
              throw e
            }
            handles.set(file, h)
          }
          let written = 0
          while (written < bytes.length) written += writeSync(h.fd, bytes, written, bytes.length - written)
          return Effect.void
        } catch (e) {
          return Effect.zipRight(dropHandle(file), Effect.fail(asError(e)))
        }
      }),
    dropHandle,
    replace: (temp, file, text) =>
      attempt(() => {
        writeFileSync(temp, text)
        renameSync(temp, file)
      }),
    hash: (line) => Effect.sync(() => createHash("sha256").update(line, "utf8").digest("hex"))
  }
  return files
})

/**
 * The audit log's service with Node's file operations (see the module).
 *
 * @since 0.3.0
 * @category layers
 */
export const layer = (options: AuditLog.Options = {}): Layer.Layer<AuditLog.AuditLog, never, Path.Path> =>
  AuditLog.layerWith(nodeFiles, options)

/**
 * The plugin with these settings, its lines written by `node:fs`.
 *
 * @since 0.3.0
 * @category plugins
 */
export const make = (options: AuditLog.Options = {}): PluginDefinition<AuditLog.AuditLog> =>
  definePlugin<AuditLog.AuditLog>({
    id: "audit-log",
    version: "0.1.0",
    description: "Writes every tool call, decision and approval to a JSONL file (.strata/audit.jsonl by default).",
    hooks: [...AuditLog.hooks],
    layer: layer(options)
  })

/**
 * The audit-log plugin, its lines written by `node:fs`.
 *
 * @since 0.3.0
 * @category plugins
 */
export default make()
