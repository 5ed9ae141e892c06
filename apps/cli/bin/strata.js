#!/usr/bin/env node
// The `strata` launcher. `--version` is answered here, before any module of
// the command line is loaded; everything else runs the built entry: the
// bundle (dist/strata.bundle.mjs, one file) when it is at least as new as
// dist/main.js, else dist/main.js itself.
const args = process.argv.slice(2)
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  const { readFileSync } = await import("node:fs")
  const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
  process.stdout.write(`${version}\n`)
} else {
  const { statSync } = await import("node:fs")
  const mtime = (name) => {
    try {
      return statSync(new URL(`../dist/${name}`, import.meta.url)).mtimeMs
    } catch {
      return -1
    }
  }
  const bundle = mtime("strata.bundle.mjs")
  await import(bundle >= 0 && bundle >= mtime("main.js") ? "../dist/strata.bundle.mjs" : "../dist/main.js")
}
