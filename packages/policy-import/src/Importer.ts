/**
 * One entry point for the three formats.
 *
 * @since 0.1.0
 */
import type * as Either from "effect/Either"
import * as Claude from "./Claude.js"
import * as Codex from "./Codex.js"
import * as Gemini from "./Gemini.js"
import type { ImportError } from "./ImportError.js"
import type { Imported, SourceFile } from "./Model.js"

/**
 * The formats.
 *
 * @since 0.1.0
 * @category models
 */
export type Format = "codex" | "gemini" | "claude"

/**
 * The formats, in order.
 *
 * @since 0.1.0
 * @category constants
 */
export const formats: ReadonlyArray<Format> = ["codex", "gemini", "claude"]

/**
 * Where each tool keeps its files, relative to a project (`./`) or the home
 * directory (`~/`): what `strata import <format>` reads without `--from`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultSources: Readonly<Record<Format, ReadonlyArray<string>>> = {
  codex: [
    "~/.codex/rules/*.rules",
    "~/.codex/policy/*.codexpolicy",
    "~/.codex/config.toml",
    "~/.codex/hooks.json",
    ".codex/rules/*.rules",
    ".codex/config.toml",
    ".codex/hooks.json"
  ],
  gemini: ["~/.gemini/settings.json", "~/.gemini/policies/*.toml", ".gemini/settings.json", ".gemini/policies/*.toml"],
  claude: ["~/.claude/settings.json", ".claude/settings.json", ".claude/settings.local.json"]
}

/**
 * Imports `files` of `format`. Pure: reads nothing, writes nothing. Fails
 * with `ImportError` (file, line, field) on a malformed file.
 *
 * @since 0.1.0
 * @category importers
 */
export const importFiles = (format: Format, files: ReadonlyArray<SourceFile>): Either.Either<Imported, ImportError> =>
  format === "codex"
    ? Codex.importFiles(files)
    : format === "gemini"
      ? Gemini.importFiles(files)
      : Claude.importSettings(files)
