// Cross-runtime conformance for @strata/plugin-audit-log: the hash chain
// (WebCrypto SHA-256) written and verified the same under Node, Bun and Deno.
//
//   npm run build -w @strata/plugin-audit-log
//   node plugins/audit-log/test/conformance.mjs   (also bun, deno run -A)
import assert from "node:assert/strict"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { AuditChain, AuditLog } from "@strata/plugin-audit-log"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { run, runtime, test } from "../../../scripts/conformance.mjs"

const append = (file, n) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const log = yield* AuditLog.AuditLog
      for (let i = 0; i < n; i++) yield* log.append(undefined, { event: "tool_call", n: i })
    }).pipe(Effect.provide(AuditLog.layer({ file }).pipe(Layer.provide(NodeContext.layer))))
  )
const verify = (file) => Effect.runPromise(AuditLog.verifyFile(file).pipe(Effect.provide(NodeContext.layer)))

test(`the chain is written, resumed and verified on ${runtime()}`, async () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-audit-conf-"))
  try {
    const file = join(dir, "audit.jsonl")
    await append(file, 3)
    await append(file, 2)
    assert.deepEqual(await verify(file), {
      ok: true,
      lines: 5,
      chained: 5,
      legacy: 0,
      head: (await verify(file)).head,
      anchored: true
    })
    const lines = readFileSync(file, "utf8").trimEnd().split("\n")
    assert.equal(JSON.parse(lines[0]).prev, AuditChain.GENESIS)
    // The SHA-256 of "abc", a known vector: the same digest on every runtime.
    assert.equal(
      await Effect.runPromise(AuditChain.hash("abc")),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    writeFileSync(file, `${lines.map((l, i) => (i === 1 ? l.replace('"n":1', '"n":9') : l)).join("\n")}\n`)
    const broken = await verify(file)
    assert.equal(broken.ok, false)
    assert.equal(broken.line, 3)
    assert.equal(broken.reason, "Prev")
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

await run("@strata/plugin-audit-log")
