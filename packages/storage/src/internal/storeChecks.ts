/**
 * The checks every `StateStore` write goes through before any I/O: integer
 * arguments, free-text limits, the lease a write is fenced with; and the
 * span helper of the hottest operations.
 */
import type * as Job from "@strata/protocol/Job"
import type * as Thread from "@strata/protocol/Thread"
import * as Effect from "effect/Effect"
import type { YieldWrap } from "effect/Utils"
import type * as StateStore from "../StateStore.js"
import { LeaseLost, StorageError } from "../StorageError.js"
import * as StorageSchema from "../StorageSchema.js"
import type { Fence } from "./backend.js"

/** Fails with a `StorageError`. */
export const fail = (reason: StorageError["reason"], key: string, detail: string) =>
  Effect.fail(new StorageError({ reason, key, detail }))

export const checkInt = (
  key: string,
  name: string,
  value: number | undefined,
  min: number
): Effect.Effect<void, StorageError> =>
  value === undefined || (Number.isSafeInteger(value) && value >= min)
    ? Effect.void
    : fail("InvalidInput", key, `${name} must be an integer >= ${min} (got ${String(value)})`)

/** The fence of a write, checked against the thread it writes. */
export const fenceOf = (
  threadId: string,
  options: StateStore.WriteOptions | undefined
): Effect.Effect<Fence | undefined, StorageError> => {
  const lease = options?.lease
  if (lease === undefined) return Effect.succeed(undefined)
  if (lease.threadId !== threadId) {
    return fail("InvalidInput", `threads/${threadId}`, `the lease given is for thread ${lease.threadId}`)
  }
  return Effect.succeed({ threadId, token: lease.token })
}

export const lostError = (fence: Fence, detail = "a newer lease was issued, or this one was released") =>
  new LeaseLost({ threadId: fence.threadId, token: fence.token, detail })

/** Why a free-text field is over its limit, or undefined. */
export const overLimit = (field: string, value: string | null | undefined, max: number): string | undefined =>
  typeof value === "string" && value.length > max
    ? `${field} is ${value.length} characters, over the limit of ${max}`
    : undefined

/** Fails when a free-text field is over its limit. */
export const checkText = (
  key: string,
  field: string,
  value: string | undefined,
  max: number
): Effect.Effect<void, StorageError> => {
  const why = overLimit(field, value, max)
  return why === undefined ? Effect.void : fail("InvalidInput", key, why)
}

export const checkThreadText = (key: string, t: Thread.Thread): Effect.Effect<void, StorageError> => {
  const why =
    overLimit("name", t.name, StorageSchema.LIMITS.threadName) ??
    overLimit("preview", t.preview, StorageSchema.LIMITS.preview) ??
    overLimit("cwd", t.cwd, StorageSchema.LIMITS.path) ??
    overLimit("model_provider", t.model_provider, StorageSchema.LIMITS.label) ??
    overLimit("cli_version", t.cli_version, StorageSchema.LIMITS.label)
  return why === undefined ? Effect.void : fail("InvalidInput", key, why)
}

// Plain loops: this runs on every job transition.
export const checkJobText = (key: string, j: Job.JobRecord): Effect.Effect<void, StorageError> => {
  let why =
    overLimit("name", j.name, StorageSchema.LIMITS.jobName) ??
    overLimit("detail", j.detail, StorageSchema.LIMITS.detail)
  for (let i = 0; why === undefined && i < j.history.length; i++) {
    const h = j.history[i]!
    why =
      overLimit(`history[${i}].phase`, h.phase, StorageSchema.LIMITS.label) ??
      overLimit(`history[${i}].detail`, h.detail, StorageSchema.LIMITS.detail)
  }
  return why === undefined ? Effect.void : fail("InvalidInput", key, why)
}

/**
 * `Effect.fn` for the hottest operations (every event, every job
 * transition): the same span, without capturing a stack trace per call.
 */
export const traced = <Args extends Array<any>, Eff extends YieldWrap<Effect.Effect<any, any, any>>, A>(
  name: string,
  body: (...args: Args) => Generator<Eff, A, never>
) => {
  const run = Effect.fnUntraced(body)
  // `withSpan` itself captures a stack per call unless told not to.
  const options = { captureStackTrace: false } as const
  return (...args: Args) => Effect.withSpan(run(...args), name, options)
}
