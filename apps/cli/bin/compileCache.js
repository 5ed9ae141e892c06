// Node's compile cache for the launcher's bundles (bin/strata.js; Node 20 has
// no `module.enableCompileCache`). Each bundle has a function-wrapped
// CommonJS twin, dist/bundle/<name>.script.cjs (scripts/bundle.mjs), which is
// compiled here with `vm.Script` and V8's code cache: the bytecode of the
// functions the last run compiled, so that the next run parses and compiles
// (almost) nothing. The cache is taken when the process exits (it then holds
// the functions the command ran, not only the top level) and only when there
// was none or V8 refused it.
//
// A code cache is code V8 deserializes: whoever can write it runs code in the
// next `strata`, outside the sandbox. So it lives in the per-user protected
// state directory of the approval key ($XDG_STATE_HOME/strata, default
// ~/.local/state/strata; the sandbox hides it from commands and the protected
// paths guard asks about any command naming it), in code-cache/ (mode 0700,
// files 0600, written to an O_EXCL temporary file then renamed into place).
// It is not used (the bundle is compiled without it, nothing is written) when
// either directory or the file is a symbolic link, not a directory / regular
// file, another user's, or writable by group or others. Any other failure
// falls back the same way: the cache never fails a command.
//
// The file is named by the bundle's SHA-256 (its first line, computed when it
// was built), Node's version, the architecture and V8's cached-data version
// tag (V8's version, its flags, including the ones the launcher sets at run
// time, and the CPU's features): a rebuilt bundle or another V8 never meets a
// stale cache. STRATA_NO_COMPILE_CACHE=1 turns it off (the ES module bundles
// are loaded as on Bun and Deno). With --profile-startup (or
// STRATA_PROFILE_STARTUP=1) the last line of stderr says what happened:
// `code cache: used | written | rejected, written | off | not used (why)`.
"use strict"
const {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeFileSync
} = require("node:fs")
const { createRequire, isBuiltin } = require("node:module")
const { join } = require("node:path")
const { pathToFileURL } = require("node:url")
const { cachedDataVersionTag } = require("node:v8")
const { Script } = require("node:vm")

const env = process.env
const off = (env.STRATA_NO_COMPILE_CACHE ?? "") !== "" && env.STRATA_NO_COMPILE_CACHE !== "0"
const profiled =
  process.argv.includes("--profile-startup") ||
  ((env.STRATA_PROFILE_STARTUP ?? "") !== "" && env.STRATA_PROFILE_STARTUP !== "0")

/** What each bundle's cache did (reported at exit with the profile), and the caches to write at exit. */
const outcomes = []
const atExit = []
if (profiled || !off) {
  process.once("exit", () => {
    for (const write of atExit) write()
    if (!profiled) return
    const text = outcomes.length === 0 ? (off ? ["off (STRATA_NO_COMPILE_CACHE)"] : []) : outcomes
    for (const line of text) process.stderr.write(`code cache: ${line}\n`)
  })
}

/** The approval key's directory (as ApprovalKey.directory): $XDG_STATE_HOME/strata, else ~/.local/state/strata. */
const stateDirectory = () => {
  const state = env.XDG_STATE_HOME
  if (state?.startsWith("/")) return `${state.replace(/\/+$/, "")}/strata`
  const home = env.HOME
  return home === undefined || home === "" ? undefined : `${home.replace(/\/+$/, "")}/.local/state/strata`
}

const uid = typeof process.getuid === "function" ? process.getuid() : undefined

/** Why a file or directory's metadata makes it unsafe, or undefined. */
const unsafe = (info, kind) => {
  if (info.isSymbolicLink()) return "a symbolic link"
  if (kind === "directory" ? !info.isDirectory() : !info.isFile()) return `not a ${kind}`
  if (uid !== undefined && info.uid !== uid) return `owned by uid ${info.uid}`
  if ((info.mode & 0o022) !== 0) return `writable by group or others (mode ${(info.mode & 0o777).toString(8)})`
  return undefined
}

/** "absent", or why the directory is not safe, or undefined when it is. */
const checkDirectory = (dir) => {
  let info
  try {
    info = lstatSync(dir)
  } catch (e) {
    return e?.code === "ENOENT" ? "absent" : `${dir}: ${e?.code ?? e}`
  }
  const why = unsafe(info, "directory")
  return why === undefined ? undefined : `${dir} is ${why}`
}

/** The cache file's bytes: `{ data }`, `{ absent: true }`, or `{ refused: why }`. */
const readCache = (file) => {
  let fd
  try {
    // O_NOFOLLOW: a symbolic link fails to open (ELOOP) instead of being followed
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW)
  } catch (e) {
    if (e?.code === "ENOENT") return { absent: true }
    return { refused: `${file}: ${e?.code === "ELOOP" ? "a symbolic link" : (e?.code ?? e)}` }
  }
  try {
    const info = fstatSync(fd)
    const why = unsafe(info, "regular file")
    if (why !== undefined) return { refused: `${file} is ${why}` }
    const data = Buffer.allocUnsafe(info.size)
    let read = 0
    while (read < data.length) {
      const n = readSync(fd, data, read, data.length - read, read)
      if (n === 0) break
      read += n
    }
    return { data: data.subarray(0, read) }
  } finally {
    closeSync(fd)
  }
}

/** Writes the cache file: an O_EXCL temporary file (mode 0600) renamed into place. */
const writeCache = (stateDir, cacheDir, file, data, name, sha) => {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 })
  try {
    mkdirSync(cacheDir, { mode: 0o700 })
  } catch (e) {
    if (e?.code !== "EEXIST") throw e
  }
  // made by us or already there: checked again, as before reading
  const why = checkDirectory(stateDir) ?? checkDirectory(cacheDir)
  if (why !== undefined) return `not written (${why})`
  const temp = `${cacheDir}/.${name}.${process.pid}.${process.hrtime.bigint()}.tmp`
  try {
    writeFileSync(temp, data, { flag: "wx", mode: 0o600 })
    renameSync(temp, file)
  } catch (e) {
    try {
      unlinkSync(temp)
    } catch {}
    throw e
  }
  // caches of other builds of this bundle are of no more use
  for (const other of readdirSync(cacheDir)) {
    if (other.startsWith(`${name}-`) && !other.startsWith(`${name}-${sha}-`)) {
      try {
        unlinkSync(`${cacheDir}/${other}`)
      } catch {}
    }
  }
  return undefined
}

/**
 * What `import()` of a built-in module gives: its exports by name (read when
 * used: a lazily loaded part, such as `crypto.webcrypto`, stays unloaded
 * until then), and the whole as `default`.
 */
const builtinNamespace = (exports) => {
  const namespace = Object.create(null)
  for (const key of Object.keys(exports)) {
    Object.defineProperty(namespace, key, { enumerable: true, get: () => exports[key] })
  }
  Object.defineProperty(namespace, "default", { enumerable: true, value: exports })
  return Object.freeze(namespace)
}

/**
 * Compiles and runs dist/bundle/<name>.script.cjs through the code cache and
 * returns its exports; undefined when the cache is off or the script cannot be
 * compiled (missing, unreadable): the caller then imports the ES module bundle.
 * What the bundle itself throws is thrown.
 */
exports.load = (name) => {
  if (off) return undefined
  const dir = join(__dirname, "..", "dist", "bundle")
  const filename = join(dir, `${name}.script.cjs`)
  const url = pathToFileURL(filename)
  let source
  try {
    source = readFileSync(filename, "utf8")
  } catch {
    return undefined
  }
  const sha = /^\/\/strata-script sha256:([0-9a-f]{64})\n/.exec(source)?.[1]
  if (sha === undefined) return undefined
  const stateDir = stateDirectory()
  const cacheDir = stateDir === undefined ? undefined : `${stateDir}/code-cache`
  const tag = `${process.version}-${process.arch}-${cachedDataVersionTag().toString(16)}`
  const file = cacheDir === undefined ? undefined : `${cacheDir}/${name}-${sha.slice(0, 32)}-${tag}.v8`
  let refused = cacheDir === undefined ? "no HOME or XDG_STATE_HOME" : undefined
  let cached
  if (refused === undefined) {
    try {
      const dirs = checkDirectory(stateDir) ?? checkDirectory(cacheDir)
      if (dirs !== undefined && dirs !== "absent") refused = dirs
      else if (dirs === undefined) {
        const read = readCache(file)
        refused = read.refused
        cached = read.data
      }
    } catch (e) {
      refused = String(e)
    }
  }
  const started = performance.now()
  let script
  try {
    script = new Script(source, {
      filename,
      cachedData: cached
    })
  } catch {
    return undefined
  }
  const compiled = performance.now() - started
  const rejected = cached !== undefined && script.cachedDataRejected === true
  const outcome =
    refused !== undefined ? `not used (${refused})` : cached === undefined ? "absent" : rejected ? "rejected" : "used"
  const index = outcomes.push(`${outcome} (${name}, compiled in ${compiled.toFixed(1)} ms)`) - 1
  if (refused === undefined && (cached === undefined || rejected)) {
    // at exit: the code cache then holds every function the command compiled
    atExit.push(() => {
      try {
        const data = script.createCachedData()
        const why = writeCache(stateDir, cacheDir, file, data, name, sha.slice(0, 32))
        outcomes[index] =
          `${rejected ? "rejected, " : ""}${why ?? "written"} (${name}, ${(data.length / 1024).toFixed(0)} KiB, compiled in ${compiled.toFixed(1)} ms)`
      } catch (e) {
        outcomes[index] = `${rejected ? "rejected, " : ""}not written (${name}: ${e?.code ?? e})`
      }
    })
  }
  const require = createRequire(filename)
  const meta = {
    url: url.href,
    // relative specifiers from the bundle; bare ones as from dist/bundle/ (the same package), by
    // require's rules (the bundles do not call it; a script cannot reach ES module resolution synchronously)
    resolve: (specifier) =>
      /^\.{0,2}\//.test(specifier) ? new URL(specifier, url).href : pathToFileURL(require.resolve(specifier)).href
  }
  // the bundle's import(...) (scripts/bundle.mjs): relative specifiers from the bundle, bare ones
  // from here (the same package), the rest (node:, file: URLs) as they are
  // A built-in module (`import("node:net")`, web-tree-sitter's `import("module")`) is required: the same
  // module, without starting Node's ES module loader for it (2-4 ms, the first time in a process).
  const dynamicImport = (specifier, options) =>
    typeof specifier === "string" && options === undefined && isBuiltin(specifier)
      ? Promise.resolve().then(() => builtinNamespace(require(specifier)))
      : import(
          typeof specifier === "string" && /^\.{0,2}\//.test(specifier) ? new URL(specifier, url).href : specifier,
          options
        )
  const module = { exports: {} }
  script.runInThisContext().call(module.exports, module.exports, require, module, filename, dir, meta, dynamicImport)
  return module.exports
}
