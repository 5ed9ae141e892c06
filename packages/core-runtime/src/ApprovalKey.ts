/**
 * The key of pending approvals' digests. A pending approval carries an
 * HMAC-SHA-256 of the exact call it asks about (`hmac-sha256:<hex>`); an
 * approved call runs only if the MAC still matches. A key the model cannot
 * read or write is what makes an edited record (a changed command with a
 * recomputed digest) fail: whoever can write the store cannot forge a MAC.
 *
 * Where the key comes from, first that applies:
 * 1. the app's own (`RuntimeLayer` option `approvalKey`, `ToolInvoker` option);
 * 2. `STRATA_APPROVAL_KEY`: at least 32 bytes as hex (`openssl rand -hex 32`),
 *    for processes on several machines that resolve each other's approvals;
 * 3. the per-user key file `$XDG_STATE_HOME/strata/approval.key` (default
 *    `~/.local/state/strata/approval.key`): 32 random bytes, created on first
 *    use with mode 0600 (atomically: processes racing to create it end up
 *    with one key). It is refused when it is a symlink, not a regular file,
 *    readable by group or others, or owned by someone else.
 *
 * The sandbox hides the key's directory from commands and the protected-path
 * guard treats it as protected.
 *
 * @since 0.3.0
 */
import { FileSystem } from "@effect/platform/FileSystem"
import { Path } from "@effect/platform/Path"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"

/**
 * The approval key could not be used: `Insecure` (a symlink, not a regular
 * file, readable by group or others, owned by another user), `Invalid` (not
 * the right length or encoding), `Unavailable` (cannot be read or created).
 *
 * @since 0.3.0
 * @category errors
 */
export class ApprovalKeyError extends Data.TaggedError("ApprovalKeyError")<{
  readonly reason: "Insecure" | "Invalid" | "Unavailable"
  /** The key file, or `STRATA_APPROVAL_KEY`. */
  readonly source: string
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `approval key ${this.source} refused (${this.reason}): ${this.detail}`
  }
}

/**
 * The variable that carries a shared key (hex, at least 32 bytes).
 *
 * @since 0.3.0
 * @category constants
 */
export const ENV = "STRATA_APPROVAL_KEY"

/**
 * Bytes of a key file.
 *
 * @since 0.3.0
 * @category constants
 */
export const KEY_BYTES = 32

/**
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /** The app's key: used as is. */
  readonly key?: Uint8Array | undefined
  /** A key file instead of the per-user default (same checks; created when missing). */
  readonly keyFile?: string | undefined
  /** The process environment (`STRATA_APPROVAL_KEY`, `XDG_STATE_HOME`, `HOME`); default this process's. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /** The home directory; default `env.HOME`. */
  readonly home?: string | undefined
  /** The user the key file must belong to; default this process's (where the runtime tells it). */
  readonly uid?: number | undefined
}

/**
 * The directory of the per-user key file: `$XDG_STATE_HOME/strata`, else
 * `~/.local/state/strata`; `undefined` with neither.
 *
 * @since 0.3.0
 * @category utils
 */
export const directory = (options: {
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  readonly home?: string | undefined
}): string | undefined => {
  const state = options.env?.XDG_STATE_HOME
  if (state?.startsWith("/")) return `${state.replace(/\/+$/, "")}/strata`
  const home = options.home !== undefined && options.home !== "" ? options.home : options.env?.HOME
  return home === undefined || home === "" ? undefined : `${home.replace(/\/+$/, "")}/.local/state/strata`
}

/**
 * The per-user key file (see {@link directory}).
 *
 * @since 0.3.0
 * @category utils
 */
export const defaultFile = (options: Parameters<typeof directory>[0]): string | undefined => {
  const dir = directory(options)
  return dir === undefined ? undefined : `${dir}/approval.key`
}

/** Decodes a hex key of at least {@link KEY_BYTES} bytes. */
const fromHex = (text: string): Uint8Array | undefined => {
  const t = text.trim()
  if (t.length < KEY_BYTES * 2 || t.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(t)) return undefined
  const bytes = new Uint8Array(t.length / 2)
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(t.slice(i * 2, i * 2 + 2), 16)
  return bytes
}

const currentUid = (): number | undefined => (globalThis as { process?: { getuid?: () => number } }).process?.getuid?.()

const isAlreadyExists = (e: unknown) =>
  typeof e === "object" && e !== null && (e as { reason?: unknown }).reason === "AlreadyExists"

/**
 * Reads a key file after checking it: a regular file (not a symlink), mode
 * without group or other bits, owned by `uid`, exactly {@link KEY_BYTES} bytes.
 *
 * @since 0.3.0
 * @category constructors
 */
export const readFile = Effect.fn("ApprovalKey.readFile")(function* (file: string, uid?: number | undefined) {
  const fs = yield* FileSystem
  const insecure = (detail: string) => new ApprovalKeyError({ reason: "Insecure", source: file, detail })
  // `stat` follows symlinks: a link is found by reading it
  const link = yield* Effect.option(fs.readLink(file))
  if (Option.isSome(link)) return yield* insecure(`it is a symbolic link (to ${link.value}); use a regular file`)
  const info = yield* fs
    .stat(file)
    .pipe(
      Effect.mapError(
        (cause) => new ApprovalKeyError({ reason: "Unavailable", source: file, detail: cause.message, cause })
      )
    )
  if (info.type !== "File") return yield* insecure(`it is not a regular file (${info.type})`)
  if ((info.mode & 0o077) !== 0) {
    return yield* insecure(
      `it is readable or writable by group or others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`
    )
  }
  const owner = Option.getOrUndefined(info.uid)
  const expected = uid ?? currentUid()
  if (owner !== undefined && expected !== undefined && owner !== expected) {
    return yield* insecure(`it is owned by uid ${owner}, not by this user (uid ${expected})`)
  }
  const bytes = yield* fs
    .readFile(file)
    .pipe(
      Effect.mapError(
        (cause) => new ApprovalKeyError({ reason: "Unavailable", source: file, detail: cause.message, cause })
      )
    )
  if (bytes.length !== KEY_BYTES) {
    return yield* new ApprovalKeyError({
      reason: "Invalid",
      source: file,
      detail: `it holds ${bytes.length} bytes, not ${KEY_BYTES}`
    })
  }
  return bytes
})

/**
 * The key file, created when missing: 32 random bytes written to a private
 * temporary file (`O_EXCL`, mode 0600) and hard-linked into place, which
 * fails rather than overwrites when another process got there first (then
 * its key is the one read). The directory is created with mode 0700.
 *
 * @since 0.3.0
 * @category constructors
 */
export const ensureFile = Effect.fn("ApprovalKey.ensureFile")(function* (file: string, uid?: number | undefined) {
  const fs = yield* FileSystem
  const path = yield* Path
  const unavailable = (cause: { readonly message: string }) =>
    new ApprovalKeyError({ reason: "Unavailable", source: file, detail: cause.message, cause })
  const exists = yield* fs.exists(file).pipe(Effect.mapError(unavailable))
  const dangling = exists ? false : Option.isSome(yield* Effect.option(fs.readLink(file)))
  if (!exists && !dangling) {
    yield* fs.makeDirectory(path.dirname(file), { recursive: true, mode: 0o700 }).pipe(Effect.mapError(unavailable))
    const key = globalThis.crypto.getRandomValues(new Uint8Array(KEY_BYTES))
    const suffix = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(8)), (b) =>
      b.toString(16).padStart(2, "0")
    ).join("")
    const temp = `${file}.${suffix}.tmp`
    yield* Effect.acquireUseRelease(
      fs.writeFile(temp, key, { flag: "wx", mode: 0o600 }).pipe(Effect.mapError(unavailable)),
      () =>
        fs.link(temp, file).pipe(
          // another process linked its key first: that one is the key
          Effect.catchIf(isAlreadyExists, () => Effect.void),
          Effect.mapError(unavailable)
        ),
      () => Effect.ignore(fs.remove(temp))
    )
  }
  return yield* readFile(file, uid)
})

/**
 * The approval key (see the module's documentation for the order).
 *
 * @since 0.3.0
 * @category constructors
 */
export const resolve = Effect.fn("ApprovalKey.resolve")(function* (given: Options) {
  // without an environment from the app: this process's own (Node, Bun and Deno all expose it)
  const options: Options =
    given.env === undefined
      ? { ...given, env: (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {} }
      : given
  if (options.key !== undefined) {
    if (options.key.length < KEY_BYTES) {
      return yield* new ApprovalKeyError({
        reason: "Invalid",
        source: "the app's approvalKey",
        detail: `it has ${options.key.length} bytes; at least ${KEY_BYTES} are needed`
      })
    }
    return options.key
  }
  if (options.keyFile !== undefined) return yield* ensureFile(options.keyFile, options.uid)
  const shared = options.env?.[ENV]
  if (shared !== undefined && shared !== "") {
    const bytes = fromHex(shared)
    if (bytes === undefined) {
      return yield* new ApprovalKeyError({
        reason: "Invalid",
        source: ENV,
        detail: `it must be hex of at least ${KEY_BYTES} bytes (openssl rand -hex ${KEY_BYTES})`
      })
    }
    return bytes
  }
  const file = defaultFile(options)
  if (file === undefined) {
    return yield* new ApprovalKeyError({
      reason: "Unavailable",
      source: "approval.key",
      detail: `neither XDG_STATE_HOME nor HOME is set, and no ${ENV}`
    })
  }
  return yield* ensureFile(file, options.uid)
})
