/**
 * @internal
 *
 * The event streams of `RpcServer`: a thread's frames from `after`, each
 * once, in sequence order, in one process (its journal, then the live
 * frames, a gap filled from the journal) or in a cluster (the shared
 * journal, read again on every wake-up of `ClusterTurns` and on a slow tick
 * in case a notification was lost).
 */
import type { ThreadManager } from "@strata/core-runtime"
import type { EventFrame } from "@strata/protocol/Event"
import type { StateStore } from "@strata/storage/StateStore"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { ClusterTurns } from "../ClusterTurns.js"

type Threads = ThreadManager.ThreadManager["Type"]
type Store = StateStore["Type"]

/** A thread's frames after `after` in a single process: the journal, then the live ones. @internal */
export const local = (threads: Threads, threadId: string, after: number): Stream.Stream<EventFrame> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      let last = after
      const fill = (upTo: number) =>
        threads.replay(threadId).pipe(
          Stream.filter((f) => f.seq > last && f.seq < upTo),
          Stream.runCollect,
          Effect.orElseSucceed(() => [] as Array<EventFrame>)
        )
      const live = threads.live.pipe(Stream.filter((f) => f.thread_id === threadId))
      // Live frames first subscribed (buffered), then the journal from `after`, then live past what was sent.
      const sequenced = (frames: ReadonlyArray<EventFrame>) =>
        Effect.gen(function* () {
          const out: Array<EventFrame> = []
          for (const frame of frames) {
            if (frame.seq <= last) continue
            if (frame.seq > last + 1) {
              for (const missing of yield* fill(frame.seq)) {
                out.push(missing)
                last = missing.seq
              }
            }
            if (frame.seq <= last) continue
            out.push(frame)
            last = frame.seq
          }
          return out
        })
      const catchUp = Stream.fromEffect(fill(Number.MAX_SAFE_INTEGER)).pipe(
        Stream.flatMap((frames) => Stream.fromIterable(frames)),
        Stream.tap((f) =>
          Effect.sync(() => {
            last = Math.max(last, f.seq)
          })
        )
      )
      const queue = yield* Stream.toQueue(live, { strategy: "unbounded" })
      yield* Effect.yieldNow()
      const liveFrames = Stream.fromQueue(queue).pipe(
        Stream.flattenTake,
        Stream.mapEffect((frame) => sequenced([frame])),
        Stream.flatMap((frames) => Stream.fromIterable(frames))
      )
      return Stream.concat(catchUp, liveFrames)
    })
  )

/**
 * A thread's frames after `after` in a cluster: every wake-up (and a slow
 * tick) reads what follows the last frame sent, up to the first gap; so each
 * frame is sent once, in order. @internal
 */
export const cluster = (
  store: Store,
  turns: ClusterTurns["Type"],
  threadId: string,
  after: number
): Stream.Stream<EventFrame> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      let last = after
      const pull = Effect.map(
        Effect.suspend(() => Stream.runCollect(store.readEvents(threadId, { fromSeq: last + 1 }))).pipe(
          Effect.orElseSucceed(() => [] as Array<EventFrame>)
        ),
        (frames) => {
          const out: Array<EventFrame> = []
          for (const frame of frames) {
            if (frame.seq <= last) continue
            if (frame.seq !== last + 1) break
            out.push(frame)
            last = frame.seq
          }
          return out
        }
      )
      const wakes = yield* Stream.toQueue(turns.wake.pipe(Stream.filter((w) => w.thread_id === threadId)), {
        strategy: "sliding",
        capacity: 1
      })
      yield* Effect.yieldNow()
      const ticks = Stream.merge(
        Stream.fromQueue(wakes).pipe(Stream.flattenTake),
        Stream.fromSchedule(Schedule.spaced("1 second"))
      )
      return Stream.concat(
        Stream.fromEffect(pull),
        Stream.mapEffect(ticks, () => pull)
      ).pipe(Stream.flatMap((frames) => Stream.fromIterable(frames)))
    })
  )

/** The frames every process of a cluster appends, read from the journal (best effort, from now on). @internal */
export const allInCluster = (store: Store, turns: ClusterTurns["Type"]): Stream.Stream<EventFrame> =>
  turns.wake.pipe(
    Stream.mapEffect((w) =>
      Stream.runCollect(store.readEvents(w.thread_id, { fromSeq: w.seq, limit: 1 })).pipe(
        Effect.orElseSucceed(() => [] as Array<EventFrame>)
      )
    ),
    Stream.flatMap((frames) => Stream.fromIterable(frames))
  )
