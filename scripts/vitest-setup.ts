/**
 * Every property test in the repository runs with a known seed: the value of
 * `STRATA_FUZZ_SEED` when set; under CI (CI=true) a fixed one, so a submission
 * passes or fails on its own code, not on the draw; otherwise a fresh one per
 * test file, so local runs keep exploring (the long runs are `npm run fuzz`
 * in exec-policy and the packages' fuzz scripts). fast-check
 * prints the seed (and the shrunk path) with every failure; re-run with
 * `STRATA_FUZZ_SEED=<seed>` to replay it exactly.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as FastCheck from "effect/FastCheck"

// No test makes or reads the real user's approval key
// ($XDG_STATE_HOME/strata/approval.key): a fresh state directory per test file.
process.env.XDG_STATE_HOME = mkdtempSync(join(tmpdir(), "strata-test-state-"))

const fromEnv = process.env.STRATA_FUZZ_SEED
const inCi = process.env.CI === "true" || process.env.CI === "1"
const seed =
  fromEnv !== undefined && fromEnv !== ""
    ? Number(fromEnv)
    : inCi
      ? 20_261_205
      : (Date.now() ^ (Math.random() * 0x100000000)) | 0
if (!Number.isInteger(seed)) throw new Error(`STRATA_FUZZ_SEED must be an integer, got ${JSON.stringify(fromEnv)}`)
FastCheck.configureGlobal({ ...FastCheck.readConfigureGlobal(), seed })
