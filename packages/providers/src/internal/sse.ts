/**
 * An incremental Server-Sent Events parser (WHATWG HTML, "event stream
 * interpretation"): text goes in as it arrives, split anywhere, events come
 * out. Lines end in LF, CRLF or CR; `:` lines are comments (OpenRouter and
 * DeepSeek send keep-alive comments); one leading space after the colon is
 * dropped; several `data:` lines join with LF; an event without data is not
 * dispatched; an unterminated event at the end of the stream is discarded.
 */

export interface SseEvent {
  readonly event: string
  readonly data: string
  readonly id: string | undefined
}

export class SseParser {
  private buffer = ""
  private pendingCR = false
  private data: Array<string> = []
  private eventType = ""
  private lastId: string | undefined = undefined

  /** Feeds text; calls `onEvent` for every complete event, in order. */
  push(text: string, onEvent: (event: SseEvent) => void): void {
    if (text.length === 0) return
    let buf = this.buffer.length === 0 ? text : this.buffer + text
    let start = 0
    if (this.pendingCR) {
      this.pendingCR = false
      if (buf.charCodeAt(0) === 10) start = 1
    }
    const hasCR = buf.indexOf("\r", start) !== -1
    const len = buf.length
    while (start < len) {
      let end = buf.indexOf("\n", start)
      if (hasCR) {
        const cr = buf.indexOf("\r", start)
        if (cr !== -1 && (end === -1 || cr < end)) end = cr
      }
      if (end === -1) break
      this.line(buf, start, end, onEvent)
      if (buf.charCodeAt(end) === 13) {
        if (end + 1 < len) {
          if (buf.charCodeAt(end + 1) === 10) end++
        } else {
          this.pendingCR = true
        }
      }
      start = end + 1
    }
    buf = start >= len ? "" : buf.slice(start)
    this.buffer = buf
  }

  /** The stream ended: an unterminated event is dropped (per the spec). */
  end(): void {
    this.buffer = ""
    this.data = []
    this.eventType = ""
  }

  private line(buf: string, start: number, end: number, onEvent: (event: SseEvent) => void): void {
    if (start === end) {
      if (this.data.length > 0) {
        const data = this.data.length === 1 ? this.data[0]! : this.data.join("\n")
        onEvent({ event: this.eventType === "" ? "message" : this.eventType, data, id: this.lastId })
      }
      this.data = []
      this.eventType = ""
      return
    }
    const first = buf.charCodeAt(start)
    if (first === 58 /* : */) return
    const colon = buf.indexOf(":", start)
    let field: string
    let value: string
    if (colon === -1 || colon >= end) {
      field = buf.slice(start, end)
      value = ""
    } else {
      field = buf.slice(start, colon)
      let v = colon + 1
      if (v < end && buf.charCodeAt(v) === 32) v++
      value = buf.slice(v, end)
    }
    switch (field) {
      case "data":
        this.data.push(value)
        break
      case "event":
        this.eventType = value
        break
      case "id":
        if (!value.includes("\u0000")) this.lastId = value
        break
      default:
        // `retry` and unknown fields are ignored.
        break
    }
  }
}

/** Splits newline-delimited JSON text into lines, across chunk borders. */
export class LineSplitter {
  private buffer = ""

  push(text: string, onLine: (line: string) => void): void {
    const buf = this.buffer.length === 0 ? text : this.buffer + text
    let start = 0
    for (;;) {
      const end = buf.indexOf("\n", start)
      if (end === -1) break
      const line = buf.slice(start, buf.charCodeAt(end - 1) === 13 ? end - 1 : end)
      if (line.trim().length > 0) onLine(line)
      start = end + 1
    }
    this.buffer = start >= buf.length ? "" : buf.slice(start)
  }

  /** The stream ended: a last line without a newline still counts. */
  end(onLine: (line: string) => void): void {
    const rest = this.buffer
    this.buffer = ""
    if (rest.trim().length > 0) onLine(rest)
  }
}
