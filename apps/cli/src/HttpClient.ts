/**
 * The HTTP client of a session's model calls, chosen per runtime by what
 * reaches the first request soonest (measured: `strata run` start-up,
 * issue 19). On Node, `fetch` is Node's bundled undici, which is loaded and
 * compiled on the first call (about 25 ms of CPU before the request leaves);
 * `node:http` is part of Node itself. On Bun and Deno, `fetch` is native and
 * the faster one, so it stays.
 *
 * Both stream a body chunk by chunk; an interrupted call aborts its request,
 * which destroys the connection (the agent does not keep it). The Node
 * agent keeps idle connections alive between the calls of a turn, as
 * `fetch` does (honouring the server's `Keep-Alive: timeout` hint), and is
 * destroyed with the session's scope.
 *
 * @since 0.2.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redirects from "./Redirects.js"

/**
 * Which client the current runtime gets: `"node:http"` on Node, `"fetch"`
 * on Bun and Deno.
 *
 * @since 0.2.0
 * @category utils
 */
export const kind = (): "node:http" | "fetch" =>
  "Bun" in globalThis || "Deno" in globalThis || process.versions?.node === undefined ? "fetch" : "node:http"

/**
 * The `node:http` client (`NodeHttpClient.ts`) with keep-alive agents. Its
 * module (and `node:https`) is imported when the layer is built, not with
 * the CLI.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerNode: Layer.Layer<HttpClient.HttpClient> = Layer.unwrapEffect(
  Effect.map(
    Effect.promise(() => import("./NodeHttpClient.js")),
    (NodeHttpClient) => NodeHttpClient.layer
  )
)

/**
 * The runtime's `fetch`, with redirects followed by the rule of
 * `Redirects.ts` (the providers' key headers stay behind on a change of
 * origin, which `fetch` itself would forward).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerFetch: Layer.Layer<HttpClient.HttpClient> = FetchHttpClient.layer.pipe(
  Layer.provide(Layer.sync(FetchHttpClient.Fetch, () => Redirects.guardedFetch(globalThis.fetch)))
)

/**
 * The client for this runtime (see {@link kind}). `STRATA_HTTP_CLIENT=fetch`
 * (or `node`) overrides the choice, e.g. to compare them.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (env: Readonly<Record<string, string | undefined>> = {}): Layer.Layer<HttpClient.HttpClient> => {
  const forced = env.STRATA_HTTP_CLIENT
  const chosen = forced === "fetch" ? "fetch" : forced === "node" ? "node:http" : kind()
  return chosen === "fetch" ? layerFetch : layerNode
}
