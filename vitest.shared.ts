import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

/**
 * Shared Vitest settings. Workspace packages resolve through the
 * `@strata/source` export condition, so tests run against `src/` and never
 * need a build of their dependencies.
 */
export default defineConfig({
  resolve: {
    conditions: ["@strata/source"]
  },
  ssr: {
    resolve: {
      conditions: ["@strata/source"]
    }
  },
  test: {
    include: ["test/**/*.test.ts"],
    // a known seed for every property test (STRATA_FUZZ_SEED replays one)
    setupFiles: [fileURLToPath(new URL("./scripts/vitest-setup.ts", import.meta.url))],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
