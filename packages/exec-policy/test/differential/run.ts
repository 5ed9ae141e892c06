/**
 * Shared driver of the differential test and the fuzz run: decides every
 * string with the differential rules, runs the allowed ones traced, and
 * collects what escaped.
 */
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"
import type { Decision } from "../../src/Decision.js"
import { ExecPolicy } from "../../src/index.js"
import { grammar } from "../utils.js"
import { type Bypass, differential } from "./oracle.js"
import { type Dialect, Sandbox, straceStatus } from "./trace.js"

const here = path.dirname(fileURLToPath(import.meta.url))
export const rulesFile = path.join(here, "rules.toml")

export interface CorpusEntry {
  readonly id: string
  readonly class: string
  readonly command: string
}

export const corpus: ReadonlyArray<CorpusEntry> = readFileSync(path.join(here, "corpus.jsonl"), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => JSON.parse(l) as CorpusEntry)

/** The policy the differential decides with (synchronous checker). */
export const makeChecker = (): Promise<(command: string) => Decision> =>
  Effect.runPromise(
    ExecPolicy.makeFromSources([{ file: rulesFile, layer: "cli", text: readFileSync(rulesFile, "utf8") }], {
      grammar,
      // The oracle checks what ran; the time budget is for production, not for a loaded test machine.
      limits: { timeBudgetMs: 5_000 }
    })
  ).then((s) => (command: string) => s.checkSync(command))

/** Whether the differential can run here, and if not, why. */
export const availability = straceStatus

export interface Tally {
  inputs: number
  allowed: number
  bypasses: Array<Bypass>
}

export const newTally = (): Tally => ({ inputs: 0, allowed: 0, bypasses: [] })

export const runOne = (
  check: (command: string) => Decision,
  sandbox: Sandbox,
  command: string,
  tally: Tally,
  dialects: ReadonlyArray<Dialect> = ["bash"]
): ReadonlyArray<Bypass> => {
  tally.inputs++
  const v = differential(check, sandbox, command, dialects)
  if (v.ran) tally.allowed++
  tally.bypasses.push(...v.bypasses)
  return v.bypasses
}

export { Sandbox }
