import { defineWorkspace } from "vitest/config"

// One project per package: every workspace package ships a vitest.config.ts.
export default defineWorkspace(["packages/*/vitest.config.ts", "plugins/*/vitest.config.ts", "apps/*/vitest.config.ts"])
