/**
 * Token constructors of the analysis and the clipping of source quoted in a
 * reason's message.
 *
 * @internal
 */
import type { Tok } from "./model.js"
import { regexEscape } from "./words.js"

export const lit = (value: string, text: string): Tok => ({ value, text, pattern: undefined, why: undefined })
export const dyn = (text: string, why: string): Tok => ({ value: undefined, text, pattern: undefined, why })

/** Joins two pieces of one word the grammar split apart. */
export const joinTok = (a: Tok, b: Tok, text: string): Tok => {
  if (a.value !== undefined && b.value !== undefined) return lit(a.value + b.value, text)
  const pa = a.value !== undefined ? regexEscape(a.value) : a.pattern
  const pb = b.value !== undefined ? regexEscape(b.value) : b.pattern
  if (pa !== undefined && pb !== undefined && a.why !== "process substitution" && b.why !== "process substitution") {
    return { value: undefined, text, pattern: pa + pb, why: "glob" }
  }
  return dyn(text, a.why ?? b.why ?? "computed at run time")
}

/** Shortens a piece of source for a reason's message. */
export const clip = (s: string): string => (s.length > 60 ? `${s.slice(0, 57)}...` : s)
