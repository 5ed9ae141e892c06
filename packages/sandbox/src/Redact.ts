/**
 * Redaction of secrets from text that leaves a tool (its output, its error
 * text) before it is journaled or shown to the model: each secret in clear
 * and in the encodings a command can produce in one step.
 *
 * - clear text;
 * - base64 and base64url, at each of the three byte alignments a secret can
 *   have inside a longer encoded text (the characters that depend on the
 *   secret's bytes alone are matched, so `base64 <<< "x=$KEY"` is caught);
 * - URL encoding (`encodeURIComponent`, upper- and lower-case escapes, `+`
 *   for spaces);
 * - hex (lower and upper case);
 * - JSON string escaping (a secret with a quote, a backslash or a control
 *   character, inside a value a tool returned and the runtime rendered as
 *   JSON text).
 *
 * What it does not promise: a secret transformed otherwise (reversed,
 * split, compressed, encrypted) passes. Redaction is the last line; the
 * environment policy keeps secrets out of tool processes in the first place.
 *
 * @since 0.1.0
 */

const MARK = "[redacted]"

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

const toBase64 = (bytes: Uint8Array): string => {
  let binary = ""
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary)
}

const hex = (bytes: Uint8Array): string => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")

/**
 * The base64 fragments that appear in any base64 text that encodes
 * `secret` (one per byte alignment), in standard and url-safe alphabets.
 */
const base64Forms = (secret: Uint8Array): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (let k = 0; k < 3; k++) {
    const padded = new Uint8Array(k + secret.length)
    padded.set(secret, k)
    const encoded = toBase64(padded).replace(/=+$/, "")
    const start = Math.ceil((8 * k) / 6)
    const end = Math.floor((8 * (k + secret.length)) / 6)
    const core = encoded.slice(start, end)
    if (core.length >= 6) {
      out.push(core)
      out.push(core.replace(/\+/g, "-").replace(/\//g, "_"))
    }
  }
  return out
}

const urlForms = (secret: string): ReadonlyArray<string> => {
  const encoded = encodeURIComponent(secret)
  if (encoded === secret) return []
  const lower = encoded.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())
  const form = encoded.replace(/%20/g, "+")
  return [encoded, lower, form]
}

/**
 * Every string `secret` is redacted as.
 *
 * @since 0.1.0
 * @category utils
 */
export const forms = (secret: string): ReadonlyArray<string> => {
  const bytes = utf8(secret)
  const h = hex(bytes)
  const json = JSON.stringify(secret).slice(1, -1)
  return [...new Set([secret, json, ...base64Forms(bytes), ...urlForms(secret), h, h.toUpperCase()])].filter(
    (f) => f.length > 0
  )
}

/**
 * A function that replaces every form of every secret in a text by
 * `[redacted]`. Secrets shorter than `minLength` (default 6) are ignored:
 * they would redact ordinary words.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  secrets: ReadonlyArray<string>,
  options: { readonly minLength?: number | undefined } = {}
): ((text: string) => string) => {
  const min = options.minLength ?? 6
  const needles = [...new Set(secrets.filter((s) => s.length >= min).flatMap(forms))].sort(
    (a, b) => b.length - a.length
  )
  if (needles.length === 0) return (text) => text
  return (text) => {
    let out = text
    for (const needle of needles) if (out.includes(needle)) out = out.split(needle).join(MARK)
    return out
  }
}

/**
 * Applies `redact` to every string inside a JSON-like value.
 *
 * @since 0.1.0
 * @category utils
 */
export const deep = <A>(redact: (text: string) => string, value: A): A => {
  if (typeof value === "string") return redact(value) as A
  if (Array.isArray(value)) return value.map((v) => deep(redact, v)) as A
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {}
    // defineProperty: a "__proto__" key stays a plain key, never a prototype change
    for (const [k, v] of Object.entries(value))
      Object.defineProperty(out, k, { value: deep(redact, v), enumerable: true, writable: true, configurable: true })
    return out as A
  }
  return value
}
