/** @internal */
import { FileSystem } from "@effect/platform/FileSystem"
import { Path } from "@effect/platform/Path"
import * as Common from "@strata/protocol/Common"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Toml from "smol-toml"
import type * as C from "../Config.js"
import { AliasesId } from "../ConfigAliases.js"
import { ConfigError } from "../ConfigError.js"

type Obj = Record<string, unknown>

const isPlainObject = (u: unknown): u is Obj =>
  typeof u === "object" && u !== null && !Array.isArray(u) && !(u instanceof Date)

const pathKey = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join("")

/** @internal */
export const parseToml = (name: string, text: string): Effect.Effect<Obj, ConfigError> =>
  Effect.try({
    try: () => Toml.parse(text) as Obj,
    catch: (error) => {
      const e = error as { line?: number; column?: number; message?: string }
      const detail = String(e.message ?? error)
        .split("\n")[0]!
        .replace(/^Invalid TOML document: /, "invalid TOML: ")
      return new ConfigError({
        reason: "InvalidToml",
        file: name,
        ...(typeof e.line === "number" ? { line: e.line } : {}),
        ...(typeof e.column === "number" ? { column: e.column } : {}),
        detail
      })
    }
  })

// --- locating a field path in TOML text -------------------------------------

const splitDotted = (key: string): Array<string> => {
  const out: Array<string> = []
  let current = ""
  let quote: string | undefined
  for (const ch of key.trim()) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined
      else current += ch
    } else if (ch === '"' || ch === "'") quote = ch
    else if (ch === ".") {
      out.push(current.trim())
      current = ""
    } else current += ch
  }
  out.push(current.trim())
  return out
}

const headerRe = /^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/
const keyRe = /^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*)\s*=/

/** @internal */
export const locate = (text: string, target: ReadonlyArray<string | number>): number | undefined => {
  const want = target.map(String)
  const lines = text.split(/\r?\n/)
  let table: Array<string> = []
  const aotCounts = new Map<string, number>()
  let best: { line: number; depth: number } | undefined
  const consider = (path: ReadonlyArray<string>, line: number) => {
    let depth = 0
    while (depth < path.length && depth < want.length && path[depth] === want[depth]) depth++
    if (depth !== path.length) return
    if (best === undefined || depth > best.depth) best = { line, depth }
  }
  let multiline: string | undefined
  lines.forEach((raw, i) => {
    if (multiline !== undefined) {
      if (raw.includes(multiline)) multiline = undefined
      return
    }
    const header = headerRe.exec(raw)
    if (header) {
      const parts = splitDotted(header[2]!)
      if (header[1] === "[[") {
        const k = parts.join("\u0000")
        const index = aotCounts.get(k) ?? 0
        aotCounts.set(k, index + 1)
        table = [...parts, String(index)]
      } else {
        table = parts
      }
      consider(table, i + 1)
      return
    }
    const key = keyRe.exec(raw)
    if (key) {
      consider([...table, ...splitDotted(key[1]!)], i + 1)
      const rest = raw.slice(key[0].length)
      for (const q of ['"""', "'''"]) {
        const first = rest.indexOf(q)
        if (first >= 0 && rest.indexOf(q, first + 3) < 0) multiline = q
      }
    }
  })
  return best?.line
}

// --- merging with origins ----------------------------------------------------

const dropOrigins = (origins: Map<string, C.Origin>, prefix: string) => {
  for (const key of [...origins.keys()]) {
    if (key === prefix || key.startsWith(`${prefix}.`) || key.startsWith(`${prefix}[`)) origins.delete(key)
  }
}

const mergeInto = (
  target: Obj,
  source: Obj,
  path: ReadonlyArray<string>,
  origins: Map<string, C.Origin>,
  originOf: (path: ReadonlyArray<string>) => C.Origin
) => {
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) continue
    const here = [...path, key]
    const existing = target[key]
    if (isPlainObject(value)) {
      if (!isPlainObject(existing)) {
        dropOrigins(origins, pathKey(here))
        target[key] = {}
      }
      mergeInto(target[key] as Obj, value, here, origins, originOf)
    } else {
      dropOrigins(origins, pathKey(here))
      target[key] = value
      origins.set(pathKey(here), originOf(here))
    }
  }
}

// --- environment ------------------------------------------------------------

const parseEnvValue = (value: string): unknown => {
  try {
    const parsed = Toml.parse(`v = ${value}`) as Obj
    return parsed.v
  } catch {
    return value
  }
}

/**
 * `STRATA_*` variables that steer a process rather than set a config key
 * (the demo model, the start-up profile, a client's server and token, what
 * a hook or the sandbox is told): never read as settings nor warned about.
 */
const PROCESS_VARIABLES = new Set([
  "STRATA_DEMO",
  "STRATA_PROFILE_STARTUP",
  "STRATA_CONSOLE_DIR",
  "STRATA_REMOTE",
  "STRATA_SERVER_TOKEN",
  "STRATA_TOKEN",
  "STRATA_HOOK_EVENT",
  "STRATA_HOOK_ID",
  "STRATA_PROJECT_DIR",
  "STRATA_SANDBOX_TAG",
  // the HTTP client of model calls (the CLI's choice per runtime, overridden)
  "STRATA_HTTP_CLIENT",
  // the approval key (ApprovalKey): a secret, never a config value
  "STRATA_APPROVAL_KEY"
])

const envLayer = (env: Readonly<Record<string, string | undefined>>, prefix: string) => {
  const value: Obj = {}
  const variables = new Map<string, string>()
  const warnings: Array<C.Warning> = []
  for (const [name, raw] of Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (raw === undefined || !name.startsWith(prefix) || PROCESS_VARIABLES.has(name)) continue
    const segments = name.slice(prefix.length).toLowerCase().split("__")
    if (segments.some((s) => s.length === 0)) {
      warnings.push({ path: name, message: `ignored environment variable ${name}: empty path segment` })
      continue
    }
    let node = value
    for (const segment of segments.slice(0, -1)) {
      if (!isPlainObject(node[segment])) node[segment] = {}
      node = node[segment] as Obj
    }
    node[segments[segments.length - 1]!] = parseEnvValue(raw)
    variables.set(segments.join("."), name)
  }
  return { value, variables, warnings }
}

// --- loading -----------------------------------------------------------------

interface Layer {
  readonly value: Obj
  readonly originOf: (path: ReadonlyArray<string>) => C.Origin
  readonly text?: string
  readonly name: string
  /** The path as the source spells it (an alias the source used instead of the key). */
  readonly spelled?: (path: ReadonlyArray<string>) => ReadonlyArray<string>
}

/** The top-level key aliases a schema declares (see `Config.withAliases`). */
const aliasesOf = (schema: Schema.Schema.Any): Readonly<Record<string, string>> => {
  const a = schema.ast.annotations[AliasesId]
  return isPlainObject(a) ? (a as Record<string, string>) : {}
}

/**
 * Moves what a source sets under an alias to the key it stands for; its
 * origin still names the alias's line. Setting both in one source is an error.
 */
const unalias = (layer: Layer, aliases: Readonly<Record<string, string>>): Effect.Effect<Layer, ConfigError> => {
  const renamed = new Map<string, string>()
  let value = layer.value
  for (const [alias, key] of Object.entries(aliases)) {
    if (value[alias] === undefined) continue
    if (value[key] !== undefined) {
      const line = layer.text === undefined ? undefined : locate(layer.text, [alias])
      const variable = layer.originOf([alias]).variable
      return Effect.fail(
        new ConfigError({
          reason: variable === undefined ? "InvalidValue" : "InvalidEnv",
          file: variable === undefined ? layer.name : `env ${variable}`,
          ...(line === undefined ? {} : { line }),
          path: alias,
          detail: `"${alias}" is another name for "${key}", which is set too: keep one of them`
        })
      )
    }
    const { [alias]: moved, ...rest } = value
    value = { ...rest, [key]: moved }
    renamed.set(key, alias)
  }
  if (renamed.size === 0) return Effect.succeed(layer)
  const spelled = (path: ReadonlyArray<string>) => {
    const alias = path.length > 0 ? renamed.get(path[0]!) : undefined
    return alias === undefined ? path : [alias, ...path.slice(1)]
  }
  return Effect.succeed({ ...layer, value, originOf: (path) => layer.originOf(spelled(path)), spelled })
}

const readSource = (source: C.Source) =>
  Effect.gen(function* () {
    switch (source._tag) {
      case "Defaults":
        return { value: source.value, name: "defaults", originOf: () => ({ source: "defaults" }), warnings: [] }
      case "Cli":
        return { value: source.value, name: "cli", originOf: () => ({ source: "cli" }), warnings: [] }
      case "Env": {
        const layer = envLayer(source.env, source.prefix ?? "STRATA_")
        return {
          value: layer.value,
          name: "env",
          originOf: (path: ReadonlyArray<string>) => ({ source: "env", variable: layer.variables.get(path.join(".")) }),
          warnings: layer.warnings
        }
      }
      case "Text":
      case "File": {
        let text: string
        let name: string
        if (source._tag === "Text") {
          text = source.text
          name = source.name
        } else {
          const fs = yield* FileSystem
          name = source.path
          const exists = yield* fs.exists(source.path).pipe(Effect.orElseSucceed(() => false))
          if (!exists && source.optional) return undefined
          text = yield* fs
            .readFileString(source.path)
            .pipe(
              Effect.mapError((e) => new ConfigError({ reason: "Unreadable", file: source.path, detail: e.message }))
            )
        }
        const value = yield* parseToml(name, text)
        const unsafe = Common.findProtoKey(value)
        if (unsafe !== undefined) {
          const line = locate(text, unsafe.map(String))
          return yield* new ConfigError({
            reason: "InvalidValue",
            file: name,
            ...(line === undefined ? {} : { line }),
            path: pathKey(unsafe),
            detail: `the key "__proto__" is not allowed (it would change the object's prototype)`
          })
        }
        return {
          value,
          name,
          text,
          originOf: (path: ReadonlyArray<string>) => ({ source: name, line: locate(text, path) }),
          warnings: []
        }
      }
    }
  })

/** @internal */
export const load = <A, I>(schema: Schema.Schema<A, I, never>, sources: ReadonlyArray<C.Source>) =>
  Effect.gen(function* () {
    const raw: Obj = {}
    const origins = new Map<string, C.Origin>()
    const warnings: Array<C.Warning> = []
    const layers: Array<Layer> = []
    const aliases = aliasesOf(schema)
    for (const source of sources) {
      const read = yield* readSource(source)
      if (read === undefined) continue
      warnings.push(...read.warnings)
      const layer = yield* unalias(read, aliases)
      layers.push(layer)
      mergeInto(raw, layer.value, [], origins, layer.originOf)
    }
    // The source that set a path (or a value below it), and the line of the
    // path itself in that source's text.
    const originFor = (path: ReadonlyArray<PropertyKey>): C.Origin | undefined => {
      let found: C.Origin | undefined
      for (let n = path.length; n >= 1 && found === undefined; n--) {
        const key = pathKey(path.slice(0, n))
        found = origins.get(key)
        if (found !== undefined) break
        for (const [k, origin] of origins) {
          if (k.startsWith(`${key}.`) || k.startsWith(`${key}[`)) {
            found = origin
            break
          }
        }
      }
      if (found === undefined) return undefined
      const layer = layers.find((l) => l.name === found!.source)
      if (layer?.text === undefined) return found
      return {
        ...found,
        line: locate(
          layer.text,
          (layer.spelled ?? ((p: ReadonlyArray<string>) => p))(path.map(String)).map((p, i) =>
            typeof path[i] === "number" ? (path[i] as number) : p
          )
        )
      }
    }
    const decoded = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "ignore" })(raw)
    if (Either.isLeft(decoded)) {
      const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
      const first = issues[0]!
      const origin = originFor(first.path)
      const more =
        issues.length > 1
          ? ` (and ${issues.length - 1} more: ${issues
              .slice(1, 4)
              .map((i) => pathKey(i.path))
              .join(", ")})`
          : ""
      return yield* Effect.fail(
        new ConfigError({
          reason: origin?.source === "env" ? "InvalidEnv" : "InvalidValue",
          file: origin?.source === "env" && origin.variable ? `env ${origin.variable}` : (origin?.source ?? "config"),
          ...(origin?.line === undefined ? {} : { line: origin.line }),
          path: pathKey(first.path),
          detail: `${first.message}${more}`
        })
      )
    }
    // Unknown keys: what the input has that the schema dropped. Encoding the
    // decoded value gives back every key the schema knows (no input, no
    // unknown key: the encoder is not even compiled then).
    const known = Object.keys(raw).length === 0 ? undefined : Schema.encodeEither(schema)(decoded.right)
    if (known !== undefined && Either.isRight(known)) {
      for (const path of extraPaths(raw, known.right, [])) {
        const origin = originFor(path)
        warnings.push({
          path: pathKey(path),
          message: `unknown key "${pathKey(path)}"${origin ? ` in ${origin.source}${origin.line ? `:${origin.line}` : ""}` : ""}`,
          origin
        })
      }
    }
    return { value: decoded.right, raw, origins, warnings }
  }).pipe(Effect.withSpan("Config.load"))

const extraPaths = (input: unknown, known: unknown, path: Array<PropertyKey>): Array<Array<PropertyKey>> => {
  if (isPlainObject(input)) {
    if (!isPlainObject(known)) return []
    const out: Array<Array<PropertyKey>> = []
    for (const [k, v] of Object.entries(input)) {
      if (!(k in known)) out.push([...path, k])
      else out.push(...extraPaths(v, known[k], [...path, k]))
    }
    return out
  }
  if (Array.isArray(input) && Array.isArray(known)) {
    return input.flatMap((v, i) => extraPaths(v, known[i], [...path, i]))
  }
  return []
}

/** @internal */
export const standardSources = (options: {
  readonly cwd: string
  readonly home?: string | undefined
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  readonly cli?: Record<string, unknown> | undefined
  readonly defaults?: Record<string, unknown> | undefined
  readonly extraFiles?: ReadonlyArray<string> | undefined
}) =>
  Effect.gen(function* () {
    const path = yield* Path
    const env = options.env ?? {}
    const home = options.home ?? env.HOME
    const sources: Array<C.Source> = []
    if (options.defaults) sources.push({ _tag: "Defaults", value: options.defaults })
    if (home) sources.push({ _tag: "File", path: path.join(home, ".strata", "config.toml"), optional: true })
    sources.push({ _tag: "File", path: path.join(options.cwd, ".strata", "config.toml"), optional: true })
    for (const file of options.extraFiles ?? [])
      sources.push({ _tag: "File", path: path.resolve(options.cwd, file), optional: false })
    sources.push({ _tag: "Env", env })
    if (options.cli) sources.push({ _tag: "Cli", value: options.cli })
    return sources as ReadonlyArray<C.Source>
  })

const render = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (value instanceof Date) return value.toISOString()
  return JSON.stringify(value)
}

/** @internal */
export const show = (loaded: C.Loaded<unknown>): string => {
  const lines: Array<string> = []
  const walk = (node: unknown, path: Array<string>) => {
    if (isPlainObject(node)) {
      for (const [k, v] of Object.entries(node)) walk(v, [...path, k])
      return
    }
    const key = pathKey(path)
    const origin = loaded.origins.get(key)
    const from =
      origin === undefined
        ? ""
        : `  # ${origin.source}${origin.variable ? ` ${origin.variable}` : ""}${origin.line ? `:${origin.line}` : ""}`
    lines.push(`${key} = ${render(node)}${from}`)
  }
  walk(loaded.raw, [])
  return lines.join("\n")
}

/** @internal */
export const originText = (origin: C.Origin | undefined): string =>
  origin === undefined || origin.source === "defaults"
    ? "default"
    : origin.source === "env"
      ? `env ${origin.variable ?? ""}`.trim()
      : origin.source === "cli"
        ? "cli"
        : `${origin.source}${origin.line ? `:${origin.line}` : ""}`

/** @internal */
export const effective = <A, I>(schema: Schema.Schema<A, I, never>, loaded: C.Loaded<A>): ReadonlyArray<C.Entry> => {
  const encoded = Schema.encodeEither(schema)(loaded.value)
  const root = Either.isRight(encoded) ? encoded.right : loaded.raw
  const out: Array<C.Entry> = []
  const walk = (node: unknown, path: Array<string>) => {
    if (isPlainObject(node) && Object.keys(node).length > 0) {
      for (const [k, v] of Object.entries(node)) walk(v, [...path, k])
      return
    }
    if (node === undefined) return
    const key = pathKey(path)
    let origin = loaded.origins.get(key)
    // A value set below this key (an inline table kept whole) names its source.
    if (origin === undefined) {
      for (const [k, o] of loaded.origins) {
        if (k.startsWith(`${key}.`) || k.startsWith(`${key}[`)) {
          origin = o
          break
        }
      }
    }
    out.push({ key, value: node, origin: origin ?? { source: "defaults" } })
  }
  walk(root, [])
  return out
}

/** @internal */
export const showEffective = <A, I>(schema: Schema.Schema<A, I, never>, loaded: C.Loaded<A>): string =>
  effective(schema, loaded)
    .map((e) => `${e.key} = ${render(e.value)}  # ${originText(e.origin)}`)
    .join("\n")
