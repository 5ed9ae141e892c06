// Strata on unstorage drivers vs the raw driver, same run, same driver:
//
// - appends/s: `appendEvents` of one event (entry + commit marker, acknowledged
//   once the marker is written) vs one raw `setItem` per event (no commit, the
//   pattern the durability table shows tearing)
// - read: `readEvents` of the whole thread vs raw `getKeys` + `getItems` +
//   `JSON.parse` of the same number of entries
// - job transitions/s: `putJob` (read both slots, compare-and-set, write one
//   slot) vs one raw `setItem` per transition
//
// Blocks alternate Strata / raw four times; the first pair warms the JIT up
// and is dropped, the median of the others is reported.
//
//   npm run bench:unstorage -w @strata/storage [-- --quick] [-- --only memory|fs|redis]
import * as NFS from "node:fs"
import * as NOS from "node:os"
import * as NPath from "node:path"
import { ensureBuilt } from "../test/crash/build.mjs"

ensureBuilt()
const NodeContext = await import("@effect/platform-node/NodeContext")
const Unstorage = await import("@strata/storage/Unstorage")
const Effect = await import("effect/Effect")
const Stream = await import("effect/Stream")
const Chunk = await import("effect/Chunk")
const Scope = await import("effect/Scope")
const Exit = await import("effect/Exit")
const ManagedRuntime = await import("effect/ManagedRuntime")
const { createStorage } = await import("unstorage")
const { Redis } = await import("ioredis")

const quick = process.argv.includes("--quick")
const onlyArg = process.argv.indexOf("--only")
const only = onlyArg === -1 ? undefined : process.argv[onlyArg + 1]
const runtime = ManagedRuntime.make(NodeContext.layer)
const run = (effect) => runtime.runPromise(effect)
const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2))
const median = (xs) => [...xs.slice(1)].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]
const pad = (seq) => String(seq).padStart(12, "0")

const event = (i) => ({ event: "response_delta", response_id: "resp-1", delta: `delta number ${i}`, channel: "text" })
const job = (id, revision, now) => ({
  id,
  name: "index",
  status: "running",
  progress: revision % 101,
  detail: null,
  retry: { attempt: 0, max_attempts: 3, backoff_base_ms: 100, next_backoff_ms: 100, next_retry_at: null },
  history: [],
  created_at: now,
  updated_at: now,
  revision
})

// Wall-clock rate, and CPU time per operation (this process), kept for the table:
// on a loaded machine the wall-clock ratio grows faster than the work does.
const cpu = new Map()
const perSecond = async (n, f, label) => {
  const t = performance.now()
  const c = process.cpuUsage()
  await f()
  const used = process.cpuUsage(c)
  if (label !== undefined) cpu.set(label, [...(cpu.get(label) ?? []), (used.user + used.system) / n])
  return (n * 1000) / (performance.now() - t)
}

const openStore = async (config) => {
  const scope = await Effect.runPromise(Scope.make())
  const store = await run(Scope.extend(Unstorage.makeDriver(config), scope))
  return { store, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

const lines = []
const report = (what, strata, raw, unit, key) => {
  const cs = median(cpu.get(`${key}:strata`) ?? [0, 0])
  const cr = median(cpu.get(`${key}:raw`) ?? [0, 0])
  const line = `| ${what} | ${fmt(strata)} ${unit} (${cs.toFixed(0)} µs CPU/op) | ${fmt(raw)} ${unit} (${cr.toFixed(0)} µs CPU/op) | ${(strata / raw).toFixed(2)}x wall, ${(cr / cs).toFixed(2)}x CPU |`
  lines.push(line)
  console.log(line)
}

const drivers = [
  { name: "memory", n: quick ? 1000 : 5000, options: () => ({}) },
  {
    name: "fs",
    n: quick ? 200 : 1000,
    options: () => ({ base: NFS.mkdtempSync(NPath.join(NOS.tmpdir(), "strata-ubench-")) })
  },
  {
    name: "redis",
    n: quick ? 200 : 1000,
    options: () => ({ url: "redis://127.0.0.1:6379", base: `strata-ubench-${crypto.randomUUID()}` })
  }
].filter((d) => only === undefined || only === d.name)

const cleanups = []
for (const d of drivers) {
  const appends = { strata: [], raw: [] }
  const reads = { strata: [], raw: [] }
  const jobs = { strata: [], raw: [] }
  for (let block = 0; block < 4; block++) {
    // Strata
    const options = d.options()
    cleanups.push(options)
    const { store, close } = await openStore({ driver: d.name, options })
    const thread = `t-${block}`
    appends.strata.push(
      await perSecond(
        d.n,
        () =>
          run(
            Effect.gen(function* () {
              for (let i = 0; i < d.n; i++) yield* store.appendEvents(thread, [event(i)])
            })
          ),
        `${d.name}:append:strata`
      )
    )
    reads.strata.push(
      await perSecond(
        d.n,
        () => run(Effect.map(Stream.runCollect(store.readEvents(thread)), Chunk.size)),
        `${d.name}:read:strata`
      )
    )
    const now = Date.now()
    jobs.strata.push(
      await perSecond(
        d.n,
        () =>
          run(
            Effect.gen(function* () {
              for (let i = 0; i < d.n; i++) yield* store.putJob(job(`job-${block}`, i, now))
            })
          ),
        `${d.name}:job:strata`
      )
    )
    await close()

    // The raw driver: the same work without commit markers, slots or validation.
    const rawOptions = d.options()
    cleanups.push(rawOptions)
    const raw = createStorage({ driver: await run(Unstorage.loadDriver(d.name, rawOptions)) })
    appends.raw.push(
      await perSecond(
        d.n,
        async () => {
          for (let i = 0; i < d.n; i++) {
            const frame = { seq: i + 1, thread_id: thread, timestamp: Date.now(), ...event(i) }
            await raw.setItem(`j:${thread}:${pad(i + 1)}`, JSON.stringify(frame))
          }
        },
        `${d.name}:append:raw`
      )
    )
    reads.raw.push(
      await perSecond(
        d.n,
        async () => {
          const keys = (await raw.getKeys(`j:${thread}`)).sort()
          const items = await raw.getItems(keys)
          let n = 0
          for (const item of items) n += typeof item.value === "string" ? JSON.parse(item.value).seq : item.value.seq
          return n
        },
        `${d.name}:read:raw`
      )
    )
    jobs.raw.push(
      await perSecond(
        d.n,
        async () => {
          for (let i = 0; i < d.n; i++)
            await raw.setItem(`r:job:job-${block}`, JSON.stringify(job(`job-${block}`, i, now)))
        },
        `${d.name}:job:raw`
      )
    )
    await raw.dispose()
  }
  report(`${d.name}: appends/s (1 event each)`, median(appends.strata), median(appends.raw), "/s", `${d.name}:append`)
  report(`${d.name}: read ${d.n} events`, median(reads.strata), median(reads.raw), "events/s", `${d.name}:read`)
  report(`${d.name}: job transitions/s`, median(jobs.strata), median(jobs.raw), "/s", `${d.name}:job`)
}

for (const o of cleanups) {
  if (typeof o.base === "string" && o.base.startsWith(NOS.tmpdir()))
    NFS.rmSync(o.base, { recursive: true, force: true })
  else if (typeof o.base === "string" && o.url !== undefined) {
    const redis = new Redis(o.url)
    const keys = await redis.keys(`${o.base}*`)
    if (keys.length > 0) await redis.del(...keys)
    await redis.quit()
  }
}
console.log("")
console.log("| figure | Strata on the driver | raw driver | ratio (Strata / raw) |")
console.log("| --- | --- | --- | --- |")
for (const l of lines) console.log(l)
await runtime.dispose()
