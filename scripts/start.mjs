// `npm start`: the reference distribution's entry. Until apps/cli ships the
// full `strata` agent, this prints the runtime's status: the Strata packages
// and their versions, the JavaScript runtimes detected, the protocol version
// and the services a deployment can use. `--json` prints the same as JSON.
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { createConnection } from "node:net"
import { join } from "node:path"
import { repoRoot, workspaces } from "./workspaces.mjs"

const json = process.argv.includes("--json")

const versionOf = (cmd, args) => {
  if (!existsSync(cmd)) return null
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 20_000 })
  if (r.status !== 0) return null
  return (r.stdout.match(/\d+\.\d+\.\d+\S*/) ?? [r.stdout.trim()])[0]
}

const reachable = (port) =>
  new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port })
    const done = (ok) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.on("connect", () => done(true))
    socket.on("error", () => done(false))
  })

const { Version } = await import("@strata/protocol")
const bin = (name) => join(repoRoot, "node_modules", ".bin", name)
const status = {
  strata: {
    protocol_version: Version.PROTOCOL_VERSION,
    packages: Object.fromEntries(
      workspaces().map((w) => [
        w.pkg.name,
        { version: w.pkg.version, path: w.rel, built: existsSync(join(w.dir, "dist")) }
      ])
    )
  },
  runtimes: {
    node: process.versions.node,
    bun: versionOf(bin("bun"), ["--version"]),
    deno: versionOf(bin("deno"), ["--version"])
  },
  services: {
    redis: { address: "127.0.0.1:6379", reachable: await reachable(6379) },
    postgresql: { address: "127.0.0.1:5432", reachable: await reachable(5432) }
  }
}

if (json) {
  console.log(JSON.stringify(status, null, 2))
} else {
  console.log("Strata: status")
  console.log(`  protocol version ${status.strata.protocol_version}`)
  console.log("  packages:")
  for (const [name, p] of Object.entries(status.strata.packages))
    console.log(`    ${name.padEnd(30)} ${p.version.padEnd(8)} ${p.path}${p.built ? "" : "  (not built)"}`)
  console.log("  runtimes:")
  for (const [name, v] of Object.entries(status.runtimes)) console.log(`    ${name.padEnd(6)} ${v ?? "not found"}`)
  console.log("  services:")
  for (const [name, s] of Object.entries(status.services))
    console.log(`    ${name.padEnd(10)} ${s.address} ${s.reachable ? "reachable" : "not reachable"}`)
}
