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
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
