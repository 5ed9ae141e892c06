// The chaos job kinds: each logs a run start to `<prefix>:chaos:runs` and its
// side effect to `<prefix>:chaos:effects` (Redis lists, one JSON line each).
//
// - `idem`  (idempotent: requeued after a crash) guards its side effect with
//   the job's idempotency key (`SET NX`), so it happens once however often
//   the job runs;
// - `once`  (recovery `fail`: never run again after a crash) does its side
//   effect unguarded: it must never run twice;
// - `flaky` (idempotent) fails its first attempt (retried with the kind's
//   backoff), then behaves as `idem`.
import * as Effect from "effect/Effect"

const work = (ctx) =>
  Effect.gen(function* () {
    const steps = 2 + Math.floor(Math.random() * 4)
    for (let i = 1; i <= steps; i++) {
      yield* ctx.checkpoint
      yield* Effect.sleep(`${10 + Math.floor(Math.random() * 60)} millis`)
      yield* ctx.progress(Math.round((i / (steps + 1)) * 100))
    }
  })

export const chaosKinds = (redis, prefix) => {
  const runs = `${prefix}:chaos:runs`
  const effects = `${prefix}:chaos:effects`
  const line = (ctx, kind) => JSON.stringify({ id: ctx.job.id, kind, token: ctx.fencingToken, attempt: ctx.attempt })
  const logRun = (ctx, kind) => Effect.promise(() => redis.rpush(runs, line(ctx, kind)))
  // Atomic (one script): the effect is recorded only by the first run to
  // claim the job's idempotency key, whatever kills which run when.
  const guardedEffect = (ctx, kind) =>
    Effect.promise(() =>
      redis.eval(
        "if redis.call('SET', KEYS[1], ARGV[1], 'NX') then redis.call('RPUSH', KEYS[2], ARGV[2]) end return 1",
        2,
        `${prefix}:chaos:idem:${ctx.idempotencyKey("effect")}`,
        effects,
        ctx.fencingToken,
        line(ctx, kind)
      )
    )
  return [
    {
      kind: "idem",
      idempotent: true,
      run: (ctx) =>
        Effect.gen(function* () {
          yield* logRun(ctx, "idem")
          yield* work(ctx)
          yield* guardedEffect(ctx, "idem")
          yield* work(ctx)
        })
    },
    {
      kind: "once",
      recovery: "fail",
      run: (ctx) =>
        Effect.gen(function* () {
          yield* logRun(ctx, "once")
          yield* work(ctx)
          yield* Effect.promise(() => redis.rpush(effects, line(ctx, "once")))
          yield* work(ctx)
        })
    },
    {
      // Long enough (about 3 s) to be frozen mid-run by a test.
      kind: "slow",
      idempotent: true,
      run: (ctx) =>
        Effect.gen(function* () {
          yield* logRun(ctx, "slow")
          for (let i = 1; i <= 100; i++) {
            yield* ctx.checkpoint
            yield* Effect.sleep("30 millis")
            yield* ctx.progress(i)
          }
          yield* guardedEffect(ctx, "slow")
        })
    },
    {
      kind: "flaky",
      idempotent: true,
      backoffBaseMs: 50,
      run: (ctx) =>
        Effect.gen(function* () {
          yield* logRun(ctx, "flaky")
          yield* work(ctx)
          if (ctx.attempt === 1) return yield* Effect.fail(new Error("first attempt fails"))
          yield* guardedEffect(ctx, "flaky")
        })
    }
  ]
}
