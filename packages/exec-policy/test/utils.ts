/**
 * Shared helpers of the exec-policy tests: fixture paths, the grammar bytes,
 * case files, a policy layer from rule files.
 */
import { existsSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type * as Layer from "effect/Layer"
import type { ParserError, RuleFileError } from "../src/ExecPolicyError.js"
import { ExecPolicy } from "../src/index.js"

export const here = path.dirname(fileURLToPath(import.meta.url))
export const fixtures = path.join(here, "fixtures")
export const repoRoot = path.resolve(here, "../../..")
/** The contract's folder: `../shared/policy` beside the clone (CI has it there too). */
export const sharedPolicy = path.resolve(repoRoot, "../shared/policy")
export const hasShared = existsSync(path.join(sharedPolicy, "cases.jsonl"))

/** The bytes of the bash grammar. */
export const grammar: Uint8Array = new Uint8Array(
  readFileSync(createRequire(import.meta.url).resolve("tree-sitter-bash/tree-sitter-bash.wasm"))
)

export interface Case {
  readonly id: string
  readonly command: string
  readonly expected: "allow" | "ask" | "deny"
  readonly category?: string
  readonly reason?: string
}

export const readCases = (file: string): Array<Case> =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Case)

export const source = (file: string, layer: ExecPolicy.RuleSource["layer"] = "cli"): ExecPolicy.RuleSource => ({
  file,
  layer,
  text: readFileSync(file, "utf8")
})

/** The service from rule files on disk, built from their text (no platform layer needed). */
export const policyLayer = (
  files: ReadonlyArray<string>,
  limits?: Partial<ExecPolicy.Limits>
): Layer.Layer<ExecPolicy.ExecPolicy, RuleFileError | ParserError> =>
  ExecPolicy.layerSources(
    files.map((f) => source(f)),
    // A loaded test machine must not turn decisions into `ask` (Limits.test.ts tests the budget).
    { grammar, limits: { timeBudgetMs: 10_000, ...limits } }
  )

/** The service from TOML text. */
export const fromText = (text: string, file = "inline.toml") =>
  ExecPolicy.makeFromSources([{ file, layer: "cli", text }], { grammar, limits: { timeBudgetMs: 10_000 } })

export const sampleRules = path.join(fixtures, "sample-rules.toml")
export const strataRules = path.join(fixtures, "strata-rules.toml")
