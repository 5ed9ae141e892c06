/**
 * The web console's static files (`@strata/console`'s built `dist/`), served
 * by `strata serve` at `/console/`. Only files inside that folder, of known
 * types, reached without `..`, `.`-segments, backslashes, NUL or symlinks
 * out of it; every answer carries a restrictive Content-Security-Policy
 * (scripts and styles from this origin only, no inline script, no frames,
 * connections to this origin only). The page holds no token: the operator
 * types it or passes it as `#token=` (a fragment never reaches the server).
 *
 * @since 0.2.0
 */
import { readFileSync, realpathSync, statSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"

/**
 * The policy every console answer carries.
 *
 * @since 0.2.0
 * @category constants
 */
export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'"
].join("; ")

const types: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8"
}

const securityHeaders = {
  "content-security-policy": contentSecurityPolicy,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin"
}

/**
 * Where the built console is: `STRATA_CONSOLE_DIR`, else the `dist/` of the
 * installed `@strata/console`; undefined when it is not built.
 *
 * @since 0.2.0
 * @category utils
 */
export const consoleDir = (env: Readonly<Record<string, string | undefined>> = process.env): string | undefined => {
  const candidates: Array<string> = []
  if (env.STRATA_CONSOLE_DIR !== undefined && env.STRATA_CONSOLE_DIR !== "") candidates.push(env.STRATA_CONSOLE_DIR)
  try {
    const resolve = createRequire(import.meta.url).resolve
    candidates.push(path.join(path.dirname(resolve("@strata/console/package.json")), "dist"))
  } catch {}
  for (const dir of candidates) {
    try {
      if (statSync(path.join(dir, "index.html")).isFile()) return realpathSync(dir)
    } catch {}
  }
  return undefined
}

const notFound = (detail: string) =>
  HttpServerResponse.unsafeJson(
    { jsonrpc: "2.0", id: null, error: { code: -32004, message: detail, data: { type: "NotFound" } } },
    { status: 404, headers: securityHeaders }
  )

/**
 * The answer to a `GET`/`HEAD` of `/console` or below it (the path without
 * its query string), from the folder `root` (undefined: not built).
 *
 * @since 0.2.0
 * @category constructors
 */
export const respond = (root: string | undefined, urlPath: string): HttpServerResponse.HttpServerResponse => {
  if (urlPath === "/console") {
    return HttpServerResponse.empty({ status: 308, headers: { ...securityHeaders, location: "/console/" } })
  }
  if (root === undefined) {
    return notFound("the console is not built (npm run build builds apps/console)")
  }
  const rest = urlPath.slice("/console/".length)
  const segments: Array<string> = []
  for (const raw of rest === "" ? ["index.html"] : rest.split("/")) {
    let segment: string
    try {
      segment = decodeURIComponent(raw)
    } catch {
      return notFound("not a console file")
    }
    if (
      segment === "" ||
      segment === "." ||
      segment === ".." ||
      /[\\/\0]/.test(segment) ||
      segment.startsWith(".") ||
      segment.length > 255
    ) {
      return notFound("not a console file")
    }
    segments.push(segment)
  }
  const type = types[path.extname(segments[segments.length - 1]!).toLowerCase()]
  if (type === undefined) return notFound("not a console file")
  let file: string
  try {
    file = realpathSync(path.join(root, ...segments))
  } catch {
    return notFound("no such console file")
  }
  const relative = path.relative(root, file)
  if (relative === "" || relative.startsWith("..") || path.isAbsolute(relative)) return notFound("not a console file")
  let bytes: Uint8Array
  try {
    if (!statSync(file).isFile()) return notFound("not a console file")
    bytes = readFileSync(file)
  } catch {
    return notFound("no such console file")
  }
  // hashed assets never change; the page itself is always revalidated
  const cache = segments[0] === "assets" ? "public, max-age=31536000, immutable" : "no-cache"
  return HttpServerResponse.uint8Array(bytes, {
    contentType: type,
    headers: { ...securityHeaders, "cache-control": cache }
  })
}
