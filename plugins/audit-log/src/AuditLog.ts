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
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as AuditChain from "./AuditChain.js"

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
export const headFile = (file: string): string => `${file}.head`

/** The log's directory is gone (found when taking the lock, before anything is written). */
class LogDirGone extends Data.TaggedError("LogDirGone") {
  override get message() {
    return "the audit log's directory is gone"
  }
}

const LOCK_STALE_MS = 30_000
const LOCK_WAIT_MS = 10_000

/** The last line of a log and how the chain goes on after it. */
interface Tip {
  readonly size: number
  readonly seq: number
  readonly hash: string
  /** The file ends without a newline (a torn write): the next line must start one. */
  readonly torn: boolean
}

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
  Layer.scoped(
    AuditLog,
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const fromEnv = yield* Config.string("STRATA_AUDIT_LOG").pipe(
        Config.option,
        Effect.orElseSucceed(() => Option.none())
      )
      const configured = options.file ?? Option.getOrUndefined(Option.filter(fromEnv, (s) => s !== ""))
      const lock = yield* Effect.makeSemaphore(1)
      const tips = new Map<string, Tip>()
      const fileFor = (cwd: string | undefined) =>
        path.resolve(cwd ?? ".", configured ?? path.join(".strata", "audit.jsonl"))

      /** Another process's lock is waited for; one older than 30 s (a crashed writer) is broken. */
      const withFileLock = <A, E, R>(file: string, body: Effect.Effect<A, E, R>) => {
        const lockFile = `${file}.lock`
        const take = Effect.gen(function* () {
          const started = Date.now()
          for (;;) {
            const taken = yield* fs.writeFileString(lockFile, `${new Date().toISOString()}\n`, { flag: "wx" }).pipe(
              Effect.as(true),
              Effect.catchIf(
                (e) => e._tag === "SystemError" && e.reason === "AlreadyExists",
                () => Effect.succeed(false)
              ),
              // Nothing is written yet: the caller makes the directory and tries again.
              Effect.catchIf(
                (e) => e._tag === "SystemError" && e.reason === "NotFound",
                () => Effect.fail(new LogDirGone())
              )
            )
            if (taken) return
            const info = yield* fs.stat(lockFile).pipe(Effect.option)
            const mtime = Option.flatMap(info, (i) => i.mtime)
            if (Option.isSome(mtime) && Date.now() - mtime.value.getTime() > LOCK_STALE_MS) {
              yield* fs.remove(lockFile).pipe(Effect.ignore)
              continue
            }
            if (Date.now() - started > LOCK_WAIT_MS) {
              return yield* Effect.fail(new Error(`${lockFile} is held by another writer`))
            }
            yield* Effect.sleep(5 + Math.floor(Math.random() * 15))
          }
        })
        return Effect.acquireUseRelease(
          take,
          () => body,
          () => fs.remove(lockFile).pipe(Effect.ignore)
        )
      }

      // What this process keeps between appends: the directories it made,
      // and the log opened for appending (with the inode it was opened on;
      // a log replaced or removed since is opened again).
      const readyDirs = new Set<string>()
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

      /**
       * The log's size and inode, or undefined when it does not exist; fails
       * when it is a symlink (the log is never written through one). One
       * `readlink` tells both "missing" and "symlink"; `stat` follows for the rest.
       */
      const inspect = (file: string) =>
        Effect.gen(function* () {
          const link = yield* fs.readLink(file).pipe(Effect.either)
          if (link._tag === "Right") {
            return yield* Effect.fail(new Error(`${file} is a symlink; the audit log is not written through one`))
          }
          if (link.left._tag === "SystemError" && link.left.reason === "NotFound") return undefined
          const info = yield* fs.stat(file)
          return { size: Number(info.size), ino: Option.getOrUndefined(info.ino) }
        })

      /** Reads the chain's tip from the end of the file (growing the window until a whole line fits). */
      const readTip = (file: string, size: number) =>
        Effect.scoped(
          Effect.gen(function* () {
            const cached = tips.get(file)
            if (cached !== undefined && cached.size === size) return cached
            if (size === 0) return { size: 0, seq: 0, hash: AuditChain.GENESIS, torn: false } satisfies Tip
            const handle = yield* fs.open(file, { flag: "r" })
            let window = Math.min(size, 65536)
            for (;;) {
              yield* handle.seek(size - window, "start")
              const bytes = new Uint8Array(window)
              let got = 0
              while (got < window) {
                const n = Number(yield* handle.read(bytes.subarray(got)))
                if (n === 0) break
                got += n
              }
              const torn = bytes[got - 1] !== 0x0a
              const end = torn ? got : got - 1
              const start = bytes.lastIndexOf(0x0a, end - 1)
              if (start === -1 && window < size) {
                window = Math.min(size, window * 4)
                continue
              }
              const line = new TextDecoder().decode(bytes.subarray(start + 1, end))
              let seq = 0
              try {
                const parsed = JSON.parse(line) as { seq?: unknown }
                if (typeof parsed.seq === "number" && !torn) seq = parsed.seq
              } catch {}
              return { size, seq, hash: yield* AuditChain.hash(line), torn } satisfies Tip
            }
          })
        )

      /** Appends `bytes` through the handle kept on the file at `ino` (opened again when the file changed). */
      const appendBytes = (file: string, ino: number | undefined, bytes: Uint8Array) =>
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
        })

      const encoder = new TextEncoder()
      const appendLine = (file: string, entry: Record<string, unknown>) =>
        Effect.gen(function* () {
          const found = yield* inspect(file)
          const tip: Tip =
            found === undefined
              ? { size: 0, seq: 0, hash: AuditChain.GENESIS, torn: false }
              : yield* readTip(file, found.size)
          const { seq: _s, prev: _p, ...rest } = entry
          const line = JSON.stringify({
            seq: tip.seq + 1,
            prev: tip.hash,
            time: new Date().toISOString(),
            ...rest
          })
          const bytes = encoder.encode(`${tip.torn ? "\n" : ""}${line}\n`)
          yield* appendBytes(file, found?.ino, bytes)
          const next: Tip = {
            size: tip.size + bytes.length,
            seq: tip.seq + 1,
            hash: yield* AuditChain.hash(line),
            torn: false
          }
          const head = headFile(file)
          const temp = `${head}.${next.seq}.tmp`
          yield* fs.writeFileString(temp, `${JSON.stringify({ seq: next.seq, hash: next.hash })}\n`)
          yield* fs.rename(temp, head)
          tips.set(file, next)
        })

      /** One append: the directory made once, the file lock held around the line. */
      const appendOnce = (file: string, entry: Record<string, unknown>) =>
        Effect.gen(function* () {
          const dir = path.dirname(file)
          if (!readyDirs.has(dir)) {
            yield* fs.makeDirectory(dir, { recursive: true })
            readyDirs.add(dir)
          }
          yield* withFileLock(file, appendLine(file, entry))
        })

      return {
        append: Effect.fn("AuditLog.append")((cwd: string | undefined, entry: Record<string, unknown>) =>
          lock.withPermits(1)(
            Effect.suspend(() => {
              const file = fileFor(cwd)
              // A directory removed since it was made here: made again, once.
              return appendOnce(file, entry).pipe(
                Effect.catchIf(
                  (e) => e instanceof LogDirGone,
                  () =>
                    Effect.suspend(() => {
                      readyDirs.delete(path.dirname(file))
                      return Effect.zipRight(dropHandle(file), appendOnce(file, entry))
                    })
                )
              )
            }).pipe(Effect.catchAll((e) => Effect.logWarning(`audit-log: cannot write: ${e.message}`)))
          )
        )
      }
    })
  )

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
