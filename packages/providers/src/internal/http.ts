import type { Ids as IdsT } from "@strata/protocol"
import * as Ids from "@strata/protocol/Ids"
import type { Model } from "../ModelRegistry.js"
import { ProviderError, type ProviderErrorReason } from "../ProviderError.js"

/** What every error needs: who, and the secret to scrub from provider text. */
export interface ErrorContext {
  readonly model: Model
  readonly secret: string | undefined
}

const MAX_DETAIL = 500

/** Removes the API key from text that came back from a provider (some echo it), and shortens it. */
export const scrub = (text: string, secret: string | undefined): string => {
  let out = text
  if (secret !== undefined && secret.length > 0) out = out.split(secret).join("[redacted]")
  out = out.replace(/\s+/g, " ").trim()
  return out.length > MAX_DETAIL ? `${out.slice(0, MAX_DETAIL)}...` : out
}

export const providerError = (
  ctx: ErrorContext,
  reason: ProviderErrorReason,
  extra: {
    readonly status?: number | undefined
    readonly retry_after_ms?: number | undefined
    readonly phase?: "connect" | "first_token" | "idle" | undefined
    readonly detail?: string | undefined
  } = {}
): ProviderError =>
  new ProviderError({
    reason,
    provider: ctx.model.provider.id,
    model: ctx.model.id,
    ...(extra.status === undefined ? {} : { status: extra.status }),
    ...(extra.retry_after_ms === undefined ? {} : { retry_after_ms: extra.retry_after_ms }),
    ...(extra.phase === undefined ? {} : { phase: extra.phase }),
    ...(extra.detail === undefined ? {} : { detail: scrub(extra.detail, ctx.secret) })
  })

/**
 * `retry-after-ms` (OpenAI, milliseconds), then `retry-after` (seconds or
 * an HTTP date), in milliseconds.
 */
export const parseRetryAfter = (
  headers: Readonly<Record<string, string | undefined>>,
  now: number = Date.now()
): number | undefined => {
  const ms = headers["retry-after-ms"]
  if (ms !== undefined && ms.trim() !== "") {
    const n = Number(ms)
    if (Number.isFinite(n) && n >= 0) return Math.round(n)
  }
  const value = headers["retry-after"]
  if (value === undefined || value.trim() === "") return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000)
  const date = Date.parse(value)
  if (Number.isFinite(date)) return Math.max(0, date - now)
  return undefined
}

const contextTooLong =
  /context[ _-]?length|context window|maximum context|prompt is too long|too many tokens|input is too long|exceeds? the (?:model'?s? )?(?:maximum|context)|reduce the length/i

/** Pulls `{ message, type, code }` out of the error bodies of all three wire formats. */
export const errorBody = (text: string): { message: string; type: string; code: string } => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return { message: text, type: "", code: "" }
  }
  const pick = (u: unknown): { message: string; type: string; code: string } => {
    if (typeof u === "string") return { message: u, type: "", code: "" }
    if (typeof u !== "object" || u === null) return { message: text, type: "", code: "" }
    const o = u as Record<string, unknown>
    if ("error" in o && o.error !== undefined && o.error !== null) {
      const inner = pick(o.error)
      // Anthropic: { type: "error", error: { type: "overloaded_error", message } }
      return inner
    }
    return {
      message: typeof o.message === "string" ? o.message : typeof o.detail === "string" ? o.detail : text,
      type: typeof o.type === "string" ? o.type : "",
      code: typeof o.code === "string" ? o.code : typeof o.code === "number" ? String(o.code) : ""
    }
  }
  return pick(parsed)
}

/** Maps an error `type` / `code` that arrives inside a stream (Anthropic `error` event, OpenRouter chunk). */
export const classifyErrorType = (type: string, code: string, message: string): ProviderErrorReason => {
  // Ollama's in-stream errors carry only a message.
  const t = `${type} ${code} ${type === "" && code === "" ? message : ""}`.toLowerCase()
  if (t.includes("insufficient_quota") || t.includes("billing")) return "QuotaExceeded"
  if (t.includes("rate_limit") || t.includes("rate limit") || t.includes("429")) return "RateLimited"
  if (t.includes("overloaded") || t.includes("server busy") || t.includes("529") || t.includes("503"))
    return "Overloaded"
  if (contextTooLong.test(message) || t.includes("context_length")) return "ContextTooLong"
  if (t.includes("authentication") || t.includes("permission") || t.includes("401") || t.includes("403"))
    return "Unauthorized"
  if (t.includes("invalid_request") || t.includes("400")) return "BadRequest"
  if (t.includes("not_found") || t.includes("404")) return "NotFound"
  return "Unavailable"
}

/** Classifies a non-2xx response. */
export const classifyStatus = (
  ctx: ErrorContext,
  status: number,
  headers: Readonly<Record<string, string | undefined>>,
  bodyText: string
): ProviderError => {
  const body = errorBody(bodyText)
  const retryAfter = parseRetryAfter(headers)
  const detail = body.message
  const typeCode = `${body.type} ${body.code}`.toLowerCase()
  let reason: ProviderErrorReason
  if (status === 429) {
    reason = typeCode.includes("insufficient_quota") ? "QuotaExceeded" : "RateLimited"
  } else if (status === 402) {
    reason = "QuotaExceeded"
  } else if (status === 529 || status === 503 || typeCode.includes("overloaded")) {
    reason = "Overloaded"
  } else if (status === 413 || typeCode.includes("context_length") || contextTooLong.test(body.message)) {
    reason = status >= 500 ? "Unavailable" : "ContextTooLong"
  } else if (status === 401 || status === 403) {
    reason = "Unauthorized"
  } else if (status === 404) {
    reason = "NotFound"
  } else if (status === 408) {
    reason = "Timeout"
  } else if (status >= 500) {
    reason = "Unavailable"
  } else {
    reason = "BadRequest"
  }
  return providerError(ctx, reason, { status, retry_after_ms: retryAfter, detail })
}

/**
 * A `ToolCallId` from a provider's call id: kept when valid, otherwise
 * sanitized, or generated when missing.
 */
export const toolCallId = (raw: string | undefined): IdsT.ToolCallId => {
  if (raw === undefined || raw.length === 0) return Ids.make("ToolCallId")
  if (Ids.explainInvalidId(raw) === undefined) return raw as IdsT.ToolCallId
  const cleaned = raw.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, Ids.ID_MAX_LENGTH)
  if (Ids.explainInvalidId(cleaned) === undefined) return cleaned as IdsT.ToolCallId
  return Ids.make("ToolCallId")
}

/** Parses assembled tool-call arguments; empty means `{}`. */
export const parseArguments = (
  raw: string
): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string } => {
  if (raw.trim() === "") return { ok: true, value: {} }
  try {
    return { ok: true, value: JSON.parse(raw) }
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e) }
  }
}
