import { defineConfig } from "vite"

// Preact through esbuild's automatic JSX runtime (no Babel preset); served by
// `strata serve` under /console/, so every asset URL is relative to it.
// Workspace packages resolve to their TypeScript sources (`@strata/source`).
export default defineConfig({
  base: "/console/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  resolve: { conditions: ["@strata/source", "browser", "module", "import", "default"] },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // the polyfill would be an inline script, which the console's CSP forbids
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false
  }
})
