/**
 * The file-system journal format: a sequence of framed records.
 *
 * ```
 * offset size
 *  0     2    magic "SJ" (0x53 0x4a)
 *  2     1    schema version of the payload
 *  3     1    flags: bit 0 = COMMIT (last frame of one append call)
 *  4     4    payload length in bytes (u32 little endian, 1..MAX_PAYLOAD)
 *  8     4    sequence number (u32 little endian)
 * 12     4    CRC-32 of bytes 2..12 followed by the payload
 * 16     n    payload: the event frame as UTF-8 JSON
 * ```
 *
 * On open the journal is scanned. The committed journal ends after the last
 * valid frame with the COMMIT flag. Whatever follows is a torn tail (an
 * append cut short by a crash, never acknowledged) when no valid frame can be
 * found after it, and is truncated; when a valid frame does follow, the
 * damage is in the middle and the scan reports it (never dropping data).
 */
import { crc32 } from "./crc32.js"

export const HEADER = 16
export const MAGIC0 = 0x53
export const MAGIC1 = 0x4a
export const FLAG_COMMIT = 1
export const MAX_PAYLOAD = 64 * 1024 * 1024
export const MAX_SEQ = 0xffffffff
/** One index entry every STRIDE frames. */
export const STRIDE = 256

const encoder = new TextEncoder()

/** Encodes frames (and their offsets); `commit(i)` marks the frames that end an append call. */
export const encodeFrames = (
  payloads: ReadonlyArray<string>,
  firstSeq: number,
  version: number,
  commit: (i: number) => boolean
): { readonly bytes: Uint8Array; readonly offsets: ReadonlyArray<number> } => {
  const bytes = payloads.map((p) => encoder.encode(p))
  let total = 0
  for (const b of bytes) total += HEADER + b.length
  const out = new Uint8Array(total)
  const view = new DataView(out.buffer)
  const offsets = new Array<number>(bytes.length)
  let off = 0
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!
    offsets[i] = off
    out[off] = MAGIC0
    out[off + 1] = MAGIC1
    out[off + 2] = version
    out[off + 3] = commit(i) ? FLAG_COMMIT : 0
    view.setUint32(off + 4, b.length, true)
    view.setUint32(off + 8, firstSeq + i, true)
    out.set(b, off + HEADER)
    view.setUint32(off + 12, crc32(out, off + HEADER, off + HEADER + b.length, crc32(out, off + 2, off + 12)), true)
    off += HEADER + b.length
  }
  return { bytes: out, offsets }
}

/** Why a frame at some offset is not valid, or its end offset when it is. */
const checkFrame = (buf: Uint8Array, view: DataView, off: number, verifyCrc: boolean): number | string => {
  const n = buf.length
  if (n - off < HEADER) return "truncated header"
  if (buf[off] !== MAGIC0 || buf[off + 1] !== MAGIC1) return "bad magic"
  const len = view.getUint32(off + 4, true)
  if (len === 0 || len > MAX_PAYLOAD) return `bad length ${len}`
  const end = off + HEADER + len
  if (end > n) return "truncated payload"
  if (verifyCrc && crc32(buf, off + HEADER, end, crc32(buf, off + 2, off + 12)) !== view.getUint32(off + 12, true)) {
    return "checksum mismatch"
  }
  return end
}

/** Whether any valid frame starts after `from`. */
const validFrameAfter = (buf: Uint8Array, view: DataView, from: number): boolean => {
  for (let i = buf.indexOf(MAGIC0, from); i !== -1 && i + HEADER <= buf.length; i = buf.indexOf(MAGIC0, i + 1)) {
    if (buf[i + 1] === MAGIC1 && typeof checkFrame(buf, view, i, true) === "number") return true
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
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
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
    const end = checkFrame(buf, view, off, true)
    if (typeof end === "string") {
      if (validFrameAfter(buf, view, off + 1)) return damaged(off, end)
      break
    }
    const frameSeq = view.getUint32(off + 8, true)
    if (frameSeq !== seq + 1) return damaged(off, `expected seq ${seq + 1}, found ${frameSeq}`)
    if (seq % STRIDE === 0) index.push(off)
    seq++
    const flags = buf[off + 3]!
    off = end
    if (flags & FLAG_COMMIT) {
      size = off
      lastSeq = seq
      committedIndex = index.length
    }
  }
  return { size, lastSeq, index: index.slice(0, committedIndex), tail: buf.length - size }
}

/**
 * Calls `onFrame` for every frame of `buf[start, end)` (which must hold
 * whole frames, e.g. the committed part of a journal), checking each
 * checksum when `verifyCrc`. Returns the offset reached: `end` when every
 * frame was whole and valid, less when a frame is cut at `end` (read more),
 * or the reason the frame at that offset is bad.
 */
export const forEachFrame = (
  buf: Uint8Array,
  start: number,
  end: number,
  verifyCrc: boolean,
  onFrame: (version: number, seq: number, payloadStart: number, payloadEnd: number, offset: number) => boolean
): { readonly offset: number; readonly error?: string } => {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const slice = end === buf.length ? buf : buf.subarray(0, end)
  let off = start
  while (off < end) {
    const next = checkFrame(slice, view, off, verifyCrc)
    if (typeof next === "string") {
      if (next === "truncated header" || next === "truncated payload") return { offset: off }
      return { offset: off, error: next }
    }
    if (!onFrame(buf[off + 2]!, view.getUint32(off + 8, true), off + HEADER, next, off)) return { offset: next }
    off = next
  }
  return { offset: off }
}

/** The payload length of the frame at `off` (its header must be in `buf`). */
export const frameLength = (buf: Uint8Array, off: number): number =>
  HEADER + new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(off + 4, true)
