import { describe, expect, it } from "@effect/vitest"
import { TurnMachine as M } from "@strata/core-runtime"
import type { Event } from "@strata/protocol/Event"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"

const user = (content: string): Event => ({
  event: "message_appended",
  message: { id: `m-${content}` as never, role: "user", content, created_at: 0 }
})
const assistant = (calls: ReadonlyArray<string>): Event => ({
  event: "message_appended",
  message: {
    id: `a-${calls.join("-")}` as never,
    role: "assistant",
    content: "",
    created_at: 0,
    ...(calls.length === 0 ? {} : { tool_calls: calls.map((id) => ({ id: id as never, name: "t", arguments: {} })) })
  }
})
const result = (id: string): Event => ({
  event: "message_appended",
  message: { id: `r-${id}` as never, role: "tool", tool_call_id: id as never, content: "ok", created_at: 0 }
})

/**
 * One simulated run of the driver, as the events it writes: each model
 * reply is text or tool calls; each call completes or asks for approval;
 * an approval is later approved (the call runs) or denied, or left pending.
 */
type Reply = { readonly calls: ReadonlyArray<"run" | "ask-approve" | "ask-deny" | "ask-leave"> }
type Script = { readonly turns: ReadonlyArray<ReadonlyArray<Reply>> }

const simulate = (script: Script): { events: Array<Event>; pendingAt: (n: number) => Set<string> } => {
  const events: Array<Event> = []
  // call id -> [index at which it became pending, index at which it was decided]
  const pendings = new Map<string, { from: number; to: number }>()
  let n = 0
  const left: Array<string> = []
  script.turns.forEach((replies, t) => {
    // the rule for a new prompt: pending calls are answered as not approved, first
    for (const id of left.splice(0)) {
      pendings.set(id, { from: pendings.get(id)!.from, to: events.length })
      events.push({ event: "approval_decided", approval_id: `ap-${id}` as never, decision: "denied" }, result(id))
    }
    events.push(user(`p${t}`), { event: "turn_started", turn_id: `turn-${t}`, model: "m" })
    for (const [r, reply] of replies.entries()) {
      const later: Array<() => void> = []
      const rid = `resp-${t}-${r}`
      events.push({ event: "response_start", response_id: rid as never, model: "m" })
      events.push({ event: "response_delta", response_id: rid as never, delta: "x", channel: "text" } as Event)
      const ids = reply.calls.map(() => `c${n++}`)
      events.push(assistant(ids), { event: "response_end", response_id: rid as never })
      if (ids.length === 0) break
      let paused = 0
      reply.calls.forEach((kind, i) => {
        const id = ids[i]!
        if (kind === "run") {
          events.push({ event: "tool_call_start", call_id: id as never, tool_name: "t", arguments: {} }, result(id))
          return
        }
        paused++
        const approval = `ap-${id}`
        events.push({
          event: "approval_requested",
          approval_id: approval as never,
          call_id: id as never,
          tool_name: "t",
          reason: "ask"
        })
        const from = events.length
        if (kind === "ask-leave") {
          pendings.set(id, { from, to: Number.POSITIVE_INFINITY })
          left.push(id)
          return
        }
        later.push(() => {
          pendings.set(id, { from, to: events.length })
          events.push({
            event: "approval_decided",
            approval_id: approval as never,
            decision: kind === "ask-approve" ? "approved" : "denied"
          })
          events.push(result(id))
        })
      })
      if (paused > 0) {
        events.push({ event: "turn_ended", turn_id: `turn-${t}`, outcome: "awaiting_approval" })
        for (const f of later) f()
        if (reply.calls.includes("ask-leave")) return
        events.push({ event: "turn_started", turn_id: `turn-${t}b`, model: "m" })
      }
    }
    events.push({ event: "turn_ended", turn_id: `turn-${t}`, outcome: "completed" })
  })
  return {
    events,
    pendingAt: (cut) => new Set([...pendings].filter(([, p]) => p.from <= cut && p.to >= cut).map(([id]) => id))
  }
}

const script: FastCheck.Arbitrary<Script> = FastCheck.record({
  turns: FastCheck.array(
    FastCheck.array(
      FastCheck.record({
        calls: FastCheck.array(FastCheck.constantFrom("run", "ask-approve", "ask-deny", "ask-leave"), {
          maxLength: 3
        })
      }),
      { minLength: 1, maxLength: 4 }
    ),
    { minLength: 1, maxLength: 3 }
  )
})

describe("TurnMachine", () => {
  it("folds a journal into the phase a turn is in", () => {
    let s = M.initial
    expect(s.phase).toBe("idle")
    s = M.observe(s, user("hi"))
    s = M.observe(s, { event: "turn_started", turn_id: "t1", model: "m" })
    expect(s).toMatchObject({ phase: "calling_model", turn_id: "t1" })
    s = M.observe(s, { event: "response_start", response_id: "r1" as never, model: "m" })
    expect(s).toMatchObject({ phase: "calling_model", open_response: "r1", model_calls: 1 })
    s = M.observe(s, assistant(["a", "b"]))
    s = M.observe(s, { event: "response_end", response_id: "r1" as never })
    expect(s).toMatchObject({ phase: "dispatching", open_response: null })
    expect(s.calls.map((c) => c.id)).toStrictEqual(["a", "b"])
    s = M.observe(s, result("a"))
    s = M.observe(s, {
      event: "approval_requested",
      approval_id: "ap" as never,
      call_id: "b" as never,
      tool_name: "t",
      reason: "ask"
    })
    s = M.observe(s, { event: "turn_ended", turn_id: "t1", outcome: "awaiting_approval" })
    expect(s).toMatchObject({ phase: "awaiting_approval", turn_id: null })
    s = M.observe(s, { event: "approval_decided", approval_id: "ap" as never, decision: "approved" })
    expect(s.calls).toStrictEqual([{ id: "b", name: "t", status: "approved", approval_id: "ap" }])
    s = M.observe(s, result("b"))
    expect(s).toMatchObject({ phase: "ended", calls: [] })
    // the state is data: it round-trips through its schema
    expect(Schema.decodeUnknownSync(M.TurnState)(JSON.parse(JSON.stringify(s)))).toStrictEqual(s)
  })

  it("decides the loop: max turns, one Stop-hook continuation per turn, approvals pause", () => {
    const at = (calls: number, stop = false): M.TurnState => ({
      ...M.initial,
      turn_id: "t",
      model_calls: calls,
      stop_hook_active: stop
    })
    expect(M.next(at(0), { _tag: "Started" }, 2)).toStrictEqual({ _tag: "CallModel" })
    expect(M.next(at(2), { _tag: "Dispatched", pending: 0 }, 2)).toMatchObject({ _tag: "End", outcome: "max_turns" })
    expect(M.next(at(1), { _tag: "Dispatched", pending: 2 }, 5)).toStrictEqual({
      _tag: "End",
      outcome: "awaiting_approval",
      reason: "2 tool calls waiting for approval"
    })
    expect(M.next(at(1), { _tag: "ModelReplied", toolCalls: 0 }, 5)).toStrictEqual({ _tag: "AskStopHook" })
    expect(M.next(at(1), { _tag: "ModelReplied", toolCalls: 1 }, 5)).toStrictEqual({ _tag: "Dispatch" })
    expect(M.next(at(1), { _tag: "StopHook", deny: true }, 5)).toStrictEqual({ _tag: "ContinueAfterStopHook" })
    expect(M.next(at(1, true), { _tag: "StopHook", deny: true }, 5)).toMatchObject({ outcome: "completed" })
    expect(M.next(at(1), { _tag: "StopHook", deny: false }, 5)).toMatchObject({ outcome: "completed" })
  })

  it("the invariant checker finds unanswered, doubled, stray and misplaced results", () => {
    expect(M.violations([user("a"), assistant(["x"]), result("x"), user("b")], { closed: true })).toStrictEqual([])
    expect(M.violations([assistant(["x"]), user("b")])).toHaveLength(1)
    expect(M.violations([assistant(["x"]), result("x"), result("x")])).toHaveLength(1)
    expect(M.violations([user("a"), result("y")])).toHaveLength(1)
    expect(M.violations([assistant(["x"])], { closed: true })).toHaveLength(1)
    expect(M.violations([assistant(["x"])])).toHaveLength(0)
  })

  it("property: a crash at any event, then recovery and a new prompt, leaves a thread valid for a provider", () => {
    let cases = 0
    FastCheck.assert(
      FastCheck.property(script, FastCheck.nat(), (s, cutSeed) => {
        const { events, pendingAt } = simulate(s)
        // the uncut run is valid, with live pending approvals as its only open calls
        const whole = M.fromJournal(events)
        expect(whole.turn_id).toBeNull()
        const cut = cutSeed % (events.length + 1)
        const prefix = events.slice(0, cut)
        const live = pendingAt(cut)
        // a crash after `cut` events: recovery closes it
        const state = M.fromJournal(prefix)
        const repaired = [...prefix, ...M.closing(state, { livePending: live, at: 0, why: "crashed" })]
        const after = M.fromJournal(repaired)
        expect(after.turn_id).toBeNull()
        expect(after.open_response).toBeNull()
        // only live pending approvals are left open, and recovery is idempotent
        expect(after.calls.every((c) => live.has(c.id) && c.status === "pending")).toBe(true)
        expect(M.closing(after, { livePending: live, at: 0, why: "again" })).toStrictEqual([])
        // a new prompt answers the pending ones as not approved first
        const next = [...repaired, ...after.calls.map((c) => result(c.id)), user("next")]
        expect(M.violations(next, { closed: true })).toStrictEqual([])
        cases++
      }),
      { numRuns: 500 }
    )
    expect(cases).toBeGreaterThanOrEqual(500)
  })
})

// covers: issue 16 part 5
describe("TurnMachine.streamRetry", () => {
  const policy: M.StreamRetryPolicy = { retries: 2, initialDelayMs: 500, maxDelayMs: 8000, maxRetryAfterMs: 60_000 }

  it("retries a retryable failure up to `retries` times, then fails; never a failure that is not retryable", () => {
    expect(M.streamRetry({ attempt: 1, retryable: true, random: 0 }, policy)).toStrictEqual({
      _tag: "Retry",
      attempt: 2,
      maxAttempts: 3,
      delayMs: 250
    })
    expect(M.streamRetry({ attempt: 2, retryable: true, random: 0.999999 }, policy)).toMatchObject({
      _tag: "Retry",
      attempt: 3,
      delayMs: 1000
    })
    expect(M.streamRetry({ attempt: 3, retryable: true, random: 0 }, policy)).toStrictEqual({ _tag: "Fail" })
    expect(M.streamRetry({ attempt: 1, retryable: false, random: 0 }, policy)).toStrictEqual({ _tag: "Fail" })
    expect(M.streamRetry({ attempt: 1, retryable: true, random: 0 }, { ...policy, retries: 0 })).toStrictEqual({
      _tag: "Fail"
    })
  })

  it("waits what the provider's retry-after asks, unless that is longer than maxRetryAfterMs", () => {
    expect(M.streamRetry({ attempt: 1, retryable: true, retryAfterMs: 1234, random: 0.5 }, policy)).toMatchObject({
      _tag: "Retry",
      delayMs: 1234
    })
    expect(M.streamRetry({ attempt: 1, retryable: true, retryAfterMs: 120_000, random: 0.5 }, policy)).toStrictEqual({
      _tag: "Fail"
    })
  })

  it("property: at most retries + 1 attempts; every delay within the backoff's jittered bounds", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.integer({ min: 0, max: 10 }),
        FastCheck.integer({ min: 1, max: 5000 }),
        FastCheck.integer({ min: 1, max: 60_000 }),
        FastCheck.array(FastCheck.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), {
          minLength: 12,
          maxLength: 12
        }),
        (retries, initialDelayMs, extra, randoms) => {
          const p = { retries, initialDelayMs, maxDelayMs: initialDelayMs + extra, maxRetryAfterMs: 60_000 }
          let attempt = 1
          for (const random of randoms) {
            const step = M.streamRetry({ attempt, retryable: true, random }, p)
            if (step._tag === "Fail") break
            const base = Math.min(p.maxDelayMs, initialDelayMs * 2 ** (attempt - 1))
            expect(step.delayMs).toBeGreaterThanOrEqual(Math.floor(base / 2))
            expect(step.delayMs).toBeLessThanOrEqual(base)
            expect(step.attempt).toBe(attempt + 1)
            expect(step.maxAttempts).toBe(retries + 1)
            attempt = step.attempt
          }
          expect(attempt).toBe(retries + 1)
        }
      ),
      { seed: 16_5 }
    )
  })

  it("a discarded attempt is not a model call: a journal with retries counts its answers", () => {
    const r1 = "r1" as never
    const r2 = "r2" as never
    const events: Array<Event> = [
      user("q"),
      { event: "turn_started", turn_id: "t", model: "m" },
      { event: "response_start", response_id: r1 },
      { event: "response_delta", response_id: r1, delta: "partial", channel: "text" },
      { event: "response_end", response_id: r1, finish_reason: "error" },
      {
        event: "response_retry",
        response_id: r1,
        attempt: 2,
        max_attempts: 3,
        delay_ms: 10,
        reason: "Disconnected",
        message: "m"
      },
      { event: "response_start", response_id: r2 }
    ]
    const state = M.fromJournal(events)
    expect(state).toMatchObject({ phase: "calling_model", open_response: r2, model_calls: 1 })
  })
})
