/**
 * Shared helpers of the importer tests: fixtures, and a Strata exec policy
 * built from an import's emitted TOML (the real engine, real bash grammar).
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { ExecPolicy } from "@strata/exec-policy"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { Emit, Importer, type Model } from "../src/index.js"

export const here = path.dirname(fileURLToPath(import.meta.url))
export const fixtures = path.join(here, "fixtures")

export const grammar: Uint8Array = new Uint8Array(
  readFileSync(createRequire(import.meta.url).resolve("tree-sitter-bash/tree-sitter-bash.wasm"))
)

export const fixture = (rel: string): Model.SourceFile => ({
  path: rel,
  text: readFileSync(path.join(fixtures, rel), "utf8")
})

export const imported = (format: Importer.Format, files: ReadonlyArray<Model.SourceFile>): Model.Imported => {
  const r = Importer.importFiles(format, files)
  if (Either.isLeft(r)) throw new Error(r.left.message)
  return r.right
}

/** The emitted rule file loaded by the real engine, alone (no built-in layer). */
export const strataPolicy = (imp: Model.Imported, file = "imported.toml"): Promise<ExecPolicy.Service> =>
  Effect.runPromise(
    ExecPolicy.makeFromSources([{ file, layer: "project", text: Emit.policyToml(imp) }], { grammar, builtin: false })
  )

export const decide = (policy: ExecPolicy.Service, command: string): Model.Verdict =>
  policy.checkSync(command, { approval: "on-request" }).decision as Model.Verdict
