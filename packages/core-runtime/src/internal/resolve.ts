/**
 * Resolving a plugin spec to a file, as Node's ESM resolver would from the
 * project: package names are looked up in `node_modules` folders from the
 * project root upwards; a package's `exports` (conditions `import`, `node`,
 * `default`, plus `bun` / `deno` on those runtimes) or else its `main`
 * (else `index.js`) names the file; a relative spec may be a file or a
 * package folder.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"

/** @internal */
export type Resolution =
  | { readonly _tag: "File"; readonly file: string; readonly packageDir?: string | undefined }
  | { readonly _tag: "NotInProject"; readonly looked: ReadonlyArray<string> }
  | { readonly _tag: "Unresolvable"; readonly detail: string; readonly file?: string | undefined }

const runtimeConditions = (): ReadonlyArray<string> => {
  const g = globalThis as { Bun?: unknown; Deno?: unknown }
  return [
    ...(g.Bun !== undefined ? ["bun"] : []),
    ...(g.Deno !== undefined ? ["deno"] : []),
    "import",
    "node",
    "default"
  ]
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** A `package.json` `exports` target for a subpath: the relative file, `null` when not exported. */
const resolveTarget = (target: unknown, conditions: ReadonlyArray<string>, star: string | undefined): string | null => {
  if (typeof target === "string") {
    if (!target.startsWith("./")) return null
    return star === undefined ? target : target.split("*").join(star)
  }
  if (Array.isArray(target)) {
    for (const t of target) {
      const r = resolveTarget(t, conditions, star)
      if (r !== null) return r
    }
    return null
  }
  if (isObject(target)) {
    // Keys in object order; the first condition the runtime has wins.
    for (const [key, value] of Object.entries(target)) {
      if (!conditions.includes(key)) continue
      const r = resolveTarget(value, conditions, star)
      if (r !== null) return r
    }
  }
  return null
}

/** @internal */
export const resolveExports = (
  exportsField: unknown,
  subpath: string,
  conditions: ReadonlyArray<string> = runtimeConditions()
): string | null => {
  const isSubpathMap = isObject(exportsField) && Object.keys(exportsField).some((k) => k.startsWith("."))
  const map: Record<string, unknown> = isSubpathMap ? (exportsField as Record<string, unknown>) : { ".": exportsField }
  if (Object.hasOwn(map, subpath)) return resolveTarget(map[subpath], conditions, undefined)
  // Patterns ("./features/*"): the longest matching prefix wins.
  let best: { key: string; star: string } | undefined
  for (const key of Object.keys(map)) {
    const at = key.indexOf("*")
    if (at < 0) continue
    const prefix = key.slice(0, at)
    const suffix = key.slice(at + 1)
    if (subpath.startsWith(prefix) && subpath.endsWith(suffix) && subpath.length >= key.length - 1) {
      if (best === undefined || prefix.length > best.key.indexOf("*")) {
        best = { key, star: subpath.slice(prefix.length, subpath.length - suffix.length) }
      }
    }
  }
  return best === undefined ? null : resolveTarget(map[best.key], conditions, best.star)
}

/** `@scope/name/sub/path` → `["@scope/name", "./sub/path"]`. */
const splitPackage = (spec: string): readonly [string, string] => {
  const parts = spec.split("/")
  const length = spec.startsWith("@") ? 2 : 1
  const name = parts.slice(0, length).join("/")
  const rest = parts.slice(length)
  return [name, rest.length === 0 ? "." : `./${rest.join("/")}`]
}

const readJson = (fs: FileSystem.FileSystem, file: string) =>
  fs.readFileString(file).pipe(
    Effect.flatMap((text) =>
      Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: (e) => `${file} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`
      })
    ),
    Effect.option
  )

const isFile = (fs: FileSystem.FileSystem, file: string) =>
  fs.stat(file).pipe(
    Effect.map((s) => s.type === "File"),
    Effect.orElseSucceed(() => false)
  )

const isDirectory = (fs: FileSystem.FileSystem, file: string) =>
  fs.stat(file).pipe(
    Effect.map((s) => s.type === "Directory"),
    Effect.orElseSucceed(() => false)
  )

/** A package folder's entry for `subpath`: `exports`, else `main` / `index.js` (for "."), else the subpath itself. */
const packageEntry = (dir: string, subpath: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const manifestFile = path.join(dir, "package.json")
    const manifest = yield* readJson(fs, manifestFile)
    const pkg = Option.isSome(manifest) && isObject(manifest.value) ? manifest.value : {}
    if (pkg.exports !== undefined) {
      const target = resolveExports(pkg.exports, subpath)
      if (target === null) {
        return {
          _tag: "Unresolvable",
          file: manifestFile,
          detail: `${manifestFile}: "exports" has no entry for ${JSON.stringify(subpath)} under the conditions ${runtimeConditions().join(", ")}`
        } satisfies Resolution
      }
      const file = path.resolve(dir, target)
      if (!(yield* isFile(fs, file))) {
        return {
          _tag: "Unresolvable",
          file,
          detail: `${manifestFile}: "exports" names ${target}, which does not exist (is the package built?)`
        } satisfies Resolution
      }
      return { _tag: "File", file, packageDir: dir } satisfies Resolution
    }
    const candidates =
      subpath === "."
        ? typeof pkg.main === "string"
          ? [pkg.main, `${pkg.main}.js`, `${pkg.main}/index.js`]
          : ["index.js"]
        : [subpath, `${subpath}.js`, `${subpath}/index.js`]
    for (const candidate of candidates) {
      const file = path.resolve(dir, candidate)
      if (yield* isFile(fs, file)) return { _tag: "File", file, packageDir: dir } satisfies Resolution
    }
    return {
      _tag: "Unresolvable",
      file: path.resolve(dir, candidates[0]!),
      detail:
        subpath === "." && typeof pkg.main === "string"
          ? `${manifestFile}: "main" names ${pkg.main}, which does not exist (is the package built?)`
          : `${dir} has no ${subpath === "." ? 'package.json "exports" or "main", nor index.js' : subpath}`
    } satisfies Resolution
  })

/**
 * Resolves a relative spec (`./x.js`, `../plugins/y`) against `baseDir`: a
 * file, or a package folder (its `exports` / `main`).
 *
 * @internal
 */
export const resolveRelative = (
  spec: string,
  baseDir: string
): Effect.Effect<Resolution, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const absolute = path.resolve(baseDir, spec)
    if (yield* isDirectory(fs, absolute)) return yield* packageEntry(absolute, ".")
    if (yield* isFile(fs, absolute)) return { _tag: "File", file: absolute, packageDir: undefined } satisfies Resolution
    return {
      _tag: "Unresolvable",
      file: absolute,
      detail: `no such file or folder: ${absolute} (relative plugin specs are resolved against the project root ${baseDir})`
    } satisfies Resolution
  })

/**
 * Resolves a package name (`@acme/strata-git`, `@acme/strata-git/node`) from
 * `baseDir` upwards through `node_modules` folders.
 *
 * @internal
 */
export const resolvePackage = (
  spec: string,
  baseDir: string
): Effect.Effect<Resolution, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const [name, subpath] = splitPackage(spec)
    const looked: Array<string> = []
    let dir = path.resolve(baseDir)
    for (;;) {
      const candidate = path.join(dir, "node_modules", name)
      looked.push(path.join(dir, "node_modules"))
      if (yield* isDirectory(fs, candidate)) return yield* packageEntry(candidate, subpath)
      const parent = path.dirname(dir)
      if (parent === dir) break
      dir = parent
    }
    return { _tag: "NotInProject", looked } satisfies Resolution
  })
