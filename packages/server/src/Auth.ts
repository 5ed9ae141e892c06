/**
 * Who may call `strata serve`: bearer tokens, each with a name and scopes,
 * kept only as SHA-256 hashes (the `[server] tokens` config holds
 * `sha256 = "<hex>"`; `hashToken` makes one), and a per-token rate limit
 * (a token bucket). Comparison is on hashes, in constant time.
 *
 * Portable: WebCrypto only (`crypto.subtle`), on Node, Bun, Deno and
 * browsers.
 *
 * @since 0.2.0
 */
import * as Rpc from "@strata/protocol/Rpc"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Principal } from "./RpcServer.js"

/**
 * A token as configured: its name (in logs and errors), the SHA-256 of the
 * secret (hex), and its scopes.
 *
 * @since 0.2.0
 * @category schemas
 */
export const TokenConfig = Schema.Struct({
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)),
  sha256: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/), Schema.annotations({ description: "hex SHA-256" })),
  scopes: Schema.Array(Rpc.Scope).pipe(Schema.minItems(1))
}).annotations({ identifier: "TokenConfig" })
/** @since 0.2.0 @category models */
export type TokenConfig = typeof TokenConfig.Type

/**
 * The `[server]` section of the config.
 *
 * @since 0.2.0
 * @category schemas
 */
export const ServerConfig = Schema.Struct({
  /** The address to bind (default 127.0.0.1). A non-loopback address needs at least one token. */
  host: Schema.optionalWith(Schema.String, { default: () => "127.0.0.1" }),
  /** The port (default 7077; 0 picks a free one). */
  port: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.between(0, 65535)), { default: () => 7077 }),
  tokens: Schema.optionalWith(Schema.Array(TokenConfig), { default: () => [] }),
  /** The largest request body accepted (default 1 MiB). */
  max_body_bytes: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.between(1024, 64 * 1024 * 1024)), {
    default: () => 1024 * 1024
  }),
  /** Requests per minute per token (default 600). */
  rate_limit: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.between(1, 1_000_000)), {
    default: () => 600
  }),
  /** Origins allowed by CORS (default none: CORS off). */
  cors_origins: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
}).annotations({ identifier: "ServerConfig" })
/** @since 0.2.0 @category models */
export type ServerConfig = typeof ServerConfig.Type

const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("")

/**
 * The SHA-256 (hex) of a token: what the config stores.
 *
 * @since 0.2.0
 * @category utils
 */
export const hashToken = (token: string): Effect.Effect<string> =>
  Effect.promise(() => crypto.subtle.digest("SHA-256", new TextEncoder().encode(token))).pipe(Effect.map(hex))

/**
 * A new random token (32 bytes, base64url).
 *
 * @since 0.2.0
 * @category utils
 */
export const generateToken = (): string => {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "")
}

const equal = (a: string, b: string) => {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

/**
 * Why a request was refused before it reached a method.
 *
 * @since 0.2.0
 * @category models
 */
export type Refusal =
  | { readonly _tag: "Unauthorized"; readonly detail: string }
  | { readonly _tag: "RateLimited"; readonly detail: string; readonly retryAfterSeconds: number }

/**
 * @since 0.2.0
 * @category models
 */
export interface Auth {
  /** The principal of an `Authorization` header value, or why it is refused. */
  readonly authenticate: (header: string | undefined) => Effect.Effect<Principal, Refusal>
  /** Whether any token is configured (no token: every local caller is the owner). */
  readonly open: boolean
}

/**
 * Builds the checker. With no token configured every caller is the owner
 * (only allowed on a loopback address: see `isLoopback`).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: {
  readonly tokens: ReadonlyArray<TokenConfig>
  readonly ratePerMinute: number
  readonly now?: () => number
}): Auth => {
  const now = options.now ?? Date.now
  const buckets = new Map<string, { tokens: number; at: number }>()
  const take = (name: string): number | undefined => {
    const capacity = options.ratePerMinute
    const t = now()
    const bucket = buckets.get(name) ?? { tokens: capacity, at: t }
    bucket.tokens = Math.min(capacity, bucket.tokens + ((t - bucket.at) / 60_000) * capacity)
    bucket.at = t
    buckets.set(name, bucket)
    if (bucket.tokens < 1) return Math.ceil(((1 - bucket.tokens) * 60) / capacity)
    bucket.tokens -= 1
    return undefined
  }
  const limited = (principal: Principal): Effect.Effect<Principal, Refusal> => {
    const wait = take(principal.name)
    return wait === undefined
      ? Effect.succeed(principal)
      : Effect.fail({
          _tag: "RateLimited",
          detail: `token ${principal.name} is over its limit of ${options.ratePerMinute} requests per minute`,
          retryAfterSeconds: wait
        })
  }
  if (options.tokens.length === 0) {
    return { open: true, authenticate: () => limited({ name: "owner", scopes: ["admin"] }) }
  }
  return {
    open: false,
    authenticate: (header) =>
      Effect.gen(function* () {
        const match = header === undefined ? null : /^Bearer ([\x21-\x7e]{1,512})$/.exec(header.trim())
        if (match === null) {
          return yield* Effect.fail<Refusal>({
            _tag: "Unauthorized",
            detail:
              header === undefined ? "a bearer token is required" : "the Authorization header is not a bearer token"
          })
        }
        const digest = yield* hashToken(match[1]!)
        const token = options.tokens.find((t) => equal(t.sha256, digest))
        if (token === undefined) return yield* Effect.fail<Refusal>({ _tag: "Unauthorized", detail: "unknown token" })
        return yield* limited({ name: token.name, scopes: token.scopes })
      })
  }
}

/**
 * Whether a host to bind is a loopback address (127.0.0.0/8, ::1, localhost).
 *
 * @since 0.2.0
 * @category utils
 */
export const isLoopback = (host: string): boolean =>
  host === "localhost" || host === "::1" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host)
