import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import type * as Hook from "../Hook.js"
import * as HookCatalog from "../HookCatalog.js"
import { HookConfigError } from "../HookError.js"
import type * as HookEvent from "../HookEvent.js"
import * as Matcher from "../Matcher.js"

/** @internal */
export const DEFAULT_TIMEOUT_MS = 10_000

/** @internal */
export interface CheckOptions {
  readonly path: string
  readonly owner: string
  readonly index: number
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

/** @internal */
export const check = (
  def: unknown,
  options: CheckOptions
): Either.Either<{ readonly info: Hook.HookInfo; readonly matcher: Matcher.Matcher }, HookConfigError> => {
  const { path, owner } = options
  const fail = (at: string, reason: HookConfigError["reason"], detail: string) =>
    Either.left(new HookConfigError({ reason, path: at, detail, source: owner }))
  if (!isObject(def)) return fail(path, "InvalidConfig", "a hook must be an object (use defineHook)")
  if (typeof def.run !== "function") return fail(`${path}.run`, "InvalidConfig", "a hook needs a run function")
  const events = def.event
  let selected: ReadonlyArray<HookEvent.HookEventName> | "*"
  if (events === "*") selected = "*"
  else {
    const list: ReadonlyArray<unknown> | undefined =
      typeof events === "string" ? [events] : Array.isArray(events) ? events : undefined
    if (list === undefined || list.length === 0) {
      return fail(`${path}.event`, "UnknownEvent", 'event must be an event name, a list of names or "*"')
    }
    const unknown = list.find((n) => !HookCatalog.isHookEventName(n))
    if (unknown !== undefined) {
      return fail(
        `${path}.event`,
        "UnknownEvent",
        `unknown event ${JSON.stringify(unknown)} (expected one of ${HookCatalog.names.join(", ")})`
      )
    }
    selected = list as ReadonlyArray<HookEvent.HookEventName>
  }
  if (def.matcher !== undefined && typeof def.matcher !== "string") {
    return fail(`${path}.matcher`, "InvalidMatcher", "matcher must be a string")
  }
  const matcher = Matcher.compile(def.matcher, {
    dialect: def.matcherDialect as Matcher.Dialect | undefined,
    path: `${path}.matcher`
  })
  if (Either.isLeft(matcher)) return fail(matcher.left.path, "InvalidMatcher", matcher.left.detail)
  const priority = def.priority ?? 0
  if (typeof priority !== "number" || !Number.isFinite(priority)) {
    return fail(`${path}.priority`, "InvalidConfig", "priority must be a finite number")
  }
  let timeoutMs: number
  try {
    timeoutMs =
      def.timeout === undefined
        ? DEFAULT_TIMEOUT_MS
        : Duration.toMillis(Duration.decode(def.timeout as Duration.DurationInput))
  } catch {
    return fail(`${path}.timeout`, "InvalidConfig", "timeout is not a duration")
  }
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    return fail(`${path}.timeout`, "InvalidConfig", "timeout must be positive and finite")
  }
  if (def.onError !== undefined && def.onError !== "allow" && def.onError !== "deny") {
    return fail(`${path}.onError`, "InvalidConfig", 'onError must be "allow" or "deny"')
  }
  if (def.name !== undefined && (typeof def.name !== "string" || def.name === "")) {
    return fail(`${path}.name`, "InvalidConfig", "name must be a non-empty string")
  }
  if (def.kind !== undefined && def.kind !== "in-process" && def.kind !== "command") {
    return fail(`${path}.kind`, "InvalidConfig", 'kind must be "in-process" or "command"')
  }
  const label = selected === "*" ? "*" : selected.join(",")
  return Either.right({
    info: {
      id: `${owner}/${(def.name as string | undefined) ?? `${label}#${options.index}`}`,
      owner,
      kind: (def.kind as Hook.Kind | undefined) ?? "in-process",
      events: selected,
      matcher: matcher.right.source,
      priority,
      timeoutMs,
      onError: def.onError as Hook.HookInfo["onError"]
    },
    matcher: matcher.right
  })
}
