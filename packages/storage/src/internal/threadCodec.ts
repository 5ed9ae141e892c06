/**
 * The thread record check on the listing path (`listThreads`, `strata
 * status`, the thread pickers): every listing reads every thread's record,
 * and checking each with the full `Thread` schema costs more than reading
 * it. The record's fields are checked by hand, against exactly the rules of
 * `@strata/protocol`'s `Thread` (a differential property test,
 * `test/threadCodec.test.ts`, keeps the two in step), as the job record
 * check does (`jobCodec.ts`).
 *
 * Anything the fast check does not accept goes through the schema, which
 * produces the located error (or the decoded form, for a value with extra
 * fields).
 */
import { isValidId } from "@strata/protocol/Ids"
import type * as Thread from "@strata/protocol/Thread"

const STATUSES = new Set(["running", "idle", "completed", "failed", "paused", "archived"])
const SOURCES = new Set(["interactive", "resume", "fork", "api", "unknown"])
const RECORD_KEYS = new Set([
  "id",
  "preview",
  "ephemeral",
  "model_provider",
  "created_at",
  "updated_at",
  "status",
  "cwd",
  "cli_version",
  "source",
  "name",
  "archived",
  "forked_from"
])

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
/** `Timestamp`: an integer, not negative. */
const timestamp = (u: unknown): boolean => typeof u === "number" && Number.isSafeInteger(u) && u >= 0
/** `Sequence`: an integer above 0. */
const sequence = (u: unknown): boolean => typeof u === "number" && Number.isSafeInteger(u) && u > 0
/** An optional field with `exact: true`: absent, or present with a value that passes. */
const optional = (u: Record<string, unknown>, key: string, check: (v: unknown) => boolean): boolean =>
  !(key in u) || check(u[key])
const isString = (u: unknown): boolean => typeof u === "string"
const isBoolean = (u: unknown): boolean => typeof u === "boolean"

const isForkPoint = (u: unknown): boolean => {
  if (!isObject(u)) return false
  for (const k in u) if (k !== "thread_id" && k !== "message_id" && k !== "seq") return false
  return isValidId(u.thread_id) && optional(u, "message_id", isValidId) && optional(u, "seq", sequence)
}

/**
 * Whether `u` is a `Thread` with no other fields: true only when the schema
 * would accept it unchanged.
 */
export const isThread = (u: unknown): u is Thread.Thread => {
  if (!isObject(u)) return false
  for (const k in u) if (!RECORD_KEYS.has(k)) return false
  return (
    isValidId(u.id) &&
    typeof u.preview === "string" &&
    typeof u.ephemeral === "boolean" &&
    typeof u.model_provider === "string" &&
    timestamp(u.created_at) &&
    timestamp(u.updated_at) &&
    typeof u.status === "string" &&
    STATUSES.has(u.status) &&
    typeof u.cwd === "string" &&
    typeof u.cli_version === "string" &&
    typeof u.source === "string" &&
    SOURCES.has(u.source) &&
    optional(u, "name", isString) &&
    optional(u, "archived", isBoolean) &&
    optional(u, "forked_from", isForkPoint)
  )
}
