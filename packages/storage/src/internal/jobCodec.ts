/**
 * The job record check on the hot path of every job transition. A job's
 * record is rewritten on each transition with one more history entry and
 * everything else mostly unchanged; checking it with the full `JobRecord`
 * schema each time costs more than the write. So:
 *
 * - the record's own fields are checked by hand, against exactly the
 *   rules of `@strata/protocol`'s `JobRecord` (a differential property test,
 *   `test/jobCodec.test.ts`, keeps the two in step);
 * - its history entries, `retry` and `input` are checked once per object:
 *   an object found valid is remembered (by identity, weakly), and the
 *   entries a record shares with its previous version are not checked
 *   again (decode once, validate at the edges).
 *
 * Anything the fast check does not accept goes through the schema, which
 * produces the located error (or the encoded form, for a value with extra
 * fields).
 */
import * as Common from "@strata/protocol/Common"
import { isValidId } from "@strata/protocol/Ids"
import type * as Job from "@strata/protocol/Job"
import * as Schema from "effect/Schema"

const STATUSES = new Set(["queued", "running", "paused", "completed", "failed", "cancelled"])
const RECORD_KEYS = new Set([
  "id",
  "name",
  "status",
  "progress",
  "detail",
  "input",
  "retry",
  "history",
  "created_at",
  "updated_at",
  "revision",
  "owner"
])
const ENTRY_KEYS = 7
const RETRY_KEYS = 5

/** Objects already found valid, one set per role (an object valid in one role need not be in another). */
const knownEntries = new WeakSet<object>()
const knownRetries = new WeakSet<object>()
const knownInputs = new WeakSet<object>()

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const count = (u: unknown): boolean => typeof u === "number" && Number.isSafeInteger(u) && u >= 0
const progress = (u: unknown): boolean => u === null || (count(u) && (u as number) <= 100)
const nullOrString = (u: unknown): boolean => u === null || typeof u === "string"
const status = (u: unknown): boolean => typeof u === "string" && STATUSES.has(u)

const isEntry = (u: unknown): boolean => {
  if (typeof u === "object" && u !== null && knownEntries.has(u)) return true
  if (!isObject(u) || Object.keys(u).length !== ENTRY_KEYS) return false
  const ok =
    count(u.at) &&
    typeof u.phase === "string" &&
    (u.from === null || status(u.from)) &&
    status(u.to) &&
    progress(u.progress) &&
    nullOrString(u.detail) &&
    count(u.attempt)
  if (ok) knownEntries.add(u)
  return ok
}

const isRetry = (u: unknown): boolean => {
  if (typeof u === "object" && u !== null && knownRetries.has(u)) return true
  if (!isObject(u) || Object.keys(u).length !== RETRY_KEYS) return false
  const ok =
    count(u.attempt) &&
    count(u.max_attempts) &&
    count(u.backoff_base_ms) &&
    count(u.next_backoff_ms) &&
    (u.next_retry_at === null || count(u.next_retry_at))
  if (ok) knownRetries.add(u)
  return ok
}

const isJson = Schema.is(Common.JsonValue)

/**
 * Plain data the `JsonValue` schema accepts: null, booleans, finite numbers,
 * strings, dense arrays and plain objects (no `__proto__` key) of those.
 * `false` only means "not sure": the schema decides then.
 */
const isPlainJson = (u: unknown, depth: number): boolean => {
  switch (typeof u) {
    case "string":
    case "boolean":
      return true
    case "number":
      return Number.isFinite(u)
    case "object": {
      if (u === null) return true
      if (depth > 32) return false
      if (Array.isArray(u)) {
        for (let i = 0; i < u.length; i++) if (!isPlainJson(u[i], depth + 1)) return false
        return true
      }
      const proto = Object.getPrototypeOf(u)
      if (proto !== Object.prototype && proto !== null) return false
      if (Object.getOwnPropertySymbols(u).length > 0) return false
      for (const key of Object.keys(u)) {
        if (key === "__proto__" || !isPlainJson((u as Record<string, unknown>)[key], depth + 1)) return false
      }
      return true
    }
    default:
      return false
  }
}

const isInput = (u: unknown): boolean => {
  if (typeof u !== "object" || u === null) return isJson(u)
  if (knownInputs.has(u)) return true
  const ok = isPlainJson(u, 0) || isJson(u)
  if (ok) knownInputs.add(u)
  return ok
}

/**
 * Whether `u` is a `JobRecord` with no other fields: true only when the
 * schema would accept it unchanged.
 */
export const isJobRecord = (u: unknown): u is Job.JobRecord => {
  if (!isObject(u)) return false
  for (const k in u) if (!RECORD_KEYS.has(k)) return false
  if (
    !(
      typeof u.id === "string" &&
      isValidId(u.id) &&
      typeof u.name === "string" &&
      status(u.status) &&
      progress(u.progress) &&
      nullOrString(u.detail) &&
      isRetry(u.retry) &&
      Array.isArray(u.history) &&
      count(u.created_at) &&
      count(u.updated_at) &&
      count(u.revision) &&
      (u.owner === undefined || typeof u.owner === "string") &&
      (!("owner" in u) || u.owner !== undefined) &&
      (!("input" in u) || isInput(u.input))
    )
  ) {
    return false
  }
  for (const entry of u.history as ReadonlyArray<unknown>) if (!isEntry(entry)) return false
  return true
}
