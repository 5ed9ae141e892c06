// The crash harness, shared by test/crash.test.ts (which asserts that the
// file-system store loses nothing) and bench/durability.mjs (which prints the
// README's durability table for the file-system store and for a store built
// on the plain unstorage fs driver).
//
// One round: start child.mjs, let it append, SIGKILL it after a random
// number of output lines (plus a random 0-3 ms), then reopen the store in
// this process and check every acknowledged event.
import { spawn } from "node:child_process"
import * as NFS from "node:fs"
import * as NPath from "node:path"
import { fileURLToPath } from "node:url"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { StateStore } from "@strata/storage"
import * as Unstorage from "@strata/storage/Unstorage"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { driverOptions, readPlain } from "./plain.mjs"

export const childScript = NPath.join(NPath.dirname(fileURLToPath(import.meta.url)), "child.mjs")

/** Runs the child and kills it after `killAfterLines` output lines (never if undefined). */
export const runChild = ({ kind, dir, threadId, round, count, mode, killAfterLines, killDelayMs = 0 }) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript, kind, dir, threadId, String(count), mode, String(round)], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    const acks = []
    const saved = []
    let lines = 0
    let pending = ""
    let stderr = ""
    let killRequested = false
    const onLine = (line) => {
      lines++
      const [what, a, b] = line.split(" ")
      if (what === "ack") acks.push({ seq: Number(a), marker: b })
      else if (what === "saved") saved.push(Number(a))
      if (!killRequested && killAfterLines !== undefined && lines >= killAfterLines) {
        killRequested = true
        const kill = () => child.kill("SIGKILL")
        if (killDelayMs > 0) setTimeout(kill, killDelayMs)
        else kill()
      }
    }
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (data) => {
      pending += data
      let nl = pending.indexOf("\n")
      while (nl !== -1) {
        onLine(pending.slice(0, nl))
        pending = pending.slice(nl + 1)
        nl = pending.indexOf("\n")
      }
    })
    child.stderr.on("data", (d) => {
      stderr += d
    })
    child.on("error", reject)
    // "close", not "exit": every line the child wrote has been read by then.
    child.on("close", (code, signal) => resolve({ acks, saved, killed: signal === "SIGKILL", code, stderr }))
  })

const makeStore = (kind, dir) =>
  kind === "fs" ? StateStore.makeFileSystem(dir) : Unstorage.makeDriver(driverOptions(kind, dir))

/** Reopens the store and reads the thread and its latest checkpoint back. */
export const readBack = (kind, dir, threadId) =>
  kind.startsWith("plain-") ? readPlain(kind, dir, threadId) : readStore(kind, dir, threadId)

const readStore = (kind, dir, threadId) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const store = yield* makeStore(kind, dir)
      const frames = yield* Effect.either(Stream.runCollect(store.readEvents(threadId)).pipe(Effect.map(Chunk.toArray)))
      const checkpoint = yield* Effect.either(store.loadCheckpoint(threadId, "latest"))
      return {
        frames: frames._tag === "Right" ? frames.right : undefined,
        error: frames._tag === "Left" ? frames.left.message : undefined,
        checkpoint:
          checkpoint._tag === "Left"
            ? { ok: false, error: checkpoint.left.message }
            : { ok: true, upTo: Option.getOrUndefined(checkpoint.right)?.state.upTo }
      }
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

/** Checks every acknowledged event against what was read back. */
export const verify = (acks, frames) => {
  const result = { lost: 0, duplicated: 0, misplaced: 0, gaps: 0 }
  frames.forEach((f, i) => {
    if (f.seq !== i + 1) result.gaps++
  })
  const counts = new Map()
  for (const f of frames) counts.set(f.delta, (counts.get(f.delta) ?? 0) + 1)
  for (const { seq, marker } of acks) {
    const n = counts.get(marker) ?? 0
    if (n === 0) result.lost++
    else if (n > 1) result.duplicated++
    else if (frames[seq - 1]?.delta !== marker) result.misplaced++
  }
  return result
}

/**
 * Raw inspection of a store on unstorage's fs driver: journal entry files
 * that do not parse (torn by a kill), whether or not the store reads them.
 */
export const inspectUnstorageFiles = (dir, threadId) => {
  const journal = NPath.join(dir, "j", threadId)
  const files = NFS.existsSync(journal) ? NFS.readdirSync(journal) : []
  let tornRecords = 0
  for (const f of files) {
    const text = NFS.readFileSync(NPath.join(journal, f), "utf8")
    try {
      JSON.parse(text.startsWith("v") ? text.slice(text.indexOf(" ") + 1) : text)
    } catch {
      tornRecords++
    }
  }
  return { tornRecords }
}

const journalFile = (dir, threadId) => NPath.join(dir, "threads", threadId, "journal")

/**
 * Runs `rounds` crash rounds of `kind` on one directory and one thread (the
 * journal grows across rounds; each reopen must repair the previous crash).
 * `modes(round)` picks "seq" or "concurrent". Returns the totals and rounds.
 */
export const crashRounds = async ({ kind, dir, rounds, count = 1000, modes = () => "seq", log = () => {} }) => {
  const threadId = "crash-thread"
  const totals = {
    kind,
    rounds,
    killedMidRun: 0,
    acked: 0,
    lost: 0,
    duplicated: 0,
    misplaced: 0,
    gaps: 0,
    outOfOrder: 0,
    tornTailsRepaired: 0,
    tornRecords: 0,
    tornCheckpoints: 0,
    unreadable: 0,
    staleCheckpoints: 0,
    childErrors: 0
  }
  const allAcks = []
  const details = []
  for (let round = 0; round < rounds; round++) {
    const mode = modes(round)
    // Output lines per run: one per event, plus two per checkpoint in "seq".
    const total = mode === "seq" ? count + Math.floor(count / 20) * 2 + 1 : count + 1
    const killAfterLines = 1 + Math.floor(Math.random() * total)
    const killDelayMs = Math.floor(Math.random() * 4)
    const run = await runChild({ kind, dir, threadId, round, count, mode, killAfterLines, killDelayMs })
    if (run.code === 2) totals.childErrors++
    if (run.killed) totals.killedMidRun++
    allAcks.push(...run.acks)
    totals.acked += run.acks.length
    const file = journalFile(dir, threadId)
    const before = kind === "fs" && NFS.existsSync(file) ? NFS.statSync(file).size : 0
    const back = await readBack(kind, dir, threadId)
    const after = kind === "fs" && NFS.existsSync(file) ? NFS.statSync(file).size : 0
    if (after < before) totals.tornTailsRepaired++
    const round_ = { round, mode, killAfterLines, killDelayMs, killed: run.killed, acked: run.acks.length }
    // One writer acknowledges in sequence order.
    if (mode === "seq") {
      for (let i = 1; i < run.acks.length; i++) if (run.acks[i].seq <= run.acks[i - 1].seq) totals.outOfOrder++
    }
    if (back.frames === undefined) {
      totals.unreadable++
      round_.error = back.error
    } else {
      const v = verify(allAcks, back.frames)
      for (const k of ["lost", "duplicated", "misplaced", "gaps"]) {
        // Counted per round as the acknowledged events missing *now*.
        round_[k] = v[k]
      }
    }
    if (kind.endsWith("-fs")) round_.tornRecords = inspectUnstorageFiles(dir, threadId).tornRecords
    if (!back.checkpoint.ok) {
      totals.tornCheckpoints++
      round_.checkpointError = back.checkpoint.error
    } else if (run.saved.length > 0 && (back.checkpoint.upTo ?? -1) < run.saved[run.saved.length - 1]) {
      totals.staleCheckpoints++
    }
    details.push(round_)
    log(round_)
  }
  // Final state: what a user would find after all the crashes.
  const last = details[details.length - 1]
  for (const k of ["lost", "duplicated", "misplaced", "gaps"]) totals[k] = last?.[k] ?? 0
  if (kind.endsWith("-fs")) totals.tornRecords = last?.tornRecords ?? 0
  return { totals, details }
}
