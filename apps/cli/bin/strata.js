#!/usr/bin/env node
// The `strata` launcher. `--version` is answered here, before any module of
// the command line is loaded; `status [--json]` by its own small bundle
// (dist/bundle/status.mjs, no command-line parser, no runtime); `run ...` by
// the bundle of the command line with only `run` (dist/bundle/run.mjs);
// everything else runs the built entry: the bundle (dist/bundle/strata.mjs)
// when it is at least as new as dist/main.js, else dist/main.js itself.
// On Node each bundle runs from its function-wrapped script twin through
// V8's code cache (bin/compileCache.js; off with STRATA_NO_COMPILE_CACHE=1).
//
// This file and compileCache.js are CommonJS (bin/package.json): an ES
// module entry would make Node start its ES module loader (a dozen of its
// own modules, ~7 ms of CPU) before anything runs, and the code-cached
// bundles are scripts that do not need it. The ES module bundles (Bun, Deno,
// no code cache) are imported with import(), which CommonJS has too.
"use strict"
const args = process.argv.slice(2)
const { readFileSync, statSync } = require("node:fs")
const { join } = require("node:path")
const { pathToFileURL } = require("node:url")
const dist = (name) => join(__dirname, "..", "dist", name)
const mtime = (name) => {
  try {
    return statSync(dist(name)).mtimeMs
  } catch {
    return -1
  }
}
/** Imports the ES module `dist/<name>`. */
const importDist = (name) => import(pathToFileURL(dist(name)).href)
// A bundle is stale when its entry was compiled again after it (`tsc` alone,
// without `npm run build`), which comes seconds later at the least. Files that
// a build cache restores (turbo) or a copy writes get their mtimes in the order
// they are written, a bundle a few milliseconds before its entry: still fresh.
const fresh = (bundle, entry) => {
  const b = mtime(bundle)
  return b >= 0 && b + 2000 >= mtime(entry)
}
// On Node, a bundle runs through V8's code cache (bin/compileCache.js): its
// exports, or undefined when the cache is off or its script missing (then
// the ES module bundle is imported, as on Bun and Deno).
const cached = (name, entry) =>
  "Bun" in globalThis || "Deno" in globalThis || !fresh(`bundle/${name}.script.cjs`, entry)
    ? undefined
    : require("./compileCache.js").load(name)
const main = async () => {
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    const { version } = JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8"))
    process.stdout.write(`${version}\n`)
  } else if (
    args[0] === "status" &&
    args.slice(1).every((a) => a === "--json" || a === "--profile-startup") &&
    fresh("bundle/status.mjs", "Status.js") &&
    (await (cached("status", "Status.js") ?? (await importDist("bundle/status.mjs"))).run())
  ) {
    // answered by the fast path
  } else {
    // The bash grammar of the exec policy is WebAssembly: V8 compiles it with
    // its baseline compiler, then recompiles the functions a few parses made
    // hot with its optimizing one, in the background, which costs over a
    // second of CPU and ~50 MiB, and the process waits for it before it exits.
    // A command decides a handful of commands: it keeps the baseline code
    // (only a function run for millions of bytes is optimized). `strata serve`,
    // `strata worker` and `strata acp`, which live long, keep V8's default; so does a
    // command line that sets a wasm flag itself.
    //
    // Likewise for JavaScript: V8 optimizes a function once it has run for its
    // interrupt budget (66 KiB of bytecode by default), in background threads.
    // In a command of a second, most of what it optimizes so (Effect's run loop
    // and its many small closures, warmed up by start-up) has run its course
    // before the optimized code pays back its compilation: eight times the
    // budget leaves that to the functions that stay hot. Measured on
    // `strata run --json hi` (40-chunk reply), 24 alternated runs each way:
    // 14-18% less CPU (task-clock), 11-28% less wall time.
    const longLived = args.includes("serve") || args.includes("worker") || args.includes("acp")
    const options = [...process.execArgv, process.env.NODE_OPTIONS ?? ""]
    const flagged = options.some((a) => a.includes("wasm"))
    if (!longLived && !("Bun" in globalThis) && !("Deno" in globalThis)) {
      const v8 = require("node:v8")
      if (!flagged) v8.setFlagsFromString("--wasm-tiering-budget=2147483647")
      if (!options.some((a) => a.includes("interrupt-budget"))) v8.setFlagsFromString("--interrupt-budget=540672")
    }
    // `strata run ...`: the command line with only `run` (src/runMain.ts).
    if (args[0] === "run" && fresh("bundle/run.mjs", "runMain.js")) {
      if (cached("run", "runMain.js") === undefined) await importDist("bundle/run.mjs")
    } else if (!fresh("bundle/strata.mjs", "main.js")) await importDist("main.js")
    else if (cached("strata", "main.js") === undefined) await importDist("bundle/strata.mjs")
  }
}
main().catch((error) => {
  // as an ES module entry's top-level rejection is reported
  process.exitCode = 1
  console.error(error)
})
