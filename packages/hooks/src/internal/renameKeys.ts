/** @internal */
import type { Common } from "@strata/protocol"

/**
 * Renames an object's keys by `[ours, theirs]` pairs, reading each pair from
 * side `from` (0: ours to theirs, 1: theirs to ours); other keys, and
 * anything that is not an object, pass through.
 */
export const renameKeys = (
  input: Common.JsonValue,
  pairs: ReadonlyArray<readonly [string, string]>,
  from: 0 | 1
): Common.JsonValue => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return input
  const to = from === 0 ? 1 : 0
  const out: Record<string, Common.JsonValue> = {}
  for (const [key, value] of Object.entries(input)) {
    const pair = pairs.find((p) => p[from] === key)
    out[pair === undefined ? key : pair[to]] = value
  }
  return out
}
