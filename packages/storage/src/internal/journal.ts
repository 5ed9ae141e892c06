/**
 * The file-system journal format: a sequence of framed records, all 7-bit
 * ASCII, one per line.
 *
 * ```
 * offset  size
 *  0      2    magic "SJ"
 *  2      8    CRC-32 of bytes 10 .. 31+n (the rest of the frame), 8 lower-case hex digits
 * 10      2    schema version of the payload, 2 hex digits
 * 12      1    flags, 1 hex digit: bit 0 = COMMIT (last frame of one append call)
 * 13      8    payload length n in bytes, 8 hex digits (1 .. MAX_PAYLOAD)
 * 21      8    sequence number, 8 hex digits
 * 29      1    " "
 * 30      n    payload: the event frame as JSON, non-ASCII characters \u-escaped
 * 30+n    1    "\n"
 * ```
 *
 * Being ASCII, a whole chunk of journal decodes to a string in one call and
 * each payload is a slice of it, which is what makes reading a journal about
 * as fast as reading JSONL (and `cut -c31- journal` is JSONL).
 *
 * On open the journal is scanned. The committed journal ends after the last
 * valid frame with the COMMIT flag. Whatever follows is a torn tail (an
 * append cut short by a crash, never acknowledged) when no valid frame can be
 * found after it, and is truncated; when a valid frame does follow, the
 * damage is in the middle and the scan reports it (never dropping data).
 */
import { crc32 } from "./crc32.js"

export const HEADER = 30
/** Header plus the trailing newline. */
export const OVERHEAD = HEADER + 1
export const FLAG_COMMIT = 1
export const MAX_PAYLOAD = 64 * 1024 * 1024
export const MAX_SEQ = 0xffffffff
/** One index entry every STRIDE frames. */
export const STRIDE = 256

const S = 0x53
const J = 0x4a
const SPACE = 0x20
const NEWLINE = 0x0a

const encoder = new TextEncoder()

const NON_ASCII = /[\u0080-\uffff]/g
const escapeChar = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`

/**
 * The same JSON text with every non-ASCII character written as a `\uXXXX`
 * escape (surrogate pairs as two escapes): `JSON.parse` reads it back
 * identically, and its UTF-8 bytes are its characters.
 */
export const asciiJson = (json: string): string =>
  /[^\u0000-\u007f]/.test(json) ? json.replace(NON_ASCII, escapeChar) : json

const HEX = "0123456789abcdef"

const writeHex = (out: Uint8Array, off: number, value: number, digits: number) => {
  for (let i = digits - 1; i >= 0; i--) {
    out[off + i] = HEX.charCodeAt(value % 16)
    value = Math.floor(value / 16)
  }
}

/** The value of `digits` lower-case hex digits at `off`, or -1. */
const readHex = (buf: Uint8Array, off: number, digits: number): number => {
  let v = 0
  for (let i = 0; i < digits; i++) {
    const c = buf[off + i]!
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1
    if (d < 0) return -1
    v = v * 16 + d
  }
  return v
}

/** Encodes frames (and their offsets); `commit(i)` marks the frames that end an append call. */
export const encodeFrames = (
  payloads: ReadonlyArray<string>,
  firstSeq: number,
  version: number,
  commit: (i: number) => boolean
): { readonly bytes: Uint8Array; readonly offsets: ReadonlyArray<number> } => {
  const bytes = payloads.map((p) => encoder.encode(asciiJson(p)))
  let total = 0
  for (const b of bytes) total += OVERHEAD + b.length
  const out = new Uint8Array(total)
  const offsets = new Array<number>(bytes.length)
  let off = 0
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!
    offsets[i] = off
    out[off] = S
    out[off + 1] = J
    writeHex(out, off + 10, version, 2)
    writeHex(out, off + 12, commit(i) ? FLAG_COMMIT : 0, 1)
    writeHex(out, off + 13, b.length, 8)
    writeHex(out, off + 21, firstSeq + i, 8)
    out[off + 29] = SPACE
    out.set(b, off + HEADER)
    out[off + HEADER + b.length] = NEWLINE
    writeHex(out, off + 2, crc32(out, off + 10, off + OVERHEAD + b.length), 8)
    off += OVERHEAD + b.length
  }
  return { bytes: out, offsets }
}

/** Why the frame at `off` is not valid, or its end offset when it is. */
const checkFrame = (buf: Uint8Array, end: number, off: number, verifyCrc: boolean): number | string => {
  if (end - off < OVERHEAD) return "truncated header"
  if (buf[off] !== S || buf[off + 1] !== J) return "bad magic"
  const len = readHex(buf, off + 13, 8)
  if (len <= 0 || len > MAX_PAYLOAD || buf[off + 29] !== SPACE) return "bad header"
  const next = off + OVERHEAD + len
  if (next > end) return "truncated payload"
  if (buf[next - 1] !== NEWLINE) return "bad frame end"
  if (verifyCrc) {
    const crc = readHex(buf, off + 2, 8)
    if (crc < 0 || crc !== crc32(buf, off + 10, next)) return "checksum mismatch"
  }
  return next
}

const seqAt = (buf: Uint8Array, off: number) => readHex(buf, off + 21, 8)
const flagsAt = (buf: Uint8Array, off: number) => readHex(buf, off + 12, 1)
const versionAt = (buf: Uint8Array, off: number) => readHex(buf, off + 10, 2)

/** Whether any valid frame starts after `from`. */
const validFrameAfter = (buf: Uint8Array, from: number): boolean => {
  for (let i = buf.indexOf(S, from); i !== -1 && i + OVERHEAD <= buf.length; i = buf.indexOf(S, i + 1)) {
    if (buf[i + 1] === J && typeof checkFrame(buf, buf.length, i, true) === "number") return true
  }
  return false
}

export interface ScanResult {
  /** End of the committed journal. */
  readonly size: number
  readonly lastSeq: number
  /** `index[k]` is the offset of the frame with seq `k * STRIDE + 1`. */
  readonly index: ReadonlyArray<number>
  /** Bytes after `size` (a torn tail or an unfinished append), to truncate. */
  readonly tail: number
  readonly corrupt?: { readonly offset: number; readonly detail: string }
}

/** Scans a whole journal (see the module comment). */
export const scan = (buf: Uint8Array): ScanResult => {
  const index: Array<number> = []
  let off = 0
  let seq = 0
  let size = 0
  let lastSeq = 0
  let committedIndex = 0
  const damaged = (offset: number, detail: string): ScanResult => ({
    size,
    lastSeq,
    index: index.slice(0, committedIndex),
    tail: 0,
    corrupt: { offset, detail }
  })
  while (off < buf.length) {
    const next = checkFrame(buf, buf.length, off, true)
    if (typeof next === "string") {
      if (validFrameAfter(buf, off + 1)) return damaged(off, next)
      break
    }
    const frameSeq = seqAt(buf, off)
    if (frameSeq !== seq + 1) return damaged(off, `expected seq ${seq + 1}, found ${frameSeq}`)
    if (seq % STRIDE === 0) index.push(off)
    seq++
    const flags = flagsAt(buf, off)
    off = next
    if (flags & FLAG_COMMIT) {
      size = off
      lastSeq = seq
      committedIndex = index.length
    }
  }
  return { size, lastSeq, index: index.slice(0, committedIndex), tail: buf.length - size }
}

/**
 * Calls `onFrame` for every frame of `buf[start, end)`, checking each
 * checksum when `verifyCrc`. Returns the offset reached: `end` when every
 * frame was whole and valid, less when a frame is cut at `end` (read more),
 * or the reason the frame at that offset is bad. `onFrame` returns false to
 * stop.
 */
export const forEachFrame = (
  buf: Uint8Array,
  start: number,
  end: number,
  verifyCrc: boolean,
  onFrame: (version: number, seq: number, payloadStart: number, payloadEnd: number, offset: number) => boolean
): { readonly offset: number; readonly error?: string } => {
  let off = start
  while (off < end) {
    const next = checkFrame(buf, end, off, verifyCrc)
    if (typeof next === "string") {
      if (next === "truncated header" || next === "truncated payload") return { offset: off }
      return { offset: off, error: next }
    }
    if (!onFrame(versionAt(buf, off), seqAt(buf, off), off + HEADER, next - 1, off)) return { offset: next }
    off = next
  }
  return { offset: off }
}

/** The whole length of the frame at `off` (its header must be in `buf`), or 0 when unreadable. */
export const frameLength = (buf: Uint8Array, off: number): number => {
  const len = readHex(buf, off + 13, 8)
  return len < 0 ? 0 : OVERHEAD + len
}
