/**
 * The commands that only look (`threads list | show | export`, `status`,
 * `approvals list`, `jobs list | show | watch`) open the configured store
 * read-only, without building the runtime: nothing is written (no directory,
 * lock, repair, thread status or job recovery), a torn journal tail is
 * skipped rather than truncated, and a damaged record is shown marked while
 * the others are listed. The file-system store's files are byte-identical
 * afterwards.
 *
 * @since 0.2.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import { layerStorage } from "@strata/core-runtime/RuntimeLayer"
import * as ThreadManager from "@strata/core-runtime/ThreadManager"
import type { DamagedRecord, StateStore } from "@strata/storage/StateStore"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Choice from "./Choice.js"
import { version } from "./version.js"

/**
 * Runs `body` with the configured store opened read-only, and a
 * `ThreadManager` over it (for its read views of a thread).
 *
 * @since 0.2.0
 * @category constructors
 */
export const session = <A, E, R>(
  options: Choice.Options,
  body: Effect.Effect<A, E, R>
): Effect.Effect<
  A,
  unknown,
  Exclude<R, StateStore | ThreadManager.ThreadManager> | FileSystem.FileSystem | Path.Path
> =>
  Effect.flatMap(Choice.loadConfig(options), (loaded) => {
    const store = layerStorage(loaded.value.storage, options.cwd, { readOnly: true })
    const threads = ThreadManager.layer({ cwd: options.cwd, providerDefault: "none", cliVersion: version })
    return Effect.provide(body, Layer.provideMerge(threads, store))
  }) as Effect.Effect<
    A,
    unknown,
    Exclude<R, StateStore | ThreadManager.ThreadManager> | FileSystem.FileSystem | Path.Path
  >

/**
 * A damaged record as one line: `<id>  damaged: <why>`.
 *
 * @since 0.2.0
 * @category utils
 */
export const damagedLine = (d: DamagedRecord): string => `${d.id}  [damaged] ${d.error.message}`

/**
 * A damaged record for `--json` output: marked, with why.
 *
 * @since 0.2.0
 * @category utils
 */
export const damagedJson = (d: DamagedRecord) => ({ id: d.id, damaged: true, error: d.error.message })
