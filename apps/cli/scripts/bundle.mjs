// Bundles dist/main.js (after tsc) into one tree-shaken, minified file,
// dist/bundle/strata.mjs (and the `status` fast path, dist/bundle/status.mjs),
// which bin/strata.js prefers when they are up to date:
// loading one file instead of hundreds of modules is most of `strata`'s cold
// start. The built-in plugins are in it (src/Distribution.ts imports them by
// name, so they share the bundle's one copy of Effect); plugins a config
// names are loaded by spec at run time. Left outside the bundle: the bash
// grammar's package, tree-sitter-bash (the exec policy reads its .wasm from
// it; web-tree-sitter, the grammar's runtime, is in the bundle, its .wasm
// copied beside it), and the Redis / PostgreSQL clients and BullMQ (imported only for those stores and
// `[jobs] backend = "bullmq"`; BullMQ also reads its Lua scripts from its own files).
import { createHash } from "node:crypto"
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"
import ts from "typescript"

// @effect/platform-node-shared's FileSystem imports `node:crypto` for its
// `randomBytes` only: it gets scripts/shims/fileSystemCrypto.mjs instead, so
// that a command that makes no HTTPS request does not load `node:crypto`
// (about a dozen of Node's internal modules).
const fileSystemCrypto = {
  name: "file-system-crypto",
  setup(b) {
    b.onResolve({ filter: /^node:crypto$/ }, (args) =>
      /[\\/]@effect[\\/]platform-node-shared[\\/]dist[\\/]esm[\\/]internal[\\/]fileSystem\.js$/.test(args.importer)
        ? { path: new URL("./shims/fileSystemCrypto.mjs", import.meta.url).pathname }
        : undefined
    )
  }
}

// Node's built-in modules that few commands use, loaded on first use: each
// import of them gets a module of the same functions that require the real
// one when first called. A `strata run` that runs no command and shows no
// prompt then loads neither `node:child_process` (with `node:dgram` and the
// IPC sockets) nor `node:readline`, nor `node:crypto` before an audit line. Only the functions listed can be
// imported: a named import of anything else fails the build.
const lazyBuiltins = {
  "node:child_process": ["spawn", "spawnSync", "exec", "execSync", "execFile", "execFileSync", "fork"],
  "node:readline": ["createInterface", "emitKeypressEvents", "clearLine", "clearScreenDown", "cursorTo", "moveCursor"],
  // the built-in audit log's hash chain (its first line), `strata serve --cluster`'s ids
  "node:crypto": ["createHash", "randomUUID"]
}
const lazyBuiltin = {
  name: "lazy-builtin",
  setup(b) {
    b.onResolve({ filter: /^node:(child_process|readline|crypto)$/ }, (args) =>
      args.kind === "import-statement" ? { path: args.path, namespace: "lazy-builtin" } : undefined
    )
    b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, (args) => ({
      contents: [
        "let loaded",
        // the bundles' `require` (their banner, or the script's parameter)
        `const real = () => (loaded ??= require(${JSON.stringify(args.path)}))`,
        ...lazyBuiltins[args.path].map((name) => `export const ${name} = (...args) => real().${name}(...args)`)
      ].join("\n"),
      loader: "js",
      resolveDir: dist(".")
    }))
  }
}

const common = {
  bundle: true,
  plugins: [fileSystemCrypto, lazyBuiltin],
  // STRATA_BUNDLE_MINIFY=0: readable names in a CPU profile (`node --cpu-prof bin/strata.js ...`)
  minify: process.env.STRATA_BUNDLE_MINIFY !== "0",
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  external: ["tree-sitter-bash", "ioredis", "pg", "pg-*", "bullmq"],
  // Bundled CommonJS dependencies call require(); give them one.
  banner: {
    js: "import { createRequire as __strataRequire } from 'node:module'; const require = __strataRequire(import.meta.url);"
  }
}
const dist = (name) => new URL(`../dist/${name}`, import.meta.url).pathname

// Entries split into shared chunks: `strata.mjs` (the whole command
// line), `status.mjs` (`strata status` without the command-line parser, see
// src/statusMain.ts; built apart, below) and `run.mjs` (`strata run`: the command line with only
// that command, see src/runMain.ts); modules imported lazily (the store, for
// status; the exec policy's engine and grammar runtime, on the first shell
// command) stay in their own chunks and load only when used.
// Chunks are named by their hash: clear the old ones first.
rmSync(dist("bundle"), { recursive: true, force: true })
// The grammar's runtime (web-tree-sitter) is bundled, so that its JavaScript
// is in the code cache with the rest; it finds its WebAssembly next to the
// file it runs from (`new URL("web-tree-sitter.wasm", import.meta.url)`):
// the bundles' folder. (The grammar itself, tree-sitter-bash, is read by
// the exec policy from its package.)
mkdirSync(dist("bundle"), { recursive: true })
copyFileSync(
  createRequire(fileURLToPath(import.meta.resolve("@strata/exec-policy"))).resolve(
    "web-tree-sitter/web-tree-sitter.wasm"
  ),
  dist("bundle/web-tree-sitter.wasm")
)
await build({
  ...common,
  entryPoints: { strata: dist("main.js"), run: dist("runMain.js") },
  outdir: dist("bundle"),
  outExtension: { ".js": ".mjs" },
  splitting: true,
  chunkNames: "chunk-[hash]"
})

// The same three entries once more for Node's compile cache (bin/compileCache.js):
// each one whole file (no chunks: the lazily imported modules are in it, still
// evaluated only when imported), CommonJS wrapped in a function the launcher
// compiles with `vm.Script` and V8's code cache. Its first line names the
// SHA-256 of the rest (the cache is keyed by it: a rebuilt bundle never meets a
// stale cache); `import.meta` is the launcher's `__strataMeta` argument (the
// file's URL and a resolve), `require` one made for the file, and every
// `import(...)` calls the launcher's `__strataImport` instead: on Node 20 a
// script compiled from a code cache cannot import() (V8 drops its
// host-defined options), and vm's own loader for it is experimental (it
// warns). The dynamic imports are found with the TypeScript parser, not by
// text. Bun and Deno keep the ES modules above.
const scripts = await build({
  ...common,
  format: "cjs",
  banner: { js: "(function (exports, require, module, __filename, __dirname, __strataMeta, __strataImport) {" },
  footer: { js: "\n})" },
  define: { "import.meta.url": "__strataMeta.url", "import.meta": "__strataMeta" },
  entryPoints: { strata: dist("main.js"), status: dist("statusMain.js"), run: dist("runMain.js") },
  outdir: dist("bundle"),
  outExtension: { ".js": ".script.cjs" },
  write: false
})
/** The offsets of the `import` keyword of every `import(...)` call in `text`. */
const dynamicImports = (text) => {
  const source = ts.createSourceFile("bundle.cjs", text, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS)
  const found = []
  const visit = (node) => {
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      found.push(node.expression.getStart(source))
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}
for (const file of scripts.outputFiles) {
  let text = file.text
  for (const at of dynamicImports(text).sort((a, b) => b - a)) {
    if (text.slice(at, at + 7) !== "import(") throw new Error(`${file.path}: no import( at ${at}`)
    text = `${text.slice(0, at)}__strataImport${text.slice(at + 6)}`
  }
  const sha = createHash("sha256").update(text).digest("hex")
  writeFileSync(file.path, `//strata-script sha256:${sha}\n${text}`)
}

// `status.mjs` is built on its own (its chunks `status-*.mjs`): split with
// the other two it loaded 33 files and 500 KB, alone 23 files and 450 KB
// (about 25 ms less CPU on an empty project). When it cannot answer, the
// launcher runs `strata.mjs`, which has its own copy of Effect then.
await build({
  ...common,
  entryPoints: { status: dist("statusMain.js") },
  outdir: dist("bundle"),
  outExtension: { ".js": ".mjs" },
  splitting: true,
  chunkNames: "status-[hash]"
})
