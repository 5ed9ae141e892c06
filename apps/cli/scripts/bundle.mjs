// Bundles dist/main.js (after tsc) into one tree-shaken, minified file,
// dist/strata.bundle.mjs, which bin/strata.js prefers when it is up to date:
// loading one file instead of hundreds of modules is most of `strata`'s cold
// start. Left outside the bundle: the tree-sitter packages (they find their
// .wasm next to themselves), the plugins (loaded by spec at run time), and
// the Redis / PostgreSQL clients (imported only for those stores).
import { build } from "esbuild"

await build({
  entryPoints: [new URL("../dist/main.js", import.meta.url).pathname],
  outfile: new URL("../dist/strata.bundle.mjs", import.meta.url).pathname,
  bundle: true,
  minify: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  external: ["web-tree-sitter", "tree-sitter-bash", "@strata/plugin-*", "ioredis", "pg", "pg-*"],
  // Bundled CommonJS dependencies call require(); give them one.
  banner: {
    js: "import { createRequire as __strataRequire } from 'node:module'; const require = __strataRequire(import.meta.url);"
  }
})
