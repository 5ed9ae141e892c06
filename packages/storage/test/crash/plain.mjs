// The baseline of the durability table: what a user gets from a plain
// unstorage driver without Strata's commit markers. One `setItem` per event
// (`j:<thread>:<seq>`) and per checkpoint (`r:checkpoint:<thread>:<id>`),
// sequence numbers counted in this process. Only the few methods the crash
// child uses; reading back fails on the first entry that does not parse, as
// any reader of such a journal must.

import { StateStore } from "@strata/storage"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createStorage } from "unstorage"
import fsDriver from "unstorage/drivers/fs"
import redisDriver from "unstorage/drivers/redis"

/** The unstorage driver of a kind, with its options. */
export const driverOptions = (kind, dir) =>
  kind.endsWith("-redis")
    ? { driver: "redis", options: { url: "redis://127.0.0.1:6379", base: redisBase(dir) } }
    : { driver: "fs", options: { base: dir } }

export const redisBase = (dir) => `strata-crash-${dir.split("/").filter(Boolean).at(-1)}`

export const plainStorage = (kind, dir) => {
  const { driver, options } = driverOptions(kind, dir)
  return createStorage({ driver: driver === "redis" ? redisDriver(options) : fsDriver(options) })
}

const decode = (raw) =>
  raw === null || raw === undefined
    ? ""
    : typeof raw === "string"
      ? raw
      : raw instanceof Uint8Array
        ? new TextDecoder().decode(raw)
        : JSON.stringify(raw)

const pad = (seq) => String(seq).padStart(12, "0")

/** The plain pattern behind the `StateStore` tag (appendEvents, saveCheckpoint). */
export const plainStore = (kind, dir) =>
  Layer.scoped(
    StateStore.StateStore,
    Effect.gen(function* () {
      const storage = yield* Effect.acquireRelease(
        Effect.sync(() => plainStorage(kind, dir)),
        (s) => Effect.promise(() => s.dispose())
      )
      let head
      return {
        appendEvents: (threadId, events) =>
          Effect.promise(async () => {
            if (head === undefined) {
              const keys = await storage.getKeys(`j:${threadId}`)
              head = keys.reduce((m, k) => Math.max(m, Number(k.split(":").at(-1))), 0)
            }
            const first = head + 1
            head += events.length
            const frames = events.map((e, i) => ({ ...e, seq: first + i, thread_id: threadId, timestamp: Date.now() }))
            await Promise.all(frames.map((f) => storage.setItem(`j:${threadId}:${pad(f.seq)}`, JSON.stringify(f))))
            return frames
          }),
        saveCheckpoint: (threadId, id, state) =>
          Effect.promise(() => storage.setItem(`r:checkpoint:${threadId}:${id}`, JSON.stringify({ state })))
      }
    })
  )

/** Reads a plain journal back: frames, or the first entry that does not parse. */
export const readPlain = async (kind, dir, threadId) => {
  const storage = plainStorage(kind, dir)
  try {
    const keys = (await storage.getKeys(`j:${threadId}`)).sort()
    const frames = []
    let torn = 0
    let error
    for (const key of keys) {
      const text = decode(await storage.getItemRaw(key))
      try {
        frames.push(JSON.parse(text))
      } catch {
        torn++
        error ??= `entry ${key} is torn (${text.length} bytes)`
      }
    }
    let checkpoint
    const ck = await storage.getItemRaw(`r:checkpoint:${threadId}:latest`)
    if (ck === null) checkpoint = { ok: true, upTo: undefined }
    else {
      try {
        const text = decode(ck)
        checkpoint = { ok: true, upTo: JSON.parse(text).state.upTo }
      } catch (e) {
        checkpoint = { ok: false, error: `checkpoint is torn: ${e}` }
      }
    }
    return { frames: error === undefined ? frames : undefined, error, checkpoint, torn }
  } finally {
    await storage.dispose()
  }
}
