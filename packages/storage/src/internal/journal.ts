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
 * The committed journal ends after the last valid frame with the COMMIT
 * flag. What may follow it is a *torn tail*, left by an append that never
 * finished (never acknowledged):
 *
 * - whole, valid frames without a COMMIT after them (an unfinished append);
 * - then at most a strict prefix of a frame: its header bytes as far as they
 *   go are well formed and it is cut short before its end (a payload never
 *   holds a raw newline, so a prefix has none; a frame whose bytes run past
 *   a newline has a length that lies);
 * - or zero bytes (what a power cut can leave after a file was extended).
 *
 * Anything else is corruption: a whole frame with a bad checksum (a flipped
 * byte anywhere in a frame, the last committed one included), a bad magic,
 * a header that is not hex, bytes that are no frame. Corruption is reported
 * as `CorruptJournal` at the offset of the first bad frame and never
 * repaired; only a torn tail is truncated, and only by a writer holding the
 * thread's lock (readers ignore it).
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
/** The value of each byte as a lower-case hex digit, or -1. */
const HEX_VALUE = (() => {
  const t = new Int8Array(256).fill(-1)
  for (let c = 48; c <= 57; c++) t[c] = c - 48
  for (let c = 97; c <= 102; c++) t[c] = c - 87
  return t
})()

const readHex = (buf: Uint8Array, off: number, digits: number): number => {
  let v = 0
  for (let i = 0; i < digits; i++) {
    const d = HEX_VALUE[buf[off + i]!]!
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

/** What is at `off` in `buf[.., end)`. */
export type FrameCheck =
  | { readonly _tag: "Frame"; readonly end: number }
  /** Cut short at `end`: a well-formed prefix of a frame `length` bytes long (`OVERHEAD` when the header is cut). */
  | { readonly _tag: "Partial"; readonly length: number }
  | { readonly _tag: "Bad"; readonly detail: string }

const isHex = (c: number | undefined) => c !== undefined && ((c >= 48 && c <= 57) || (c >= 97 && c <= 102))

/** Whether the header bytes in `buf[off, min(end, off + HEADER))` are well formed as far as they go. */
const headerPrefixOk = (buf: Uint8Array, off: number, end: number): boolean => {
  const stop = Math.min(end, off + HEADER)
  for (let i = off; i < stop; i++) {
    const at = i - off
    const c = buf[i]
    if (at === 0 ? c !== S : at === 1 ? c !== J : at === 29 ? c !== SPACE : !isHex(c)) return false
  }
  return true
}

/**
 * Checks the frame at `off`, looking at no byte at or after `end`: a whole
 * valid frame (with its checksum verified when `verifyCrc`), a well-formed
 * prefix cut short at `end`, or bad.
 */
export const checkFrame = (buf: Uint8Array, off: number, end: number, verifyCrc: boolean): FrameCheck => {
  const next = frameEnd(buf, off, end, verifyCrc)
  return next > 0 ? { _tag: "Frame", end: next } : classify(buf, off, end, verifyCrc)
}

/**
 * The end of the whole valid frame at `off`, or -1 when there is none (the
 * common case, without allocating: see `classify` for why not).
 */
const frameEnd = (buf: Uint8Array, off: number, end: number, verifyCrc: boolean): number => {
  if (end - off < OVERHEAD || buf[off] !== S || buf[off + 1] !== J || buf[off + 29] !== SPACE) return -1
  const len = readHex(buf, off + 13, 8)
  if (len <= 0 || len > MAX_PAYLOAD) return -1
  const next = off + OVERHEAD + len
  if (next > end || buf[next - 1] !== NEWLINE) return -1
  if (verifyCrc) {
    const crc = readHex(buf, off + 2, 8)
    if (crc < 0 || crc !== crc32(buf, off + 10, next)) return -1
  }
  return next
}

/** Why there is no whole valid frame at `off`: a well-formed prefix cut short at `end`, or bad. */
const classify = (buf: Uint8Array, off: number, end: number, verifyCrc: boolean): FrameCheck => {
  if (!headerPrefixOk(buf, off, end)) return { _tag: "Bad", detail: "not a frame header" }
  if (end - off < HEADER) return { _tag: "Partial", length: OVERHEAD }
  const len = readHex(buf, off + 13, 8)
  if (len <= 0 || len > MAX_PAYLOAD) return { _tag: "Bad", detail: `bad payload length ${len}` }
  const next = off + OVERHEAD + len
  if (next > end) {
    // A prefix has no newline: one inside means the length field lies.
    const nl = buf.subarray(off + HEADER, end).indexOf(NEWLINE)
    return nl === -1
      ? { _tag: "Partial", length: OVERHEAD + len }
      : { _tag: "Bad", detail: "the frame ends before its stated length" }
  }
  if (buf[next - 1] !== NEWLINE) return { _tag: "Bad", detail: "the frame does not end where its length says" }
  if (verifyCrc) return { _tag: "Bad", detail: "checksum mismatch" }
  return { _tag: "Frame", end: next }
}

export const seqAt = (buf: Uint8Array, off: number) => readHex(buf, off + 21, 8)
export const flagsAt = (buf: Uint8Array, off: number) => readHex(buf, off + 12, 1)
export const versionAt = (buf: Uint8Array, off: number) => readHex(buf, off + 10, 2)

/** Whether `buf[from, to)` is all zero bytes (four at a time where aligned). */
export const isZeros = (buf: Uint8Array, from: number, to: number): boolean => {
  let i = from
  while (i < to && (buf.byteOffset + i) % 4 !== 0) if (buf[i++] !== 0) return false
  const words = Math.floor((to - i) / 4)
  const w = new Uint32Array(buf.buffer, buf.byteOffset + i, words)
  for (let k = 0; k < words; k++) if (w[k] !== 0) return false
  for (let j = i + words * 4; j < to; j++) if (buf[j] !== 0) return false
  return true
}

/** The whole length of the frame at `off` (its header must be in `buf`), or 0 when unreadable. */
export const frameLength = (buf: Uint8Array, off: number): number => {
  const len = readHex(buf, off + 13, 8)
  return len < 0 ? 0 : OVERHEAD + len
}

/**
 * The state of a scan, carried from one window of the file to the next.
 * Offsets are absolute (from the start of the file).
 */
export interface Scan {
  /** The next frame starts here. */
  offset: number
  /** The seq of the last whole frame seen (committed or not). */
  seq: number
  /** End and last seq of the committed journal. */
  committedEnd: number
  committedSeq: number
  /** `index[k]` is the offset of the frame with seq `k * STRIDE + 1` (committed frames only). */
  readonly index: Array<number>
  /** Index entries of frames seen after the last COMMIT. */
  pendingIndex: Array<number>
}

export const startScan = (from?: {
  readonly end: number
  readonly seq: number
  readonly index: ReadonlyArray<number>
}): Scan => ({
  offset: from?.end ?? 0,
  seq: from?.seq ?? 0,
  committedEnd: from?.end ?? 0,
  committedSeq: from?.seq ?? 0,
  index: [...(from?.index ?? [])],
  pendingIndex: []
})

/** Why a scan stopped inside a window. */
export type Stop =
  /** Every byte of the window was a whole frame. */
  | { readonly _tag: "End" }
  /** The frame at `scan.offset` continues past the window: read at least `length` bytes from there. */
  | { readonly _tag: "More"; readonly length: number }
  /** The bytes at `scan.offset` are not a frame (a torn tail if only zeros follow, else corruption). */
  | { readonly _tag: "Bad"; readonly detail: string }

/**
 * Advances `scan` over the whole frames of `buf`, which holds the file's
 * bytes from `base` on (`buf[0]` is at `base`, and `scan.offset >= base`).
 * `onFrame(version, seq, payloadStart, payloadEnd, offset)` gets every whole
 * valid frame (offsets relative to `buf`, `offset` absolute), committed or
 * not; `onCommit(seq)` follows each frame with the COMMIT flag.
 */
export const scanWindow = (
  scan: Scan,
  buf: Uint8Array,
  base: number,
  verifyCrc: boolean,
  onFrame?: (version: number, seq: number, payloadStart: number, payloadEnd: number, offset: number) => void,
  onCommit?: (seq: number) => void
): Stop => {
  const end = buf.length
  let off = scan.offset - base
  while (off < end) {
    let next = frameEnd(buf, off, end, verifyCrc)
    if (next < 0) {
      const check = classify(buf, off, end, verifyCrc)
      if (check._tag === "Partial") {
        scan.offset = base + off
        return { _tag: "More", length: check.length }
      }
      if (check._tag === "Bad") {
        scan.offset = base + off
        return check
      }
      next = check.end
    }
    const frameSeq = seqAt(buf, off)
    if (frameSeq !== scan.seq + 1) {
      scan.offset = base + off
      return { _tag: "Bad", detail: `expected seq ${scan.seq + 1}, found ${frameSeq}` }
    }
    if (scan.seq % STRIDE === 0) scan.pendingIndex.push(base + off)
    scan.seq = frameSeq
    onFrame?.(versionAt(buf, off), frameSeq, off + HEADER, next - 1, base + off)
    const commit = (flagsAt(buf, off) & FLAG_COMMIT) !== 0
    off = next
    if (commit) {
      scan.committedEnd = base + off
      scan.committedSeq = frameSeq
      for (const i of scan.pendingIndex) scan.index.push(i)
      scan.pendingIndex = []
      onCommit?.(frameSeq)
    }
  }
  scan.offset = base + off
  return { _tag: "End" }
}

/** The verdict on a whole journal (or on its bytes after a known committed part). */
export interface Verdict {
  /** End and last seq of the committed journal. */
  readonly committedEnd: number
  readonly committedSeq: number
  readonly index: ReadonlyArray<number>
  /** Bytes after the committed end that are a torn tail (to be truncated by a writer). */
  readonly tail: number
  /** The first bad frame, when the bytes are not a journal with a torn tail. */
  readonly corrupt?: { readonly offset: number; readonly detail: string }
}

/**
 * The verdict on a scan that reached the end of the file (`size` bytes):
 * `stop` is how the last window ended, `zerosToEnd` whether every byte from
 * `scan.offset` to the end is zero (only asked for a bad frame).
 */
export const verdict = (scan: Scan, stop: Stop, size: number, zerosToEnd: () => boolean): Verdict => {
  const ok = { committedEnd: scan.committedEnd, committedSeq: scan.committedSeq, index: scan.index }
  if (stop._tag === "Bad" && !zerosToEnd()) {
    return { ...ok, tail: 0, corrupt: { offset: scan.offset, detail: stop.detail } }
  }
  return { ...ok, tail: size - scan.committedEnd }
}

/** Scans a whole journal held in memory (see the module comment). */
export const scanBuffer = (buf: Uint8Array): Verdict => {
  const scan = startScan()
  const stop = scanWindow(scan, buf, 0, true)
  return verdict(scan, stop, buf.length, () => isZeros(buf, scan.offset, buf.length))
}
