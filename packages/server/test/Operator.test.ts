// The operator methods of the wire (what the web console calls), against a
// real server on 127.0.0.1 with real tokens: `auth/whoami`, `policy/check`,
// `approval/resolve` with `approve_always` (a rule that then allows the same
// command without asking, and nothing else), `mcp/restart`, `jobs/retry`;
// every one refused to a token without its scope, as a typed Forbidden.
import { describe, expect, it } from "@effect/vitest"
import * as StrataClient from "@strata/client/StrataClient"
import { defineJob, definePlugin } from "@strata/plugin"
import * as Effect from "effect/Effect"
import * as Auth from "../src/Auth.js"
import { ran, runtimeLayer, serve } from "./fixtures.js"

const tokens = Effect.all([Auth.hashToken("reader-secret"), Auth.hashToken("boss-secret")]).pipe(
  Effect.map(([reader, boss]) => [
    { name: "reader", sha256: reader, scopes: ["read" as const] },
    { name: "boss", sha256: boss, scopes: ["admin" as const] }
  ])
)

const refused = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e
  )

let flakyOk = false
const flaky = definePlugin({
  id: "ops",
  version: "1.0.0",
  jobs: [
    defineJob({
      kind: "flaky",
      maxAttempts: 1,
      run: () => (flakyOk ? Effect.void : Effect.fail(new Error("not yet")))
    })
  ]
})

const waitFor = async <A>(probe: () => Promise<A | undefined>): Promise<A> => {
  for (let i = 0; i < 400; i++) {
    const found = await probe()
    if (found !== undefined) return found
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error("never happened")
}

describe("operator methods", () => {
  // covers: issue 22 part 1
  it.scopedLive(
    "whoami names the token; a read token may check the policy but not approve, restart or retry (Forbidden)",
    () =>
      Effect.gen(function* () {
        const url = yield* serve({ tokens: yield* tokens })
        const reader = StrataClient.make({ url, token: "reader-secret" })
        const boss = StrataClient.make({ url, token: "boss-secret" })
        expect(yield* Effect.promise(() => reader.call("auth/whoami", {}))).toEqual({
          name: "reader",
          scopes: ["read"],
          can: { read: true, prompt: false, approve: false, admin: false }
        })
        expect(yield* Effect.promise(() => boss.call("auth/whoami", {}))).toEqual({
          name: "boss",
          scopes: ["admin"],
          can: { read: true, prompt: true, approve: true, admin: true }
        })

        const denied = yield* Effect.promise(() => reader.call("policy/check", { command: "curl https://x" }))
        expect(denied).toMatchObject({ decision: "deny", policy_decision: "deny" })
        expect(denied.summary).toContain("curl")
        expect(denied.explanation).toContain("no network from tests")
        expect(denied.commands).toEqual([
          { argv: ["curl", "https://x"], decision: "deny", rule: expect.stringContaining("rules.toml:") }
        ])
        expect(yield* Effect.promise(() => reader.call("policy/check", { command: "ls -la" }))).toMatchObject({
          decision: "allow"
        })
        expect(
          yield* Effect.promise(() => reader.call("policy/check", { command: "touch a", approval_policy: "never" }))
        ).toMatchObject({ decision: "deny", policy_decision: "ask" })

        for (const [method, params] of [
          ["mcp/restart", { server_name: "anything" }],
          ["jobs/retry", { id: "job-1" }],
          ["approval/resolve", { approval_id: "approval-1", decision: "approve_always" }]
        ] as const) {
          const error = yield* Effect.promise(() => refused(reader.call(method, params as never)))
          expect(error, method).toBeInstanceOf(StrataClient.StrataRpcError)
          expect(error, method).toMatchObject({ type: "Forbidden", code: -32003 })
          expect((error as Error).message, method).toContain(`token reader has read`)
        }
        // with the scope: typed answers, not crashes
        expect(
          yield* Effect.promise(() => refused(boss.call("mcp/restart", { server_name: "nowhere" })))
        ).toMatchObject({ type: "NotFound", message: expect.stringContaining('"nowhere"') })
        expect(yield* Effect.promise(() => refused(boss.call("jobs/retry", { id: "job-missing" })))).toMatchObject({
          type: "NotFound"
        })
        expect(
          yield* Effect.promise(() => refused(boss.call("policy/check", { command: "ls", __proto__x: 1 } as never)))
        ).toMatchObject({ type: "InvalidParams" })
      }).pipe(Effect.provide(runtimeLayer([]))),
    30_000
  )

  // covers: issue 22 part 1
  it.scopedLive(
    "approve_always adds a rule for exactly that command: the next turn runs it without asking, another command still asks",
    () =>
      Effect.gen(function* () {
        const url = yield* serve()
        const client = StrataClient.make({ url })
        const started = yield* Effect.promise(() => client.call("turn/start", { prompt: "make it" }))
        const threadId = started.thread_id
        const approval = yield* Effect.promise(() =>
          waitFor(async () => (await client.call("approval/list", { thread_id: threadId }))[0])
        )
        expect(approval.command).toBe("touch always.txt")
        expect(yield* Effect.promise(() => client.call("policy/check", { command: "touch always.txt" }))).toMatchObject(
          { decision: "ask" }
        )
        const resolved = yield* Effect.promise(() =>
          client.call("approval/resolve", { approval_id: approval.id, decision: "approve_always" })
        )
        expect(resolved.approval.status).toBe("approved")
        expect(resolved.rules).toEqual([expect.stringContaining('prefix = ["touch","always.txt"]')])
        yield* Effect.promise(() =>
          waitFor(async () =>
            (await client.call("events/read", { thread_id: threadId })).events.some(
              (f) => f.event === "turn_ended" && f.outcome === "completed"
            )
              ? true
              : undefined
          )
        )
        const check = yield* Effect.promise(() => client.call("policy/check", { command: "touch always.txt" }))
        expect(check.decision).toBe("allow")
        expect(check.explanation).toContain(".strata/approved.toml")
        // only that command: another file, or the same one chained with more, still asks
        expect(yield* Effect.promise(() => client.call("policy/check", { command: "touch other.txt" }))).toMatchObject({
          decision: "ask"
        })
        expect(
          yield* Effect.promise(() => client.call("policy/check", { command: "touch always.txt && rm -rf x" }))
        ).toMatchObject({ decision: "ask" })
        expect(
          yield* Effect.promise(() => client.call("policy/check", { command: "touch always.txt more.txt" }))
        ).toMatchObject({ decision: "ask" })

        const before = ran.filter((c) => c === "touch always.txt").length
        const again = yield* Effect.promise(() =>
          client.call("turn/start", { thread_id: threadId, prompt: "again", wait: true })
        )
        expect(again).toMatchObject({ outcome: "completed" })
        expect(ran.filter((c) => c === "touch always.txt").length).toBe(before + 1)
        expect(yield* Effect.promise(() => client.call("approval/list", { thread_id: threadId }))).toEqual([])
        expect(
          (yield* Effect.promise(() => client.call("approval/list", { thread_id: threadId, status: "approved" })))
            .length
        ).toBe(1)
      }).pipe(
        Effect.provide(
          runtimeLayer([
            { text: "Making it.", toolCalls: [{ name: "shell__exec", arguments: { command: "touch always.txt" } }] },
            { text: "Done." },
            { text: "Again.", toolCalls: [{ name: "shell__exec", arguments: { command: "touch always.txt" } }] },
            { text: "Done again." }
          ])
        )
      ),
    30_000
  )

  // covers: issue 22 part 3
  it.scopedLive(
    "approve_always on a hostile command (DEL, a lone surrogate) keeps the rule file loadable: what TOML cannot hold is not remembered",
    () =>
      Effect.gen(function* () {
        const url = yield* serve()
        const client = StrataClient.make({ url })
        const started = yield* Effect.promise(() => client.call("turn/start", { prompt: "odd names" }))
        const approval = yield* Effect.promise(() =>
          waitFor(async () => (await client.call("approval/list", { thread_id: started.thread_id }))[0])
        )
        const resolved = yield* Effect.promise(() =>
          client.call("approval/resolve", { approval_id: approval.id, decision: "approve_always" })
        )
        expect(resolved.approval.status).toBe("approved")
        expect(resolved.rules).toEqual([expect.stringContaining('prefix = ["touch","a\\u007Fb"]')])
        expect(yield* Effect.promise(() => client.call("policy/check", { command: "touch 'a\u007fb'" }))).toMatchObject(
          { decision: "allow" }
        )
        expect(yield* Effect.promise(() => client.call("policy/check", { command: "touch 'c\ud800d'" }))).toMatchObject(
          { decision: "ask" }
        )
      }).pipe(
        Effect.provide(
          runtimeLayer([
            {
              text: "Odd.",
              toolCalls: [{ name: "shell__exec", arguments: { command: "touch 'a\u007fb' && touch 'c\ud800d'" } }]
            },
            { text: "Done." }
          ])
        )
      ),
    30_000
  )

  // covers: issue 22 part 1
  it.scopedLive("approve_always of an unknown approval is a typed NotFound", () =>
    Effect.gen(function* () {
      const url = yield* serve()
      const client = StrataClient.make({ url })
      const error = yield* Effect.promise(() =>
        refused(client.call("approval/resolve", { approval_id: "approval-none", decision: "approve_always" }))
      )
      expect(error).toMatchObject({ type: "NotFound" })
    }).pipe(Effect.provide(runtimeLayer([])))
  )

  // covers: issue 22 part 1
  it.scopedLive(
    "jobs/retry runs a failed job again as a new job of the same kind and input; a running or completed one is a Conflict",
    () =>
      Effect.gen(function* () {
        const url = yield* serve()
        const client = StrataClient.make({ url })
        flakyOk = false
        const job = yield* Effect.promise(() => client.call("jobs/enqueue", { name: "ops__flaky", input: { n: 1 } }))
        const failed = yield* Effect.promise(() =>
          waitFor(async () => {
            const j = await client.call("jobs/get", { id: job.id })
            return j.status === "failed" ? j : undefined
          })
        )
        expect(failed.retry.attempt).toBe(1)
        flakyOk = true
        const retried = yield* Effect.promise(() => client.call("jobs/retry", { id: job.id }))
        expect(retried.id).not.toBe(job.id)
        expect(retried).toMatchObject({ name: "ops__flaky", input: { n: 1 } })
        const done = yield* Effect.promise(() =>
          waitFor(async () => {
            const j = await client.call("jobs/get", { id: retried.id })
            return j.status === "completed" ? j : undefined
          })
        )
        expect(done.status).toBe("completed")
        expect((yield* Effect.promise(() => client.call("jobs/get", { id: job.id }))).status).toBe("failed")
        expect(yield* Effect.promise(() => refused(client.call("jobs/retry", { id: retried.id })))).toMatchObject({
          type: "Conflict",
          message: expect.stringContaining("completed")
        })
      }).pipe(Effect.provide(runtimeLayer([], { plugins: { "ops-plugin": flaky } }))),
    30_000
  )
})
