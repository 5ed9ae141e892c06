/**
 * The audit log: one JSON line per tool call phase, approval request and
 * decision, and permission request (with the policy's reason), appended to
 * a JSONL file, each line chained to the one before by its hash (see
 * `AuditChain`; `strata audit verify` checks the chain).
 *
 * Each line: `{"seq": n, "prev": <sha-256 of the line before>, "time":
 * ISO-8601, "event": <hook event>, "phase"?: ...,
 * "thread_id"?, "call_id"?, "tool_name"?, "arguments"?, "command"?,
 * "reason"?, "error"?, "duration_ms"?, "approval_id"?}`.
 *
 * The file is `options.file` when set (relative paths against the event's
 * `cwd`), else `$STRATA_AUDIT_LOG`, else `<cwd>/.strata/audit.jsonl`.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { define as defineHook } from "@strata/plugin/Hook"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as AuditChain from "./AuditChain.js"
import * as Writer from "./internal/writer.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The log file; relative paths resolve against the event's cwd. */
  readonly file?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Appends one entry (never fails: a write error is logged as a warning). */
  readonly append: (cwd: string | undefined, entry: Record<string, unknown>) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class AuditLog extends Context.Tag("@strata/plugin-audit-log/AuditLog")<AuditLog, Service>() {}

/**
 * The head file beside a log.
 *
 * @since 0.2.0
 * @category utils
 */
export const headFile = (file: string): string => Writer.headFile(file)

/**
 * The portable file operations of the writer: `FileSystem`, on whatever
 * platform the host provides.
 */
const portableFiles = Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  // The log opened for appending (with the inode it was opened on; a log
  // replaced or removed since is opened again).
  const handles = new Map<
    string,
    { readonly file: FileSystem.File; readonly ino: number | undefined; readonly scope: Scope.CloseableScope }
  >()
  const handlesScope = yield* Effect.scope
  const dropHandle = (file: string) =>
    Effect.suspend(() => {
      const h = handles.get(file)
      handles.delete(file)
      return h === undefined ? Effect.void : Scope.close(h.scope, Exit.void)
    })
  const files: Writer.Files = {
    makeDirectory: (dir) => fs.makeDirectory(dir, { recursive: true }),
    createExclusive: (file, text) =>
      fs.writeFileString(file, text, { flag: "wx" }).pipe(
        Effect.as(true),
        Effect.catchIf(
          (e) => e._tag === "SystemError" && e.reason === "AlreadyExists",
          () => Effect.succeed(false)
        ),
        // Nothing is written yet: the caller makes the directory and tries again.
        Effect.catchIf(
          (e) => e._tag === "SystemError" && e.reason === "NotFound",
          () => Effect.fail(new Writer.LogDirGone())
        )
      ),
    mtime: (file) =>
      fs.stat(file).pipe(
        Effect.map((info) => Option.getOrUndefined(Option.map(info.mtime, (d) => d.getTime()))),
        Effect.orElseSucceed(() => undefined)
      ),
    remove: (file) => fs.remove(file).pipe(Effect.ignore),
    // One `readlink` tells both "missing" and "symlink"; `stat` follows for the rest.
    inspect: (file) =>
      Effect.gen(function* () {
        const link = yield* fs.readLink(file).pipe(Effect.either)
        if (link._tag === "Right") {
          return yield* Effect.fail(new Error(`${file} is a symlink; the audit log is not written through one`))
        }
        if (link.left._tag === "SystemError" && link.left.reason === "NotFound") return undefined
        const info = yield* fs.stat(file)
        return { size: Number(info.size), ino: Option.getOrUndefined(info.ino) }
      }),
    read: (file, position, length) =>
      Effect.scoped(
        Effect.gen(function* () {
          const handle = yield* fs.open(file, { flag: "r" })
          yield* handle.seek(position, "start")
          const bytes = new Uint8Array(length)
          let got = 0
          while (got < length) {
            const n = Number(yield* handle.read(bytes.subarray(got)))
            if (n === 0) break
            got += n
          }
          return bytes.subarray(0, got)
        })
      ),
    append: (file, ino, bytes) =>
      Effect.gen(function* () {
        let h = handles.get(file)
        if (h === undefined || ino === undefined || h.ino !== ino) {
          yield* dropHandle(file)
          const scope = yield* Scope.fork(handlesScope, ExecutionStrategy.sequential)
          const opened = yield* Scope.extend(fs.open(file, { flag: "a" }), scope).pipe(
            Effect.tapError(() => Scope.close(scope, Exit.void))
          )
          const info = yield* opened.stat.pipe(Effect.option)
          h = { file: opened, ino: Option.isSome(info) ? Option.getOrUndefined(info.value.ino) : undefined, scope }
          handles.set(file, h)
        }
        yield* h.file.writeAll(bytes).pipe(Effect.tapError(() => dropHandle(file)))
      }),
    dropHandle,
    replace: (temp, file, text) => Effect.zipRight(fs.writeFileString(temp, text), fs.rename(temp, file)),
    hash: AuditChain.hash
  }
  return files
})

/**
 * The service over the writer's file operations (`files`, built in the
 * layer's scope): the portable ones ({@link layer}) or Node's synchronous
 * calls (`@strata/plugin-audit-log/node`). The same lines, chain, lock and
 * head file either way.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerWith = <R>(
  files: Effect.Effect<Files, never, R>,
  options: Options = {}
): Layer.Layer<AuditLog, never, Path.Path | Exclude<R, Scope.Scope>> =>
  Layer.scoped(
    AuditLog,
    Effect.gen(function* () {
      const path = yield* Path.Path
      const fromEnv = yield* Config.string("STRATA_AUDIT_LOG").pipe(
        Config.option,
        Effect.orElseSucceed(() => Option.none())
      )
      const configured = options.file ?? Option.getOrUndefined(Option.filter(fromEnv, (s) => s !== ""))
      const lock = yield* Effect.makeSemaphore(1)
      const fileFor = (cwd: string | undefined) =>
        path.resolve(cwd ?? ".", configured ?? path.join(".strata", "audit.jsonl"))
      const append = Writer.make(yield* files, (file) => path.dirname(file))
      return {
        append: Effect.fn("AuditLog.append")((cwd: string | undefined, entry: Record<string, unknown>) =>
          lock.withPermits(1)(
            Effect.suspend(() => append(fileFor(cwd), entry)).pipe(
              Effect.catchAll((e) => Effect.logWarning(`audit-log: cannot write: ${e.message}`))
            )
          )
        )
      }
    })
  )

/**
 * The writer's file operations (see {@link layerWith}).
 *
 * @since 0.3.0
 * @category models
 */
export type Files = Writer.Files

/**
 * The writer: entries are appended one at a time, in order, each chained to
 * the line before (see `AuditChain`). The chain's tip is read back from the
 * file under a lock file (`<log>.lock`), so a restarted process, or several
 * processes sharing one log, go on with the same chain; nothing already
 * written is ever rewritten.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<AuditLog, never, FileSystem.FileSystem | Path.Path> =>
  layerWith(portableFiles, options)

/**
 * Verifies the log at `file` and its head file (see `AuditChain.verify`).
 * Fails with a one-line reason when the log cannot be read or its head file
 * is not one.
 *
 * @since 0.2.0
 * @category utils
 */
export const verifyFile = Effect.fn("AuditLog.verifyFile")(function* (file: string) {
  const fs = yield* FileSystem.FileSystem
  if (!(yield* fs.exists(file).pipe(Effect.mapError((e) => `cannot read ${file}: ${e.message}`))))
    return yield* Effect.fail(`no audit log at ${file}`)
  const text = yield* fs.readFileString(file).pipe(Effect.mapError((e) => `cannot read ${file}: ${e.message}`))
  const head = headFile(file)
  let recorded: AuditChain.Head | undefined
  if (yield* fs.exists(head).pipe(Effect.mapError((e) => `cannot read ${head}: ${e.message}`))) {
    const headText = yield* fs.readFileString(head).pipe(Effect.mapError((e) => `cannot read ${head}: ${e.message}`))
    recorded = AuditChain.parseHead(headText)
    if (recorded === undefined)
      return yield* Effect.fail(`${head} is not a head file ({"seq": n, "hash": "<sha-256>"})`)
  }
  return yield* AuditChain.verify(text, recorded)
})

const defined = (record: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined))

/**
 * Logs every tool call phase (`precheck`, `dispatching`, `completed`,
 * `failed`, `denied` with the reason in `error`, `awaiting_approval`).
 *
 * @since 0.1.0
 * @category hooks
 */
export const ToolCalls = defineHook({
  event: "ToolLifecycle",
  name: "tool-calls",
  run: (event) =>
    Effect.flatMap(AuditLog, (log) =>
      log.append(
        event.cwd,
        defined({
          event: "tool_call",
          phase: event.phase,
          thread_id: event.thread_id,
          call_id: event.call_id,
          tool_name: event.tool_name,
          arguments: event.phase === "precheck" ? event.arguments : undefined,
          error: event.error,
          duration_ms: event.duration_ms
        })
      )
    )
})

/**
 * Logs approvals: requested (with the policy's reason), approved, denied.
 *
 * @since 0.1.0
 * @category hooks
 */
export const Approvals = defineHook({
  event: "ApprovalLifecycle",
  name: "approvals",
  run: (event) =>
    Effect.flatMap(AuditLog, (log) =>
      log.append(
        event.cwd,
        defined({
          event: "approval",
          phase: event.phase,
          thread_id: event.thread_id,
          approval_id: event.approval_id,
          call_id: event.call_id,
          tool_name: event.tool_name,
          command: event.command,
          reason: event.reason
        })
      )
    )
})

/**
 * Logs the decisions that need a person (policy or hook said `ask`), with
 * the reason, before anyone answers.
 *
 * @since 0.1.0
 * @category hooks
 */
export const Decisions = defineHook({
  event: "PermissionRequest",
  name: "decisions",
  run: (event) =>
    Effect.flatMap(AuditLog, (log) =>
      log.append(
        event.cwd,
        defined({
          event: "decision",
          decision: "ask",
          thread_id: event.thread_id,
          call_id: event.tool_use_id,
          tool_name: event.tool_name,
          arguments: event.tool_input,
          reason: event.reason
        })
      )
    )
})

/**
 * Every hook of the plugin.
 *
 * @since 0.1.0
 * @category hooks
 */
export const hooks = [ToolCalls, Approvals, Decisions] as const
