// Storage benchmarks, each side by side with its baseline in the same run:
//
// - resume: read a 10,000-event thread from the file-system store vs
//   readFile of the same events as JSONL + JSON.parse per line (target <= 1.5x)
// - durable appends/s and job transitions/s on the file-system store
//   (target >= 2,000/s) vs raw fsync loops on the same disk
// - the same on Redis (target >= 10,000/s) vs raw ioredis round trips, and
//   on PostgreSQL for reference
//
//   npm run bench -w @strata/storage
import * as NFS from "node:fs"
import * as NOS from "node:os"
import * as NPath from "node:path"
import { ensureBuilt } from "../test/crash/build.mjs"

ensureBuilt()
const NodeContext = await import("@effect/platform-node/NodeContext")
const { StateStore } = await import("@strata/storage")
const { makeRedis } = await import("@strata/storage/redis")
const { makePostgres } = await import("@strata/storage/sql")
const Effect = await import("effect/Effect")
const Stream = await import("effect/Stream")
const Chunk = await import("effect/Chunk")
const Scope = await import("effect/Scope")
const Exit = await import("effect/Exit")
const { Redis } = await import("ioredis")
const pg = (await import("pg")).default

const quick = process.argv.includes("--quick")
const onlyArg = process.argv.indexOf("--only")
const only = onlyArg === -1 ? undefined : process.argv[onlyArg + 1]
const section = (name) => only === undefined || only === name
const results = []
const report = (name, value, unit, baseline, target) => {
  const ratio =
    baseline === undefined
      ? ""
      : ` | ${baseline.name}: ${fmt(baseline.value)} ${unit} | ratio ${(value / baseline.value).toFixed(2)}x`
  const t = target === undefined ? "" : ` | target ${target.text}: ${target.ok(value) ? "met" : "NOT met"}`
  const line = `${name}: ${fmt(value)} ${unit}${ratio}${t}`
  results.push(line)
  console.log(line)
}
const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2))
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const ManagedRuntime = await import("effect/ManagedRuntime")
// One runtime for the whole run: providing NodeContext.layer per call would
// rebuild it every time and swamp what is measured.
const runtime = ManagedRuntime.make(NodeContext.layer)
const run = (effect) => runtime.runPromise(effect)

/** A scope-owned store we can close by hand. */
const open = async (make) => {
  const scope = await Effect.runPromise(Scope.make())
  const store = await run(Scope.extend(make, scope))
  return { store, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

const makeEvents = (n) =>
  Array.from({ length: n }, (_, i) => {
    switch (i % 10) {
      case 0:
        return {
          event: "message_appended",
          message: {
            id: `msg-${i}`,
            role: i % 20 === 0 ? "user" : "assistant",
            content: "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(3),
            created_at: 1_700_000_000_000 + i
          }
        }
      case 1:
        return {
          event: "tool_call_start",
          call_id: `call-${i}`,
          tool_name: "shell",
          arguments: { command: ["ls", "-la", "/tmp"] }
        }
      case 2:
        return {
          event: "tool_call_result",
          call_id: `call-${i - 1}`,
          tool_name: "shell",
          result: {
            ok: true,
            status: "completed",
            call_id: `call-${i - 1}`,
            tool_name: "shell",
            output: { content: [{ type: "text", text: "drwxr-xr-x 2 root root 4096 tmp\n".repeat(4) }] }
          }
        }
      default:
        return { event: "response_delta", response_id: "resp-1", delta: "token ".repeat(1 + (i % 7)), channel: "text" }
    }
  })

const collect = (store, id) => Effect.map(Stream.runCollect(store.readEvents(id)), Chunk.size)

const job = (id, now) => ({
  id,
  name: "bench",
  status: "queued",
  progress: null,
  detail: null,
  retry: { attempt: 0, max_attempts: 3, backoff_base_ms: 100, next_backoff_ms: 100, next_retry_at: null },
  history: [],
  created_at: now,
  updated_at: now,
  revision: 0
})

/** enqueue -> running -> progress x 5 -> completed: 8 persisted transitions. */
const transitions = (store, id) =>
  Effect.gen(function* () {
    let j = yield* store.putJob(job(id, 1))
    const step = (patch) =>
      Effect.map(
        store.putJob({
          ...j,
          ...patch,
          history: [
            ...j.history,
            {
              at: 2,
              phase: "t",
              from: j.status,
              to: patch.status ?? j.status,
              progress: patch.progress ?? null,
              detail: null,
              attempt: 1
            }
          ]
        }),
        (next) => {
          j = next
        }
      )
    yield* step({ status: "running" })
    for (const p of [20, 40, 60, 80, 100]) yield* step({ progress: p })
    yield* step({ status: "completed" })
  })

const perSecond = async (n, f) => {
  const t = performance.now()
  await f()
  return (n / (performance.now() - t)) * 1000
}

/**
 * Disk latency on a shared machine drifts by 10x within seconds, so the
 * baseline and the store are measured in alternating blocks: both see the
 * same conditions. Returns [baseline/s, store/s].
 */
const interleaved = async (blocks, baselineBlock, storeBlock) => {
  let baseMs = 0
  let storeMs = 0
  let baseOps = 0
  let storeOps = 0
  for (let b = 0; b < blocks; b++) {
    let t = performance.now()
    baseOps += await baselineBlock(b)
    baseMs += performance.now() - t
    t = performance.now()
    storeOps += await storeBlock(b)
    storeMs += performance.now() - t
  }
  return [(baseOps / baseMs) * 1000, (storeOps / storeMs) * 1000]
}

const tmp = (name) => NFS.mkdtempSync(NPath.join(NOS.tmpdir(), `strata-bench-${name}-`))

// -----------------------------------------------------------------------------
// resume

if (section("resume")) {
  console.log("== resume: a 10,000-event thread (interleaved with the baseline; medians of wall and CPU time)")
  const dir = tmp("resume")
  const id = "resume-thread"
  const events = makeEvents(10_000)
  {
    const { store, close } = await open(StateStore.makeFileSystem(dir))
    const frames = []
    for (let i = 0; i < events.length; i += 500)
      frames.push(...(await run(store.appendEvents(id, events.slice(i, i + 500)))))
    NFS.writeFileSync(NPath.join(dir, "baseline.jsonl"), frames.map((f) => JSON.stringify(f)).join("\n") + "\n")
    await close()
  }
  const jsonl = NPath.join(dir, "baseline.jsonl")
  const journalBytes = NFS.statSync(NPath.join(dir, "threads", id, "journal")).size
  console.log(
    `  journal ${(journalBytes / 1024 / 1024).toFixed(2)} MiB, JSONL ${(NFS.statSync(jsonl).size / 1024 / 1024).toFixed(2)} MiB`
  )
  const baseline = async () => {
    const text = await NFS.promises.readFile(jsonl, "utf8")
    const out = []
    for (const line of text.split("\n")) if (line !== "") out.push(JSON.parse(line))
    return out.length
  }
  // Collect the previous run's garbage first (node --expose-gc), so that no
  // run pays for another's.
  const gc = globalThis.gc ?? (() => {})
  const timed = async (f) => {
    gc()
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    const n = await f()
    const wall = performance.now() - t0
    const c = process.cpuUsage(c0)
    if (n !== 10_000) throw new Error(`read ${n} events`)
    return [wall, (c.user + c.system) / 1000]
  }
  const iterations = quick ? 20 : 60
  const warmup = 5
  // Each iteration times the baseline and the store back to back; the
  // reported ratio is the median of the per-pair ratios, which cancels the
  // slow drift of a shared machine.
  const compare = async (name, setup, read, teardown) => {
    const base = [[], []]
    const mine = [[], []]
    const ratios = [[], []]
    for (let i = 0; i < iterations + warmup; i++) {
      const ctx = await setup()
      const b = await timed(baseline)
      const m = await timed(() => read(ctx))
      await teardown(ctx)
      if (i < warmup) continue
      for (const k of [0, 1]) {
        base[k].push(b[k])
        mine[k].push(m[k])
        ratios[k].push(m[k] / b[k])
      }
    }
    const [bw, bc, mw, mc] = [median(base[0]), median(base[1]), median(mine[0]), median(mine[1])]
    const [rw, rc] = [median(ratios[0]), median(ratios[1])]
    const line =
      `  ${name}: ${mw.toFixed(2)} ms wall, ${mc.toFixed(2)} ms CPU | readFile + JSON.parse per line: ` +
      `${bw.toFixed(2)} ms wall, ${bc.toFixed(2)} ms CPU | ratio ${rw.toFixed(2)}x wall, ${rc.toFixed(2)}x CPU ` +
      `| target <= 1.5x: ${rw <= 1.5 ? "met" : "NOT met"}`
    results.push(line)
    console.log(line)
  }
  // Warm: the store is open and has read this thread before.
  const warmStore = await open(StateStore.makeFileSystem(dir))
  await compare(
    "fs resume, thread already open",
    async () => warmStore.store,
    (store) => run(collect(store, id)),
    async () => {}
  )
  await warmStore.close()
  // Cold: the first read after a process opens the store: the journal is
  // scanned (every checksum verified, a torn tail truncated) and decoded in
  // the same pass. Opening the store (lock, marker file) is not timed.
  await compare(
    "fs resume, first read after opening the store",
    () => open(StateStore.makeFileSystem(dir)),
    (ctx) => run(collect(ctx.store, id)),
    (ctx) => ctx.close()
  )
  if (process.argv.includes("--again")) {
    const again = await open(StateStore.makeFileSystem(dir))
    await compare(
      "fs resume, thread already open (again)",
      async () => again.store,
      (store) => run(collect(store, id)),
      async () => {}
    )
    await again.close()
  }
  NFS.rmSync(dir, { recursive: true, force: true })
}

// -----------------------------------------------------------------------------
// file system: appends and job transitions

const fsTarget = { text: ">= 2,000/s", ok: (v) => v >= 2000 }
if (section("fs")) {
  console.log("== file system: durable appends and job transitions (fsync before ack)")
  const dir = tmp("fs")
  const rawJournal = await NFS.promises.open(NPath.join(dir, "raw.journal"), "a")
  const rawDir = await NFS.promises.open(dir, "r")
  const line = Buffer.from(JSON.stringify(makeEvents(4)[3]) + "\n")
  const body = JSON.stringify(job("raw", 1))
  // The raw cost of the same durability on this disk, without the store.
  const rawAppends = async (n) => {
    for (let i = 0; i < n; i++) {
      await rawJournal.write(line)
      await rawJournal.sync()
    }
    return n
  }
  const rawRecords = async (n) => {
    for (let i = 0; i < n; i++) {
      const tmpFile = NPath.join(dir, "raw.json.tmp")
      const fh = await NFS.promises.open(tmpFile, "w")
      await fh.write(body)
      await fh.sync()
      await fh.close()
      await NFS.promises.rename(tmpFile, NPath.join(dir, "raw.json"))
      await rawDir.sync()
    }
    return n
  }
  const { store, close } = await open(StateStore.makeFileSystem(NPath.join(dir, "store")))
  const ev = makeEvents(4)[3]
  const blocks = 5
  const n = quick ? 60 : 200
  const appends = (count, concurrency, thread) =>
    run(
      Effect.forEach(
        Array.from({ length: count }, (_, i) => i),
        (i) => store.appendEvents(thread(i), [ev]),
        { concurrency, discard: true }
      )
    ).then(() => count)
  const rawName = "raw write+fsync loop, same disk, same moment"
  let [base, v] = await interleaved(
    blocks,
    () => rawAppends(n),
    () => appends(n, 1, () => "seq")
  )
  report("  appends/s, 1 writer, 1 event per append", v, "/s", { name: rawName, value: base }, fsTarget)
  ;[base, v] = await interleaved(
    blocks,
    () => rawAppends(n),
    () => appends(n * 8, 64, () => "group")
  )
  report(
    "  appends/s, 64 concurrent writers on one thread (group commit)",
    v,
    "/s",
    { name: rawName, value: base },
    fsTarget
  )
  ;[base, v] = await interleaved(
    blocks,
    () => rawAppends(n),
    () => appends(n * 8, 64, (i) => `t-${i % 64}`)
  )
  report("  appends/s, 64 concurrent writers on 64 threads", v, "/s", { name: rawName, value: base }, fsTarget)
  const batch = Array.from({ length: 10 }, () => ev)
  ;[base, v] = await interleaved(
    blocks,
    () => rawAppends(n),
    () =>
      run(
        Effect.forEach(Array.from({ length: n }), () => store.appendEvents("batched", batch), { discard: true })
      ).then(() => n * 10)
  )
  report("  events/s, 1 writer, 10 events per append", v, "/s", { name: rawName, value: base }, fsTarget)
  const jobs = quick ? 4 : 10
  let counter = 0
  const recName = "raw temp+fsync+rename+dir fsync loop, same moment"
  ;[base, v] = await interleaved(
    blocks,
    () => rawRecords(jobs * 8),
    () =>
      run(
        Effect.forEach(Array.from({ length: jobs }), () => transitions(store, `seq-${counter++}`), { discard: true })
      ).then(() => jobs * 8)
  )
  report("  job transitions/s, 1 job at a time", v, "/s", { name: recName, value: base }, fsTarget)
  ;[base, v] = await interleaved(
    blocks,
    () => rawRecords(jobs * 8),
    () =>
      run(
        Effect.forEach(Array.from({ length: jobs * 16 }), () => transitions(store, `conc-${counter++}`), {
          concurrency: 64,
          discard: true
        })
      ).then(() => jobs * 16 * 8)
  )
  report("  job transitions/s, 64 jobs at a time", v, "/s", { name: recName, value: base }, fsTarget)
  await close()
  await rawJournal.close()
  await rawDir.close()
  NFS.rmSync(dir, { recursive: true, force: true })
}

// -----------------------------------------------------------------------------
// Redis

const redisTarget = { text: ">= 10,000/s", ok: (v) => v >= 10_000 }
if (section("redis")) {
  console.log("== Redis 127.0.0.1:6379")
  const prefix = `strata-bench-${crypto.randomUUID()}`
  const raw = new Redis("redis://127.0.0.1:6379")
  const n = quick ? 2000 : 10_000
  const line = JSON.stringify(makeEvents(4)[3])
  const rawSeq = await perSecond(n, async () => {
    for (let i = 0; i < n; i++) await raw.rpush(`${prefix}:raw`, line)
  })
  const rawConc = await perSecond(n, async () => {
    const inflight = []
    for (let i = 0; i < n; i++) {
      inflight.push(raw.rpush(`${prefix}:raw2`, line))
      if (inflight.length === 64) await Promise.all(inflight.splice(0))
    }
    await Promise.all(inflight)
  })
  const { store, close } = await open(makeRedis({ prefix }))
  const ev = makeEvents(4)[3]
  const seq = await perSecond(n, () =>
    run(Effect.forEach(Array.from({ length: n }), () => store.appendEvents("seq", [ev]), { discard: true }))
  )
  report("  appends/s, 1 writer", seq, "/s", { name: "raw RPUSH, 1 at a time", value: rawSeq }, redisTarget)
  const conc = await perSecond(n, () =>
    run(
      Effect.forEach(
        Array.from({ length: n }, (_, i) => i),
        (i) => store.appendEvents(`t-${i % 64}`, [ev]),
        {
          concurrency: 64,
          discard: true
        }
      )
    )
  )
  report(
    "  appends/s, 64 concurrent writers",
    conc,
    "/s",
    { name: "raw RPUSH, 64 in flight", value: rawConc },
    redisTarget
  )
  const jobs = quick ? 100 : 400
  const tSeq = await perSecond(jobs * 8, () =>
    run(
      Effect.forEach(
        Array.from({ length: jobs }, (_, i) => i),
        (i) => transitions(store, `seq-${i}`),
        { discard: true }
      )
    )
  )
  report(
    "  job transitions/s, 1 job at a time",
    tSeq,
    "/s",
    { name: "raw RPUSH, 1 at a time", value: rawSeq },
    redisTarget
  )
  const tConc = await perSecond(jobs * 8, () =>
    run(
      Effect.forEach(
        Array.from({ length: jobs }, (_, i) => i),
        (i) => transitions(store, `conc-${i}`),
        {
          concurrency: 64,
          discard: true
        }
      )
    )
  )
  report(
    "  job transitions/s, 64 jobs at a time",
    tConc,
    "/s",
    { name: "raw RPUSH, 64 in flight", value: rawConc },
    redisTarget
  )
  await close()
  let cursor = "0"
  do {
    const [next, keys] = await raw.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
    if (keys.length > 0) await raw.del(...keys)
    cursor = next
  } while (cursor !== "0")
  const [, aof] = await raw.config("GET", "appendonly")
  const [, fsync] = await raw.config("GET", "appendfsync")
  console.log(`  (server persistence: appendonly ${aof}, appendfsync ${fsync})`)
  await raw.quit()
}

// -----------------------------------------------------------------------------
// PostgreSQL (for reference; no target in the issue)

if (section("postgres")) {
  console.log("== PostgreSQL 127.0.0.1:5432/test (synchronous_commit on: durable at commit)")
  const schema = `strata_bench_${crypto.randomUUID().replaceAll("-", "")}`
  const admin = new pg.Pool({ connectionString: "postgres://postgres@127.0.0.1:5432/test", max: 1 })
  const { store, close } = await open(makePostgres({ schema, max: 16 }))
  const ev = makeEvents(4)[3]
  const n = quick ? 300 : 1000
  const seq = await perSecond(n, () =>
    run(Effect.forEach(Array.from({ length: n }), () => store.appendEvents("seq", [ev]), { discard: true }))
  )
  report("  appends/s, 1 writer", seq, "/s")
  const conc = await perSecond(n * 4, () =>
    run(
      Effect.forEach(
        Array.from({ length: n * 4 }, (_, i) => i),
        (i) => store.appendEvents(`t-${i % 64}`, [ev]),
        {
          concurrency: 16,
          discard: true
        }
      )
    )
  )
  report("  appends/s, 16 concurrent writers", conc, "/s")
  const jobs = quick ? 30 : 100
  const tConc = await perSecond(jobs * 8, () =>
    run(
      Effect.forEach(
        Array.from({ length: jobs }, (_, i) => i),
        (i) => transitions(store, `conc-${i}`),
        {
          concurrency: 16,
          discard: true
        }
      )
    )
  )
  report("  job transitions/s, 16 jobs at a time", tConc, "/s")
  await close()
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  await admin.end()
}

await runtime.dispose()
console.log("\n== summary")
for (const line of results) console.log(line)
console.log(
  `(load average ${NOS.loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}, ${NOS.cpus().length} cpus)`
)
