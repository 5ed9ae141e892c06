// Makes sure dist/ is current before a test spawns children that import it:
// builds @strata/protocol when its dist is missing, and this package when
// any file in src/ is newer than dist/index.js. Serialized with a lock file
// so that parallel test runs do not build over each other.
import { execFileSync } from "node:child_process"
import * as NFS from "node:fs"
import * as NOS from "node:os"
import * as NPath from "node:path"
import { fileURLToPath } from "node:url"

const pkg = NPath.resolve(NPath.dirname(fileURLToPath(import.meta.url)), "../..")
const root = NPath.resolve(pkg, "../..")
const tsc = NPath.join(root, "node_modules", "typescript", "bin", "tsc")

const newest = (dir) => {
  let t = 0
  for (const e of NFS.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) t = Math.max(t, NFS.statSync(NPath.join(e.parentPath, e.name)).mtimeMs)
  }
  return t
}

const withLock = (f) => {
  // Outside the checkout, one per package path.
  const lock = NPath.join(NOS.tmpdir(), `strata-build-${Buffer.from(pkg).toString("hex").slice(-48)}.lock`)
  for (let i = 0; ; i++) {
    try {
      NFS.mkdirSync(lock)
      break
    } catch {
      // A lock left by a killed build is stale after two minutes.
      const age = Date.now() - (NFS.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now())
      if (age > 120_000) NFS.rmSync(lock, { recursive: true, force: true })
      if (i > 1200) throw new Error(`timed out waiting for ${lock}`)
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100)
    }
  }
  try {
    return f()
  } finally {
    NFS.rmSync(lock, { recursive: true, force: true })
  }
}

export const ensureBuilt = () =>
  withLock(() => {
    const protocol = NPath.join(root, "packages", "protocol")
    if (!NFS.existsSync(NPath.join(protocol, "dist", "index.js"))) {
      execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: protocol, stdio: "inherit" })
    }
    const index = NPath.join(pkg, "dist", "index.js")
    if (!NFS.existsSync(index) || newest(NPath.join(pkg, "src")) > NFS.statSync(index).mtimeMs) {
      execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: pkg, stdio: "inherit" })
    }
  })
