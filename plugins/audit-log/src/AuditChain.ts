/**
 * The audit log's hash chain: each line carries `seq` (its 1-based number
 * in the chain) and `prev`, the SHA-256 (hex) of the exact text of the line
 * before it ({@link GENESIS} for the first). Editing, deleting, inserting or
 * reordering a line breaks the chain at the next line; truncating the tail
 * is caught by the head file beside the log (`<log>.head`: the last line's
 * `seq` and hash, replaced atomically after each append).
 *
 * SHA-256 is WebCrypto's (`crypto.subtle`), the same on Node, Bun and Deno.
 *
 * What a chain cannot do: someone who can rewrite the whole file and its
 * head can recompute every hash. The chain makes silent edits by a tool or
 * a model evident; keeping the log where the model cannot write (a
 * protected path) is what keeps it from being rewritten wholesale.
 *
 * Lines written before the chain existed (no `seq` and no `prev`) may only
 * come first; they are counted as `legacy` and the chain starts after them.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"

/**
 * The `prev` of the first line.
 *
 * @since 0.2.0
 * @category constants
 */
export const GENESIS = "0".repeat(64)

// WebCrypto, a global on Node, Bun and Deno; declared here because the build has no DOM lib.
const webCrypto = (
  globalThis as unknown as {
    readonly crypto: { readonly subtle: { digest(algorithm: string, data: Uint8Array): Promise<ArrayBuffer> } }
  }
).crypto

/**
 * The SHA-256 of a line's text (UTF-8), as lowercase hex.
 *
 * @since 0.2.0
 * @category utils
 */
export const hash = (line: string): Effect.Effect<string> =>
  Effect.promise(() => webCrypto.subtle.digest("SHA-256", new TextEncoder().encode(line))).pipe(
    Effect.map((digest) => Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join(""))
  )

/**
 * The head file's content: the last line's number and hash.
 *
 * @since 0.2.0
 * @category models
 */
export interface Head {
  readonly seq: number
  readonly hash: string
}

/**
 * Why verification failed at a line:
 * - `InvalidJson`: the line is not a JSON object (edited, or a torn write);
 * - `Seq`: its `seq` is not the next number (a line deleted, inserted or
 *   moved);
 * - `Prev`: its `prev` is not the hash of the line before (a line edited);
 * - `Legacy`: a line without chain fields after the chain started;
 * - `Truncated`: the log ends before the line its head file records;
 * - `Torn`: the file does not end with a newline.
 *
 * @since 0.2.0
 * @category models
 */
export type BrokenReason = "InvalidJson" | "Seq" | "Prev" | "Legacy" | "Truncated" | "Torn"

/**
 * The result of a verification. `ok`: `lines` in the file, `chained` of them
 * in the chain, `head` the hash of the last line, `anchored` whether a head
 * file confirmed the end. Broken: the first bad `line` (1-based), what was
 * `expected` and what was `found`.
 *
 * @since 0.2.0
 * @category models
 */
export type Verification =
  | {
      readonly ok: true
      readonly lines: number
      readonly chained: number
      readonly legacy: number
      readonly head: string
      readonly anchored: boolean
    }
  | {
      readonly ok: false
      readonly line: number
      readonly reason: BrokenReason
      readonly expected: string
      readonly found: string
      readonly detail: string
    }

const broken = (line: number, reason: BrokenReason, expected: string, found: string, detail: string): Verification => ({
  ok: false,
  line,
  reason,
  expected,
  found,
  detail: `line ${line}: ${detail}`
})

const parse = (text: string): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

const short = (s: string) => (s.length > 80 ? `${s.slice(0, 80)}…` : s)

/**
 * Verifies a log's text (and its head file, when there is one): the first
 * broken line, or how many lines hold.
 *
 * @since 0.2.0
 * @category utils
 */
export const verify = (text: string, head?: Head | undefined): Effect.Effect<Verification> =>
  Effect.gen(function* () {
    if (text === "") {
      if (head !== undefined && head.seq > 0) {
        return broken(
          1,
          "Truncated",
          `${head.seq} chained lines`,
          "an empty log",
          `the log is empty but its head file records ${head.seq} lines`
        )
      }
      return { ok: true, lines: 0, chained: 0, legacy: 0, head: GENESIS, anchored: head !== undefined }
    }
    const lines = text.split("\n")
    const last = lines.pop()!
    if (last !== "") {
      return broken(
        lines.length + 1,
        "Torn",
        "a line ending in a newline",
        short(last),
        "the last line is incomplete (a torn write or a truncation)"
      )
    }
    let prev = GENESIS
    let seq = 0
    let legacy = 0
    const hashes: Array<string> = []
    for (let i = 0; i < lines.length; i++) {
      const n = i + 1
      const raw = lines[i]!
      const entry = parse(raw)
      if (entry === undefined) return broken(n, "InvalidJson", "a JSON object", short(raw), "not a JSON object")
      if (!("seq" in entry) && !("prev" in entry)) {
        if (seq > 0)
          return broken(n, "Legacy", `seq ${seq + 1}`, "no seq/prev", "a line without chain fields inside the chain")
        legacy++
        prev = yield* hash(raw)
        hashes.push(prev)
        continue
      }
      if (entry.seq !== seq + 1) {
        return broken(
          n,
          "Seq",
          String(seq + 1),
          JSON.stringify(entry.seq ?? null),
          `seq should be ${seq + 1}, found ${JSON.stringify(entry.seq ?? null)} (a line was deleted, inserted or moved)`
        )
      }
      if (entry.prev !== prev) {
        return broken(
          n,
          "Prev",
          prev,
          JSON.stringify(entry.prev ?? null),
          `prev should be ${prev} (the hash of line ${n - 1 === 0 ? "0: genesis" : n - 1}), found ${JSON.stringify(entry.prev ?? null)} (a line was changed)`
        )
      }
      seq++
      prev = yield* hash(raw)
      hashes.push(prev)
    }
    if (head !== undefined) {
      if (head.seq > seq) {
        return broken(
          lines.length + 1,
          "Truncated",
          `${head.seq} chained lines (head ${head.hash})`,
          `${seq} chained lines`,
          `the log ends early: its head file records line ${head.seq} of the chain, the log has ${seq}`
        )
      }
      const at = legacy + head.seq
      const recorded = head.seq === 0 ? GENESIS : hashes[at - 1]
      if (recorded !== head.hash) {
        return broken(
          at,
          "Prev",
          head.hash,
          recorded ?? "nothing",
          `the head file records hash ${head.hash} for chain line ${head.seq}, the log has ${recorded}`
        )
      }
    }
    return { ok: true, lines: lines.length, chained: seq, legacy, head: prev, anchored: head !== undefined }
  })

/**
 * Parses a head file's text; `undefined` when it is not one.
 *
 * @since 0.2.0
 * @category utils
 */
export const parseHead = (text: string): Head | undefined => {
  const value = parse(text.trim())
  if (value === undefined) return undefined
  const { seq, hash: h } = value
  return typeof seq === "number" &&
    Number.isInteger(seq) &&
    seq >= 0 &&
    typeof h === "string" &&
    /^[0-9a-f]{64}$/.test(h)
    ? { seq, hash: h }
    : undefined
}
