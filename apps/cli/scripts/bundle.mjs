// Bundles dist/main.js (after tsc) into one tree-shaken, minified file,
// dist/bundle/strata.mjs (and the `status` fast path, dist/bundle/status.mjs),
// which bin/strata.js prefers when they are up to date:
// loading one file instead of hundreds of modules is most of `strata`'s cold
// start. The built-in plugins are in it (src/Distribution.ts imports them by
// name, so they share the bundle's one copy of Effect); plugins a config
// names are loaded by spec at run time. Left outside the bundle: the
// tree-sitter packages (they find their .wasm next to themselves) and the
// Redis / PostgreSQL clients and BullMQ (imported only for those stores and
// `[jobs] backend = "bullmq"`; BullMQ also reads its Lua scripts from its own files).
import { rmSync } from "node:fs"
import { build } from "esbuild"

const common = {
  bundle: true,
  minify: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  external: ["web-tree-sitter", "tree-sitter-bash", "ioredis", "pg", "pg-*", "bullmq"],
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
await build({
  ...common,
  entryPoints: { strata: dist("main.js"), run: dist("runMain.js") },
  outdir: dist("bundle"),
  outExtension: { ".js": ".mjs" },
  splitting: true,
  chunkNames: "chunk-[hash]"
})
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
