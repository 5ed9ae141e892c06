import { defineConfig } from "vitest/config"
import shared from "../../vitest.shared.js"

/** `npm run fuzz`: the long differential run only. */
export default defineConfig({
  ...shared,
  test: { ...shared.test, include: ["test/fuzz/**/*.fuzz.ts"], testTimeout: 0 }
})
