#!/usr/bin/env node
// The `strata` launcher. `--version` is answered here, before any module of
// the command line is loaded; everything else runs the built entry (dist/).
const args = process.argv.slice(2)
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  const { readFileSync } = await import("node:fs")
  const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
  process.stdout.write(`${version}\n`)
} else {
  await import("../dist/main.js")
}
