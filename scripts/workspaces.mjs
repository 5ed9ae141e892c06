// Lists the workspace packages (packages/*, plugins/*, apps/*) with their package.json.
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

export const repoRoot = new URL("..", import.meta.url).pathname.replace(/\/$/, "")

export const workspaces = () => {
  const out = []
  for (const group of ["packages", "plugins", "apps"]) {
    const dir = join(repoRoot, group)
    if (!existsSync(dir)) continue
    for (const name of readdirSync(dir).sort()) {
      const pkgFile = join(dir, name, "package.json")
      if (!existsSync(pkgFile)) continue
      out.push({ dir: join(dir, name), rel: `${group}/${name}`, pkg: JSON.parse(readFileSync(pkgFile, "utf8")) })
    }
  }
  return out
}
