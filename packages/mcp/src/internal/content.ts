/** @internal */
import { findProtoKey } from "@strata/protocol/Common"
import type { ContentPart, ToolOutput } from "@strata/protocol/Tool"

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [k: string]: Json }

/** @internal */
export const toJson = (value: unknown): Json => {
  if (value === null || typeof value === "boolean" || typeof value === "string") return value
  if (typeof value === "number") return Number.isFinite(value) ? value : null
  if (Array.isArray(value)) return value.map(toJson)
  if (typeof value === "object") {
    const out: Record<string, Json> = {}
    // defineProperty: a `__proto__` key stays an own property, never a prototype change
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      if (v !== undefined)
        Object.defineProperty(out, k, { value: toJson(v), enumerable: true, writable: true, configurable: true })
    return out
  }
  return null
}

const str = (u: unknown): string | undefined => (typeof u === "string" ? u : undefined)

/** @internal */
export const resourceContents = (c: Record<string, unknown>): ContentPart => {
  const mime = str(c.mimeType)
  const text = str(c.text)
  const blob = str(c.blob)
  return {
    type: "resource",
    uri: str(c.uri) ?? "",
    ...(mime === undefined ? {} : { mime_type: mime }),
    ...(text === undefined ? {} : { text }),
    ...(blob === undefined ? {} : { blob })
  }
}

/**
 * One MCP content block as a Strata content part. Resource links become
 * resource parts without `text`/`blob`; unknown block types are kept as
 * their JSON text so nothing is dropped silently.
 *
 * @internal
 */
export const contentPart = (block: unknown): ContentPart => {
  const b = (typeof block === "object" && block !== null ? block : {}) as Record<string, unknown>
  switch (b.type) {
    case "text":
      return { type: "text", text: str(b.text) ?? "" }
    case "image":
      return { type: "image", data: str(b.data) ?? "", mime_type: str(b.mimeType) ?? "application/octet-stream" }
    case "audio":
      return { type: "audio", data: str(b.data) ?? "", mime_type: str(b.mimeType) ?? "application/octet-stream" }
    case "resource":
      return resourceContents((b.resource ?? {}) as Record<string, unknown>)
    case "resource_link": {
      const mime = str(b.mimeType)
      return { type: "resource", uri: str(b.uri) ?? "", ...(mime === undefined ? {} : { mime_type: mime }) }
    }
    default:
      return { type: "text", text: JSON.stringify(block) }
  }
}

/**
 * A `tools/call` result as a Strata tool output: content blocks mapped,
 * `structuredContent` to `structured`, `isError` to `is_error`. The legacy
 * `toolResult` form becomes one text part.
 *
 * @internal
 */
export const toolOutput = (result: Record<string, unknown>): ToolOutput => {
  const unsafe = result.structuredContent === undefined ? undefined : findProtoKey(result.structuredContent)
  if (unsafe !== undefined)
    return {
      content: [
        {
          type: "text",
          text: `the MCP server's structured result was refused: the key "__proto__" is not allowed (at structuredContent.${unsafe.join(".")})`
        }
      ],
      is_error: true
    }
  const content = Array.isArray(result.content)
    ? result.content.map(contentPart)
    : "toolResult" in result
      ? [{ type: "text" as const, text: JSON.stringify(result.toolResult) }]
      : []
  return {
    content,
    ...(result.structuredContent === undefined ? {} : { structured: toJson(result.structuredContent) }),
    ...(result.isError === true ? { is_error: true } : {})
  }
}
