/**
 * Every property test in the repository runs with a known seed: the value of
 * `STRATA_FUZZ_SEED` when set, otherwise a fresh one per test file. fast-check
 * prints the seed (and the shrunk path) with every failure; re-run with
 * `STRATA_FUZZ_SEED=<seed>` to replay it exactly.
 */
import * as FastCheck from "effect/FastCheck"

const fromEnv = process.env.STRATA_FUZZ_SEED
const seed =
  fromEnv !== undefined && fromEnv !== "" ? Number(fromEnv) : (Date.now() ^ (Math.random() * 0x100000000)) | 0
if (!Number.isInteger(seed)) throw new Error(`STRATA_FUZZ_SEED must be an integer, got ${JSON.stringify(fromEnv)}`)
FastCheck.configureGlobal({ ...FastCheck.readConfigureGlobal(), seed })
