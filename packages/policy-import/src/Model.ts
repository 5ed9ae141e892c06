/**
 * What an import produces: Strata prefix rules with their origin, a
 * `default`, config settings, hooks, and the report of every source entry.
 *
 * @since 0.1.0
 */

/**
 * A Strata decision.
 *
 * @since 0.1.0
 * @category models
 */
export type Verdict = "allow" | "ask" | "deny"

/**
 * Strictness rank: `deny` (2) > `ask` (1) > `allow` (0).
 *
 * @since 0.1.0
 * @category utils
 */
export const rank = (v: Verdict): number => (v === "deny" ? 2 : v === "ask" ? 1 : 0)

/**
 * The stricter of two decisions.
 *
 * @since 0.1.0
 * @category utils
 */
export const stricter = (a: Verdict, b: Verdict): Verdict => (rank(a) >= rank(b) ? a : b)

/**
 * Where an entry comes from: file, 1-based line (0 when unknown) and the
 * field inside the file.
 *
 * @since 0.1.0
 * @category models
 */
export interface Origin {
  readonly file: string
  readonly line: number
  readonly field: string
}

/**
 * A prefix element: a word or alternatives.
 *
 * @since 0.1.0
 * @category models
 */
export type PrefixElement = string | ReadonlyArray<string>

/**
 * A `match` / `not_match` example: a command string or an argv.
 *
 * @since 0.1.0
 * @category models
 */
export type Example = string | ReadonlyArray<string>

/**
 * One Strata exec-policy rule as the import writes it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Rule {
  readonly prefix: ReadonlyArray<PrefixElement>
  readonly decision: Verdict
  readonly justification?: string | undefined
  readonly allowRedirection?: boolean | undefined
  readonly match: ReadonlyArray<Example>
  readonly notMatch: ReadonlyArray<Example>
  readonly origin: Origin
  /** The source text of the entry (for the comment above the rule). */
  readonly source: string
}

/**
 * A rule for a tool other than the shell (`Read(./.env)`, `mcp__github__*`,
 * gemini's `toolName = "write_file"`). Only restrictions are kept: a tool
 * rule is `ask` or `deny`, never `allow`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolRule {
  /** Strata tool name glob (`fs__read_file`, `mcp__github__*`, `*`). */
  readonly tool: string
  /** Path globs on the tool's `path` input (absent: every call of the tool). */
  readonly paths?: ReadonlyArray<string> | undefined
  /** Domains for web fetch tools. */
  readonly domains?: ReadonlyArray<string> | undefined
  /** Tool names the rule does not cover (gemini-cli's `tools.core` allowlist). */
  readonly unless?: ReadonlyArray<string> | undefined
  readonly decision: "ask" | "deny"
  readonly origin: Origin
  readonly source: string
}

/**
 * A command hook in Strata's `[hooks]` shape, with the dialect its script
 * expects (its tool names and fields).
 *
 * @since 0.1.0
 * @category models
 */
export interface ImportedHook {
  readonly event: string
  readonly matcher?: string | undefined
  readonly command: string
  readonly timeoutSeconds?: number | undefined
  readonly dialect: "claude" | "gemini" | "codex"
  readonly origin: Origin
}

/**
 * How one source entry was carried over.
 * - `converted`: expressed exactly;
 * - `approximated`: expressed by something at least as strict (the `detail`
 *   says what asks or denies more than in the source);
 * - `refused`: not expressed; `enforced` says whether the source's meaning
 *   still holds in Strata (a dropped `allow` is enforced: the command asks
 *   instead; a dropped restriction Strata cannot express is not).
 *
 * @since 0.1.0
 * @category models
 */
export interface ReportEntry {
  readonly status: "converted" | "approximated" | "refused"
  readonly origin: Origin
  readonly source: string
  readonly detail: string
  readonly enforced: boolean
}

/**
 * The result of an import.
 *
 * @since 0.1.0
 * @category models
 */
export interface Imported {
  readonly format: "codex" | "gemini" | "claude"
  readonly files: ReadonlyArray<string>
  readonly default: Verdict
  readonly defaultWhy: string
  readonly rules: ReadonlyArray<Rule>
  readonly toolRules: ReadonlyArray<ToolRule>
  readonly hooks: ReadonlyArray<ImportedHook>
  /** Strata config settings (`approval_policy`). */
  readonly settings: Readonly<Record<string, string>>
  readonly report: ReadonlyArray<ReportEntry>
}

/**
 * A source file's text and its name (path as given).
 *
 * @since 0.1.0
 * @category models
 */
export interface SourceFile {
  readonly path: string
  readonly text: string
}
