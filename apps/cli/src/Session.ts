/**
 * One turn as the terminal sees it: the prompt goes to the runtime while the
 * thread's events are streamed to the screen (or as JSON lines) as they are
 * persisted, in order; `ask` decisions go to `decide` (a person at a prompt,
 * or a non-interactive rule), and the paused turn continues once they are
 * answered.
 *
 * Exit codes (`exitCode`): 0 completed, 3 awaiting approval, 4 max turns,
 * 130 interrupted, 1 failed.
 *
 * @since 0.1.0
 */
import * as Runtime from "@strata/core-runtime/Runtime"
import * as ThreadManager from "@strata/core-runtime/ThreadManager"
import * as Turn from "@strata/core-runtime/Turn"
import type { EventFrame } from "@strata/protocol/Event"
import type { ThreadId } from "@strata/protocol/Ids"
import * as Ids from "@strata/protocol/Ids"
import type { TurnOutcome } from "@strata/protocol/Model"
import type { PromptResponse } from "@strata/protocol/Prompt"
import type { AskForApproval } from "@strata/protocol/Tool"
import { StateStore } from "@strata/storage/StateStore"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"

/**
 * The process exit code for how a turn ended.
 *
 * @since 0.1.0
 * @category utils
 */
export const exitCode = (outcome: TurnOutcome): number => {
  switch (outcome) {
    case "completed":
      return 0
    case "awaiting_approval":
      return 3
    case "max_turns":
      return 4
    case "interrupted":
      return 130
    default:
      return 1
  }
}

/**
 * A pending approval as the session sees it.
 *
 * @since 0.1.0
 * @category models
 */
export interface PendingApproval {
  readonly approval_id: string
  readonly tool_name: string
  readonly command?: string | undefined
  readonly reason: string
}

/**
 * An answer to an approval: approve or deny it now, or leave it pending
 * (the turn stays paused; `strata approvals` can answer later).
 *
 * @since 0.1.0
 * @category models
 */
export type Answer = { readonly decision: "approve" | "deny"; readonly reason?: string | undefined } | "leave"

/**
 * @since 0.1.0
 * @category models
 */
export interface TurnOptions {
  readonly prompt: string
  readonly threadId?: ThreadId | undefined
  readonly approval?: AskForApproval | undefined
  readonly onFrame: (frame: EventFrame) => Effect.Effect<void>
  readonly decide: (approval: PendingApproval) => Effect.Effect<Answer>
  /**
   * `decide` answers without waiting for a person (`--yes`, or leaving every
   * approval pending): the thread's lease is then held from the prompt to the
   * end of the approvals it answers, which continue the turn without taking
   * it again. Not for a person at a prompt: other writers of the thread
   * (`strata approvals` in another terminal) would get `ThreadBusy` meanwhile.
   */
  readonly answersAtOnce?: boolean | undefined
}

/**
 * Starts a new thread (dispatches `SessionStart`); returns its id.
 *
 * @since 0.1.0
 * @category constructors
 */
export const startThread = Effect.gen(function* () {
  const rt = yield* Runtime.Runtime
  const started = yield* rt.handleThread({ kind: "start" })
  // The runtime's response carries a plain string (a list has no thread): decoded here, not cast.
  return yield* Ids.validate("ThreadId", started.thread_id, "thread_id")
})

const pendingOf = (response: PromptResponse, answered: ReadonlySet<string>): ReadonlyArray<PendingApproval> => {
  const decided = new Set(answered)
  for (const f of response.events) if (f.event === "approval_decided") decided.add(f.approval_id)
  return response.events.flatMap((f) =>
    f.event === "approval_requested" && !decided.has(f.approval_id)
      ? [{ approval_id: f.approval_id, tool_name: f.tool_name, command: f.command, reason: f.reason }]
      : []
  )
}

/**
 * Runs one turn on a thread (a new one when none is given), streaming its
 * events in order; resolves approvals with `decide` until the turn ends or
 * an approval is left pending.
 *
 * @since 0.1.0
 * @category constructors
 */
export const runTurn = Effect.fn("Session.runTurn")((options: TurnOptions) => Effect.scoped(turnIn(options)))

const turnIn = (options: TurnOptions) =>
  Effect.gen(function* () {
    const rt = yield* Runtime.Runtime
    const turns = yield* Turn.TurnRunner
    const threads = yield* ThreadManager.ThreadManager
    const store = yield* StateStore
    const threadId = options.threadId ?? (yield* startThread)
    let last = yield* store.lastSeq(threadId)
    const lock = yield* Effect.makeSemaphore(1)
    // Frames are shown once each, in sequence order: a gap (a frame published
    // before the subscription started, or appends of parallel tool calls
    // published out of order) is filled from the journal.
    const fill = (until?: number) =>
      Stream.runCollect(
        store.readEvents(threadId, { fromSeq: last + 1, ...(until === undefined ? {} : { limit: until - last - 1 }) })
      ).pipe(Effect.orElseSucceed(() => Chunk.empty<EventFrame>()))
    // The frames of one append (published together) are shown under one hold of the lock.
    const showAll = (frames: Iterable<EventFrame>) =>
      lock.withPermits(1)(
        Effect.gen(function* () {
          for (const frame of frames) {
            if (frame.thread_id !== threadId || frame.seq <= last) continue
            if (frame.seq > last + 1) {
              for (const f of yield* fill(frame.seq)) {
                if (f.seq <= last) continue
                last = f.seq
                yield* options.onFrame(f)
              }
            }
            last = frame.seq
            yield* options.onFrame(frame)
          }
        })
      )
    // What the turn recorded that was not shown yet: from its response (its
    // events, read under its lease), else from the journal.
    const catchUp = (response: PromptResponse | undefined) =>
      response === undefined ? Effect.flatMap(fill(), showAll) : showAll(response.events)
    // Subscribed before the turn starts; a plain take loop (no stream to run and tear down).
    const frames = yield* threads.subscribe
    const live = yield* Queue.takeBetween(frames, 1, Number.MAX_SAFE_INTEGER).pipe(
      Effect.flatMap(showAll),
      Effect.forever,
      Effect.fork
    )
    const body = Effect.gen(function* () {
      let response = yield* rt
        .handlePrompt({
          prompt: options.prompt,
          thread_id: threadId,
          ...(options.approval === undefined ? {} : { approval_policy: options.approval })
        })
        // Failed or interrupted: what the turn recorded on its way out (response_end, turn_ended) is shown too.
        .pipe(Effect.onError(() => Effect.zipRight(Effect.ignore(catchUp(undefined)), Fiber.interrupt(live))))
      const answered = new Set<string>()
      while (response.outcome === "awaiting_approval") {
        yield* catchUp(response)
        const pending = pendingOf(response, answered)
        if (pending.length === 0) break
        let continued: PromptResponse | undefined
        let left = false
        for (const approval of pending) {
          const answer = yield* options.decide(approval)
          if (answer === "leave") {
            left = true
            continue
          }
          const outcome = yield* rt.resolveApproval(approval.approval_id, answer.decision, {
            reason: answer.reason,
            ...(options.approval === undefined ? {} : { overrides: { approval_policy: options.approval } })
          })
          answered.add(approval.approval_id)
          if (outcome.turn !== undefined) continued = outcome.turn
        }
        if (left || continued === undefined) break
        response = continued
      }
      yield* catchUp(response)
      yield* Fiber.interrupt(live)
      return response
    })
    return yield* options.answersAtOnce === true ? turns.withThread(threadId, body) : body
  })
