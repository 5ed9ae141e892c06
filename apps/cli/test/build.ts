/**
 * The CLI tests run the real `bin/strata.js`, which loads the built `dist/`
 * of this app and of its workspace dependencies. `ensureBuilt` rebuilds any
 * of them whose `src/` is newer than its `dist/` (CI builds before testing,
 * so there it is a no-op).
 */
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
export const repoRoot = path.resolve(appDir, "../..")
export const bin = path.join(appDir, "bin", "strata.js")

const newest = (dir: string): number => {
  let latest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs)
  }
  return latest
}

/** Builds, in dependency order, every package whose dist is missing or older than its src. */
export const ensureBuilt = (): void => {
  for (const dir of [
    "packages/protocol",
    "packages/exec-policy",
    "packages/storage",
    "packages/hooks",
    "packages/plugin",
    "packages/providers",
    "packages/mcp",
    "packages/jobs",
    "packages/demo",
    "packages/testkit",
    "packages/core-runtime",
    "packages/client",
    "packages/server",
    "packages/policy-import",
    "plugins/shell",
    "plugins/fs",
    "plugins/audit-log",
    "apps/console",
    "apps/cli"
  ]) {
    const pkg = path.join(repoRoot, dir)
    if (dir === "apps/console") {
      // the web console: a Vite build into dist/ (index.html and hashed assets)
      const page = path.join(pkg, "dist", "index.html")
      if (existsSync(page) && statSync(page).mtimeMs >= newest(path.join(pkg, "src"))) continue
      execFileSync(
        process.execPath,
        [path.join(repoRoot, "node_modules/vite/bin/vite.js"), "build", "--logLevel", "warn"],
        {
          cwd: pkg,
          stdio: "inherit"
        }
      )
      continue
    }
    const built = path.join(pkg, "dist", "index.js")
    if (existsSync(built) && statSync(built).mtimeMs >= newest(path.join(pkg, "src"))) continue
    execFileSync(
      process.execPath,
      [path.join(repoRoot, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
      {
        cwd: pkg,
        stdio: "inherit"
      }
    )
    // the bundles the launcher prefers (a bundle older than its entry is not used)
    if (dir === "apps/cli") execFileSync(process.execPath, ["scripts/bundle.mjs"], { cwd: pkg, stdio: "inherit" })
  }
}
