import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as Redact from "../src/Redact.js"

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64")
const b64url = (s: string) => Buffer.from(s, "utf8").toString("base64url")

describe("Redact", () => {
  const secret = "sk-live-Zq9/+Ab c&d=é"
  const redact = Redact.make([secret])
  it("clear, URL-encoded and hex forms", () => {
    for (const text of [
      `key=${secret}!`,
      `q=${encodeURIComponent(secret)}`,
      `q=${encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())}`,
      Buffer.from(secret).toString("hex"),
      Buffer.from(secret).toString("hex").toUpperCase()
    ]) {
      const out = redact(text)
      expect(out).toContain("[redacted]")
      expect(out).not.toContain(secret)
    }
  })
  it("base64 and base64url of any text containing the secret, at any offset", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.string({ maxLength: 10 }), FastCheck.string({ maxLength: 10 }), (pre, post) => {
        const plain = `${pre}${secret}${post}`
        for (const encoded of [b64(plain), b64url(plain)]) {
          const out = redact(`output: ${encoded}\n`)
          if (!out.includes("[redacted]")) return false
          // what is left cannot be decoded back to the secret
          const rest = out.replace("output: ", "").split("[redacted]").join("")
          if (Buffer.from(rest, "base64").toString("utf8").includes(secret)) return false
        }
        return true
      }),
      { seed: 14, numRuns: 500 }
    )
  })
  it("the JSON-escaped form: a value holding the secret, rendered as JSON text", () => {
    const quoted = 'pa"ss\\word\n-123'
    const out = Redact.make([quoted])(JSON.stringify({ token: quoted }))
    expect(out).toBe('{"token":"[redacted]"}')
  })
  it("leaves other text alone; short secrets are ignored", () => {
    expect(redact("nothing to see")).toBe("nothing to see")
    expect(Redact.make(["abc"])("abc abc")).toBe("abc abc")
  })
  it("deep: every string of a value, __proto__ stays data", () => {
    const value = JSON.parse(`{"a":["x ${secret}"],"__proto__":{"b":"${secret}"}}`)
    const out = Redact.deep(redact, value) as Record<string, unknown>
    expect(JSON.stringify(out)).not.toContain(secret)
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(Object.keys(out)).toContain("__proto__")
  })
})
