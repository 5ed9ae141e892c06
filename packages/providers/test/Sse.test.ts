import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { LineSplitter, type SseEvent, SseParser } from "../src/internal/sse.js"

const parse = (pieces: ReadonlyArray<string>): Array<SseEvent> => {
  const parser = new SseParser()
  const events: Array<SseEvent> = []
  for (const piece of pieces) parser.push(piece, (e) => events.push(e))
  parser.end()
  return events
}

const splitAt = (text: string, cuts: ReadonlyArray<number>): Array<string> => {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b)
  const out: Array<string> = []
  let last = 0
  for (const p of points) {
    out.push(text.slice(last, p))
    last = p
  }
  out.push(text.slice(last))
  return out
}

describe("SseParser", () => {
  it("parses events, names, comments, multi-line data and the one optional space", () => {
    const events = parse([
      ': keep-alive\n\nevent: message_start\ndata: {"a":1}\n\ndata:no-space\ndata:  two spaces\n\nid: 7\ndata: x\n\n'
    ])
    expect(events).toEqual([
      { event: "message_start", data: '{"a":1}', id: undefined },
      { event: "message", data: "no-space\n two spaces", id: undefined },
      { event: "message", data: "x", id: "7" }
    ])
  })

  it("accepts LF, CRLF and CR line endings, even split between \\r and \\n", () => {
    expect(parse(["data: a\r\n\r\ndata: b\r\rdata: c\n\n"]).map((e) => e.data)).toEqual(["a", "b", "c"])
    expect(parse(["data: a\r", "\n\r", "\ndata: b\r\n\r\n"]).map((e) => e.data)).toEqual(["a", "b"])
  })

  it("does not dispatch an event without data, and drops an unterminated one at the end", () => {
    expect(parse(["event: ping\n\n", "data: tail"])).toEqual([])
  })

  it("gives the same events however the text is split (property)", () => {
    const event = FastCheck.record({
      event: FastCheck.option(FastCheck.stringMatching(/^[a-z_]{1,12}$/), { nil: undefined }),
      data: FastCheck.array(
        FastCheck.string().filter((s) => !/[\r\n]/.test(s)),
        { minLength: 1, maxLength: 3 }
      )
    })
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(event, { maxLength: 6 }),
        FastCheck.constantFrom("\n", "\r\n", "\r"),
        FastCheck.array(FastCheck.nat(), { maxLength: 10 }),
        (events, eol, cuts) => {
          const text = events
            .map(
              (e) =>
                `: comment${eol}${e.event === undefined ? "" : `event: ${e.event}${eol}`}${e.data
                  .map((d) => `data: ${d}${eol}`)
                  .join("")}${eol}`
            )
            .join("")
          const expected = events.map((e) => ({ event: e.event ?? "message", data: e.data.join("\n"), id: undefined }))
          expect(parse(splitAt(text, cuts))).toEqual(expected)
        }
      )
    )
  })
})

describe("LineSplitter", () => {
  it("splits NDJSON across chunks, skips blank lines, keeps a last unterminated line", () => {
    const lines: Array<string> = []
    const splitter = new LineSplitter()
    for (const piece of ['{"a"', ":1}\r\n\n", '{"b":2}\n{"c"', ":3}"]) splitter.push(piece, (l) => lines.push(l))
    splitter.end((l) => lines.push(l))
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}'])
  })
})
