/**
 * How the model calls' HTTP clients follow redirects, one rule for both
 * (`NodeHttpClient.ts` on Node, {@link guardedFetch} around the runtime's
 * `fetch` on Bun and Deno): as `fetch` follows them (307/308 resend the
 * request, 301/302 turn a POST and 303 anything but HEAD into a GET without
 * body, at most 20), except that the headers providers carry their keys in
 * are dropped on a change of origin too. `fetch` drops `authorization`,
 * `cookie` and `proxy-authorization` only; Anthropic's `x-api-key`,
 * Gemini's `x-goog-api-key` and Azure's `api-key` it would forward to
 * whatever host a redirect names.
 *
 * @since 0.2.0
 */

/**
 * What `fetch` follows at most.
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_REDIRECTS = 20

const REDIRECTS: ReadonlyArray<number> = [301, 302, 303, 307, 308]

/**
 * Dropped when a redirect changes the origin (lower case).
 *
 * @since 0.2.0
 * @category constants
 */
export const CREDENTIALS: ReadonlyArray<string> = [
  "authorization",
  "cookie",
  "proxy-authorization",
  "x-api-key",
  "x-goog-api-key",
  "api-key"
]

/**
 * A request as a redirect sees it.
 *
 * @since 0.2.0
 * @category models
 */
export interface Hop {
  readonly method: string
  readonly url: URL
  /** Names in any case. */
  readonly headers: Readonly<Record<string, string>>
  /** The body is dropped (a POST turned into a GET). */
  readonly dropBody: boolean
}

const without = (headers: Readonly<Record<string, string>>, names: ReadonlyArray<string>) =>
  Object.fromEntries(Object.entries(headers).filter(([k]) => !names.includes(k.toLowerCase())))

/**
 * The request to send after `from` was answered with `status` and
 * `location`; `undefined` when the answer is not a redirect to follow (not
 * a redirect status, no location, or `hops` redirects followed already).
 * The caller refuses a `url` that is not HTTP(S), as `fetch` does.
 *
 * @since 0.2.0
 * @category utils
 */
export const nextHop = (
  from: Omit<Hop, "dropBody">,
  status: number,
  location: string | null | undefined,
  hops: number
): Hop | undefined => {
  if (!REDIRECTS.includes(status) || location === undefined || location === null || hops >= MAX_REDIRECTS) {
    return undefined
  }
  const url = new URL(location, from.url)
  let headers = url.origin === from.url.origin ? from.headers : without(from.headers, CREDENTIALS)
  const toGet = status === 303 ? from.method !== "HEAD" : status <= 302 && from.method === "POST"
  if (toGet) headers = without(headers, ["content-type", "content-length"])
  return { method: toGet ? "GET" : from.method, url, headers, dropBody: toGet }
}

/**
 * `fetch` (the runtime's own) with redirects followed by {@link nextHop}:
 * each hop is asked with `redirect: "manual"`, so no header reaches another
 * origin unless the rule keeps it. A body that cannot be sent twice (a
 * stream) is not resent: the redirect answer itself is returned, as
 * `NodeHttpClient.ts` does. A body of bytes is copied for each hop (Node's
 * `fetch` detaches the buffer it sends). A redirect to anything but HTTP(S)
 * fails the call.
 *
 * @since 0.2.0
 * @category constructors
 */
export const guardedFetch =
  (base: typeof globalThis.fetch): typeof globalThis.fetch =>
  async (input, init = {}) => {
    const start = input instanceof Request ? input.url : input.toString()
    const headers: Record<string, string> = {}
    new Headers(input instanceof Request ? input.headers : init.headers).forEach((v, k) => {
      headers[k] = v
    })
    let hop: Hop = { method: init.method ?? "GET", url: new URL(start), headers, dropBody: false }
    const body = init.body ?? undefined
    const resendable = body === undefined || typeof body === "string" || body instanceof Uint8Array
    for (let hops = 0; ; hops++) {
      if (hop.url.protocol !== "http:" && hop.url.protocol !== "https:") {
        throw new TypeError(`fetch failed: a redirect to ${hop.url.protocol} is not followed`)
      }
      const sent = hop.dropBody ? undefined : body instanceof Uint8Array ? body.slice() : body
      const response = await base(hop.url, {
        ...init,
        method: hop.method,
        headers: hop.headers,
        body: sent ?? null,
        redirect: "manual"
      })
      const next = resendable ? nextHop(hop, response.status, response.headers.get("location"), hops) : undefined
      if (next === undefined) return response
      await response.body?.cancel()
      hop = { ...next, dropBody: hop.dropBody || next.dropBody }
    }
  }
