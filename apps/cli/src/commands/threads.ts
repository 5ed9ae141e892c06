/**
 * `strata threads list | show | fork | rename | archive | unarchive | export`.
 *
 * @since 0.1.0
 */
import * as NFS from "node:fs"
import * as NOS from "node:os"
import * as NPath from "node:path"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Runtime } from "@strata/core-runtime"
import { ThreadManager } from "@strata/core-runtime/ThreadManager"
import { MessageId, ThreadId } from "@strata/protocol/Ids"
import type { ThreadResponse } from "@strata/protocol/Thread"
import { StateStore } from "@strata/storage/StateStore"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { ago, CliError, json, print, processOptions } from "../common.js"
import * as Distribution from "../Distribution.js"
import * as ReadOnly from "../ReadOnly.js"

const threadId = Args.text({ name: "thread" }).pipe(Args.withSchema(ThreadId), Args.withDescription("The thread id"))

const request = <A>(body: (rt: Runtime.Service) => Effect.Effect<A, unknown>) =>
  Distribution.session(processOptions(), () => Effect.flatMap(Runtime.Runtime, body))

const found = (response: ThreadResponse, id: string) =>
  response.status === "missing"
    ? Effect.fail(new CliError({ detail: `no thread ${id}`, hint: "see strata threads list" }))
    : Effect.succeed(response)

const all = Options.boolean("all").pipe(Options.withDescription("Include archived threads"))

const list = Command.make("list", { json, all }, (o) =>
  ReadOnly.session(
    processOptions(),
    Effect.gen(function* () {
      const store = yield* StateStore
      // One listing for both the threads and the damaged records.
      const page = yield* store.listThreads({ ...(o.all ? {} : { archived: false }), limit: 1000, damaged: true })
      const damaged = page.damaged ?? []
      const threads = [...page.threads].sort((a, b) => b.updated_at - a.updated_at)
      if (o.json) return yield* print(true, [...threads, ...damaged.map(ReadOnly.damagedJson)], () => "")
      yield* print(false, threads, (ts) =>
        ts.length === 0 && damaged.length === 0
          ? "no threads yet (start one with strata)"
          : [
              ...ts.map(
                (t) =>
                  `${t.id}  ${ago(t.updated_at).padStart(8)}  ${t.status.padEnd(9)} ${t.archived === true ? "[archived] " : ""}${t.name ?? t.preview.slice(0, 60)}`
              ),
              ...damaged.map(ReadOnly.damagedLine)
            ].join("\n")
      )
    })
  )
).pipe(Command.withDescription("List threads, most recent first (damaged ones marked); writes nothing"))

const show = Command.make("show", { json, thread: threadId }, (o) =>
  ReadOnly.session(
    processOptions(),
    Effect.gen(function* () {
      const threads = yield* ThreadManager
      const response = yield* found(yield* threads.handle({ kind: "read", thread_id: o.thread }), o.thread)
      yield* print(o.json, { thread: response.thread, history: response.data.history ?? [] }, (v) =>
        [
          `${v.thread?.id}  ${v.thread?.status}  ${v.thread?.name ?? ""}`,
          ...v.history.map(
            (m) =>
              `[${m.id}] ${m.role}: ${m.content.trim()}${m.tool_calls === undefined ? "" : ` ${m.tool_calls.map((c) => `⏺ ${c.name}`).join(" ")}`}`
          )
        ].join("\n")
      )
    })
  )
).pipe(Command.withDescription("Show a thread's messages; writes nothing"))

const at = Options.text("at").pipe(
  Options.withSchema(MessageId),
  Options.optional,
  Options.withDescription("Fork after this message id (default: the whole thread)")
)

const fork = Command.make("fork", { json, thread: threadId, at }, (o) =>
  request((rt) =>
    Effect.gen(function* () {
      const response = yield* found(
        yield* rt.handleThread({
          kind: "fork",
          thread_id: o.thread,
          ...(Option.isSome(o.at) ? { at_message_id: o.at.value } : {})
        }),
        o.thread
      )
      yield* print(o.json, response.thread ?? { id: response.thread_id }, (t) => `forked ${o.thread} -> ${t.id}`)
    })
  )
).pipe(Command.withDescription("Copy a thread (up to a message) into a new thread"))

const rename = Command.make(
  "rename",
  { json, thread: threadId, name: Args.text({ name: "name" }).pipe(Args.withDescription("The new name")) },
  (o) =>
    request((rt) =>
      Effect.gen(function* () {
        const response = yield* found(
          yield* rt.handleThread({ kind: "set_name", thread_id: o.thread, name: o.name }),
          o.thread
        )
        yield* print(o.json, response.thread ?? {}, () => `renamed ${o.thread} to "${o.name}"`)
      })
    )
).pipe(Command.withDescription("Name a thread"))

const archiveLike = (kind: "archive" | "unarchive") =>
  Command.make(kind, { json, thread: threadId }, (o) =>
    request((rt) =>
      Effect.gen(function* () {
        const response = yield* found(yield* rt.handleThread({ kind, thread_id: o.thread }), o.thread)
        yield* print(o.json, { thread_id: o.thread, status: response.status }, (v) => `${v.thread_id} ${v.status}`)
      })
    )
  ).pipe(Command.withDescription(kind === "archive" ? "Archive a thread" : "Bring an archived thread back"))

const output = Options.file("output").pipe(
  Options.withAlias("o"),
  Options.optional,
  Options.withDescription("Write to this file (replaced only once the export is complete) instead of stdout")
)

const exportCommand = Command.make("export", { thread: threadId, output }, (o) =>
  ReadOnly.session(
    processOptions(),
    Effect.gen(function* () {
      const store = yield* StateStore
      if (Option.isNone(yield* store.getThread(o.thread))) {
        return yield* new CliError({ detail: `no thread ${o.thread}`, hint: "see strata threads list" })
      }
      // Written to a temp file first: a damaged thread fails the export
      // before anything reaches the destination (or stdout).
      const target = Option.getOrUndefined(o.output)
      const dir = target === undefined ? NOS.tmpdir() : NPath.dirname(NPath.resolve(target))
      const temp = NPath.join(dir, `.strata-export-${process.pid}-${Date.now()}.jsonl.tmp`)
      yield* Effect.acquireUseRelease(
        Effect.sync(() => NFS.openSync(temp, "wx", 0o600)),
        (fd) =>
          Effect.gen(function* () {
            yield* store
              .exportThread(o.thread)
              .pipe(Stream.runForEach((line) => Effect.sync(() => NFS.writeSync(fd, line))))
            yield* Effect.sync(() => NFS.fsyncSync(fd))
            if (target !== undefined) {
              yield* Effect.sync(() => NFS.renameSync(temp, NPath.resolve(target)))
              return
            }
            yield* Effect.async<void>((resume) => {
              const input = NFS.createReadStream(temp)
              input.on("end", () => resume(Effect.void))
              input.pipe(process.stdout, { end: false })
            })
          }),
        (fd) =>
          Effect.sync(() => {
            NFS.closeSync(fd)
            NFS.rmSync(temp, { force: true })
          })
      )
    })
  )
).pipe(
  Command.withDescription(
    "Write a thread as JSON lines (metadata, every event, checkpoints) to stdout or --output; nothing is written if the thread is damaged"
  )
)

/**
 * @since 0.1.0
 * @category commands
 */
export const threads = Command.make("threads").pipe(
  Command.withDescription("List, show, fork, rename, archive and export threads"),
  Command.withSubcommands([list, show, fork, rename, archiveLike("archive"), archiveLike("unarchive"), exportCommand])
)
