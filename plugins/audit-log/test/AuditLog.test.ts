// The audit-log plugin installed into a real hook dispatcher, writing to a real temp dir.
import { FileSystem } from "@effect/platform/FileSystem"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { HookDispatcher } from "@strata/hooks"
import { Plugin } from "@strata/plugin"
import * as NodeWorkspace from "@strata/plugin/NodeWorkspace"
import type { Ids } from "@strata/protocol"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import auditPlugin, { AuditChain, AuditLog, make } from "../src/index.js"
import * as NodeAuditLog from "../src/NodeAuditLog.js"
import nodePlugin from "../src/node.js"

const TestLayer = Layer.mergeAll(
  HookDispatcher.HookDispatcher.Default,
  NodeContext.layer,
  NodeWorkspace.layer({ durable: false })
)
const callId = "call_1" as Ids.ToolCallId
const approvalId = "appr_1" as Ids.ApprovalId

const readLines = (file: string) =>
  Effect.map(
    Effect.flatMap(FileSystem, (fs) => fs.readFileString(file)),
    (text) =>
      text
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>)
  )

/** 20 failed-tool lines notified at once, in `dir`. */
const twentyAtOnce = (dir: string) =>
  Effect.flatMap(HookDispatcher.HookDispatcher, (hooks) =>
    Effect.forEach(
      Array.from({ length: 20 }, (_, i) => i),
      (i) =>
        hooks.notify({
          hook_event_name: "ToolLifecycle",
          phase: "failed",
          error: `boom ${i}`,
          cwd: dir,
          call_id: callId,
          tool_name: "fs__read_file"
        }),
      { concurrency: "unbounded" }
    )
  )

describe("audit-log", () => {
  it.scoped("writes tool calls, decisions and approvals as JSON lines under <cwd>/.strata/audit.jsonl", () =>
    Effect.gen(function* () {
      const dir = yield* (yield* FileSystem).makeTempDirectoryScoped({ prefix: "strata-audit-" })
      // the package's default export, on the host's platform (the test's NodeContext); /node is a deprecated alias
      expect(nodePlugin).toBe(auditPlugin)
      yield* Plugin.install(yield* Plugin.validate(auditPlugin))
      const hooks = yield* HookDispatcher.HookDispatcher
      const common = { cwd: dir, call_id: callId, tool_name: "shell__exec" }
      yield* hooks.notify({
        hook_event_name: "ToolLifecycle",
        phase: "precheck",
        arguments: { command: "touch a" },
        ...common
      })
      yield* hooks.dispatch({
        hook_event_name: "PermissionRequest",
        cwd: dir,
        tool_name: "shell__exec",
        tool_input: { command: "touch a" },
        tool_use_id: callId,
        reason: "touch: ask by builtin rule"
      })
      yield* hooks.notify({
        hook_event_name: "ApprovalLifecycle",
        phase: "requested",
        approval_id: approvalId,
        command: "touch a",
        reason: "touch: ask by builtin rule",
        ...common
      })
      yield* hooks.notify({
        hook_event_name: "ApprovalLifecycle",
        phase: "approved",
        approval_id: approvalId,
        ...common
      })
      yield* hooks.notify({ hook_event_name: "ToolLifecycle", phase: "completed", duration_ms: 3, ...common })
      const lines = yield* readLines(`${dir}/.strata/audit.jsonl`)
      expect(lines.map((l) => [l.event, l.phase ?? l.decision])).toStrictEqual([
        ["tool_call", "precheck"],
        ["decision", "ask"],
        ["approval", "requested"],
        ["approval", "approved"],
        ["tool_call", "completed"]
      ])
      expect(lines[0]).toMatchObject({ tool_name: "shell__exec", arguments: { command: "touch a" } })
      expect(lines[1]).toMatchObject({ reason: "touch: ask by builtin rule" })
      expect(lines[2]).toMatchObject({ command: "touch a", approval_id: "appr_1" })
      expect(typeof lines[4]!.time).toBe("string")
    }).pipe(Effect.provide(TestLayer))
  )

  it.scoped("writes to a configured file; concurrent entries stay whole lines", () =>
    Effect.gen(function* () {
      const dir = yield* (yield* FileSystem).makeTempDirectoryScoped({ prefix: "strata-audit-" })
      yield* Plugin.install(yield* Plugin.validate(make({ file: "logs/audit.jsonl" })))
      yield* twentyAtOnce(dir)
      const lines = yield* readLines(`${dir}/logs/audit.jsonl`)
      expect(lines.length).toBe(20)
      expect(new Set(lines.map((l) => l.error)).size).toBe(20)
    }).pipe(Effect.provide(TestLayer))
  )
})

/** The two writers: the portable one (`FileSystem`) and Node's (`NodeAuditLog`, synchronous `node:fs`). */
const writers = {
  portable: (file: string) => AuditLog.layer({ file }).pipe(Layer.provide(NodeContext.layer)),
  node: (file: string) => NodeAuditLog.layer({ file }).pipe(Layer.provide(NodeContext.layer))
} as const

const appendAll = (file: string, n: number, from = 0, writer: keyof typeof writers = "portable") =>
  Effect.gen(function* () {
    const log = yield* AuditLog.AuditLog
    for (let i = from; i < from + n; i++) yield* log.append(undefined, { event: "tool_call", phase: "completed", n: i })
  }).pipe(Effect.provide(writers[writer](file)))

const verifyAt = (file: string) => AuditLog.verifyFile(file).pipe(Effect.provide(NodeContext.layer))

describe("audit-log hash chain", () => {
  it.scoped("each line carries seq and the hash of the line before; a restarted writer goes on with the chain", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "strata-audit-chain-" })
      const file = `${dir}/audit.jsonl`
      yield* appendAll(file, 3)
      // A new layer is a new process: it reads the chain's tip back from the file.
      yield* appendAll(file, 2, 3)
      const text = yield* fs.readFileString(file)
      const lines = text.trim().split("\n")
      expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toStrictEqual([1, 2, 3, 4, 5])
      expect((JSON.parse(lines[0]!) as { prev: string }).prev).toBe(AuditChain.GENESIS)
      expect((JSON.parse(lines[3]!) as { prev: string }).prev).toBe(yield* AuditChain.hash(lines[2]!))
      expect(yield* verifyAt(file)).toMatchObject({ ok: true, lines: 5, chained: 5, anchored: true })
      expect(AuditChain.parseHead(yield* fs.readFileString(`${file}.head`))).toStrictEqual({
        seq: 5,
        hash: yield* AuditChain.hash(lines[4]!)
      })
      // Node's writer goes on with the same chain, and the portable one after it
      yield* appendAll(file, 2, 5, "node")
      yield* appendAll(file, 1, 7)
      const all = (yield* fs.readFileString(file)).trim().split("\n")
      expect(all.slice(0, 5)).toStrictEqual(lines)
      expect(all.map((l) => (JSON.parse(l) as { n: number }).n)).toStrictEqual([0, 1, 2, 3, 4, 5, 6, 7])
      expect((JSON.parse(all[5]!) as { prev: string }).prev).toBe(yield* AuditChain.hash(all[4]!))
      expect(yield* verifyAt(file)).toMatchObject({ ok: true, lines: 8, chained: 8, anchored: true })
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("edits, deletions, insertions, reorderings and truncations are reported at the first broken line", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "strata-audit-chain-" })
      const file = `${dir}/audit.jsonl`
      yield* appendAll(file, 6)
      const original = yield* fs.readFileString(file)
      const lines = original.trimEnd().split("\n")
      const tamper = (text: string) =>
        Effect.gen(function* () {
          yield* fs.writeFileString(file, text)
          return yield* verifyAt(file)
        })
      const join = (ls: ReadonlyArray<string>) => `${ls.join("\n")}\n`
      // An edited line: the next line's prev no longer matches.
      const edited = yield* tamper(join(lines.map((l, i) => (i === 2 ? l.replace('"n":2', '"n":20') : l))))
      expect(edited).toMatchObject({
        ok: false,
        line: 4,
        reason: "Prev",
        found: JSON.stringify(yield* AuditChain.hash(lines[2]!))
      })
      // A deleted line: seq jumps.
      expect(yield* tamper(join(lines.filter((_, i) => i !== 1)))).toMatchObject({
        ok: false,
        line: 2,
        reason: "Seq",
        expected: "2",
        found: "3"
      })
      // Two lines swapped.
      expect(yield* tamper(join([lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)]))).toMatchObject({
        ok: false,
        line: 2,
        reason: "Seq"
      })
      // A forged line inserted with a plausible seq.
      const forged = JSON.stringify({ seq: 3, prev: yield* AuditChain.hash(lines[1]!), event: "forged" })
      expect(yield* tamper(join([...lines.slice(0, 2), forged, ...lines.slice(2)]))).toMatchObject({
        ok: false,
        line: 4,
        reason: "Seq"
      })
      // The last two lines cut off: the head file still records line 6.
      expect(yield* tamper(join(lines.slice(0, 4)))).toMatchObject({ ok: false, line: 5, reason: "Truncated" })
      // Cut in the middle of a line.
      expect(yield* tamper(original.slice(0, original.length - 10))).toMatchObject({
        ok: false,
        line: 6,
        reason: "Torn"
      })
      // The last line edited: only the head file can tell.
      expect(yield* tamper(join([...lines.slice(0, 5), lines[5]!.replace('"n":5', '"n":50')]))).toMatchObject({
        ok: false,
        line: 6,
        reason: "Prev"
      })
      // Not JSON at all.
      expect(yield* tamper(join([lines[0]!, "garbage", ...lines.slice(1)]))).toMatchObject({
        ok: false,
        line: 2,
        reason: "InvalidJson"
      })
      expect(yield* tamper(original)).toMatchObject({ ok: true, lines: 6 })
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scopedLive("lines from before the chain may only come first; writers sharing a file keep one chain", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "strata-audit-chain-" })
      const file = `${dir}/audit.jsonl`
      yield* fs.writeFileString(file, '{"time":"2026-01-01T00:00:00Z","event":"tool_call"}\n')
      // Three writers (each its own lock-free in-process state, as three processes; one of them
      // Node's) at once.
      yield* Effect.all([appendAll(file, 15), appendAll(file, 15, 100), appendAll(file, 15, 200, "node")], {
        concurrency: 3
      })
      expect(yield* verifyAt(file)).toMatchObject({ ok: true, lines: 46, chained: 45, legacy: 1 })
      const text = yield* fs.readFileString(file)
      yield* fs.writeFileString(file, `${text}{"event":"unchained"}\n`)
      expect(yield* verifyAt(file)).toMatchObject({ ok: false, line: 47, reason: "Legacy" })
      expect(yield* Effect.flip(verifyAt(`${dir}/missing.jsonl`))).toContain("no audit log at")
    }).pipe(Effect.provide(NodeContext.layer))
  )
})

describe.each(["portable", "node"] as const)("audit-log writer (%s) between appends", (writer) => {
  const entry = (n: number) => ({ event: "tool_call", phase: "completed", n })

  it.scopedLive(
    "a log replaced, removed, or its directory removed between appends: the next line goes to the file at the path",
    () =>
      Effect.gen(function* () {
        const fs = yield* FileSystem
        const dir = yield* fs.makeTempDirectoryScoped({ prefix: "strata-audit-keep-" })
        const file = `${dir}/logs/audit.jsonl`
        yield* Effect.scoped(
          Effect.gen(function* () {
            const log = yield* AuditLog.AuditLog
            yield* log.append(undefined, entry(1))
            yield* log.append(undefined, entry(2))
            // Replaced by another file (a rotation): the writer follows the path, not the file it had open.
            yield* fs.rename(file, `${dir}/logs/old.jsonl`)
            yield* fs.writeFileString(`${dir}/logs/new.jsonl`, "")
            yield* fs.rename(`${dir}/logs/new.jsonl`, file)
            yield* log.append(undefined, entry(3))
            expect((yield* readLines(file)).map((l) => [l.seq, l.n])).toStrictEqual([[1, 3]])
            expect((yield* readLines(`${dir}/logs/old.jsonl`)).map((l) => l.n)).toStrictEqual([1, 2])
            // Removed: written again from the start of a chain.
            yield* fs.remove(file)
            yield* log.append(undefined, entry(4))
            expect((yield* readLines(file)).map((l) => [l.seq, l.n])).toStrictEqual([[1, 4]])
            // The whole directory removed: made again.
            yield* fs.remove(`${dir}/logs`, { recursive: true })
            yield* log.append(undefined, entry(5))
            yield* log.append(undefined, entry(6))
            expect((yield* readLines(file)).map((l) => [l.seq, l.n])).toStrictEqual([
              [1, 5],
              [2, 6]
            ])
            expect(yield* verifyAt(file)).toMatchObject({ ok: true, lines: 2, anchored: true })
            // A symlink put in its place is never written through.
            yield* fs.writeFileString(`${dir}/target`, "")
            yield* fs.remove(file)
            yield* fs.symlink(`${dir}/target`, file)
            yield* log.append(undefined, entry(7))
            expect(yield* fs.readFileString(`${dir}/target`)).toBe("")
          }).pipe(Effect.provide(writers[writer](file)))
        )
      }).pipe(Effect.provide(NodeContext.layer))
  )
})

describe("NodeAuditLog", () => {
  it.scoped("the same plugin (id audit-log, the same hooks) writing through node:fs, for a host to load instead", () =>
    Effect.gen(function* () {
      expect(NodeAuditLog.default.id).toBe(auditPlugin.id)
      expect(NodeAuditLog.default.hooks?.map((h) => h.event)).toStrictEqual(auditPlugin.hooks?.map((h) => h.event))
      const dir = yield* (yield* FileSystem).makeTempDirectoryScoped({ prefix: "strata-audit-node-" })
      yield* Plugin.install(yield* Plugin.validate(NodeAuditLog.make({ file: "logs/audit.jsonl" })))
      yield* twentyAtOnce(dir)
      const lines = yield* readLines(`${dir}/logs/audit.jsonl`)
      expect(new Set(lines.map((l) => l.error)).size).toBe(20)
      expect(lines.map((l) => l.seq)).toStrictEqual(Array.from({ length: 20 }, (_, i) => i + 1))
      expect(yield* verifyAt(`${dir}/logs/audit.jsonl`)).toMatchObject({ ok: true, lines: 20, anchored: true })
    }).pipe(Effect.provide(TestLayer))
  )
})
